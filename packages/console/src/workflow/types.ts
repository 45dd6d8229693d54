/**
 * Workflows as the public REST API shows them (`/api/v1/workflows`, `/api/v1/workflow-runs`).
 * Instants are ISO-8601 strings. The console keeps its own copy of these shapes: it talks to the
 * API only, and a spec typed in the editor may be anything until the API has validated it.
 */

export type WorkflowState = 'active' | 'paused' | 'completed';
export type WorkflowRunStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type WorkflowNodeStatus = 'waiting' | 'running' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'skipped';
export type WorkflowNodeReason = 'upstream_failed' | 'condition' | 'cancelled' | 'manual' | 'task_not_found';
/** When a node runs, given how its needs ended. */
export type RunCondition = 'on-success' | 'always' | 'on-failure';

/** A need as the API returns it (defaults filled). */
export interface WorkflowNeed {
  node: string;
  optional: boolean;
}

/** A need as a user may write it: a node id (required), or `{ node, optional: true }`. */
export type WrittenNeed = string | { node: string; optional?: boolean };

export interface WorkflowNodeSpec {
  id: string;
  description?: string;
  /** A task name of the workflow's namespace; or else `target`. */
  task?: string;
  /** The same forms as a task's target: http, executor, shell, grpc. */
  target?: Record<string, unknown>;
  retry?: Record<string, unknown>;
  timeoutMs?: number | string;
  needs?: WrittenNeed[];
  params?: Record<string, unknown>;
  run?: RunCondition;
  [key: string]: unknown;
}

export interface WorkflowSpec {
  namespace?: string;
  name?: string;
  description?: string;
  /** The same forms as a task's: `{ cron, timezone }`, `{ every, mode }`, `{ at }`, `{ manual: true }`. */
  schedule?: Record<string, unknown>;
  misfire?: unknown;
  overlap?: unknown;
  params?: Record<string, unknown>;
  timeoutMs?: number | string;
  nodes: WorkflowNodeSpec[];
  [key: string]: unknown;
}

export interface WorkflowResource {
  id: string;
  namespace: string;
  name: string;
  revision: number;
  state: WorkflowState;
  spec: WorkflowSpec;
  nextFireAt: string | null;
  lastFireAt: string | null;
  lastRunStatus: WorkflowRunStatus | null;
  createdAt: string;
  updatedAt: string;
}

/** One node of a workflow run. `runId` is its ordinary run (`/runs/:id`), null until it has one. */
export interface WorkflowRunNode {
  id: string;
  status: WorkflowNodeStatus;
  reason: WorkflowNodeReason | null;
  runId: string | null;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface WorkflowRunResource {
  id: string;
  workflowId: string;
  workflowName: string;
  namespace: string;
  revision: number;
  trigger: string;
  scheduledAt: string;
  status: WorkflowRunStatus;
  params: Record<string, unknown>;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Left out of lists (`GET /workflow-runs`). */
  nodes?: WorkflowRunNode[];
}

export interface WorkflowRevision {
  revision: number;
  spec: WorkflowSpec;
  createdAt: string;
  actor: string;
}
