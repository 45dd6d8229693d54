/**
 * What to fire when a task's stored next fire is already due, possibly long overdue (the
 * scheduler was down, paused, or behind). Pure: the caller records the fires and the skip count.
 *
 * The due fires are the schedule's nominal fires in [firstDue, now]. A due fire `t` with
 * `now − t ≤ thresholdMs` is on time and always fires. The others are missed, and the policy
 * decides which of them fire:
 * - `skip`: none;
 * - `fire-once`: the latest missed fire, if `now − t ≤ windowMs` (when windowMs is set);
 * - `catch-up`: the missed fires with `now − t ≤ windowMs`, at most `maxCatchUp`, the latest kept.
 * Every missed fire that does not fire is counted in `skipped`.
 *
 * Fixed-delay keeps a single pending fire (the next one is timed from the end of a run), so only
 * `firstDue` itself is due, and `nextFireAt` is provisional: it assumes a run ending now, and the
 * caller replaces it when the run it starts ends.
 *
 * Enumeration is bounded. Fixed-rate is counted arithmetically. Cron fires are enumerated from
 * `firstDue`, at most {@link MISFIRE_ENUMERATION_CAP} of them; past that (a per-second cron after a
 * 28-hour outage, say) the fires to keep are found by stepping back from `now`, and `skipped` may
 * then be a lower bound (`skippedIsLowerBound`). At most that many fires are returned in any case:
 * if more on-time fires than that are due, the oldest are counted as skipped.
 */
import type { EverySchedule, MisfirePolicy, Schedule } from '@ecron/contracts';
import { firesBetween, nextFireAfter, previousFireBefore, type ScheduleContext } from './next-fire.ts';

/** Most fires enumerated, and most fires returned, by one {@link planMissedFires} call. */
export const MISFIRE_ENUMERATION_CAP = 100_000;

/** Input of {@link planMissedFires}. */
export interface MissedFireInput {
  schedule: Schedule;
  ctx: ScheduleContext;
  policy: MisfirePolicy;
  /** The task's stored next fire; normally ≤ now. */
  firstDue: number;
  now: number;
  /** A due fire at most this late is on time, not missed. */
  thresholdMs: number;
  /** Overrides {@link MISFIRE_ENUMERATION_CAP} (tests). */
  enumerationCap?: number;
}

/** Output of {@link planMissedFires}. */
export interface MissedFirePlan {
  /** The fires to record now, ascending: the missed fires the policy keeps, then the on-time ones. */
  fires: number[];
  /** Missed fires not fired. */
  skipped: number;
  /** True when `skipped` stopped counting at the enumeration cap (cron only). */
  skippedIsLowerBound: boolean;
  /** The first fire strictly after `now`, or null when none is left. */
  nextFireAt: number | null;
}

/** The due fires that could fire, ascending, and how many due fires precede them. */
interface DueTail {
  tail: number[];
  headCount: number;
  headIsLowerBound: boolean;
}

function keptMissedCount(policy: MisfirePolicy): number {
  if (policy.policy === 'skip') return 0;
  if (policy.policy === 'fire-once') return 1;
  return policy.maxCatchUp;
}

/** Fixed-rate: the tail computed on the grid `base + k·every`, nothing enumerated. */
function fixedRateTail(schedule: EverySchedule, input: MissedFireInput, kept: number, cap: number): DueTail {
  const { every } = schedule;
  const first = nextFireAfter(schedule, input.firstDue - 1, input.ctx);
  if (first === null || first > input.now) return { tail: [], headCount: 0, headIsLowerBound: false };
  const endAt = schedule.endAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(schedule.endAt);
  const total = Math.floor((Math.min(input.now, endAt) - first) / every) + 1;
  const onTimeFrom = input.now - input.thresholdMs;
  const missed = Math.min(total, Math.max(0, Math.ceil((onTimeFrom - first) / every)));
  const tailStart = Math.max(0, missed - kept, total - cap);
  const tail: number[] = [];
  for (let i = tailStart; i < total; i++) tail.push(first + i * every);
  return { tail, headCount: tailStart, headIsLowerBound: false };
}

/** Cron and at: enumerate from firstDue; past the cap, step back from now for the tail. */
function enumeratedTail(input: MissedFireInput, kept: number, cap: number): DueTail {
  const { schedule, ctx, firstDue, now } = input;
  const forward = firesBetween(schedule, firstDue - 1, now, cap, ctx);
  if (!forward.truncated) return { tail: forward.fires, headCount: 0, headIsLowerBound: false };
  const onTimeFrom = now - input.thresholdMs;
  const windowFrom = input.policy.windowMs === undefined ? Number.NEGATIVE_INFINITY : now - input.policy.windowMs;
  const backward: number[] = [];
  let missedTaken = 0;
  let fire = previousFireBefore(schedule, now + 1, ctx);
  while (fire !== null && fire >= firstDue && backward.length < cap) {
    if (fire < onTimeFrom) {
      if (missedTaken >= kept || fire < windowFrom) break;
      missedTaken++;
    }
    backward.push(fire);
    fire = previousFireBefore(schedule, fire, ctx);
  }
  const tail = backward.reverse();
  const tailStart = tail[0] ?? Number.POSITIVE_INFINITY;
  const lastForward = forward.fires[forward.fires.length - 1] ?? Number.NEGATIVE_INFINITY;
  if (tailStart <= lastForward) {
    return { tail, headCount: forward.fires.filter((t) => t < tailStart).length, headIsLowerBound: false };
  }
  return { tail, headCount: forward.fires.length, headIsLowerBound: true };
}

/**
 * Decides which due fires to record when the stored next fire `firstDue` is at or before `now`,
 * per the task's misfire policy; see the module comment for the rules.
 */
export function planMissedFires(input: MissedFireInput): MissedFirePlan {
  const { schedule, ctx, policy, firstDue, now } = input;
  const cap = input.enumerationCap ?? MISFIRE_ENUMERATION_CAP;
  if (firstDue > now) return { fires: [], skipped: 0, skippedIsLowerBound: false, nextFireAt: firstDue };
  const kept = keptMissedCount(policy);
  let due: DueTail;
  let nextFireAt: number | null;
  if ('every' in schedule && schedule.mode === 'fixed-delay') {
    due = { tail: [firstDue], headCount: 0, headIsLowerBound: false };
    nextFireAt = nextFireAfter(schedule, now, { ...ctx, lastRunEndedAt: now });
  } else if ('every' in schedule) {
    due = fixedRateTail(schedule, input, kept, cap);
    nextFireAt = nextFireAfter(schedule, now, ctx);
  } else {
    due = enumeratedTail(input, kept, cap);
    nextFireAt = nextFireAfter(schedule, now, ctx);
  }
  const onTimeFrom = now - input.thresholdMs;
  const windowFrom = policy.windowMs === undefined ? Number.NEGATIVE_INFINITY : now - policy.windowMs;
  const onTime = due.tail.filter((t) => t >= onTimeFrom);
  const missed = due.tail.filter((t) => t < onTimeFrom);
  const eligible = missed.filter((t) => t >= windowFrom);
  const firedMissed = kept === 0 ? [] : eligible.slice(-kept);
  return {
    fires: [...firedMissed, ...onTime],
    skipped: due.headCount + missed.length - firedMissed.length,
    skippedIsLowerBound: due.headIsLowerBound,
    nextFireAt,
  };
}
