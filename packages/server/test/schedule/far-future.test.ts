/**
 * No horizon: croner stops searching at local year 3000 (and 400 years back), but ecron's fires go
 * on, for cron as for fixed rate, up to LAST_FIRE_INSTANT (the end of JavaScript's Date range).
 * croner itself is the reference where it can answer (before year 3000).
 */
import { describe, expect, it } from 'vitest';
import { Cron } from 'croner';
import type { Schedule } from '@ecron/contracts';
import { GREGORIAN_CYCLE_MS } from '../../src/core/schedule/cron-fires.ts';
import { LAST_FIRE_INSTANT } from '../../src/core/schedule/fire-range.ts';
import { planMissedFires } from '../../src/core/schedule/misfire.ts';
import { firesBetween, nextFireAfter, previewFires, previousFireBefore } from '../../src/core/schedule/next-fire.ts';

const ms = (iso: string): number => Date.parse(iso);
const isoList = (ts: number[]): string[] => ts.map((t) => new Date(t).toISOString());
const ctx = { anchor: 0 };
const DAY = 86_400_000;

/** Expressions with every kind of field croner offers, L, W and # included. */
const EXPRESSIONS = [
  '0 12 L 2 *', '0 0 29 2 *', '30 6 15W * *', '0 9 * * 1#3', '0 0 13 * 5', '0 0 * * 5L', '*/7 3 1,15 * *', '0 0 0 29 2 1',
  '15 10 LW * *', '0 0 L * 0', '0 30 2 * * *', '0 0 1 1 *', '45 23 31 12 *', '0 0 1-7 * +MON', '5 4 ? 6 SUN',
];

describe('cron fires past croner\'s year-3000 limit', () => {
  it('goes on past local year 3000 in any zone (the issue: 0 12 L 2 * from 2999-12-08)', () => {
    const from = ms('2999-12-08T00:00:00Z');
    expect(new Cron('0 12 L 2 *', { paused: true, utcOffset: 0 }).nextRun(new Date(from))).toBeNull(); // croner alone stops here
    expect(isoList(previewFires({ cron: '0 12 L 2 *', timezone: 'UTC' }, from, 3, ctx)))
      .toEqual(['3000-02-28T12:00:00.000Z', '3001-02-28T12:00:00.000Z', '3002-02-28T12:00:00.000Z']);
    expect(isoList(previewFires({ cron: '0 12 L 2 *', timezone: 'America/New_York' }, from, 2, ctx)))
      .toEqual(['3000-02-28T17:00:00.000Z', '3001-02-28T17:00:00.000Z']);
    expect(isoList(previewFires({ cron: '0 0 29 2 *', timezone: 'Asia/Shanghai' }, from, 3, ctx)))
      .toEqual(['3004-02-28T16:00:00.000Z', '3008-02-28T16:00:00.000Z', '3012-02-28T16:00:00.000Z']);
  });

  it('lists 1000 consecutive yearly fires across year 3000 without a gap', () => {
    const fires = previewFires({ cron: '0 0 1 1 *', timezone: 'Europe/London' }, ms('2500-06-01T00:00:00Z'), 1000, ctx);
    expect(fires).toHaveLength(1000);
    fires.forEach((fire, i) => expect(new Date(fire).toISOString()).toBe(`${String(2501 + i).padStart(4, '0')}-01-01T00:00:00.000Z`));
  });

  it('agrees with croner wherever croner can answer, including when the search is moved by 400-year cycles', () => {
    for (const expression of EXPRESSIONS) {
      const cron = new Cron(expression, { paused: true, utcOffset: 0 });
      // Start instants from 1850 to 2990, which the engine moves into 1800–2199 when past it.
      for (let year = 1850; year < 2990; year += 37) {
        const after = Date.UTC(year, (year * 7) % 12, 1 + (year % 28), year % 24, year % 60, year % 60, year % 1000);
        const expected = cron.nextRun(new Date(after));
        expect(nextFireAfter({ cron: expression, timezone: 'UTC' }, after, ctx), `${expression} after ${year}`).toBe(expected?.getTime() ?? null);
        const [previous] = cron.previousRuns(1, new Date(after));
        expect(previousFireBefore({ cron: expression, timezone: 'UTC' }, after, ctx), `${expression} before ${year}`).toBe(previous?.getTime() ?? null);
      }
    }
  });

  it('repeats every 400 years, the Gregorian cycle, far beyond year 3000', () => {
    expect(GREGORIAN_CYCLE_MS).toBe(ms('2426-01-01T00:00:00Z') - ms('2026-01-01T00:00:00Z'));
    for (const expression of EXPRESSIONS) {
      const schedule: Schedule = { cron: expression, timezone: 'UTC' };
      const base = previewFires(schedule, ms('2026-03-01T00:00:00Z'), 5, ctx);
      for (const cycles of [3, 10, 25, 600]) {
        const later = previewFires(schedule, ms('2026-03-01T00:00:00Z') + cycles * GREGORIAN_CYCLE_MS, 5, ctx);
        expect(later, `${expression}, ${cycles} cycles on`).toEqual(base.map((t) => t + cycles * GREGORIAN_CYCLE_MS));
      }
    }
  });

  it('steps back past year 3000, and catches up missed fires there', () => {
    const schedule: Schedule = { cron: '0 12 L 2 *', timezone: 'UTC' };
    expect(new Date(previousFireBefore(schedule, ms('3500-01-01T00:00:00Z'), ctx)!).toISOString()).toBe('3499-02-28T12:00:00.000Z');
    const plan = planMissedFires({
      schedule, ctx, policy: { policy: 'catch-up', maxCatchUp: 100 }, firstDue: ms('2999-02-28T12:00:00Z'), now: ms('3003-01-01T00:00:00Z'), thresholdMs: 1000,
    });
    expect(isoList(plan.fires)).toEqual(['2999-02-28T12:00:00.000Z', '3000-02-28T12:00:00.000Z', '3001-02-28T12:00:00.000Z', '3002-02-28T12:00:00.000Z']);
    expect(new Date(plan.nextFireAt!).toISOString()).toBe('3003-02-28T12:00:00.000Z');
  });

  it('an expression that never matches still has no next fire, at once', () => {
    expect(nextFireAfter({ cron: '0 0 30 2 *', timezone: 'UTC' }, ms('2999-12-08T00:00:00Z'), ctx)).toBeNull();
    expect(nextFireAfter({ cron: '15 13 31W 4 *', timezone: 'Europe/Berlin' }, ms('9999-01-01T00:00:00Z'), ctx)).toBeNull();
    expect(previousFireBefore({ cron: '0 0 31 2 *', timezone: 'UTC' }, ms('5000-01-01T00:00:00Z'), ctx)).toBeNull();
  });
});

