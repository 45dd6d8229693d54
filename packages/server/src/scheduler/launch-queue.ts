/**
 * Recorded runs waiting for their instant, by run id. A run goes out at its instant, or ahead of it
 * when its transport starts runs at their instant (an executor's timed stream): `dispatchAheadMs`
 * ahead, and a burst due at one instant ahead by twice what launching it takes (as measured here),
 * up to a quarter of the look-ahead, so that sending it is done by its instant.
 */
import type { Clock } from '../core/clock.ts';
import { TimerQueue } from './timer-queue.ts';

/** Launching cost assumed until measured. */
const INITIAL_LAUNCH_COST_MS = 0.02;
/** A burst is launched ahead by this many times its measured launching time. */
const BURST_LEAD_MARGIN = 2;

export interface LaunchQueueOptions {
  clock: Clock;
  dispatchAheadMs: number;
  lookAheadMs: number;
  /** Launches the run for its instant `at` (ahead of it or not); false when the run was no longer waiting. */
  launch(runId: string, at: number): boolean;
}

export class LaunchQueue {
  readonly #o: LaunchQueueOptions;
  readonly #atInstant: TimerQueue<null>;
  readonly #ahead: TimerQueue<null>;
  #drained: (() => void)[] = [];
  /** What launching one run costs here (ms, a moving average of recent batches). */
  #costMs = INITIAL_LAUNCH_COST_MS;

  constructor(options: LaunchQueueOptions) {
    this.#o = options;
    const onDue = (due: { key: string; at: number }[]): void => {
      const started = performance.now();
      let launched = 0;
      for (const { key, at } of due) if (this.#o.launch(key, at)) launched += 1;
      if (launched > 0) this.#costMs = 0.7 * this.#costMs + 0.3 * ((performance.now() - started) / launched);
      if (this.size === 0) for (const resolve of this.#drained.splice(0)) resolve();
    };
    this.#atInstant = new TimerQueue(options.clock, onDue);
    this.#ahead = new TimerQueue(options.clock, onDue, { leadMs: (count) => this.lead(count) });
  }

  /** How long before their instant `count` runs due at one instant are launched, when they may go ahead. */
  lead(count: number): number {
    const burst = count > 1 ? Math.min(this.#o.lookAheadMs / 4, Math.ceil(count * this.#costMs * BURST_LEAD_MARGIN)) : 0;
    return this.#o.dispatchAheadMs + burst;
  }

  /** Queues a run for its instant `at`; `ahead`: its transport starts it at its instant, so it may go ahead. */
  set(runId: string, at: number, ahead: boolean): void {
    (ahead ? this.#ahead : this.#atInstant).set(runId, at, null);
  }

  get size(): number {
    return this.#atInstant.size + this.#ahead.size;
  }

  /** Resolves once every queued run went out. */
  async drained(): Promise<void> {
    if (this.size > 0) await new Promise<void>((resolve) => this.#drained.push(resolve));
  }

  clear(): void {
    this.#atInstant.clear();
    this.#ahead.clear();
  }

  stop(): void {
    this.#atInstant.stop();
    this.#ahead.stop();
  }
}
