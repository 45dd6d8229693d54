import { describe, expect, it } from 'vitest';
import type { Schedule } from '@ecron/contracts';
import {
  MAX_PREVIEW_COUNT, firesBetween, jitterDelay, nextFireAfter, previewFires, previousFireBefore,
} from '../../src/core/schedule/next-fire.ts';

const ms = (iso: string): number => Date.parse(iso);
const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
const isoList = (ts: number[]): string[] => ts.map((t) => new Date(t).toISOString());

const ANCHOR = ms('2026-01-01T00:00:00Z');
const ctx = { anchor: ANCHOR };
const MINUTE = 60_000;

describe('nextFireAfter: every, fixed-rate', () => {
  const schedule: Schedule = { every: MINUTE, mode: 'fixed-rate' };

  it('fires at anchor + k·every for k ≥ 1 (the anchor itself does not fire)', () => {
    expect(iso(nextFireAfter(schedule, ANCHOR - 5 * MINUTE, ctx))).toBe('2026-01-01T00:01:00.000Z');
    expect(iso(nextFireAfter(schedule, ANCHOR, ctx))).toBe('2026-01-01T00:01:00.000Z');
    expect(iso(nextFireAfter(schedule, ANCHOR + 150_000, ctx))).toBe('2026-01-01T00:03:00.000Z');
  });

  it('is strictly after `after`', () => {
    expect(iso(nextFireAfter(schedule, ANCHOR + 3 * MINUTE, ctx))).toBe('2026-01-01T00:04:00.000Z');
    expect(iso(nextFireAfter(schedule, ANCHOR + 3 * MINUTE - 1, ctx))).toBe('2026-01-01T00:03:00.000Z');
  });

  it('computes far fires arithmetically, on the grid', () => {
    const every7s: Schedule = { every: 7000, mode: 'fixed-rate' };
    const after = ms('2036-06-15T12:34:56.789Z');
    const fire = nextFireAfter(every7s, after, ctx)!;
    expect((fire - ANCHOR) % 7000).toBe(0);
    expect(fire > after && fire - after <= 7000).toBe(true);
    expect(iso(fire)).toBe(iso(ANCHOR + (Math.floor((after - ANCHOR) / 7000) + 1) * 7000));
  });

  it('with startAt, startAt is the first fire and the grid is based on it', () => {
    const bounded: Schedule = { every: 10 * MINUTE, mode: 'fixed-rate', startAt: '2026-03-01T08:05:00.000Z' };
    expect(iso(nextFireAfter(bounded, ANCHOR, ctx))).toBe('2026-03-01T08:05:00.000Z');
    expect(iso(nextFireAfter(bounded, ms('2026-03-01T08:05:00Z') - 1, ctx))).toBe('2026-03-01T08:05:00.000Z');
    expect(iso(nextFireAfter(bounded, ms('2026-03-01T08:05:00Z'), ctx))).toBe('2026-03-01T08:15:00.000Z');
    expect(iso(nextFireAfter(bounded, ms('2026-03-02T00:00:00Z'), ctx))).toBe('2026-03-02T00:05:00.000Z');
  });

  it('stops at endAt, which is inclusive', () => {
    const bounded: Schedule = {
      every: MINUTE, mode: 'fixed-rate', startAt: '2026-01-01T00:00:00.000Z', endAt: '2026-01-01T00:02:00.000Z',
    };
    expect(isoList(previewFires(bounded, ANCHOR - 1, 10, ctx)))
      .toEqual(['2026-01-01T00:00:00.000Z', '2026-01-01T00:01:00.000Z', '2026-01-01T00:02:00.000Z']);
    expect(nextFireAfter(bounded, ms('2026-01-01T00:02:00Z'), ctx)).toBeNull();
  });
});

