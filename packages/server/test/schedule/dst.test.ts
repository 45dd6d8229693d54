/**
 * DST behaviour of cron schedules, with exact instants. The rule (docs/schedules.md):
 * - a wall-clock time inside a spring-forward gap fires once, at the first instant after the gap;
 * - a wall-clock time repeated by a fall-back fires once, at its first occurrence.
 *
 * Transitions used (tz database bundled with Node 24):
 * - America/New_York: 2026-03-08 02:00→03:00 (07:00Z), 2026-11-01 02:00→01:00 (06:00Z);
 *   2027-03-14 (07:00Z), 2027-11-07 (06:00Z).
 * - Europe/London: 2026-03-29 01:00→02:00 (01:00Z), 2026-10-25 02:00→01:00 (01:00Z); 2027-03-28, 2027-10-31.
 * - Europe/Berlin: 2026-03-29 02:00→03:00 (01:00Z), 2026-10-25 03:00→02:00 (01:00Z); 2027-03-28, 2027-10-31.
 * - Australia/Sydney: 2026-04-05 03:00→02:00 (04-04 16:00Z), 2026-10-04 02:00→03:00 (10-03 16:00Z);
 *   2027-04-04 (04-03 16:00Z), 2027-10-03 (10-02 16:00Z).
 * - Australia/Lord_Howe (30-minute shift): 2026-04-05 02:00→01:30 (04-04 15:00Z),
 *   2026-10-04 02:00→02:30 (10-03 15:30Z); 2027-04-04 (04-03 15:00Z), 2027-10-03 (10-02 15:30Z).
 * - Asia/Shanghai and UTC: no DST.
 */
import { describe, expect, it } from 'vitest';
import { firesBetween, previewFires } from '../../src/core/schedule/next-fire.ts';

const ctx = { anchor: 0 };
const preview = (cron: string, timezone: string, fromIso: string, count: number): string[] =>
  previewFires({ cron, timezone }, Date.parse(fromIso), count, ctx).map((t) => new Date(t).toISOString());
const z = (text: string): string => text.replace(/Z$/, '.000Z');

type Case = [cron: string, timezone: string, from: string, expected: string[], why: string];

