/** An opaque handle returned by {@link Clock.setTimer}. */
export type TimerHandle = { readonly id: number | NodeJS.Timeout | object };

/**
 * Time as every component sees it. Production uses {@link systemClock}; tests inject a
 * {@link ManualClock} (see `testing/manual-clock.ts`) and advance it explicitly.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds of this clock's time. */
  setTimer(fn: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => {
    const timer = setTimeout(fn, Math.max(0, ms));
    return { id: timer };
  },
  clearTimer: (handle) => clearTimeout(handle.id as NodeJS.Timeout),
};

/** A source of randomness in [0, 1), injected so that jitter is reproducible in tests. */
export type Random = () => number;
export const systemRandom: Random = Math.random;

/**
 * Resolves once the clock reads `at` or later (true), never before: a timer that fires early (Node
 * arms timers from the event loop's cached time, which can lag the clock by as long as the current
 * turn has run) waits again. Resolves false at once when `signal` aborts.
 */
export async function waitUntil(clock: Clock, at: number, signal: AbortSignal): Promise<boolean> {
  for (let left = at - clock.now(); left > 0; left = at - clock.now()) {
    if (!await waitOn(clock, left, signal)) return false;
  }
  return !signal.aborted;
}

/** Resolves after `ms` of the clock's time, or at once when `signal` aborts (false then). */
export function waitOn(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = (): void => {
      clock.clearTimer(timer);
      resolve(false);
    };
    const timer = clock.setTimer(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
