/**
 * `intervalBelow`: the gap a schedule fires at when it is shorter than a namespace's minimum
 * (finding F3), for every kind of schedule, cron measured over its next fires.
 */
import { describe, expect, it } from 'vitest';
import type { Schedule } from '@ecron/contracts';
import { CRON_GAP_SAMPLE, intervalBelow } from '../../src/core/schedule/fire-interval.ts';

const FROM = Date.parse('2026-01-01T00:00:00Z');
const cron = (expression: string, timezone = 'UTC'): Schedule => ({ cron: expression, timezone });

describe('intervalBelow', () => {
  it('compares `every` itself, fixed-rate and fixed-delay alike', () => {
    expect(intervalBelow({ every: 1, mode: 'fixed-rate' }, 1000, FROM)).toBe(1);
    expect(intervalBelow({ every: 999, mode: 'fixed-delay' }, 1000, FROM)).toBe(999);
    expect(intervalBelow({ every: 1000, mode: 'fixed-rate' }, 1000, FROM)).toBeNull();
    expect(intervalBelow({ every: 100, mode: 'fixed-rate' }, 100, FROM)).toBeNull();
  });

  it('never refuses a one-shot or a manual schedule', () => {
    expect(intervalBelow({ at: '2026-01-01T00:00:01.000Z' }, 86_400_000, FROM)).toBeNull();
    expect(intervalBelow({ manual: true }, 86_400_000, FROM)).toBeNull();
  });

  it('takes the smallest gap of a cron schedule\'s next fires, not only its first', () => {
    expect(intervalBelow(cron('*/1 * * * * *'), 1000, FROM)).toBeNull();
    expect(intervalBelow(cron('*/1 * * * * *'), 5000, FROM)).toBe(1000);
    expect(intervalBelow(cron('*/5 * * * * *'), 5000, FROM)).toBeNull();
    expect(intervalBelow(cron('* * * * *'), 120_000, FROM)).toBe(60_000);
    expect(intervalBelow(cron('@hourly'), 3_600_000, FROM)).toBeNull();
    // From 00:00:00 the fires are 00:01, 01:00, 01:01…: the first gap is 59 min, the second 1 min.
    expect(intervalBelow(cron('0 0,1 * * * *'), 120_000, FROM)).toBe(60_000);
    // Five fires a second apart at the start of each minute.
    expect(intervalBelow(cron('0-4 * * * * *'), 2000, FROM)).toBe(1000);
  });

  it('measures the next fires from `from` on, however far away they are', () => {
    // 1 March at 00:00:00 and 00:00:01 only: two months after FROM, a second apart.
    expect(intervalBelow(cron('0,1 0 0 1 3 *'), 5000, FROM)).toBe(1000);
    expect(intervalBelow(cron('0 0 0 * * *'), 5000, FROM)).toBeNull();
    // Fewer than two fires left (bounded by endAt): nothing to compare.
    expect(intervalBelow({ cron: '* * * * * *', timezone: 'UTC', endAt: '2026-01-01T00:00:01.000Z' }, 5000, FROM)).toBeNull();
    expect(CRON_GAP_SAMPLE).toBe(20);
  });

  it('keeps the engine\'s DST rule: a spring-forward gap does not bring two fires closer than the expression does', () => {
    // America/New_York, 2026-03-08: 02:00–02:59 do not exist; every minute of that hour fires once, at 03:00 EDT.
    const from = Date.parse('2026-03-08T06:50:00Z');
    expect(intervalBelow(cron('* * * * *', 'America/New_York'), 60_000, from)).toBeNull();
    expect(intervalBelow(cron('* * * * *', 'America/New_York'), 61_000, from)).toBe(60_000);
  });
});
