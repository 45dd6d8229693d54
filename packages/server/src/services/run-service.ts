/**
 * Reading runs and acting on them. Runs are history: the service reads them from the store and
 * hands cancellation and executor reports to the scheduler ({@link RunControl}). A run outside
 * the caller's namespaces does not exist for it (RUN_NOT_FOUND).
 */
import { isFinalRunStatus, type RunReportSchema, type RunStatus } from '@ecron/contracts';
import type { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import type { AttemptRecord, RunLogRecord, RunRecord } from '../core/model.ts';
import type { MapCounts, RunMapRecord, SubtaskRecord } from '../store/run-subtasks.ts';
import type { RunControl } from '../scheduler/run-control.ts';
import type { Page, Store } from '../store/store.ts';
import { checkNamespaceAccess, namespaceFilter, type Caller, type RoleRequirement } from './access.ts';
import { followRunLogs, type RunLogFollowEvent, type RunLogFollowOptions } from './run-log-follow.ts';

export interface ListRunsQuery {
  taskId?: string;
  /** Only the runs of this workflow run's nodes. */
  workflowRunId?: string;
  namespace?: string;
  status?: RunStatus;
  from?: number;
  to?: number;
  cursor?: string | null;
  limit: number;
}

/** A run with its attempts (and, from `get`, its map when it has one). */
export interface RunWithAttempts {
  run: RunRecord;
  attempts: AttemptRecord[];
  map?: (RunMapRecord & { counts: MapCounts }) | null;
}

export interface RunService {
  get(caller: Caller, id: string): Promise<RunWithAttempts>;
  /** Newest first; the attempts of the whole page come from one store call. */
  list(caller: Caller, query: ListRunsQuery): Promise<{ runs: RunRecord[]; attempts: AttemptRecord[]; nextCursor: string | null }>;
  /** Log lines after `afterSeq`, and the seq to ask after next time. */
  logs(caller: Caller, id: string, query: { afterSeq?: number; limit: number }): Promise<{ lines: RunLogRecord[]; nextSeq: number }>;
  /**
   * Follows the log of a run the caller may see (RUN_NOT_FOUND is thrown here, before anything
   * is followed): the lines after `afterSeq`, then new ones as they are written, then the run's
   * end. Stops when `abort` fires. See `run-log-follow.ts`.
   */
  follow(caller: Caller, id: string, p: { afterSeq?: number; abort: AbortSignal }): Promise<AsyncIterable<RunLogFollowEvent>>;
  cancel(caller: Caller, id: string): Promise<RunWithAttempts>;
  /**
   * Starts a new manual run of a finished run's task, with that run's params, or with `params`
   * in their place. Throws RUN_NOT_FOUND, RUN_NOT_FINISHED, or TASK_NOT_FOUND (the task was deleted).
   */
  rerun(caller: Caller, id: string, params?: Record<string, unknown>): Promise<RunWithAttempts>;
  /** The subtasks of a run that mapped, by index (the reduce, index -1, first). */
  subtasks(caller: Caller, id: string, query: { state?: SubtaskRecord['state']; cursor?: string | null; limit: number }): Promise<Page<SubtaskRecord>>;
  /** An executor's callback, authenticated by the run-scoped token (not an API token). */
  report(id: string, token: string | undefined, report: z.output<typeof RunReportSchema>): Promise<RunRecord>;
}

export function createRunService(deps: { store: Store; control: RunControl; clock: Clock; follow?: Omit<RunLogFollowOptions, 'store' | 'clock'> }): RunService {
  const { store, control, clock } = deps;

  /** Run `id` for an operation that needs `needed` in its namespace (see `checkNamespaceAccess`). */
  async function load(caller: Caller, id: string, needed: RoleRequirement): Promise<RunRecord> {
    const run = await store.getRun(id);
    const notFound = () => new EcronError('RUN_NOT_FOUND', `no run with id ${JSON.stringify(id)}`);
    if (!run) throw notFound();
    checkNamespaceAccess(caller, run.namespace, needed, notFound);
    return run;
  }

  return {
    async get(caller, id) {
      const run = await load(caller, id, 'viewer');
      const [attempts, map] = await Promise.all([store.listAttempts([run.id]), store.getRunMap(run.id)]);
      return { run, attempts, map };
    },

    async subtasks(caller, id, query) {
      const run = await load(caller, id, 'viewer');
      return store.listSubtasks({ runId: run.id, ...query });
    },

    async list(caller, query) {
      const page: Page<RunRecord> = await store.listRuns({ ...query, namespaces: namespaceFilter(caller, 'viewer') });
      const attempts = page.items.length > 0 ? await store.listAttempts(page.items.map((r) => r.id)) : [];
      return { runs: page.items, attempts, nextCursor: page.nextCursor };
    },

    async logs(caller, id, query) {
      await load(caller, id, 'viewer');
      const lines = await store.listRunLogs({ runId: id, afterSeq: query.afterSeq, limit: query.limit });
      return { lines, nextSeq: lines.at(-1)?.seq ?? query.afterSeq ?? 0 };
    },

    async follow(caller, id, p) {
      await load(caller, id, 'viewer');
      return followRunLogs({ ...deps.follow, store, clock }, { runId: id, afterSeq: p.afterSeq ?? 0, abort: p.abort });
    },

    async cancel(caller, id) {
      await load(caller, id, 'operator');
      const run = await control.cancel({ runId: id, actor: caller.actor });
      return { run, attempts: await store.listAttempts([run.id]) };
    },

    async rerun(caller, id, params) {
      const previous = await load(caller, id, 'operator');
      if (!isFinalRunStatus(previous.status)) throw new EcronError('RUN_NOT_FINISHED', `run ${id} is ${previous.status}: only a finished run can be run again`);
      const task = await store.getTask(previous.taskId);
      if (!task) throw new EcronError('TASK_NOT_FOUND', `the task of run ${id} was deleted`);
      const run = await control.trigger({ task, params: params ?? previous.params, actor: caller.actor, rerunOf: previous.id });
      return { run, attempts: await store.listAttempts([run.id]) };
    },

    report(id, token, report) {
      return control.report({ runId: id, token, report });
    },
  };
}
