/** Percentiles and summaries of measured values (milliseconds). */

export interface Summary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array (`p` in 0..100); NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    min: sorted.length ? sorted[0]! : NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    mean: sorted.length ? sum / sorted.length : NaN,
  };
}

/** A number for a table: integers as-is, others with `digits` decimals; '-' for NaN. */
export function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return '-';
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

/**
 * The machine's noise floor: how late a `setTimeout` wakes up in this (otherwise idle) process,
 * sampled every `everyMs` until `until` (epoch ms, or until the function answers true). A
 * scheduler on the same machine cannot be more punctual than this; CPU contention from other
 * processes shows up here first.
 */
export async function measureTimerLateness(until: number | (() => boolean), everyMs = 20): Promise<Summary> {
  const done = typeof until === 'number' ? () => Date.now() >= until : until;
  const lateness: number[] = [];
  let next = performance.now() + everyMs;
  while (!done() && lateness.length < 1_000_000) {
    const target = next;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, target - performance.now())));
    lateness.push(performance.now() - target);
    next = Math.max(target + everyMs, performance.now() + 1);
  }
  return summarize(lateness);
}
