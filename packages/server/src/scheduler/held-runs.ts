/**
 * Every run this scheduler node holds, and where it is: the one owner of that state, shared by
 * the scheduler (which records fires and launches them) and the run supervisor (which sends,
 * retries and ends them). Timers (the launch queue, the retry backoff) and the I/O of an attempt
 * in flight live with their users; which runs are held, in which phase, and what they count
 * against, lives here.
 *
 * A workflow run's own run is held only until it is launched (its workflow controller tracks it
 * from then on) and never counts here: the controller counts workflow runs.
 */
import type { RunRecord, ScheduledRecord } from '../core/model.ts';

export type HeldPhase =
  /** Its fire is recorded; it goes out at its instant. */
  | 'recorded'
  /** Due, but held back while this node's heartbeat is overdue. */
  | 'deferred'
  /** Its next attempt is being recorded. */
  | 'starting'
  /** An attempt is out to its executor. */
  | 'sending'
  /** Waiting for its next attempt (backoff). */
  | 'retrying'
  /** Waiting for a live executor of its group (`no_executor`). */
  | 'waiting'
  /** Waiting for its namespace's run quota before its first attempt (`throttled`; counts as active). */
  | 'throttled'
  /** In its task's queue-one slot: waits for the active run to end (does not count as active). */
  | 'queued';

export interface Held {
  run: RunRecord;
  phase: HeldPhase;
  /** The task it was recorded for (recorded and deferred runs go out with it). */
  task?: ScheduledRecord;
}

/**
 * What a run counts against for overlap and concurrency: its task, or for a workflow node's run
 * its node (a workflow's overlap policy counts workflow runs, not their nodes' runs).
 */
export function activityKey(run: RunRecord): string {
  return run.nodeId === null ? run.taskId : `${run.taskId}/${run.nodeId}`;
}

function counts(held: Held): boolean {
  return held.phase !== 'queued' && held.run.workflowRunId !== held.run.id;
}

export class HeldRuns {
  readonly #byId = new Map<string, Held>();
  /** Held runs that count as active, by activity key. */
  readonly #active = new Map<string, Set<string>>();
  /** The run in each task's queue-one slot, by task id. */
  readonly #queued = new Map<string, string>();
  /**
   * Held run ids by phase, oldest hold first: counting or listing one phase (checked on every run's
   * end, and by timers) costs what that phase holds, not every run held.
   */
  readonly #byPhase = new Map<HeldPhase, Set<string>>();

  /** Holds `run` in `phase` (a run held already moves there, with its newer record). */
  hold(run: RunRecord, phase: HeldPhase, task?: ScheduledRecord): void {
    this.release(run.id);
    const held: Held = { run, phase, ...(task ? { task } : {}) };
    this.#byId.set(run.id, held);
    let phaseIds = this.#byPhase.get(phase);
    if (!phaseIds) this.#byPhase.set(phase, (phaseIds = new Set()));
    phaseIds.add(run.id);
    if (phase === 'queued') this.#queued.set(run.taskId, run.id);
    if (!counts(held)) return;
    const key = activityKey(run);
    let ids = this.#active.get(key);
    if (!ids) this.#active.set(key, (ids = new Set()));
    ids.add(run.id);
  }

  /** Moves a held run to `phase`, keeping its record; false when it is not held. */
  move(runId: string, phase: HeldPhase): boolean {
    const held = this.#byId.get(runId);
    if (!held) return false;
    this.hold(held.run, phase, held.task);
    return true;
  }

  get(runId: string): Held | undefined {
    return this.#byId.get(runId);
  }

  phase(runId: string): HeldPhase | undefined {
    return this.#byId.get(runId)?.phase;
  }

  /** Lets go of a run; returns what was held. */
  release(runId: string): Held | undefined {
    const held = this.#byId.get(runId);
    if (!held) return undefined;
    this.#byId.delete(runId);
    this.#byPhase.get(held.phase)?.delete(runId);
    if (held.phase === 'queued' && this.#queued.get(held.run.taskId) === runId) this.#queued.delete(held.run.taskId);
    const key = activityKey(held.run);
    const ids = this.#active.get(key);
    if (ids?.delete(runId) && ids.size === 0) this.#active.delete(key);
    return held;
  }

  /** Active runs of a task (or of a workflow node: `taskId/nodeId`). */
  activeCount(key: string): number {
    return this.#active.get(key)?.size ?? 0;
  }

  activeRunIds(key: string): string[] {
    return [...(this.#active.get(key) ?? [])];
  }

  /**
   * Active held runs of a task (or of a workflow node: `taskId/nodeId`) whose record has `status`
   * (a `throttled` run being asked again is held `starting`, its record still `throttled`).
   */
  countWithStatus(key: string, status: RunRecord['status']): number {
    let n = 0;
    for (const id of this.#active.get(key) ?? []) if (this.#byId.get(id)?.run.status === status) n += 1;
    return n;
  }

  /** The held runs in `phase`, oldest hold first. */
  inPhase(phase: HeldPhase): Held[] {
    return [...this.#byPhase.get(phase) ?? []].map((id) => this.#byId.get(id)!);
  }

  count(phase: HeldPhase): number {
    return this.#byPhase.get(phase)?.size ?? 0;
  }

  /** The run waiting in the task's queue-one slot. */
  queuedOf(taskId: string): RunRecord | undefined {
    const id = this.#queued.get(taskId);
    return id === undefined ? undefined : this.#byId.get(id)?.run;
  }

  clear(): void {
    this.#byId.clear();
    this.#active.clear();
    this.#queued.clear();
    this.#byPhase.clear();
  }
}