const cases: Case[] = [
  // America/New_York
  ['30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', ['2026-03-08T07:00:00Z', '2026-03-09T06:30:00Z'], '02:30 in the gap fires at 03:00 EDT'],
  ['30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', ['2026-11-01T05:30:00Z', '2026-11-02T06:30:00Z'], '01:30 repeated: first (EDT) only'],
  ['30 * * * *', 'America/New_York', '2026-03-08T05:00:00Z', ['2026-03-08T05:30:00Z', '2026-03-08T06:30:00Z', '2026-03-08T07:00:00Z', '2026-03-08T07:30:00Z'], 'hourly: 02:30 → 03:00'],
  ['30 * * * *', 'America/New_York', '2026-11-01T04:00:00Z', ['2026-11-01T04:30:00Z', '2026-11-01T05:30:00Z', '2026-11-01T07:30:00Z', '2026-11-01T08:30:00Z'], 'hourly: no second 01:30'],
  ['*/20 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', ['2026-03-08T07:00:00Z', '2026-03-09T06:00:00Z', '2026-03-09T06:20:00Z'], '02:00, 02:20, 02:40 all in the gap: one fire'],
  ['*/20 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', ['2026-11-01T05:00:00Z', '2026-11-01T05:20:00Z', '2026-11-01T05:40:00Z', '2026-11-02T06:00:00Z'], 'repeated hour fires once'],
  ['30 2,14 * * *', 'America/New_York', '2026-03-07T12:00:00Z', ['2026-03-07T19:30:00Z', '2026-03-08T07:00:00Z', '2026-03-08T18:30:00Z'], 'a list follows the same rule'],
  ['30 2 * * *', 'America/New_York', '2027-03-13T12:00:00Z', ['2027-03-14T07:00:00Z', '2027-03-15T06:30:00Z'], '2027 gap'],
  ['30 1 * * *', 'America/New_York', '2027-11-06T12:00:00Z', ['2027-11-07T05:30:00Z', '2027-11-08T06:30:00Z'], '2027 overlap'],
  // Europe/London
  ['30 1 * * *', 'Europe/London', '2026-03-28T12:00:00Z', ['2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z'], '01:30 in the gap fires at 02:00 BST'],
  ['30 2 * * *', 'Europe/London', '2026-03-28T12:00:00Z', ['2026-03-29T01:30:00Z', '2026-03-30T01:30:00Z'], '02:30 exists'],
  ['30 1 * * *', 'Europe/London', '2026-10-24T12:00:00Z', ['2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z'], '01:30 BST only'],
  ['0 30 * * * *', 'Europe/London', '2026-03-29T00:00:00Z', ['2026-03-29T00:30:00Z', '2026-03-29T01:00:00Z', '2026-03-29T01:30:00Z', '2026-03-29T02:30:00Z'], 'hourly with seconds across the gap'],
  ['0 30 * * * *', 'Europe/London', '2026-10-24T23:00:00Z', ['2026-10-24T23:30:00Z', '2026-10-25T00:30:00Z', '2026-10-25T02:30:00Z', '2026-10-25T03:30:00Z'], 'hourly with seconds across the overlap'],
  ['30 1 * * *', 'Europe/London', '2027-03-27T12:00:00Z', ['2027-03-28T01:00:00Z', '2027-03-29T00:30:00Z'], '2027 gap'],
  ['30 1 * * *', 'Europe/London', '2027-10-30T12:00:00Z', ['2027-10-31T00:30:00Z', '2027-11-01T01:30:00Z'], '2027 overlap'],
  // Europe/Berlin
  ['30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', ['2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z'], '02:30 in the gap fires at 03:00 CEST'],
  ['30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', ['2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z'], '02:30 CEST only'],
  ['30 * * * *', 'Europe/Berlin', '2026-03-29T00:00:00Z', ['2026-03-29T00:30:00Z', '2026-03-29T01:00:00Z', '2026-03-29T01:30:00Z'], 'hourly across the gap'],
  ['30 * * * *', 'Europe/Berlin', '2026-10-24T23:00:00Z', ['2026-10-24T23:30:00Z', '2026-10-25T00:30:00Z', '2026-10-25T02:30:00Z', '2026-10-25T03:30:00Z'], 'hourly across the overlap'],
  ['30 2 * * *', 'Europe/Berlin', '2027-03-27T12:00:00Z', ['2027-03-28T01:00:00Z', '2027-03-29T00:30:00Z'], '2027 gap'],
  ['30 2 * * *', 'Europe/Berlin', '2027-10-30T12:00:00Z', ['2027-10-31T00:30:00Z', '2027-11-01T01:30:00Z'], '2027 overlap'],
  // Australia/Sydney
  ['30 2 * * *', 'Australia/Sydney', '2026-04-04T00:00:00Z', ['2026-04-04T15:30:00Z', '2026-04-05T16:30:00Z'], '02:30 AEDT only'],
  ['30 2 * * *', 'Australia/Sydney', '2026-10-03T00:00:00Z', ['2026-10-03T16:00:00Z', '2026-10-04T15:30:00Z'], '02:30 in the gap fires at 03:00 AEDT'],
  ['0 30 * * * *', 'Australia/Sydney', '2026-04-04T14:00:00Z', ['2026-04-04T14:30:00Z', '2026-04-04T15:30:00Z', '2026-04-04T17:30:00Z', '2026-04-04T18:30:00Z'], 'hourly across the overlap'],
  ['0 30 * * * *', 'Australia/Sydney', '2026-10-03T14:00:00Z', ['2026-10-03T14:30:00Z', '2026-10-03T15:30:00Z', '2026-10-03T16:00:00Z', '2026-10-03T16:30:00Z'], 'hourly across the gap'],
  ['30 2 * * *', 'Australia/Sydney', '2027-04-03T00:00:00Z', ['2027-04-03T15:30:00Z', '2027-04-04T16:30:00Z'], '2027 overlap'],
  ['30 2 * * *', 'Australia/Sydney', '2027-10-02T00:00:00Z', ['2027-10-02T16:00:00Z', '2027-10-03T15:30:00Z'], '2027 gap'],
  // Australia/Lord_Howe: 30-minute shifts
  ['45 1 * * *', 'Australia/Lord_Howe', '2026-04-04T00:00:00Z', ['2026-04-04T14:45:00Z', '2026-04-05T15:15:00Z'], '01:45 (+11) only'],
  ['30 2 * * *', 'Australia/Lord_Howe', '2026-04-04T00:00:00Z', ['2026-04-04T16:00:00Z', '2026-04-05T16:00:00Z'], '02:30 is not repeated'],
  ['15 2 * * *', 'Australia/Lord_Howe', '2026-10-03T00:00:00Z', ['2026-10-03T15:30:00Z', '2026-10-04T15:15:00Z'], '02:15 in the gap fires at 02:30'],
  ['*/15 2 * * *', 'Australia/Lord_Howe', '2026-10-03T00:00:00Z', ['2026-10-03T15:30:00Z', '2026-10-03T15:45:00Z', '2026-10-04T15:00:00Z'], '02:00, 02:15 and 02:30 share one instant'],
  ['15 * * * *', 'Australia/Lord_Howe', '2026-10-03T14:00:00Z', ['2026-10-03T14:45:00Z', '2026-10-03T15:30:00Z', '2026-10-03T16:15:00Z', '2026-10-03T17:15:00Z'], 'hourly across the gap'],
  ['45 * * * *', 'Australia/Lord_Howe', '2026-04-04T13:00:00Z', ['2026-04-04T13:45:00Z', '2026-04-04T14:45:00Z', '2026-04-04T16:15:00Z', '2026-04-04T17:15:00Z'], 'hourly across the overlap'],
  ['*/30 * * * *', 'Australia/Lord_Howe', '2026-04-04T13:59:00Z', ['2026-04-04T14:00:00Z', '2026-04-04T14:30:00Z', '2026-04-04T15:30:00Z', '2026-04-04T16:00:00Z'], 'half-hourly: the second 01:30 is skipped'],
  ['45 1 * * *', 'Australia/Lord_Howe', '2027-04-03T00:00:00Z', ['2027-04-03T14:45:00Z', '2027-04-04T15:15:00Z'], '2027 overlap'],
  ['15 2 * * *', 'Australia/Lord_Howe', '2027-10-02T00:00:00Z', ['2027-10-02T15:30:00Z', '2027-10-03T15:15:00Z'], '2027 gap'],
  // No DST
  ['30 2 * * *', 'Asia/Shanghai', '2026-03-07T00:00:00Z', ['2026-03-07T18:30:00Z', '2026-03-08T18:30:00Z', '2026-03-09T18:30:00Z'], 'UTC+8 all year'],
  ['30 2 * * *', 'Asia/Shanghai', '2026-10-31T00:00:00Z', ['2026-10-31T18:30:00Z', '2026-11-01T18:30:00Z'], 'UTC+8 all year'],
  ['30 2 * * *', 'UTC', '2026-03-28T00:00:00Z', ['2026-03-28T02:30:00Z', '2026-03-29T02:30:00Z', '2026-03-30T02:30:00Z'], 'UTC'],
];

