import type { Clock, TimerHandle } from '../core/clock.ts';

interface PendingTimer {
  handle: TimerHandle;
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to. Timers due at or before the new time run in order of
 * their due time when {@link advance} or {@link set} moves the clock.
 */
export class ManualClock implements Clock {
  #now: number;
  #timers: PendingTimer[] = [];
  #seq = 0;

  constructor(start: number | string = Date.UTC(2026, 0, 1)) {
    this.#now = typeof start === 'string' ? Date.parse(start) : start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const handle: TimerHandle = { id: {} };
    this.#timers.push({ handle, at: this.#now + Math.max(0, ms), seq: this.#seq++, fn });
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t.handle !== handle);
  }

  /** Moves time forward by `ms`, running due timers; awaits microtasks between timers. */
  async advance(ms: number): Promise<void> {
    await this.set(this.#now + ms);
  }

  async set(target: number): Promise<void> {
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.#now = Math.max(this.#now, target);
  }

  get pendingTimers(): number {
    return this.#timers.length;
  }
}
