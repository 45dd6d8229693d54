/**
 * Checks cron fires against a slow, independent reference: random expressions (seeded), random
 * start instants in 2026–2028 (half of them close to a DST transition), several zones; and some
 * past croner's year-3000 search limit (around 3000 and 10000).
 *
 * The reference walks real time minute by minute (or second by second), reads the zone's wall
 * clock with Intl.DateTimeFormat, and matches the fields itself. It applies the documented DST
 * rule directly: it keeps the latest wall-clock time shown so far; a wall-clock time not later
 * than that (the repeat of a fall-back) does not fire again; when the clock jumps forward, the
 * matching wall-clock times it skipped fire at the instant of the jump, once.
 *
 * Field syntax covered: numbers, `*`, ranges, lists and steps. Day-of-month and day-of-week follow
 * croner's variant of the Vixie rule: when both fields are restricted (anything but a bare `*`) a
 * day matches if either matches; otherwise both must match. (Vixie cron also treats `*\/2` as
 * unrestricted; croner does not, and neither does the reference.)
 */
import { describe, expect, it } from 'vitest';
import { nextFireAfter, previewFires, previousFireBefore } from '../../src/core/schedule/next-fire.ts';

const SECOND = 1000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** mulberry32: small seeded PRNG, so every run checks the same cases. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// ---- wall clock, straight from Intl -------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();
function wallClock(zone: string, instant: number): number {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(zone, formatter);
  }
  const f: Record<string, number> = {};
  for (const part of formatter.formatToParts(instant)) f[part.type] = Number(part.value);
  return Date.UTC(f.year!, f.month! - 1, f.day!, f.hour!, f.minute!, f.second!);
}

/** Instants (to the minute) at which `zone` changes its offset, from..until. */
function transitions(zone: string, from: number, until: number): number[] {
  const offset = (t: number) => wallClock(zone, t) - t;
  const found: number[] = [];
  for (let t = from; t < until; t += DAY) {
    if (offset(t) === offset(t + DAY)) continue;
    let lo = t, hi = t + DAY;
    while (hi - lo > MINUTE) {
      const mid = lo + Math.floor((hi - lo) / 2 / MINUTE) * MINUTE;
      if (offset(mid) === offset(lo)) lo = mid;
      else hi = mid;
    }
    found.push(hi);
  }
  return found;
}

// ---- cron fields ----------------------------------------------------------------------------------

interface FieldSpec { min: number; max: number; maxStep: number }
const SPECS = {
  second: { min: 0, max: 59, maxStep: 30 },
  minute: { min: 0, max: 59, maxStep: 30 },
  hour: { min: 0, max: 23, maxStep: 12 },
  dom: { min: 1, max: 31, maxStep: 10 },
  month: { min: 1, max: 12, maxStep: 6 },
  dow: { min: 0, max: 6, maxStep: 3 },
} satisfies Record<string, FieldSpec>;

function parseField(text: string, spec: FieldSpec): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let lo: number, hi: number;
    if (range === '*') [lo, hi] = [spec.min, spec.max];
    else if (range.includes('-')) [lo, hi] = range.split('-').map(Number) as [number, number];
    else lo = hi = Number(range);
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return values;
}

interface Expression {
  text: string;
  second: Set<number>; minute: Set<number>; hour: Set<number>;
  dom: Set<number>; month: Set<number>; dow: Set<number>;
  domRestricted: boolean; dowRestricted: boolean;
}

function parse(text: string): Expression {
  const fields = text.split(' ');
  const [second, minute, hour, dom, month, dow] = fields.length === 6 ? fields : ['0', ...fields];
  return {
    text,
    second: parseField(second!, SPECS.second), minute: parseField(minute!, SPECS.minute),
    hour: parseField(hour!, SPECS.hour), dom: parseField(dom!, SPECS.dom),
    month: parseField(month!, SPECS.month), dow: parseField(dow!, SPECS.dow),
    domRestricted: dom !== '*', dowRestricted: dow !== '*',
  };
}