describe('cron across DST transitions', () => {
  for (const [cron, timezone, from, expected, why] of cases) {
    it(`${cron} in ${timezone} from ${from}: ${why}`, () => {
      expect(preview(cron, timezone, from, expected.length)).toEqual(expected.map(z));
    });
  }
});

const MINUTE = 60_000;
const SECOND = 1000;

/** All multiples of `step` in [fromIso, untilIso). */
function everyStep(fromIso: string, untilIso: string, step: number): number[] {
  const out: number[] = [];
  for (let t = Date.parse(fromIso); t < Date.parse(untilIso); t += step) out.push(t);
  return out;
}

function fires(cron: string, timezone: string, fromIso: string, untilIso: string): number[] {
  const range = firesBetween({ cron, timezone }, Date.parse(fromIso) - 1, Date.parse(untilIso) - 1, 100_000, ctx);
  expect(range.truncated).toBe(false);
  return range.fires;
}

describe('every-minute and every-second crons across transitions', () => {
  it('New York spring forward: every real minute of the 23-hour day fires, once', () => {
    const got = fires('* * * * *', 'America/New_York', '2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z');
    expect(got.length).toBe(23 * 60);
    expect(got).toEqual(everyStep('2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z', MINUTE));
  });

  it('New York fall back: 24 × 60 fires over 25 real hours, none in the repeated hour', () => {
    const got = fires('* * * * *', 'America/New_York', '2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z');
    expect(got.length).toBe(24 * 60);
    expect(got).toEqual([
      ...everyStep('2026-11-01T04:00:00Z', '2026-11-01T06:00:00Z', MINUTE),
      ...everyStep('2026-11-01T07:00:00Z', '2026-11-02T05:00:00Z', MINUTE),
    ]);
  });

  it('Lord Howe fall back: the repeated half hour does not fire again', () => {
    const got = fires('* * * * *', 'Australia/Lord_Howe', '2026-04-04T14:00:00Z', '2026-04-04T17:00:00Z');
    expect(got).toEqual([
      ...everyStep('2026-04-04T14:00:00Z', '2026-04-04T15:00:00Z', MINUTE),
      ...everyStep('2026-04-04T15:30:00Z', '2026-04-04T17:00:00Z', MINUTE),
    ]);
  });

  it('Lord Howe spring forward: every real minute fires', () => {
    const got = fires('* * * * *', 'Australia/Lord_Howe', '2026-10-03T14:00:00Z', '2026-10-03T17:00:00Z');
    expect(got).toEqual(everyStep('2026-10-03T14:00:00Z', '2026-10-03T17:00:00Z', MINUTE));
  });

  it('Berlin spring forward: every real second fires, once', () => {
    const got = fires('* * * * * *', 'Europe/Berlin', '2026-03-29T00:55:00Z', '2026-03-29T01:05:00Z');
    expect(got).toEqual(everyStep('2026-03-29T00:55:00Z', '2026-03-29T01:05:00Z', SECOND));
  });

  it('Berlin fall back: every second up to 02:59:59 CEST, then from 03:00:00 CET', () => {
    const got = fires('* * * * * *', 'Europe/Berlin', '2026-10-25T00:59:50Z', '2026-10-25T02:00:10Z');
    expect(got).toEqual([
      ...everyStep('2026-10-25T00:59:50Z', '2026-10-25T01:00:00Z', SECOND),
      ...everyStep('2026-10-25T02:00:00Z', '2026-10-25T02:00:10Z', SECOND),
    ]);
  });

  it('Sydney, spring and fall, every second around the switch', () => {
    expect(preview('* * * * * *', 'Australia/Sydney', '2026-10-03T15:59:58Z', 3))
      .toEqual(['2026-10-03T15:59:59.000Z', '2026-10-03T16:00:00.000Z', '2026-10-03T16:00:01.000Z']);
    expect(preview('* * * * * *', 'Australia/Sydney', '2026-04-04T15:59:58Z', 3))
      .toEqual(['2026-04-04T15:59:59.000Z', '2026-04-04T17:00:00.000Z', '2026-04-04T17:00:01.000Z']);
  });

  it('a start inside the repeated hour continues after it', () => {
    expect(preview('* * * * *', 'America/New_York', '2026-11-01T06:30:00Z', 2))
      .toEqual(['2026-11-01T07:00:00.000Z', '2026-11-01T07:01:00.000Z']);
    expect(preview('0 2 * * *', 'America/New_York', '2026-11-01T06:30:00Z', 1)).toEqual(['2026-11-01T07:00:00.000Z']);
  });

  it('fires never repeat and always increase over a whole year of hourly fires', () => {
    for (const timezone of ['America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Shanghai']) {
      const got = fires('17 * * * *', timezone, '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z');
      for (let i = 1; i < got.length; i++) expect(got[i]! > got[i - 1]!).toBe(true);
      // The year spans 8760 wall-clock hours in each zone (it starts and ends at the same offset).
      // Each fires once: a gap's xx:17 fires at the end of the gap, a repeated xx:17 only once.
      expect(got.length).toBe(8760);
    }
  });
});