describe('nextFireAfter: every, fixed-delay', () => {
  const schedule: Schedule = { every: 10_000, mode: 'fixed-delay' };
  const ended = ms('2026-02-01T10:00:00.250Z');

  it('fires `every` after the last run ended', () => {
    expect(iso(nextFireAfter(schedule, ended, { anchor: ANCHOR, lastRunEndedAt: ended }))).toBe('2026-02-01T10:00:10.250Z');
    expect(iso(nextFireAfter(schedule, ended - 60_000, { anchor: ANCHOR, lastRunEndedAt: ended })))
      .toBe('2026-02-01T10:00:10.250Z');
  });

  it('never returns an instant at or before `after`', () => {
    expect(iso(nextFireAfter(schedule, ended + 20_000, { anchor: ANCHOR, lastRunEndedAt: ended })))
      .toBe('2026-02-01T10:00:20.251Z');
  });

  it('before the first run fires like fixed-rate', () => {
    expect(iso(nextFireAfter(schedule, ANCHOR, { anchor: ANCHOR, lastRunEndedAt: null }))).toBe('2026-01-01T00:00:10.000Z');
    expect(iso(nextFireAfter(schedule, ANCHOR + 25_000, ctx))).toBe('2026-01-01T00:00:30.000Z');
  });

  it('honours startAt and endAt', () => {
    const bounded: Schedule = {
      every: 10_000, mode: 'fixed-delay', startAt: '2026-02-01T11:00:00.000Z', endAt: '2026-02-01T12:00:00.000Z',
    };
    expect(iso(nextFireAfter(bounded, ended, { anchor: ANCHOR, lastRunEndedAt: ended }))).toBe('2026-02-01T11:00:00.000Z');
    const late = ms('2026-02-01T11:59:55Z');
    expect(nextFireAfter(bounded, late, { anchor: ANCHOR, lastRunEndedAt: late })).toBeNull();
  });

  it('previews as if each run ended at its fire instant', () => {
    expect(isoList(previewFires(schedule, ended, 3, { anchor: ANCHOR, lastRunEndedAt: ended })))
      .toEqual(['2026-02-01T10:00:10.250Z', '2026-02-01T10:00:20.250Z', '2026-02-01T10:00:30.250Z']);
  });
});

describe('nextFireAfter: at and manual', () => {
  const at: Schedule = { at: '2026-12-01T00:00:00.000Z' };

  it('fires once, at the instant', () => {
    expect(iso(nextFireAfter(at, ANCHOR, ctx))).toBe('2026-12-01T00:00:00.000Z');
    expect(nextFireAfter(at, ms('2026-12-01T00:00:00Z'), ctx)).toBeNull();
    expect(isoList(previewFires(at, ANCHOR, 5, ctx))).toEqual(['2026-12-01T00:00:00.000Z']);
  });

  it('returns null for an instant in the past', () => {
    expect(nextFireAfter(at, ms('2027-01-01T00:00:00Z'), ctx)).toBeNull();
  });

  it('returns null when the instant is outside the bounds', () => {
    expect(nextFireAfter({ ...at, endAt: '2026-11-30T00:00:00.000Z' }, ANCHOR, ctx)).toBeNull();
    expect(nextFireAfter({ ...at, startAt: '2026-12-01T00:00:01.000Z' }, ANCHOR, ctx)).toBeNull();
  });

  it('manual never fires', () => {
    expect(nextFireAfter({ manual: true }, ANCHOR, ctx)).toBeNull();
    expect(previewFires({ manual: true }, ANCHOR, 10, ctx)).toEqual([]);
    expect(firesBetween({ manual: true }, 0, ms('2030-01-01T00:00:00Z'), 10, ctx)).toEqual({ fires: [], truncated: false });
  });
});

