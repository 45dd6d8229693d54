/**
 * The request body of one attempt (the executor protocol's `RunRequest`), for every transport:
 * HTTP, gRPC and pull. Executor and shell targets add their group, handler and command; a leg of
 * a fan-out attempt carries its shard, `fanOut: true`, and a callback token scoped to the leg.
 */
import type { RunRequest } from '@ecron/contracts';
import type { RunRecord, TaskRecord } from '../core/model.ts';
import { handlerOf, isExecutorTarget, type ExecutorTarget } from './executor-dispatch.ts';
import type { Leg } from './routing.ts';
import { issueRunToken } from './run-token.ts';

export interface EnvelopeKeys {
  /** Key of run-scoped callback tokens. */
  callbackKey: string;
  /** Base URL executors call back. */
  publicUrl: string;
}

/** What a shell or container target sends its agent besides the routing: the command, or the container. */
function targetBody(target: ExecutorTarget): Pick<RunRequest, 'command' | 'container'> {
  if (target.type === 'shell') return { command: target.command };
  if (target.type !== 'container') return {};
  const { group: _group, routing: _routing, ...container } = target;
  return { container };
}

export function runEnvelope(run: RunRecord, task: TaskRecord, keys: EnvelopeKeys, leg: Leg = { index: 0, total: 1 }, fanOut = false): RunRequest {
  const target = task.spec.target;
  const routed = isExecutorTarget(target) ? { group: target.group, handler: handlerOf(target), ...targetBody(target) } : {};
  return {
    runId: run.id,
    taskId: run.taskId,
    namespace: run.namespace,
    task: run.taskName,
    scheduledAt: new Date(run.scheduledAt).toISOString(),
    attempt: run.attempt,
    params: run.params,
    shard: { index: leg.index, total: leg.total },
    deadline: run.deadlineAt === null ? null : new Date(run.deadlineAt).toISOString(),
    callback: {
      url: `${keys.publicUrl}/api/v1/runs/${run.id}/report`,
      token: issueRunToken(keys.callbackKey, run.id, run.attempt, fanOut ? leg.index : undefined),
    },
    ...routed,
    ...(fanOut ? { fanOut: true } : {}),
  };
}
