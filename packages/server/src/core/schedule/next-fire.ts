/**
 * When a schedule fires: pure functions over UTC epoch milliseconds, no I/O.
 *
 * Kinds (see docs/schedules.md):
 * - cron: croner expression in an IANA zone, evaluated by `cron-fires.ts`;
 * - every, fixed-rate: `base + k·every` with base = startAt ?? anchor (k ≥ 0 when startAt is set,
 *   k ≥ 1 otherwise), computed arithmetically;
 * - every, fixed-delay: `lastRunEndedAt + every` (never earlier than `after + 1`); before the first
 *   run it fires like fixed-rate. Enumerations (preview, firesBetween) assume each run ends at
 *   its fire instant, so later fires are `every` apart;
 * - at: one instant; manual: never.
 *
 * Bounds: no fire before `startAt` and none after `endAt` (both inclusive). No kind has a horizon
 * short of {@link LAST_FIRE_INSTANT} (year 275760), the last instant a `Date` can hold; cron goes
 * past croner's year-3000 search limit (see `cron-fires.ts`).
 *
 * DST rule for cron (both directions, every expression, every zone):
 * - a wall-clock time inside a spring-forward gap fires once, at the first instant after the gap:
 *   `30 2 * * *` in America/New_York on 2026-03-08 fires at 03:00 EDT (07:00Z); in
 *   Australia/Lord_Howe on 2026-10-04 (02:00 → 02:30) `15 2 * * *` fires at 02:30 (15:30Z);
 * - a wall-clock time repeated by a fall-back fires once, at its first occurrence:
 *   `30 1 * * *` in America/New_York on 2026-11-01 fires at 01:30 EDT (05:30Z) only.
 * croner's own `timezone` handling follows this only for single-value expressions; see
 * `cron-fires.ts` for how the rule is enforced for all of them.
 */
import type { EverySchedule, Schedule } from '@ecron/contracts';
import { nextCronFire, previousCronFire } from './cron-fires.ts';
import { LAST_FIRE_INSTANT } from './fire-range.ts';

/** What a schedule's fires depend on besides the schedule itself. */
export interface ScheduleContext {
  /** The task's creation instant, or its last schedule change: the base of a fixed-rate schedule without startAt. */
  anchor: number;
  /** When the last run ended (fixed-delay); null or absent before the first run. */
  lastRunEndedAt?: number | null;
}

/** Largest `count` accepted by {@link previewFires}. */
export const MAX_PREVIEW_COUNT = 1000;

interface Bounds {
  start: number;
  end: number;
}

function boundsOf(schedule: Schedule): Bounds {
  if ('manual' in schedule) return { start: Number.NEGATIVE_INFINITY, end: LAST_FIRE_INSTANT };
  return {
    start: schedule.startAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(schedule.startAt),
    end: schedule.endAt === undefined ? LAST_FIRE_INSTANT : Math.min(Date.parse(schedule.endAt), LAST_FIRE_INSTANT),
  };
}

/** Base and smallest index of the fixed-rate grid `base + k·every`. */
function fixedRateGrid(schedule: EverySchedule, ctx: ScheduleContext): { base: number; firstIndex: number } {
  return schedule.startAt === undefined
    ? { base: ctx.anchor, firstIndex: 1 }
    : { base: Date.parse(schedule.startAt), firstIndex: 0 };
}

/** The first fixed-rate grid point strictly after `after` (no end bound applied). */
function nextFixedRate(schedule: EverySchedule, after: number, ctx: ScheduleContext): number {
  const { base, firstIndex } = fixedRateGrid(schedule, ctx);
  const index = Math.max(firstIndex, Math.floor((after - base) / schedule.every) + 1);
  return base + index * schedule.every;
}

function nextUnbounded(schedule: Schedule, after: number, ctx: ScheduleContext): number | null {
  if ('manual' in schedule) return null;
  if ('at' in schedule) {
    const at = Date.parse(schedule.at);
    return at > after ? at : null;
  }
  if ('cron' in schedule) return nextCronFire(schedule.cron, schedule.timezone, after);
  if (schedule.mode === 'fixed-delay' && ctx.lastRunEndedAt != null) {
    return Math.max(ctx.lastRunEndedAt + schedule.every, after + 1);
  }
  return nextFixedRate(schedule, after, ctx);
}

/**
 * The first nominal fire instant of `schedule` strictly after `after`, within the schedule's
 * `startAt`/`endAt` bounds; null when no fire is left (manual, a past `at`, past `endAt` or
 * {@link LAST_FIRE_INSTANT}, or a cron expression that never matches again).
 */