describe('nextFireAfter: cron', () => {
  it('reads 5 fields as minute-level and 6 fields with leading seconds', () => {
    expect(iso(nextFireAfter({ cron: '*/15 * * * *', timezone: 'UTC' }, ms('2026-01-01T00:07:00Z'), ctx)))
      .toBe('2026-01-01T00:15:00.000Z');
    expect(iso(nextFireAfter({ cron: '*/10 * * * * *', timezone: 'UTC' }, ms('2026-01-01T12:00:05Z'), ctx)))
      .toBe('2026-01-01T12:00:10.000Z');
  });

  it('is millisecond-exact and strictly after `after`', () => {
    const schedule: Schedule = { cron: '*/10 * * * * *', timezone: 'UTC' };
    expect(iso(nextFireAfter(schedule, ms('2026-01-01T12:00:09.999Z'), ctx))).toBe('2026-01-01T12:00:10.000Z');
    expect(iso(nextFireAfter(schedule, ms('2026-01-01T12:00:10.000Z'), ctx))).toBe('2026-01-01T12:00:20.000Z');
    expect(iso(nextFireAfter(schedule, ms('2026-01-01T12:00:10.001Z'), ctx))).toBe('2026-01-01T12:00:20.000Z');
  });

  it('evaluates the expression on the wall clock of its zone', () => {
    expect(iso(nextFireAfter({ cron: '0 30 2 * * *', timezone: 'Asia/Shanghai' }, ms('2026-06-01T00:00:00Z'), ctx)))
      .toBe('2026-06-01T18:30:00.000Z');
    expect(iso(nextFireAfter({ cron: '0 9 * * 1', timezone: 'America/New_York' }, ms('2026-06-01T00:00:00Z'), ctx)))
      .toBe('2026-06-01T13:00:00.000Z');
    expect(iso(nextFireAfter({ cron: '@daily', timezone: 'Europe/Berlin' }, ms('2026-06-01T00:00:00Z'), ctx)))
      .toBe('2026-06-01T22:00:00.000Z');
  });

  it('ORs day-of-month and day-of-week when both are restricted', () => {
    // 2026-02-01 is a Sunday: Fridays are the 6th, 13th, 20th, 27th; March 13th is a Friday too.
    expect(isoList(previewFires({ cron: '0 0 13 * 5', timezone: 'UTC' }, ms('2026-02-01T00:00:00Z'), 6, ctx))).toEqual([
      '2026-02-06T00:00:00.000Z', '2026-02-13T00:00:00.000Z', '2026-02-20T00:00:00.000Z',
      '2026-02-27T00:00:00.000Z', '2026-03-06T00:00:00.000Z', '2026-03-13T00:00:00.000Z',
    ]);
    expect(isoList(previewFires({ cron: '0 0 1 * *', timezone: 'UTC' }, ms('2026-02-01T00:00:00Z'), 2, ctx)))
      .toEqual(['2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z']);
  });

  it('reads `?` in a day field as `*`: it does not make the field restricted', () => {
    const from = ms('2026-02-01T00:00:00Z');
    // Fridays only (not "every day OR Friday"), and the 13th only (not "the 13th OR any weekday").
    expect(previewFires({ cron: '0 0 ? * 5', timezone: 'UTC' }, from, 6, ctx)).toEqual(previewFires({ cron: '0 0 * * 5', timezone: 'UTC' }, from, 6, ctx));
    expect(isoList(previewFires({ cron: '0 0 ? * 5', timezone: 'UTC' }, from, 2, ctx))).toEqual(['2026-02-06T00:00:00.000Z', '2026-02-13T00:00:00.000Z']);
    expect(previewFires({ cron: '0 0 13 * ?', timezone: 'UTC' }, from, 3, ctx)).toEqual(previewFires({ cron: '0 0 13 * *', timezone: 'UTC' }, from, 3, ctx));
    expect(isoList(previewFires({ cron: '0 0 13 * ?', timezone: 'UTC' }, from, 2, ctx))).toEqual(['2026-02-13T00:00:00.000Z', '2026-03-13T00:00:00.000Z']);
  });

  it('returns null for an expression that never matches', () => {
    expect(nextFireAfter({ cron: '0 0 30 2 *', timezone: 'UTC' }, ANCHOR, ctx)).toBeNull();
  });

  it('throws for an invalid expression', () => {
    expect(() => nextFireAfter({ cron: '61 * * * *', timezone: 'UTC' }, ANCHOR, ctx)).toThrow();
  });

  it('honours startAt (inclusive) and endAt (inclusive)', () => {
    const schedule: Schedule = {
      cron: '0 * * * *', timezone: 'UTC', startAt: '2026-05-01T10:00:00.000Z', endAt: '2026-05-01T12:00:00.000Z',
    };
    expect(iso(nextFireAfter(schedule, ANCHOR, ctx))).toBe('2026-05-01T10:00:00.000Z');
    expect(iso(nextFireAfter({ ...schedule, startAt: '2026-05-01T10:30:00.000Z' }, ANCHOR, ctx))).toBe('2026-05-01T11:00:00.000Z');
    expect(iso(nextFireAfter(schedule, ms('2026-05-01T11:00:00Z'), ctx))).toBe('2026-05-01T12:00:00.000Z');
    expect(nextFireAfter(schedule, ms('2026-05-01T12:00:00Z'), ctx)).toBeNull();
  });
});

