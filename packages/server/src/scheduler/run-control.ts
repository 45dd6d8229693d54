import type { RunReportSchema } from '@ecron/contracts';
import type { z } from 'zod';
import type { BackfillRecord, RunRecord, ScheduledRecord } from '../core/model.ts';
import type { WorkflowAction } from '../core/workflow/transaction.ts';
import type { AuditInput } from '../store/store.ts';
import type { MapCoordinator } from './map-coordinator.ts';

/**
 * What the API asks of the scheduler. The scheduler implements it; the API depends only on this
 * interface, so the API can run on nodes without the scheduler role later.
 */
export interface RunControl {
  /**
   * A task was created, changed, paused, resumed or deleted: drop cached fires and reload it, or
   * take `current`, the record the write just stored (no store read: a bulk create of 20,000 tasks
   * read each one back).
   */
  taskChanged(taskId: string, current?: ScheduledRecord): void;
  /**
   * Creates a manual run now (params = task params shallow-merged with `params`), dispatches it,
   * and returns it as stored. Writes an audit entry `task.trigger` (`workflow.trigger` for a workflow). With `rerunOf` (the id of a
   * finished run), the run is that run's re-run: its params are `params` exactly, and the audit
   * entry is `run.rerun`.
   */
  trigger(p: { task: ScheduledRecord; params?: Record<string, unknown>; actor: string; rerunOf?: string }): Promise<RunRecord>;
  /**
   * Cancels a workflow run or applies a recovery action to it (`core/workflow/transaction.ts`),
   * with its audit entry; the runs it activates are supervised by this node. Throws
   * WORKFLOW_RUN_NOT_FOUND and the WORKFLOW_* codes of the action.
   */
  actOnWorkflowRun(p: { runId: string; action: WorkflowAction; audit: AuditInput }): Promise<RunRecord | null>;
  /** This node's id: the owner of the backfills it creates. */
  readonly nodeId: string;
  /** Starts creating the fires of a backfill stored with this node as its owner. */
  startBackfill(backfill: BackfillRecord): void;
  /** Cancels a run: throws RUN_NOT_FOUND or RUN_ALREADY_FINISHED. Writes an audit entry `run.cancel`. */
  cancel(p: { runId: string; actor: string }): Promise<RunRecord>;
  /**
   * Handles an executor's callback report, authenticated by the run-scoped `token`. Throws
   * CALLBACK_TOKEN_INVALID, CALLBACK_RUN_MISMATCH, CALLBACK_ATTEMPT_SUPERSEDED, CALLBACK_REPLAYED,
   * RUN_ALREADY_FINISHED or RUN_NOT_FOUND; changes nothing when it throws.
   */
  report(p: { runId: string; token: string | undefined; report: z.output<typeof RunReportSchema> }): Promise<RunRecord>;
  /** True once the scheduler has loaded its state and is firing. */
  readonly ready: boolean;
  /** Map/reduce: subtasks of map attempts, their claims and results (absent: the routes are not served). */
  readonly maps?: MapCoordinator;
}