/** Does the wall-clock value `wall` (local time written as UTC) match? */
function matches(e: Expression, wall: number): boolean {
  const d = new Date(wall);
  if (!e.second.has(d.getUTCSeconds()) || !e.minute.has(d.getUTCMinutes()) || !e.hour.has(d.getUTCHours())) return false;
  if (!e.month.has(d.getUTCMonth() + 1)) return false;
  const domOk = e.dom.has(d.getUTCDate());
  const dowOk = e.dow.has(d.getUTCDay());
  return e.domRestricted && e.dowRestricted ? domOk || dowOk : domOk && dowOk;
}

/**
 * Up to `count` fires in (after, until], walking real time in `step`s from 70 minutes before
 * `after` (longer than any overlap of the zones used), so the running maximum of the wall clock
 * is right when `after` falls inside a repeated hour.
 */
function referenceFires(e: Expression, zone: string, after: number, until: number, count: number, step: number): number[] {
  const out: number[] = [];
  let latestWall = Number.NEGATIVE_INFINITY;
  for (let t = Math.floor((after - 70 * MINUTE) / step) * step; t <= until && out.length < count; t += step) {
    const wall = wallClock(zone, t);
    if (wall <= latestWall) continue; // shown before: a fall-back repeat
    let fires = false;
    const firstUnseen = latestWall === Number.NEGATIVE_INFINITY ? wall : latestWall + step;
    for (let w = firstUnseen; w <= wall && !fires; w += step) fires = matches(e, w); // w < wall: skipped by a jump
    latestWall = wall;
    if (fires && t > after) out.push(t);
  }
  return out;
}

// ---- random expressions ---------------------------------------------------------------------------

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (random: Random, lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));

function randomField(random: Random, spec: FieldSpec, weights: { star: number; prefer?: number[] }): string {
  if (random() < weights.star) return '*';
  const value = () => (weights.prefer && random() < 0.6 ? pick(random, weights.prefer) : int(random, spec.min, spec.max));
  switch (int(random, 0, 4)) {
    case 0: return String(value());
    case 1: {
      const values = new Set(Array.from({ length: int(random, 2, 4) }, value));
      return [...values].sort((a, b) => a - b).join(',');
    }
    case 2: {
      const a = value(), b = value();
      return `${Math.min(a, b)}-${Math.max(a, b)}`;
    }
    case 3: return `*/${int(random, 2, spec.maxStep)}`;
    default: {
      const a = int(random, spec.min, spec.max - 1), b = int(random, a + 1, spec.max);
      return `${a}-${b}/${int(random, 2, Math.max(2, Math.min(spec.maxStep, b - a)))}`;
    }
  }
}

function randomMinuteExpression(random: Random): string {
  return [
    randomField(random, SPECS.minute, { star: 0.15, prefer: [0, 15, 30, 45] }),
    randomField(random, SPECS.hour, { star: 0.3, prefer: [0, 1, 2, 3, 23] }),
    randomField(random, SPECS.dom, { star: 0.75 }),
    randomField(random, SPECS.month, { star: 0.85 }),
    randomField(random, SPECS.dow, { star: 0.75 }),
  ].join(' ');
}

function randomSecondExpression(random: Random): string {
  return [
    randomField(random, SPECS.second, { star: 0.2, prefer: [0, 30, 59] }),
    randomField(random, SPECS.minute, { star: 0.5, prefer: [0, 29, 30, 59] }),
    randomField(random, SPECS.hour, { star: 0.6, prefer: [0, 1, 2, 3] }),
    '*', '*', '*',
  ].join(' ');
}

// ---- the comparison -------------------------------------------------------------------------------

const FROM = Date.UTC(2026, 0, 1);
const UNTIL = Date.UTC(2029, 0, 1);
const ctx = { anchor: 0 };

