import { describe, expect, it } from 'vitest';
import type { MisfirePolicy, Schedule } from '@ecron/contracts';
import { MISFIRE_ENUMERATION_CAP, planMissedFires } from '../../src/core/schedule/misfire.ts';

const MINUTE = 60_000;
const ANCHOR = Date.parse('2026-01-01T00:00:00Z');
const ctx = { anchor: ANCHOR };
const at = (minutes: number): number => ANCHOR + minutes * MINUTE;
/** Fires as minutes after ANCHOR, for short expectations. */
const minutes = (fires: number[]): number[] => fires.map((t) => (t - ANCHOR) / MINUTE);

const skip: MisfirePolicy = { policy: 'skip', maxCatchUp: 100 };
const fireOnce: MisfirePolicy = { policy: 'fire-once', maxCatchUp: 100 };
const catchUp: MisfirePolicy = { policy: 'catch-up', maxCatchUp: 100 };

// Fires every minute from 00:01. Due since 00:01, now 00:10 → due: minutes 1..10.
// thresholdMs 1000 → minute 10 (exactly now) is on time, 1..9 are missed.
const everyMinute: [string, Schedule][] = [
  ['fixed-rate', { every: MINUTE, mode: 'fixed-rate' }],
  ['cron', { cron: '* * * * *', timezone: 'UTC' }],
];