describe('previewFires', () => {
  const schedule: Schedule = { cron: '*/15 * * * *', timezone: 'UTC' };

  it('returns the next `count` fires strictly after `from`', () => {
    expect(isoList(previewFires(schedule, ms('2026-01-01T00:07:00Z'), 4, ctx))).toEqual([
      '2026-01-01T00:15:00.000Z', '2026-01-01T00:30:00.000Z', '2026-01-01T00:45:00.000Z', '2026-01-01T01:00:00.000Z',
    ]);
    expect(isoList(previewFires(schedule, ms('2026-01-01T00:15:00Z'), 1, ctx))).toEqual(['2026-01-01T00:30:00.000Z']);
  });

  it('returns exactly `count` fires, up to the maximum', () => {
    expect(previewFires(schedule, ANCHOR, 0, ctx)).toEqual([]);
    const many = previewFires({ every: 1000, mode: 'fixed-rate' }, ANCHOR, MAX_PREVIEW_COUNT, ctx);
    expect(many.length).toBe(1000);
    expect(iso(many[999]!)).toBe('2026-01-01T00:16:40.000Z');
  });

  it('rejects a count above the maximum or not a whole number', () => {
    expect(() => previewFires(schedule, ANCHOR, MAX_PREVIEW_COUNT + 1, ctx)).toThrow(RangeError);
    expect(() => previewFires(schedule, ANCHOR, -1, ctx)).toThrow(RangeError);
    expect(() => previewFires(schedule, ANCHOR, 1.5, ctx)).toThrow(RangeError);
  });
});

describe('firesBetween', () => {
  const fixedRate: Schedule = { every: MINUTE, mode: 'fixed-rate' };
  const cron: Schedule = { cron: '* * * * *', timezone: 'UTC' };

  for (const [name, schedule] of [['fixed-rate', fixedRate], ['cron', cron]] as const) {
    it(`${name}: lists (after, until] ascending`, () => {
      const range = firesBetween(schedule, ANCHOR + MINUTE, ANCHOR + 5 * MINUTE, 100, ctx);
      expect(isoList(range.fires)).toEqual([
        '2026-01-01T00:02:00.000Z', '2026-01-01T00:03:00.000Z', '2026-01-01T00:04:00.000Z', '2026-01-01T00:05:00.000Z',
      ]);
      expect(range.truncated).toBe(false);
    });

    it(`${name}: stops at the limit and says so`, () => {
      const range = firesBetween(schedule, ANCHOR, ANCHOR + 10 * MINUTE, 3, ctx);
      expect(isoList(range.fires)).toEqual(['2026-01-01T00:01:00.000Z', '2026-01-01T00:02:00.000Z', '2026-01-01T00:03:00.000Z']);
      expect(range.truncated).toBe(true);
      expect(firesBetween(schedule, ANCHOR, ANCHOR + 10 * MINUTE, 10, ctx)).toMatchObject({ truncated: false });
      expect(firesBetween(schedule, ANCHOR, ANCHOR + 10 * MINUTE, 10, ctx).fires.length).toBe(10);
    });

    it(`${name}: is empty when no fire is in range`, () => {
      expect(firesBetween(schedule, ANCHOR + 1000, ANCHOR + 59_999, 10, ctx)).toEqual({ fires: [], truncated: false });
    });
  }

  it('counts a huge fixed-rate range arithmetically', () => {
    const range = firesBetween({ every: 1, mode: 'fixed-rate' }, ANCHOR, ms('2126-01-01T00:00:00Z'), 2, ctx);
    expect(range).toEqual({ fires: [ANCHOR + 1, ANCHOR + 2], truncated: true });
  });

  it('respects endAt', () => {
    const schedule: Schedule = { every: MINUTE, mode: 'fixed-rate', endAt: '2026-01-01T00:03:30.000Z' };
    expect(firesBetween(schedule, ANCHOR, ANCHOR + 10 * MINUTE, 10, ctx))
      .toEqual({ fires: [ANCHOR + MINUTE, ANCHOR + 2 * MINUTE, ANCHOR + 3 * MINUTE], truncated: false });
  });
});

