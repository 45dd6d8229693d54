/**
 * How often a schedule fires, for a namespace's minimum interval (`quotas.minIntervalMs`, finding
 * F3: a task `every: "1ms"` fired 486 times a second). Pure: no I/O, time passed in.
 *
 * - every (fixed-rate or fixed-delay): `every` itself;
 * - cron: the smallest gap among its next {@link CRON_GAP_SAMPLE} fires, computed with the engine's
 *   own fire function (croner, DST rule included), so that expressions such as `0-4 * * * * *`
 *   (five fires a second apart each minute) are measured by what they do, not by their first gap;
 * - at and manual: never refused (at most one fire, or none of their own).
 */
import type { Schedule } from '@ecron/contracts';
import { previewFires } from './next-fire.ts';

/** How many upcoming fires of a cron schedule its shortest gap is taken from. */
export const CRON_GAP_SAMPLE = 20;

/**
 * The least gap any cron expression can have: one second with a seconds field, one minute
 * without (5 fields, or a nickname such as `@hourly`). The engine's DST mapping keeps fires in
 * order and makes one fire of one instant (`cron-fires.ts`), so it never brings two fires closer.
 */
function cronResolution(expression: string): number {
  return expression.trim().split(/\s+/).length === 6 ? 1000 : 60_000;
}

/**
 * The gap between two fires of `schedule` that is shorter than `minMs`, or null when the schedule
 * keeps to `minMs`. Cron gaps are measured from `from` on; a cron schedule with fewer than two
 * fires left keeps to any minimum.
 */
export function intervalBelow(schedule: Schedule, minMs: number, from: number): number | null {
  if ('every' in schedule) return schedule.every < minMs ? schedule.every : null;
  if (!('cron' in schedule)) return null;
  // The common case costs nothing: most minimums are at or below what the expression can express.
  if (cronResolution(schedule.cron) >= minMs) return null;
  const fires = previewFires(schedule, from, CRON_GAP_SAMPLE, { anchor: from });
  let shortest = Number.POSITIVE_INFINITY;
  for (let i = 1; i < fires.length; i++) shortest = Math.min(shortest, fires[i]! - fires[i - 1]!);
  return shortest < minMs ? shortest : null;
}
