/**
 * Mapping between SQLite rows and domain records. Column names are snake_case; instants are
 * INTEGER epoch ms, read back as JS numbers (exact up to year 285,616); JSON is TEXT.
 */
import type { RunStatus, TaskSpec, WorkflowSpec } from '@ecron/contracts';
import type { AttemptRecord, AuditRecord, RunLogRecord, RunRecord, ScheduledRecord, TaskRecord, TaskRevisionRecord, TokenRecord } from '../../core/model.ts';
import { bucketOf } from '../../core/buckets.ts';
import type { NewRun } from '../store.ts';
import type { WorkflowNodeRecord } from '../../core/workflow/node-state.ts';

/** A row as `node:sqlite` returns it. */
export type Row = Record<string, unknown>;

const num = (value: unknown): number => value as number;
const numOrNull = (value: unknown): number | null => (value === null ? null : (value as number));
const textOrNull = (value: unknown): string | null => (value === null ? null : (value as string));
const jsonOrNull = (value: unknown): unknown => (value === null ? null : JSON.parse(value as string));

/** The columns of `tasks`, in the order of {@link taskParams}. */
export const TASK_COLUMNS = 'id, namespace, name, revision, state, spec, next_fire_at, last_fire_at, last_run_status, skipped_fires, anchor_at, created_at, updated_at, bucket, kind';

export function taskParams(task: ScheduledRecord): (string | number | null)[] {
  return [
    task.id, task.namespace, task.name, task.revision, task.state, JSON.stringify(task.spec), task.nextFireAt, task.lastFireAt,
    task.lastRunStatus, task.skippedFires, task.anchorAt, task.createdAt, task.updatedAt, bucketOf(task.id), task.kind,
  ];
}

/** A task or a workflow, by the row's kind. */
export function toScheduled(row: Row): ScheduledRecord {
  const base = {
    id: row.id as string,
    namespace: row.namespace as string,
    name: row.name as string,
    revision: num(row.revision),
    state: row.state as TaskRecord['state'],
    nextFireAt: numOrNull(row.next_fire_at),
    lastFireAt: numOrNull(row.last_fire_at),
    lastRunStatus: textOrNull(row.last_run_status) as RunStatus | null,
    skippedFires: num(row.skipped_fires),
    anchorAt: num(row.anchor_at),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  };
  return row.kind === 'workflow'
    ? { ...base, kind: 'workflow', spec: JSON.parse(row.spec as string) as WorkflowSpec }
    : { ...base, kind: 'task', spec: JSON.parse(row.spec as string) as TaskSpec };
}

/** A row of a task (callers select `kind = 'task'`). */
export function toTask(row: Row): TaskRecord {
  return toScheduled(row) as TaskRecord;
}

export function toTaskRevision(row: Row): TaskRevisionRecord {
  return {
    taskId: row.task_id as string,
    revision: num(row.revision),
    spec: JSON.parse(row.spec as string) as TaskSpec | WorkflowSpec,
    createdAt: num(row.created_at),
    actor: row.actor as string,
  };
}

export function toRun(row: Row): RunRecord {
  return {
    id: row.id as string,
    taskId: row.task_id as string,
    namespace: row.namespace as string,
    taskName: row.task_name as string,
    taskRevision: num(row.task_revision),
    trigger: row.trigger as RunRecord['trigger'],
    workflowRunId: textOrNull(row.workflow_run_id ?? null),
    nodeId: textOrNull(row.node_id ?? null),
    backfillId: textOrNull(row.backfill_id ?? null),
    scheduledAt: num(row.scheduled_at),
    status: row.status as RunStatus,
    attempt: num(row.attempt),
    params: JSON.parse(row.params as string) as Record<string, unknown>,
    progress: numOrNull(row.progress),
    output: jsonOrNull(row.output),
    error: textOrNull(row.error),
    nextAttemptAt: numOrNull(row.next_attempt_at),
    deadlineAt: numOrNull(row.deadline_at),
    reportSeq: num(row.report_seq),
    owner: textOrNull(row.owner),
    createdAt: num(row.created_at),
    startedAt: numOrNull(row.started_at),
    finishedAt: numOrNull(row.finished_at),
  };
}