describe('previousFireBefore', () => {
  it('steps back through cron fires', () => {
    const schedule: Schedule = { cron: '*/15 * * * *', timezone: 'UTC' };
    expect(iso(previousFireBefore(schedule, ms('2026-01-01T00:15:00Z'), ctx))).toBe('2026-01-01T00:00:00.000Z');
    expect(iso(previousFireBefore(schedule, ms('2026-01-01T00:15:00.001Z'), ctx))).toBe('2026-01-01T00:15:00.000Z');
  });

  it('steps back on the fixed-rate grid, not before its first fire', () => {
    const schedule: Schedule = { every: MINUTE, mode: 'fixed-rate' };
    expect(iso(previousFireBefore(schedule, ANCHOR + 150_000, ctx))).toBe('2026-01-01T00:02:00.000Z');
    expect(iso(previousFireBefore(schedule, ANCHOR + 120_000, ctx))).toBe('2026-01-01T00:01:00.000Z');
    expect(previousFireBefore(schedule, ANCHOR + MINUTE, ctx)).toBeNull();
  });

  it('honours bounds; at, fixed-delay and manual', () => {
    const bounded: Schedule = { cron: '0 * * * *', timezone: 'UTC', startAt: '2026-05-01T10:00:00.000Z', endAt: '2026-05-01T12:00:00.000Z' };
    expect(iso(previousFireBefore(bounded, ms('2026-06-01T00:00:00Z'), ctx))).toBe('2026-05-01T12:00:00.000Z');
    expect(previousFireBefore(bounded, ms('2026-05-01T10:00:00Z'), ctx)).toBeNull();
    expect(iso(previousFireBefore({ at: '2026-03-01T00:00:00.000Z' }, ms('2026-04-01T00:00:00Z'), ctx))).toBe('2026-03-01T00:00:00.000Z');
    expect(previousFireBefore({ at: '2026-03-01T00:00:00.000Z' }, ms('2026-03-01T00:00:00Z'), ctx)).toBeNull();
    expect(previousFireBefore({ every: MINUTE, mode: 'fixed-delay' }, ms('2026-04-01T00:00:00Z'), ctx)).toBeNull();
    expect(previousFireBefore({ manual: true }, ms('2026-04-01T00:00:00Z'), ctx)).toBeNull();
  });
});

/** Reference FNV-1a (32-bit) over UTF-16 code units, as documented for jitterDelay. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

describe('jitterDelay', () => {
  const schedule: Schedule = { every: MINUTE, mode: 'fixed-rate', jitterMs: 30_000 };

  it('reference FNV-1a matches the published test vectors', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });

  it('is 0 without jitterMs, and for manual', () => {
    expect(jitterDelay({ every: MINUTE, mode: 'fixed-rate' }, 'task-1', ANCHOR)).toBe(0);
    expect(jitterDelay({ manual: true }, 'task-1', ANCHOR)).toBe(0);
  });

  it('is floor(FNV-1a(taskId NUL scheduledAt) / 2^32 × jitterMs)', () => {
    const expected = Math.floor((fnv1a(`task-1\u0000${ANCHOR}`) / 2 ** 32) * 30_000);
    expect(jitterDelay(schedule, 'task-1', ANCHOR)).toBe(expected);
    expect(jitterDelay(schedule, 'task-1', ANCHOR)).toBe(jitterDelay(schedule, 'task-1', ANCHOR));
  });

  it('stays in [0, jitterMs) and spreads over the range', () => {
    const delays = Array.from({ length: 2000 }, (_, i) => jitterDelay(schedule, `task-${i % 7}`, ANCHOR + i * MINUTE));
    expect(delays.every((d) => Number.isInteger(d) && d >= 0 && d < 30_000)).toBe(true);
    const deciles = new Set(delays.map((d) => Math.floor(d / 3000)));
    expect(deciles.size).toBe(10);
    expect(jitterDelay(schedule, 'task-1', ANCHOR)).not.toBe(jitterDelay(schedule, 'task-2', ANCHOR));
  });
});
