/**
 * Mappers from stored records to the resources the API returns. Instants become ISO-8601 UTC
 * strings; secrets never leave through here (a task's `target.secret` is removed).
 */
import type {
  AttemptResource, AuditEntryResource, BackfillResource, RunLogResource, RunResource, TaskResource, TaskSpec, TokenResource, WorkflowNodeResource, WorkflowResource,
  WorkflowRunResource, WorkflowRunStatus, WorkflowSpec,
} from '@ecron/contracts';
import type { WorkflowNodeRecord } from '../core/workflow/node-state.ts';
import type { AttemptRecord, AuditRecord, BackfillRecord, RunLogRecord, RunRecord, TaskRecord, TaskRevisionRecord, TokenRecord, WorkflowRecord } from '../core/model.ts';

export const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

/** A target without secrets: an HTTP target's `secret` is dropped. */
export function redactTarget<T extends TaskSpec['target']>(target: T): T {
  if (target.type !== 'http' || !('secret' in target)) return target;
  const { secret: _secret, ...rest } = target;
  return rest as T;
}

/** A copy of the spec without secrets: `target.secret` is dropped. */
export function redactSpec(spec: TaskSpec): TaskSpec {
  const target = redactTarget(spec.target);
  return target === spec.target ? spec : { ...spec, target };
}

/** A copy of a workflow spec without the secrets of its inline targets. */
export function redactWorkflowSpec(spec: WorkflowSpec): WorkflowSpec {
  return { ...spec, nodes: spec.nodes.map((node) => ('target' in node ? { ...node, target: redactTarget(node.target) } : node)) };
}

const redactAnySpec = (spec: TaskSpec | WorkflowSpec): TaskSpec | WorkflowSpec => ('nodes' in spec ? redactWorkflowSpec(spec) : redactSpec(spec));

export function toTaskResource(task: TaskRecord): TaskResource {
  return {
    id: task.id,
    namespace: task.namespace,
    name: task.name,
    revision: task.revision,
    state: task.state,
    spec: redactSpec(task.spec),
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

export function toTaskRevisionResource(revision: TaskRevisionRecord): TaskRevisionResource {
  return { revision: revision.revision, spec: redactAnySpec(revision.spec) as TaskSpec, createdAt: iso(revision.createdAt), actor: revision.actor };
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

export function toTokenResource(token: TokenRecord): TokenResource {
  return {
    id: token.id,
    name: token.name,
    role: token.role,
    namespaces: [...token.namespaces],
    createdAt: iso(token.createdAt),
    lastUsedAt: isoOrNull(token.lastUsedAt),
    revokedAt: isoOrNull(token.revokedAt),
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

export function toWorkflowResource(workflow: WorkflowRecord): WorkflowResource {
  return {
    id: workflow.id, namespace: workflow.namespace, name: workflow.name, revision: workflow.revision, state: workflow.state,
    spec: redactWorkflowSpec(workflow.spec), nextFireAt: isoOrNull(workflow.nextFireAt), lastFireAt: isoOrNull(workflow.lastFireAt),
    lastRunStatus: workflow.lastRunStatus, skippedFires: workflow.skippedFires, createdAt: iso(workflow.createdAt), updatedAt: iso(workflow.updatedAt),
  };
}

/** A workflow run's status from its run's: not started yet is `pending`; an end other than success or cancel is `failed`. */
export function workflowRunStatus(status: RunRecord['status']): WorkflowRunStatus {
  if (status === 'pending' || status === 'dispatched' || status === 'no_executor') return 'pending';
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
