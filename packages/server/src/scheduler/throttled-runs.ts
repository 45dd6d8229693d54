/**
 * Runs this node holds that wait for their namespace's run quota (`throttled`, see
 * `store/quota-admission.ts`). The store admits or refuses; this asks it again, oldest fire first
 * per namespace, a batch per namespace at a time (so one namespace's thousands of waiting runs do
 * not hold another's back): at once when a run of this node ends, and every `retryMs` otherwise
 * (room freed by another node's runs, or a minute's window moving on).
 *
 * A waiting run is not kept forever against its task's misfire policy: under `skip` it is ended
 * `skipped` once it waited longer than the misfire threshold, and under any policy with a
 * `windowMs`, once it waited longer than that. Manual runs wait until admitted or cancelled.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { RunRecord, TaskRecord } from '../core/model.ts';
import type { HeldRuns } from './held-runs.ts';

/** How often runs still waiting ask again. */
export const THROTTLE_RETRY_MS = 250;
/** Runs of one namespace asked for at once. */
export const THROTTLE_BATCH = 64;

export interface ThrottledRunsDeps {
  clock: Clock;
  held: HeldRuns;
  misfireThresholdMs: number;
  getTask: (run: RunRecord) => Promise<TaskRecord | null>;
  /** Asks the store to start the runs' first attempts (those still refused come back through `hold`). */
  start: (runs: RunRecord[]) => Promise<void>;
  /** Ends a waiting run as skipped (its misfire policy gave up on it). */
  skip: (run: RunRecord, reason: string) => Promise<void>;
  log: (level: 'warn', message: string, fields?: Record<string, unknown>) => void;
}

export class ThrottledRuns {
  readonly #deps: ThrottledRunsDeps;
  #timer: TimerHandle | null = null;
  #timerAt = Infinity;
  #pumping = false;
  #again = false;
  #stopped = false;

  constructor(deps: ThrottledRunsDeps) {
    this.#deps = deps;
  }

  /** Holds a run its namespace's quota refused; it asks again after `retryMs`. */
  hold(run: RunRecord): void {
    this.#deps.held.hold(run, 'throttled');
    this.#arm(THROTTLE_RETRY_MS);
  }

  /** Room may have been freed (a run of this node ended): ask again now. */
  poke(): void {
    if (this.#deps.held.count('throttled') > 0) this.#arm(0);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) this.#deps.clock.clearTimer(this.#timer);
    this.#timer = null;
  }

  #arm(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#pumping) {
      if (delayMs === 0) this.#again = true;
      return;
    }
    const at = this.#deps.clock.now() + delayMs;
    if (this.#timer !== null && this.#timerAt <= at) return;
    if (this.#timer !== null) this.#deps.clock.clearTimer(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#deps.clock.setTimer(() => {
      this.#timer = null;
      this.#timerAt = Infinity;
      void this.#pump();
    }, delayMs);
  }

  async #pump(): Promise<void> {
    if (this.#stopped) return;
    this.#pumping = true;
    this.#again = false;
    let admittedAll = false;
    try {
      const byNamespace = new Map<string, RunRecord[]>();
      for (const { run } of this.#deps.held.inPhase('throttled')) {
        let runs = byNamespace.get(run.namespace);
        if (!runs) byNamespace.set(run.namespace, (runs = []));
        runs.push(run);
      }
      const now = this.#deps.clock.now();
      const batches = await Promise.all([...byNamespace.values()].map(async (runs) => {
        runs.sort((a, b) => a.scheduledAt - b.scheduledAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        const batch: RunRecord[] = [];
        for (const run of runs) {
          if (batch.length >= THROTTLE_BATCH) break;
          const expired = this.#expired(run, await this.#deps.getTask(run).catch(() => null), now);
          if (expired === null) batch.push(run);
          else {
            this.#deps.held.move(run.id, 'starting');
            await this.#deps.skip(run, expired);
          }
        }
        return batch;
      }));
      await Promise.all(batches.map((batch) => this.#deps.start(batch)));
      admittedAll = batches.some((batch) => batch.length > 0 && batch.every((run) => this.#deps.held.phase(run.id) !== 'throttled'));
    } catch (error) {
      this.#deps.log('warn', 'asking again for throttled runs failed', { error: String(error) });
    } finally {
      this.#pumping = false;
    }
    if (this.#deps.held.count('throttled') > 0) this.#arm(admittedAll || this.#again ? 0 : THROTTLE_RETRY_MS);
  }

  /** Why a waiting run is given up under its task's misfire policy, or null while it may wait. */
  #expired(run: RunRecord, task: TaskRecord | null, now: number): string | null {
    if (run.trigger !== 'schedule' || !task) return null;
    const waited = now - run.scheduledAt;
    const misfire = task.spec.misfire;
    const limit = misfire.windowMs ?? (misfire.policy === 'skip' ? this.#deps.misfireThresholdMs : Infinity);
    return waited > limit ? `throttled for ${waited} ms by namespace "${run.namespace}"'s run quota: skipped (misfire policy ${misfire.policy})` : null;
  }
}
