/**
 * Mappers from stored records to the resources the API returns. Instants become ISO-8601 UTC
 * strings. Secrets never leave through here: a target's `secret` is removed for everyone, and the
 * values of an http target's `headers` (an Authorization, an API key) are masked for a caller who
 * may not edit the task, since only editors need them (docs/security.md, F6).
 */
import {
  MASKED_HEADER_VALUE,
  type AttemptResource, type AuditEntryResource, type BackfillResource, type HttpTarget, type RunLogResource, type RunResource, type Target, type TaskResource,
  type TaskSpec, type TokenResource, type WorkflowNodeResource, type WorkflowResource, type WorkflowRunResource, type WorkflowRunStatus, type WorkflowSpec,
} from '@ecron/contracts';
import { isExpiredAt } from '../core/admin-tokens.ts';
import type { WorkflowNodeRecord } from '../core/workflow/node-state.ts';
import type { AttemptRecord, AuditRecord, BackfillRecord, RunLogRecord, RunRecord, TaskRecord, TaskRevisionRecord, TokenRecord, WorkflowRecord } from '../core/model.ts';
import { canAccessNamespace, type Caller } from './access.ts';

export const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

/** Who a spec is shown to: an `editor` sees header values (to edit them), a `viewer` sees them masked. */
export type SpecAudience = 'editor' | 'viewer';

/** The audience of a spec of `namespace`: an editor or admin in that namespace, else a viewer. */
export function specAudience(caller: Caller, namespace: string): SpecAudience {
  return canAccessNamespace(caller, namespace, 'editor') ? 'editor' : 'viewer';
}

/** The header names with every value replaced by {@link MASKED_HEADER_VALUE}. */
function maskHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.keys(headers).map((name) => [name, MASKED_HEADER_VALUE]));
}

/** A target as `audience` may see it: an HTTP target's `secret` is dropped, and for a viewer its header values are masked. */
export function redactTarget<T extends Target>(target: T, audience: SpecAudience): T {
  if (target.type !== 'http') return target;
  const { secret: _secret, headers, ...rest } = target as HttpTarget;
  if (headers === undefined) return rest as T;
  return { ...rest, headers: audience === 'viewer' ? maskHeaders(headers) : headers } as T;
}

/** A copy of the spec as `audience` may see it (see {@link redactTarget}). */
export function redactSpec(spec: TaskSpec, audience: SpecAudience): TaskSpec {
  return { ...spec, target: redactTarget(spec.target, audience) };
}

/** A copy of a workflow spec whose inline targets are redacted as a task's (see {@link redactTarget}). */
export function redactWorkflowSpec(spec: WorkflowSpec, audience: SpecAudience): WorkflowSpec {
  return { ...spec, nodes: spec.nodes.map((node) => ('target' in node ? { ...node, target: redactTarget(node.target, audience) } : node)) };
}

const redactAnySpec = (spec: TaskSpec | WorkflowSpec, audience: SpecAudience): TaskSpec | WorkflowSpec => (
  'nodes' in spec ? redactWorkflowSpec(spec, audience) : redactSpec(spec, audience));

/** A task as `caller` may see it (header values masked unless it may edit the task). */
export function toTaskResource(task: TaskRecord, caller: Caller): TaskResource {
  return {
    id: task.id,
    namespace: task.namespace,
    name: task.name,
    revision: task.revision,
    state: task.state,
    spec: redactSpec(task.spec, specAudience(caller, task.namespace)),
    nextFireAt: isoOrNull(task.nextFireAt),
    lastFireAt: isoOrNull(task.lastFireAt),
    lastRunStatus: task.lastRunStatus,
    skippedFires: task.skippedFires,
    createdAt: iso(task.createdAt),
    updatedAt: iso(task.updatedAt),
  };
}

export interface TaskRevisionResource {
  revision: number;
  spec: TaskSpec;
  createdAt: string;
  actor: string;
}

/** A revision of a task or workflow as `caller` may see it, judged by the namespace the revision names. */
export function toTaskRevisionResource(revision: TaskRevisionRecord, caller: Caller): TaskRevisionResource {
  const spec = redactAnySpec(revision.spec, specAudience(caller, revision.spec.namespace)) as TaskSpec;
  return { revision: revision.revision, spec, createdAt: iso(revision.createdAt), actor: revision.actor };
}

export function toAttemptResource(attempt: AttemptRecord): AttemptResource {
  return {
    number: attempt.number,
    status: attempt.status,
    executor: attempt.executor,
    startedAt: iso(attempt.startedAt),
    sentAt: isoOrNull(attempt.sentAt),
    finishedAt: isoOrNull(attempt.finishedAt),
    error: attempt.error,
    output: attempt.output ?? null,
  };
}

