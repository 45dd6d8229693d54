import { describe, expect, it } from 'vitest';
import { parseDuration, TaskSpecSchema, toFieldIssues } from '../src/index.ts';

const target = { type: 'http', url: 'http://127.0.0.1:9000/run' };
const issues = (input: unknown) => {
  const result = TaskSpecSchema.safeParse(input);
  if (result.success) throw new Error('expected the spec to be refused');
  return toFieldIssues(result.error).map(({ path, code }) => ({ path, code }));
};

describe('task spec', () => {
  it('fills defaults and turns durations into milliseconds', () => {
    const spec = TaskSpecSchema.parse({ name: 'n', schedule: { every: '1.5s' }, target, timeoutMs: '2m', retry: { maxAttempts: 3, backoff: { initialMs: '500ms' } } });
    expect(spec).toEqual({
      namespace: 'default', name: 'n', schedule: { every: 1500, mode: 'fixed-rate' }, target, timeoutMs: 120_000,
      retry: { maxAttempts: 3, backoff: { type: 'exponential', initialMs: 500, maxMs: 60_000, multiplier: 2, jitter: 0 } },
      overlap: 'allow', misfire: { policy: 'fire-once', maxCatchUp: 100 }, params: {},
    });
  });

  it('accepts each schedule kind and normalises instants to UTC', () => {
    expect(TaskSpecSchema.parse({ name: 'c', schedule: { cron: ' */5 * * * * * ' }, target }).schedule).toEqual({ cron: '*/5 * * * * *', timezone: 'UTC' });
    expect(TaskSpecSchema.parse({ name: 'a', schedule: { at: '2026-12-01T08:00:00+08:00' }, target }).schedule).toEqual({ at: '2026-12-01T00:00:00.000Z' });
    expect(TaskSpecSchema.parse({ name: 'm', schedule: { manual: true }, target }).schedule).toEqual({ manual: true });
    expect(TaskSpecSchema.parse({ name: 'd', schedule: { every: 1000, mode: 'fixed-delay', jitterMs: '1s' }, target }).schedule)
      .toEqual({ every: 1000, mode: 'fixed-delay', jitterMs: 1000 });
  });

  it.each([
    [{ cron: '61 * * * *' }, 'schedule.cron', 'INVALID_CRON'],
    [{ cron: '0 0 31 2 *' }, 'schedule.cron', 'INVALID_CRON'],
    [{ cron: '15 13 31W 4 *' }, 'schedule.cron', 'INVALID_CRON'],
    [{ cron: '* * * *' }, 'schedule.cron', 'INVALID_CRON'],
    [{ cron: '0 0 0 * * * 2026' }, 'schedule.cron', 'INVALID_CRON'],
    [{ cron: '* * * * *', timezone: 'Mars/Olympus' }, 'schedule.timezone', 'UNKNOWN_TIMEZONE'],
    [{ cron: '* * * * *', timezone: '+08:00' }, 'schedule.timezone', 'UNKNOWN_TIMEZONE'],
    [{ every: '10 seconds' }, 'schedule.every', 'INVALID_DURATION'],
    [{ every: 0 }, 'schedule.every', 'DURATION_OUT_OF_RANGE'],
    [{ every: '1s', timezone: 'UTC' }, 'schedule.timezone', 'FIELD_NOT_ALLOWED'],
    [{ every: '1s', cron: '* * * * *' }, 'schedule', 'SCHEDULE_KIND_INVALID'],
    [{}, 'schedule', 'SCHEDULE_KIND_INVALID'],
    [{ at: 'tomorrow' }, 'schedule.at', 'INVALID_FORMAT'],
    [{ every: '1s', startAt: '2026-02-01T00:00:00Z', endAt: '2026-01-01T00:00:00Z' }, 'schedule.endAt', 'INVALID_BOUNDS'],
    [{ manual: true, jitterMs: 5 }, 'schedule.jitterMs', 'FIELD_NOT_ALLOWED'],
    [{ every: '1s', colour: 'red' }, 'schedule.colour', 'UNKNOWN_FIELD'],
  ])('refuses schedule %j at %s with %s', (schedule, path, code) => {
    expect(issues({ name: 'x', schedule, target })).toContainEqual({ path, code });
  });

  it('refuses an expression that never matches with INVALID_CRON, saying it never fires', () => {
    for (const cron of ['0 0 31 2 *', '15 13 31W 4 *', '0 0 30 2 *', '0 0 0 31 4,6,9,11 *']) {
      const result = TaskSpecSchema.safeParse({ name: 'x', schedule: { cron }, target });
      expect(result.success, cron).toBe(false);
      if (!result.success) expect(toFieldIssues(result.error), cron).toEqual([{ path: 'schedule.cron', code: 'INVALID_CRON', message: expect.stringContaining('never fires') }]);
    }
  });

  it('names every problem of a bad spec by its JSON path', () => {
    expect(issues({ name: 5, schedule: { every: '1s' }, target: { type: 'http', url: 'ftp://x' }, overlap: 'sometimes', extra: 1, retry: { maxAttempts: 0 } })).toEqual([
      { path: 'name', code: 'INVALID_TYPE' },
      { path: 'target.url', code: 'INVALID_FORMAT' },
      { path: 'retry.maxAttempts', code: 'OUT_OF_RANGE' },
      { path: 'overlap', code: 'INVALID_VALUE' },
      { path: 'extra', code: 'UNKNOWN_FIELD' },
    ]);
    expect(issues({ schedule: { every: '1s' }, target })).toEqual([{ path: 'name', code: 'REQUIRED' }]);
    expect(issues({ name: 'big', schedule: { every: '1s' }, target, params: { blob: 'x'.repeat(70_000) } })).toEqual([{ path: 'params', code: 'PARAMS_TOO_LARGE' }]);
  });

  it('parses durations exactly', () => {
    expect([parseDuration('500ms'), parseDuration('10s'), parseDuration('5m'), parseDuration('1h'), parseDuration('2d'), parseDuration(250)])
      .toEqual([500, 10_000, 300_000, 3_600_000, 172_800_000, 250]);
    expect([parseDuration('1.5ms'), parseDuration(-1), parseDuration(1.5), parseDuration('10'), parseDuration('1 h')]).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});
