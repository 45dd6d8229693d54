/**
 * Recorded runs waiting for their instant, by run id. A run goes out at its instant, or ahead of it
 * when its transport starts runs at their instant (an executor's timed stream): `dispatchAheadMs`
 * ahead, plus twice what launching the runs due at that instant takes (a burst), or twice what
 * launching a second's worth of runs takes at the recent rate (a steady load), whichever is more,
 * up to a quarter of the look-ahead: so that sending them is done by their instant even when the
 * node is busy. Launching costs are measured here.
 */
import type { Clock } from '../core/clock.ts';
import { TimerQueue } from './timer-queue.ts';

/** Launching cost assumed until measured. */
const INITIAL_LAUNCH_COST_MS = 0.02;
/** A burst is recorded, and launched, ahead by this many times what recording (launching) it takes, as measured. */
export const BURST_LEAD_MARGIN = 2;

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
  /** Runs launched per second (a moving average over windows of about a second). */
  #rate = 0;
  #windowStart = performance.now();
  #windowCount = 0;

  constructor(options: LaunchQueueOptions) {
    this.#o = options;
    const onDue = (due: { key: string; at: number }[]): void => {
      const started = performance.now();
      let launched = 0;
      for (const { key, at } of due) if (this.#o.launch(key, at)) launched += 1;
      if (launched > 0) this.#measure(launched, started, performance.now());
      if (this.size === 0) for (const resolve of this.#drained.splice(0)) resolve();
    };
    this.#atInstant = new TimerQueue(options.clock, onDue);
    this.#ahead = new TimerQueue(options.clock, onDue, { leadMs: (count) => this.lead(count) });
  }

  /** How long before their instant `count` runs due at one instant are launched, when they may go ahead. */
  lead(count: number): number {
    const load = Math.max(count > 1 ? count : 0, this.#rate);
    return this.#o.dispatchAheadMs + Math.min(this.#o.lookAheadMs / 4, Math.ceil(load * this.#costMs * BURST_LEAD_MARGIN));
  }

  #measure(launched: number, started: number, now: number): void {
    this.#costMs = 0.7 * this.#costMs + 0.3 * ((now - started) / launched);
    this.#windowCount += launched;
    const elapsed = now - this.#windowStart;
    if (elapsed < 1000) return;
    this.#rate = 0.5 * this.#rate + 0.5 * (this.#windowCount * 1000 / elapsed);
    this.#windowStart = now;
    this.#windowCount = 0;
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