export function nextFireAfter(schedule: Schedule, after: number, ctx: ScheduleContext): number | null {
  const { start, end } = boundsOf(schedule);
  const fire = nextUnbounded(schedule, Math.max(after, start - 1), ctx);
  return fire === null || fire > end ? null : fire;
}

/**
 * The last nominal fire instant strictly before `before`, within bounds, for the kinds whose
 * fires do not depend on past runs: cron, at and fixed-rate. For fixed-delay and manual it
 * returns null. Used to look back from "now" without enumerating from far in the past.
 */
export function previousFireBefore(schedule: Schedule, before: number, ctx: ScheduleContext): number | null {
  if ('manual' in schedule) return null;
  const { start, end } = boundsOf(schedule);
  const limit = Math.min(before, end + 1);
  let fire: number | null;
  if ('at' in schedule) {
    const at = Date.parse(schedule.at);
    fire = at < limit ? at : null;
  } else if ('cron' in schedule) {
    fire = previousCronFire(schedule.cron, schedule.timezone, limit);
  } else if (schedule.mode === 'fixed-rate') {
    const { base, firstIndex } = fixedRateGrid(schedule, ctx);
    const index = Math.ceil((limit - base) / schedule.every) - 1;
    fire = index >= firstIndex ? base + index * schedule.every : null;
  } else {
    fire = null;
  }
  return fire === null || fire < start ? null : fire;
}

/** The result of {@link firesBetween}. */
export interface FireRange {
  /** Fire instants, ascending. */
  fires: number[];
  /** True when at least one more fire lies in the range beyond `limit`. */
  truncated: boolean;
}

/**
 * The fires in (afterExclusive, untilInclusive], ascending, at most `limit` of them.
 * Fixed-rate and fixed-delay are computed arithmetically (fixed-delay as if each run ended at its
 * fire instant); cron and at by stepping from one fire to the next.
 */
export function firesBetween(
  schedule: Schedule, afterExclusive: number, untilInclusive: number, limit: number, ctx: ScheduleContext,
): FireRange {
  if (!Number.isFinite(limit) || limit < 0) throw new RangeError(`limit must be a finite number >= 0; got ${limit}`);
  const fires: number[] = [];
  const first = nextFireAfter(schedule, afterExclusive, ctx);
  if (first === null || first > untilInclusive) return { fires, truncated: false };
  if ('every' in schedule) {
    const last = Math.min(untilInclusive, boundsOf(schedule).end);
    const available = Math.floor((last - first) / schedule.every) + 1;
    const taken = Math.max(0, Math.min(available, Math.floor(limit)));
    for (let i = 0; i < taken; i++) fires.push(first + i * schedule.every);
    return { fires, truncated: available > taken };
  }
  let fire: number | null = first;
  while (fire !== null && fire <= untilInclusive) {
    if (fires.length >= limit) return { fires, truncated: true };
    fires.push(fire);
    fire = nextFireAfter(schedule, fire, ctx);
  }
  return { fires, truncated: false };
}

/**
 * The next `count` fires strictly after `from` (count at most {@link MAX_PREVIEW_COUNT}).
 * A fixed-delay preview assumes each run ends at its fire instant.
 */
export function previewFires(schedule: Schedule, from: number, count: number, ctx: ScheduleContext): number[] {
  if (!Number.isInteger(count) || count < 0 || count > MAX_PREVIEW_COUNT) {
    throw new RangeError(`preview count must be an integer from 0 to ${MAX_PREVIEW_COUNT}; got ${count}`);
  }
  return firesBetween(schedule, from, Number.POSITIVE_INFINITY, count, ctx).fires;
}

/** 32-bit FNV-1a over the UTF-16 code units of `text`. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * The jitter delay of one fire, in [0, jitterMs): derived from a hash of the fire's identity
 * `(taskId, scheduledAt)`, so every node and every restart computes the same delay for the same
 * fire. 0 when the schedule has no `jitterMs`.
 */
export function jitterDelay(schedule: Schedule, taskId: string, scheduledAt: number): number {
  const jitterMs = 'manual' in schedule ? 0 : schedule.jitterMs ?? 0;
  if (jitterMs <= 0) return 0;
  const unit = fnv1a(`${taskId}\u0000${scheduledAt}`) / 0x1_0000_0000;
  return Math.floor(unit * jitterMs);
}