/** A run with its attempts; `attempts` may hold other runs' attempts too (they are filtered out). */
export function toRunResource(run: RunRecord, attempts: readonly AttemptRecord[]): RunResource {
  return {
    id: run.id,
    taskId: run.taskId,
    namespace: run.namespace,
    taskName: run.taskName,
    taskRevision: run.taskRevision,
    trigger: run.trigger,
    workflowRunId: run.workflowRunId,
    nodeId: run.nodeId,
    backfillId: run.backfillId,
    scheduledAt: iso(run.scheduledAt),
    status: run.status,
    attempt: run.attempt,
    attempts: attempts.filter((a) => a.runId === run.id).sort((a, b) => a.number - b.number).map(toAttemptResource),
    params: run.params,
    progress: run.progress,
    output: run.output ?? null,
    error: run.error,
    nextAttemptAt: isoOrNull(run.nextAttemptAt),
    createdAt: iso(run.createdAt),
    startedAt: isoOrNull(run.startedAt),
    finishedAt: isoOrNull(run.finishedAt),
  };
}

/** Many runs with their attempts, grouped in one pass. */
export function toRunResources(runs: readonly RunRecord[], attempts: readonly AttemptRecord[]): RunResource[] {
  const byRun = new Map<string, AttemptRecord[]>();
  for (const attempt of attempts) {
    const list = byRun.get(attempt.runId);
    if (list) list.push(attempt);
    else byRun.set(attempt.runId, [attempt]);
  }
  return runs.map((run) => toRunResource(run, byRun.get(run.id) ?? []));
}

export function toRunLogResource(line: RunLogRecord): RunLogResource {
  return { seq: line.seq, attempt: line.attempt, at: iso(line.at), level: line.level, message: line.message };
}

/** `now`: the instant `expired` is judged at. */
export function toTokenResource(token: TokenRecord, now: number): TokenResource {
  return {
    id: token.id,
    name: token.name,
    role: token.role,
    namespaces: [...token.namespaces],
    groups: token.groups === null ? null : [...token.groups],
    createdAt: iso(token.createdAt),
    lastUsedAt: isoOrNull(token.lastUsedAt),
    revokedAt: isoOrNull(token.revokedAt),
    expiresAt: isoOrNull(token.expiresAt),
    expired: isExpiredAt(token, now),
  };
}

/** `tokenNames`: the name of each token by id, to name the actor `token:<id>`. */
export function toAuditEntryResource(entry: AuditRecord, tokenNames: ReadonlyMap<string, string> = new Map()): AuditEntryResource {
  return {
    id: entry.id,
    at: iso(entry.at),
    actor: entry.actor,
    actorName: entry.actor.startsWith('token:') ? (tokenNames.get(entry.actor.slice('token:'.length)) ?? null) : null,
    action: entry.action,
    resourceType: entry.resourceType,
    resourceId: entry.resourceId,
    details: entry.details ?? null,
  };
}

/** A workflow as `caller` may see it (header values of inline targets masked unless it may edit the workflow). */
export function toWorkflowResource(workflow: WorkflowRecord, caller: Caller): WorkflowResource {
  return {
    id: workflow.id, namespace: workflow.namespace, name: workflow.name, revision: workflow.revision, state: workflow.state,
    spec: redactWorkflowSpec(workflow.spec, specAudience(caller, workflow.namespace)), nextFireAt: isoOrNull(workflow.nextFireAt), lastFireAt: isoOrNull(workflow.lastFireAt),
    lastRunStatus: workflow.lastRunStatus, skippedFires: workflow.skippedFires, createdAt: iso(workflow.createdAt), updatedAt: iso(workflow.updatedAt),
  };
}

/** A workflow run's status from its run's: not started yet is `pending`; an end other than success or cancel is `failed`. */
export function workflowRunStatus(status: RunRecord['status']): WorkflowRunStatus {
  if (status === 'pending' || status === 'dispatched' || status === 'no_executor' || status === 'throttled') return 'pending';
  if (status === 'running' || status === 'succeeded' || status === 'cancelled') return status;
  return 'failed';
}

export function toWorkflowNodeResource(node: WorkflowNodeRecord): WorkflowNodeResource {
  return {
    id: node.nodeId, status: node.status, reason: node.reason, runId: node.runId, attempts: node.attempts,
    startedAt: isoOrNull(node.startedAt), finishedAt: isoOrNull(node.finishedAt),
  };
}

export function toWorkflowRunResource(run: RunRecord, nodes?: readonly WorkflowNodeRecord[]): WorkflowRunResource {
  return {
    id: run.id, workflowId: run.taskId, workflowName: run.taskName, namespace: run.namespace, revision: run.taskRevision, trigger: run.trigger,
    scheduledAt: iso(run.scheduledAt), status: workflowRunStatus(run.status), params: run.params, error: run.error, createdAt: iso(run.createdAt),
    startedAt: isoOrNull(run.startedAt), finishedAt: isoOrNull(run.finishedAt),
    ...(nodes ? { nodes: nodes.map(toWorkflowNodeResource) } : {}),
  };
}

export function toBackfillResource(b: BackfillRecord, runs: BackfillResource['runs']): BackfillResource {
  return {
    runs,
    id: b.id, taskId: b.taskId, namespace: b.namespace, from: iso(b.fromAt), to: iso(b.toAt), concurrency: b.concurrency, total: b.total,
    created: b.created, skipped: b.skipped, cursor: isoOrNull(b.cursorAt), status: b.status, error: b.error, actor: b.actor,
    createdAt: iso(b.createdAt), updatedAt: iso(b.updatedAt), finishedAt: isoOrNull(b.finishedAt),
  };
}