/**
 * The record of a run just inserted from `run`, built without reading it back: a dispatched run
 * carries attempt 1, a skipped run is finished at its creation.
 */
export function insertedRun(run: NewRun): RunRecord {
  const attempt = run.status === 'dispatched' && run.attempt ? run.attempt : null;
  return {
    id: run.id,
    taskId: run.taskId,
    namespace: run.namespace,
    taskName: run.taskName,
    taskRevision: run.taskRevision,
    trigger: run.trigger,
    workflowRunId: run.workflowRunId ?? null,
    nodeId: run.nodeId ?? null,
    backfillId: run.backfillId ?? null,
    scheduledAt: run.scheduledAt,
    status: run.status,
    attempt: attempt ? 1 : 0,
    params: run.params,
    progress: null,
    output: null,
    error: run.error ?? null,
    nextAttemptAt: null,
    deadlineAt: attempt ? attempt.deadlineAt : null,
    reportSeq: -1,
    owner: run.owner ?? null,
    createdAt: run.createdAt,
    startedAt: attempt ? attempt.startedAt : null,
    finishedAt: run.status === 'skipped' ? run.createdAt : null,
  };
}

export function toAttempt(row: Row): AttemptRecord {
  return {
    runId: row.run_id as string,
    number: num(row.number),
    status: row.status as AttemptRecord['status'],
    executor: textOrNull(row.executor),
    startedAt: num(row.started_at),
    sentAt: numOrNull(row.sent_at),
    finishedAt: numOrNull(row.finished_at),
    error: textOrNull(row.error),
    output: jsonOrNull(row.output),
  };
}

export function toRunLog(row: Row): RunLogRecord {
  return {
    runId: row.run_id as string,
    seq: num(row.seq),
    attempt: num(row.attempt),
    at: num(row.at),
    level: row.level as RunLogRecord['level'],
    message: row.message as string,
  };
}

/** `api_tokens.executor_groups` of a token: a JSON array, or null for every group. */
export function groupsJson(token: Pick<TokenRecord, 'groups'>): string | null {
  return token.groups === null ? null : JSON.stringify(token.groups);
}

export function toToken(row: Row): TokenRecord {
  return {
    id: row.id as string,
    name: row.name as string,
    role: row.role as TokenRecord['role'],
    namespaces: JSON.parse(row.namespaces as string) as string[],
    groups: row.executor_groups === null || row.executor_groups === undefined
      ? null
      : (typeof row.executor_groups === 'string' ? JSON.parse(row.executor_groups) : row.executor_groups) as string[],
    secretHash: row.secret_hash as string,
    createdAt: num(row.created_at),
    lastUsedAt: numOrNull(row.last_used_at),
    revokedAt: numOrNull(row.revoked_at),
    expiresAt: numOrNull(row.expires_at),
  };
}

export function toAudit(row: Row): AuditRecord {
  return {
    id: row.id as string,
    at: num(row.at),
    actor: row.actor as string,
    action: row.action as string,
    resourceType: row.resource_type as string,
    resourceId: textOrNull(row.resource_id),
    details: jsonOrNull(row.details),
  };
}

/**
 * The WHERE clause limiting a list to a token's namespaces: null for no limit, 'none' when the
 * scope is empty (the list is empty).
 */
export function namespaceScope(namespaces: string[] | null | undefined): { clause: string; param: string } | null | 'none' {
  if (!namespaces || namespaces.includes('*')) return null;
  if (namespaces.length === 0) return 'none';
  return { clause: 'namespace IN (SELECT value FROM json_each(?))', param: JSON.stringify(namespaces) };
}

export function toWorkflowNode(row: Row): WorkflowNodeRecord {
  return {
    workflowRunId: row.workflow_run_id as string,
    nodeId: row.node_id as string,
    status: row.status as WorkflowNodeRecord['status'],
    reason: textOrNull(row.reason) as WorkflowNodeRecord['reason'],
    runId: textOrNull(row.run_id),
    attempts: num(row.attempts),
    output: typeof row.output === 'string' ? JSON.parse(row.output) : (row.output ?? null),
    startedAt: numOrNull(row.started_at),
    finishedAt: numOrNull(row.finished_at),
  };
}
