/**
 * waitUntil: never resolves before its instant on the clock, even when the clock's timer fires
 * early (as Node's do, armed from the event loop's cached time).
 */
import { describe, expect, it } from 'vitest';
import { waitUntil, type Clock, type TimerHandle } from '../../src/core/clock.ts';

/** A clock whose timers fire when the test says, with the clock reading what the test says. */
class EarlyClock implements Clock {
  time = 0;
  readonly timers: { fn: () => void; ms: number; handle: TimerHandle }[] = [];
  now(): number {
    return this.time;
  }
  setTimer(fn: () => void, ms: number): TimerHandle {
    const handle = { id: {} };
    this.timers.push({ fn, ms, handle });
    return handle;
  }
  clearTimer(handle: TimerHandle): void {
    const i = this.timers.findIndex((t) => t.handle === handle);
    if (i >= 0) this.timers.splice(i, 1);
  }
  /** Fires the oldest timer with the clock at `time`. */
  fire(time: number): void {
    this.time = time;
    this.timers.shift()!.fn();
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('waitUntil', () => {
  it('waits again when its timer fires before the instant, and resolves once the clock reaches it', async () => {
    const clock = new EarlyClock();
    let resolved: boolean | null = null;
    void waitUntil(clock, 100, new AbortController().signal).then((value) => { resolved = value; });
    expect(clock.timers.map((t) => t.ms)).toEqual([100]);
    clock.fire(97); // three milliseconds early
    await tick();
    expect(resolved).toBeNull();
    expect(clock.timers.map((t) => t.ms)).toEqual([3]);
    clock.fire(100);
    await tick();
    expect(resolved).toBe(true);
  });

  it('resolves at once for an instant passed, and false when aborted while waiting', async () => {
    const clock = new EarlyClock();
    clock.time = 50;
    expect(await waitUntil(clock, 50, new AbortController().signal)).toBe(true);
    const abort = new AbortController();
    const waiting = waitUntil(clock, 80, abort.signal);
    abort.abort();
    expect(await waiting).toBe(false);
    expect(clock.timers).toEqual([]);
  });
});