function check(text: string, zone: string, after: number, horizon: number, step: number): void {
  const expected = referenceFires(parse(text), zone, after, after + horizon, 5, step);
  const schedule = { cron: text, timezone: zone };
  const actual = previewFires(schedule, after, 5, ctx).filter((t) => t <= after + horizon);
  const label = `${text} in ${zone} after ${new Date(after).toISOString()}`;
  expect(actual.map((t) => new Date(t).toISOString()), label).toEqual(expected.map((t) => new Date(t).toISOString()));
  for (let i = 1; i < expected.length; i++) {
    expect(previousFireBefore(schedule, expected[i]!, ctx), `${label}: previous of fire ${i}`).toBe(expected[i - 1]);
  }
  if (expected.length > 0) expect(nextFireAfter(schedule, after, ctx), label).toBe(expected[0]);
}

const ZONES = [
  'America/New_York', 'Europe/London', 'Europe/Berlin', 'Australia/Sydney', 'Australia/Lord_Howe',
  'America/Santiago', 'Asia/Shanghai', 'UTC',
];

describe('cron fires match a brute-force reference', () => {
  ZONES.forEach((zone, zoneIndex) => {
    it(`minute-level expressions in ${zone}`, () => {
      const random = seededRandom(1000 + zoneIndex);
      const switches = transitions(zone, FROM, UNTIL);
      for (let i = 0; i < 40; i++) {
        const text = randomMinuteExpression(random);
        // A quarter start within ±1.5 hours of a switch (often inside a repeated hour), a quarter
        // up to 36 hours before one, half anywhere in 2026–2028.
        let after = FROM + Math.floor(random() * (UNTIL - FROM));
        if (switches.length > 0 && i % 4 === 0) after = pick(random, switches) - HOUR + Math.floor(random() * 2.5 * HOUR);
        if (switches.length > 0 && i % 4 === 2) after = pick(random, switches) - 36 * HOUR + Math.floor(random() * 36 * HOUR);
        check(text, zone, after, 2 * DAY, MINUTE);
      }
    });
  });

  it('second-level expressions close to transitions', () => {
    const random = seededRandom(7);
    for (const zone of ['America/New_York', 'Europe/Berlin', 'Australia/Sydney', 'Australia/Lord_Howe', 'America/Santiago']) {
      const switches = transitions(zone, FROM, UNTIL);
      expect(switches.length).toBe(6);
      for (let i = 0; i < 8; i++) {
        const text = randomSecondExpression(random);
        const after = pick(random, switches) - 20 * MINUTE + Math.floor(random() * 90 * MINUTE) + int(random, 0, 999);
        check(text, zone, after, 30 * MINUTE, SECOND);
      }
    }
  });

  it('minute-level expressions past croner\'s year-3000 search limit, near DST switches too', () => {
    const random = seededRandom(3000);
    for (const zone of ['America/New_York', 'Australia/Lord_Howe', 'Europe/Berlin', 'UTC']) {
      for (const [from, until] of [[Date.UTC(2999, 6, 1), Date.UTC(3001, 6, 1)], [Date.UTC(9999, 6, 1), Date.UTC(10_001, 6, 1)]] as const) {
        const switches = transitions(zone, from, until);
        expect(switches.length).toBe(zone === 'UTC' ? 0 : 4);
        for (let i = 0; i < 10; i++) {
          const text = randomMinuteExpression(random);
          let after = from + Math.floor(random() * (until - from));
          if (switches.length > 0 && i % 2 === 0) after = pick(random, switches) - 36 * HOUR + Math.floor(random() * 37 * HOUR);
          check(text, zone, after, 2 * DAY, MINUTE);
        }
      }
    }
  });

  it('the reference itself applies the DST rule (New York, 2026)', () => {
    const daily = parse('30 2 * * *');
    expect(referenceFires(daily, 'America/New_York', Date.parse('2026-03-07T12:00:00Z'), Date.parse('2026-03-09T12:00:00Z'), 5, MINUTE)
      .map((t) => new Date(t).toISOString())).toEqual(['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z']);
    const early = parse('30 1 * * *');
    expect(referenceFires(early, 'America/New_York', Date.parse('2026-10-31T12:00:00Z'), Date.parse('2026-11-02T12:00:00Z'), 5, MINUTE)
      .map((t) => new Date(t).toISOString())).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  });
});