for (const [name, schedule] of everyMinute) {
  describe(`planMissedFires: ${name} every minute, 9 missed and 1 on time`, () => {
    const plan = (policy: MisfirePolicy, now = at(10)) =>
      planMissedFires({ schedule, ctx, policy, firstDue: at(1), now, thresholdMs: 1000 });

    it('skip: only the on-time fire', () => {
      const result = plan(skip);
      expect(minutes(result.fires)).toEqual([10]);
      expect(result.skipped).toBe(9);
      expect(result.nextFireAt).toBe(at(11));
      expect(result.skippedIsLowerBound).toBe(false);
    });

    it('fire-once: the latest missed fire and the on-time one', () => {
      const result = plan(fireOnce);
      expect(minutes(result.fires)).toEqual([9, 10]);
      expect(result.skipped).toBe(8);
    });

    it('fire-once with a window: the latest missed fire only if it is within the window', () => {
      expect(plan({ ...fireOnce, windowMs: 60_000 })).toMatchObject({ fires: [at(9), at(10)], skipped: 8 });
      expect(plan({ ...fireOnce, windowMs: 59_999 })).toMatchObject({ fires: [at(10)], skipped: 9 });
    });

    it('catch-up: every missed fire', () => {
      const result = plan(catchUp);
      expect(minutes(result.fires)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(result.skipped).toBe(0);
      expect(result.nextFireAt).toBe(at(11));
    });

    it('catch-up: at most maxCatchUp, the latest kept', () => {
      const result = plan({ ...catchUp, maxCatchUp: 3 });
      expect(minutes(result.fires)).toEqual([7, 8, 9, 10]);
      expect(result.skipped).toBe(6);
    });

    it('catch-up with a window, then with a window and a cap', () => {
      expect(minutes(plan({ ...catchUp, windowMs: 200_000 }).fires)).toEqual([7, 8, 9, 10]);
      expect(plan({ ...catchUp, windowMs: 200_000 }).skipped).toBe(6);
      expect(minutes(plan({ ...catchUp, windowMs: 200_000, maxCatchUp: 2 }).fires)).toEqual([8, 9, 10]);
      expect(plan({ ...catchUp, windowMs: 200_000, maxCatchUp: 2 }).skipped).toBe(7);
    });

    it('fires within the threshold are on time whatever the policy', () => {
      const result = planMissedFires({ schedule, ctx, policy: skip, firstDue: at(1), now: at(10) + 30_000, thresholdMs: 150_000 });
      expect(minutes(result.fires)).toEqual([8, 9, 10]);
      expect(result.skipped).toBe(7);
    });

    it('a single due fire that is on time', () => {
      const result = planMissedFires({ schedule, ctx, policy: skip, firstDue: at(5), now: at(5) + 200, thresholdMs: 1000 });
      expect(result).toEqual({ fires: [at(5)], skipped: 0, skippedIsLowerBound: false, nextFireAt: at(6) });
    });

    it('nothing due yet: nothing to do, the stored fire stays next', () => {
      expect(planMissedFires({ schedule, ctx, policy: catchUp, firstDue: at(5), now: at(4), thresholdMs: 1000 }))
        .toEqual({ fires: [], skipped: 0, skippedIsLowerBound: false, nextFireAt: at(5) });
    });
  });
}

describe('planMissedFires: bounds and other kinds', () => {
  it('counts only fires up to endAt, and then has no next fire', () => {
    const schedule: Schedule = { every: MINUTE, mode: 'fixed-rate', endAt: new Date(at(4)).toISOString() };
    const result = planMissedFires({ schedule, ctx, policy: catchUp, firstDue: at(1), now: at(10), thresholdMs: 1000 });
    expect(minutes(result.fires)).toEqual([1, 2, 3, 4]);
    expect(result.nextFireAt).toBeNull();
  });

  it('a missed one-shot fire follows the policy', () => {
    const schedule: Schedule = { at: new Date(at(3)).toISOString() };
    const base = { schedule, ctx, firstDue: at(3), now: at(10), thresholdMs: 1000 };
    expect(planMissedFires({ ...base, policy: fireOnce })).toEqual({ fires: [at(3)], skipped: 0, skippedIsLowerBound: false, nextFireAt: null });
    expect(planMissedFires({ ...base, policy: skip })).toEqual({ fires: [], skipped: 1, skippedIsLowerBound: false, nextFireAt: null });
    expect(planMissedFires({ ...base, policy: { ...catchUp, windowMs: MINUTE } })).toMatchObject({ fires: [], skipped: 1 });
  });

  it('fixed-delay has one pending fire; the next is timed from now', () => {
    const schedule: Schedule = { every: MINUTE, mode: 'fixed-delay' };
    const base = { schedule, ctx: { anchor: ANCHOR, lastRunEndedAt: at(0) }, firstDue: at(1), now: at(30), thresholdMs: 1000 };
    expect(planMissedFires({ ...base, policy: catchUp })).toEqual({ fires: [at(1)], skipped: 0, skippedIsLowerBound: false, nextFireAt: at(31) });
    expect(planMissedFires({ ...base, policy: skip })).toMatchObject({ fires: [], skipped: 1, nextFireAt: at(31) });
    expect(planMissedFires({ ...base, policy: { ...fireOnce, windowMs: MINUTE } })).toMatchObject({ fires: [], skipped: 1 });
  });

  it('manual has nothing due', () => {
    expect(planMissedFires({ schedule: { manual: true }, ctx, policy: catchUp, firstDue: at(1), now: at(10), thresholdMs: 0 }))
      .toEqual({ fires: [], skipped: 0, skippedIsLowerBound: false, nextFireAt: null });
  });

  it('a cron across a DST gap counts the collapsed fire once', () => {
    // 02:00, 02:20, 02:40 New York on 2026-03-08 all fire at 03:00 EDT (07:00Z).
    const schedule: Schedule = { cron: '*/20 * * * *', timezone: 'America/New_York' };
    const result = planMissedFires({
      schedule, ctx, policy: catchUp, firstDue: Date.parse('2026-03-08T06:40:00Z'), now: Date.parse('2026-03-08T07:20:00Z'), thresholdMs: 0,
    });
    expect(result.fires.map((t) => new Date(t).toISOString()))
      .toEqual(['2026-03-08T06:40:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T07:20:00.000Z']);
    expect(result.nextFireAt).toBe(Date.parse('2026-03-08T07:40:00Z'));
  });
});

describe('planMissedFires: bounded enumeration', () => {
  it('counts a long fixed-rate outage arithmetically', () => {
    const schedule: Schedule = { every: 1000, mode: 'fixed-rate' };
    const now = ANCHOR + 10 * 365 * 86_400_000; // ten years of per-second fires
    const result = planMissedFires({ schedule, ctx, policy: { ...catchUp, maxCatchUp: 3 }, firstDue: ANCHOR + 1000, now, thresholdMs: 0 });
    expect(result.fires).toEqual([now - 3000, now - 2000, now - 1000, now]);
    expect(result.skipped).toBe(10 * 365 * 86_400 - 4);
    expect(result.skippedIsLowerBound).toBe(false);
  });

  it('cron beyond the cap: the kept fires are still the latest, the skip count is a lower bound', () => {
    const schedule: Schedule = { cron: '* * * * *', timezone: 'UTC' };
    const base = { schedule, ctx, firstDue: at(1), now: at(10), thresholdMs: 1000 };
    const small = planMissedFires({ ...base, policy: { ...catchUp, maxCatchUp: 3 }, enumerationCap: 5 });
    expect(minutes(small.fires)).toEqual([7, 8, 9, 10]);
    expect(small.skipped).toBe(5);
    expect(small.skippedIsLowerBound).toBe(true);
    // With a cap reaching the kept fires the count is exact again.
    const exact = planMissedFires({ ...base, policy: { ...catchUp, maxCatchUp: 3 }, enumerationCap: 8 });
    expect(exact).toEqual({ fires: [at(7), at(8), at(9), at(10)], skipped: 6, skippedIsLowerBound: false, nextFireAt: at(11) });
    const once = planMissedFires({ ...base, policy: { ...fireOnce, windowMs: 90_000 }, enumerationCap: 2 });
    expect(minutes(once.fires)).toEqual([9, 10]);
    expect(once.skippedIsLowerBound).toBe(true);
  });

  it('a per-second cron after a 30-hour outage stays within the default cap', () => {
    const schedule: Schedule = { cron: '* * * * * *', timezone: 'Europe/Berlin' };
    const now = Date.parse('2026-06-02T06:00:00Z');
    const result = planMissedFires({
      schedule, ctx, policy: { ...catchUp, maxCatchUp: 2 }, firstDue: now - 30 * 3_600_000, now, thresholdMs: 0,
    });
    expect(result.fires).toEqual([now - 2000, now - 1000, now]);
    expect(result.skipped).toBe(MISFIRE_ENUMERATION_CAP);
    expect(result.skippedIsLowerBound).toBe(true);
    expect(result.nextFireAt).toBe(now + 1000);
  });

  it('returns at most the cap even when every due fire is on time', () => {
    const schedule: Schedule = { every: 1, mode: 'fixed-rate' };
    const result = planMissedFires({ schedule, ctx, policy: skip, firstDue: ANCHOR + 1, now: ANCHOR + 10, thresholdMs: 60_000, enumerationCap: 4 });
    expect(result.fires).toEqual([ANCHOR + 7, ANCHOR + 8, ANCHOR + 9, ANCHOR + 10]);
    expect(result.skipped).toBe(6);
  });
});
