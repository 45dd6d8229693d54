import type { BackfillResource, MAX_BACKFILL_FIRES, RunStatus, TaskState, TokenRole, WorkflowNodeStatus, WorkflowRunStatus } from '@ecron/contracts';

/**
 * The values the CLI offers as option choices. They copy lists of `@ecron/contracts` so that the
 * CLI does not load zod at start (type-only imports are erased); the checks below fail to compile
 * when the contracts gain a value that is missing here.
 */
export const TASK_STATES = ['active', 'paused', 'completed'] as const satisfies readonly TaskState[];
export const RUN_STATUSES = ['pending', 'no_executor', 'throttled', 'dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'] as const satisfies readonly RunStatus[];
export const FINAL_RUN_STATUSES = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'] as const satisfies readonly RunStatus[];
export const TOKEN_ROLES = ['admin', 'editor', 'operator', 'viewer', 'executor', 'metrics'] as const satisfies readonly TokenRole[];
export const WORKFLOW_RUN_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const satisfies readonly WorkflowRunStatus[];
export const FINAL_WORKFLOW_RUN_STATUSES = ['succeeded', 'failed', 'cancelled'] as const satisfies readonly WorkflowRunStatus[];
export const WORKFLOW_NODE_STATUSES = ['waiting', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'] as const satisfies readonly WorkflowNodeStatus[];
type BackfillStatus = BackfillResource['status'];
export const BACKFILL_STATUSES = ['running', 'succeeded', 'cancelled', 'failed'] as const satisfies readonly BackfillStatus[];
/** The most fires one backfill may create (`--max-count`); fails to compile when the contracts' limit changes. */
export const BACKFILL_MAX_FIRES: typeof MAX_BACKFILL_FIRES = 100_000;
/** The most runs of one backfill active at once (`--concurrency`), as the API allows. */
export const BACKFILL_MAX_CONCURRENCY = 100;

type Covers<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : false;
const covers: [
  Covers<TaskState, (typeof TASK_STATES)[number]>, Covers<RunStatus, (typeof RUN_STATUSES)[number]>, Covers<TokenRole, (typeof TOKEN_ROLES)[number]>,
  Covers<WorkflowRunStatus, (typeof WORKFLOW_RUN_STATUSES)[number]>, Covers<WorkflowNodeStatus, (typeof WORKFLOW_NODE_STATUSES)[number]>,
  Covers<BackfillStatus, (typeof BACKFILL_STATUSES)[number]>,
] = [true, true, true, true, true, true];
void covers;

export function isFinalRunStatus(status: string): boolean {
  return (FINAL_RUN_STATUSES as readonly string[]).includes(status);
}

export function isFinalWorkflowRunStatus(status: string): boolean {
  return (FINAL_WORKFLOW_RUN_STATUSES as readonly string[]).includes(status);
}

/** True once a backfill has ended: the API keeps it `running` until every fire was created and every run it created ended. */
export function isFinalBackfillStatus(status: string): boolean {
  return status !== 'running';
}