describe('the last fire instant, the same for every kind', () => {
  it('is the end of the Date range minus two days', () => {
    expect(new Date(LAST_FIRE_INSTANT).toISOString()).toBe('+275760-09-11T00:00:00.000Z');
  });

  it.each<[string, Schedule]>([
    ['cron', { cron: '* * * * * *', timezone: 'Pacific/Kiritimati' }],
    ['cron, west of UTC', { cron: '* * * * * *', timezone: 'America/Los_Angeles' }],
    ['fixed rate', { every: 1000, mode: 'fixed-rate' }],
  ])('%s fires up to it and no further, without throwing', (_name, schedule) => {
    const fires = previewFires(schedule, LAST_FIRE_INSTANT - 2500, 10, ctx);
    expect(fires[fires.length - 1]).toBe(LAST_FIRE_INSTANT);
    expect(fires.length).toBeGreaterThanOrEqual(2);
    expect(nextFireAfter(schedule, LAST_FIRE_INSTANT, ctx)).toBeNull();
    expect(nextFireAfter(schedule, LAST_FIRE_INSTANT + DAY, ctx)).toBeNull();
    expect(previousFireBefore(schedule, LAST_FIRE_INSTANT + 3 * DAY, ctx)).toBe(LAST_FIRE_INSTANT);
    expect(firesBetween(schedule, LAST_FIRE_INSTANT - 1, Number.POSITIVE_INFINITY, 10, ctx)).toEqual({ fires: [LAST_FIRE_INSTANT], truncated: false });
  });

  it('a daily cron in a zone far from UTC stops before it, with no error from Intl', () => {
    for (const timezone of ['Pacific/Kiritimati', 'Etc/GMT+12', 'Asia/Kolkata']) {
      const fires = previewFires({ cron: '0 0 * * *', timezone }, LAST_FIRE_INSTANT - 5 * DAY, 10, ctx);
      expect(fires.length).toBeGreaterThanOrEqual(4);
      expect(fires.every((t) => t <= LAST_FIRE_INSTANT)).toBe(true);
      expect(nextFireAfter({ cron: '0 0 * * *', timezone }, fires[fires.length - 1]!, ctx)).toBeNull();
    }
  });
});
