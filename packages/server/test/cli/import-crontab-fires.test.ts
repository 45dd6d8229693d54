/**
 * `ecron import crontab` on a real crontab that uses every syntax cron allows: the next 20 fires
 * of each converted task, computed by the scheduler's own schedule code, equal what cron would do.
 * "What cron would do" comes from cron-parser (an independent implementation of cron's rules) for
 * every line but those where cron-parser itself departs from Vixie cron and cronie (a `*`-prefixed
 * day field beside a restricted one); for those, the fires are written out from cron's rule.
 */
import { CronExpressionParser } from 'cron-parser';
import { describe, expect, it } from 'vitest';
import { ScheduleSchema } from '@ecron/contracts';
import { convertCrontab } from '../../src/cli/import/crontab.ts';
import { previewFires } from '../../src/core/schedule/next-fire.ts';

const CRONTAB = `# m h dom mon dow command -- a user crontab using every syntax cron allows
SHELL=/bin/sh
PATH=/usr/local/bin:/usr/bin:/bin
MAILTO=""
*/5 * * * * /usr/bin/true every-5-minutes
0 */2 * * * /usr/bin/true every-2-hours
15,45 9-17 * * 1-5 /usr/bin/true office-hours
30 2 1,15 * * /usr/bin/true twice-a-month
0 0 * jan,jul * /usr/bin/true january-and-july
0 12 * * mon-fri /usr/bin/true weekday-noon
0 6 * * sun /usr/bin/true sunday-by-name
0 6 * * 7 /usr/bin/true sunday-as-7
0 6 * * 5-7 /usr/bin/true friday-to-sunday
0 0 13 * 5 /usr/bin/true friday-or-the-13th
5 4 * * 0,6 /usr/bin/true weekends
0 22 * * 1-5/2 /usr/bin/true range-with-step
10-50/20 * * * * /usr/bin/true minute-range-step
0 0 29 2 * /usr/bin/true leap-day
1 2 3 4 * /usr/bin/true once-a-year
*/15 0-6/3 */10 */3 * /usr/bin/true steps-everywhere
0 9 1-7 * 1 /usr/bin/true first-week-or-monday
0 0 31 * * /usr/bin/true months-with-31-days
0 0 * DEC,Feb MON /usr/bin/true upper-case-names
@yearly /usr/bin/true yearly
@annually /usr/bin/true annually
@monthly /usr/bin/true monthly
@weekly /usr/bin/true weekly
@daily /usr/bin/true daily
@midnight /usr/bin/true midnight
@hourly /usr/bin/true hourly
CRON_TZ=Asia/Shanghai
30 8 * * * /usr/bin/true shanghai-morning
0 0 */10 * 5 /usr/bin/true star-step-and-friday
0 0 1 * */3 /usr/bin/true first-and-star-step-weekday
`;

/** Lines where cron's rule is written out: a `*`-prefixed day field beside a restricted one means AND. */
const BY_CRONS_RULE: Record<string, string[]> = {
  // Days 1, 11, 21, 31 that are Fridays, at midnight in Shanghai (16:00 UTC the day before).
  'star-step-and-friday': ['2026-12-10T16:00:00.000Z', '2026-12-31T16:00:00.000Z', '2027-05-20T16:00:00.000Z'],
  // The 1st of the month when it is a Sunday, Wednesday or Saturday (day-of-week */3: 0, 3, 6).
  'first-and-star-step-weekday': ['2027-04-30T16:00:00.000Z', '2027-07-31T16:00:00.000Z', '2027-08-31T16:00:00.000Z'],
};

const FROM = Date.parse('2026-12-08T00:00:00.000Z');

describe('ecron import crontab: a real crontab, fire for fire', () => {
  const imported = convertCrontab(CRONTAB, { group: 'hosts', timezone: 'UTC', file: 'crontab' });
  const byName = new Map(imported.tasks.map((t) => [String(t.spec.description).split(': ').slice(1).join(': ').split(' ').at(-1)!, t.spec]));

  it('converts every job line (comments, blank lines and variables are no task)', () => {
    expect(imported.tasks).toHaveLength(29);
    expect(imported.problems.filter((p) => p.severity === 'error')).toEqual([]);
  });

  it('gives each task the next 20 fires cron gives its line', () => {
    let compared = 0;
    for (const [name, spec] of byName) {
      if (name in BY_CRONS_RULE) continue;
      const schedule = ScheduleSchema.parse(spec.schedule);
      const ours = previewFires(schedule, FROM, 20, { anchor: FROM }).map((t) => new Date(t).toISOString());
      const line = CRONTAB.split('\n').find((l) => l.endsWith(` ${name}`))!;
      // crontab(5): @midnight is @daily (cron-parser knows only the latter name).
      const expression = line.startsWith('@') ? line.split(' ')[0]!.replace('@midnight', '@daily') : line.split(' ').slice(0, 5).join(' ');
      const cron = CronExpressionParser.parse(expression, { currentDate: new Date(FROM), tz: (spec.schedule as { timezone: string }).timezone });
      const theirs = cron.take(20).map((d) => d.toISOString()!);
      expect(ours, `${name}: ${expression}`).toEqual(theirs);
      compared += 1;
    }
    expect(compared).toBe(27);
  });

  it('keeps cron\'s AND when a day field starts with *, where the library alone would OR', () => {
    for (const [name, expected] of Object.entries(BY_CRONS_RULE)) {
      const spec = byName.get(name)!;
      expect((spec.schedule as { timezone: string }).timezone).toBe('Asia/Shanghai');
      const fires = previewFires(ScheduleSchema.parse(spec.schedule), FROM, 3, { anchor: FROM }).map((t) => new Date(t).toISOString());
      expect(fires, name).toEqual(expected);
    }
  });
});
