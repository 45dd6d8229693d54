/**
 * A pass run on a timer, one at a time, that tests can also run at once ({@link TickLoop.tick}):
 * the alert evaluator's and the notifier's loops. After each pass, `next` says how long to wait
 * before the following one.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';

export class TickLoop<T> {
  readonly #clock: Clock;
  readonly #pass: () => Promise<T>;
  readonly #next: (result: T) => number;
  #timer: TimerHandle | null = null;
  #running: Promise<T> | null = null;
  #stopped = true;

  constructor(clock: Clock, pass: () => Promise<T>, next: (result: T) => number) {
    this.#clock = clock;
    this.#pass = pass;
    this.#next = next;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops the timer and waits for the pass under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** One pass now, after the one under way. */
  async tick(): Promise<T> {
    while (this.#running) await this.#running;
    this.#running = this.#pass().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = this.#clock.setTimer(() => {
      this.#timer = null;
      void this.tick().then((result) => this.#schedule(this.#next(result)));
    }, delayMs);
  }
}
