/**
 * Wall-clock time in an IANA time zone, and the mapping from wall-clock times back to instants.
 *
 * A *wall-clock value* is a local date and time written as if it were UTC: the epoch milliseconds
 * of `Date.UTC(year, month, day, hour, minute, second)` for the fields a clock in the zone shows.
 * Cron matching works on these values (see `cron-fires.ts`); this module turns them back into
 * instants following the DST rule of the schedule engine:
 *
 * - a wall-clock time inside a spring-forward gap maps to the first instant after the gap;
 * - a wall-clock time that occurs twice (fall-back overlap) maps to its first occurrence.
 *
 * Both cases are one formula: `instantOfWallClock(w)` is the first instant whose wall clock has
 * reached `w`. Offsets come from `Intl.DateTimeFormat` (the tz database bundled with Node).
 *
 * Assumption: a zone changes its UTC offset at most once within any 30-hour span. Checked for the
 * 418 zones of Node 24's tz data over 1970–2040 (sampled every 6 hours): the closest two changes
 * are 7 days apart (America/Boa_Vista, October 2000).
 */

const SECOND = 1000;
const HOUR = 3_600_000;
/** Wider than any DST overlap, so the running maximum of the wall clock is found within it. */
const OVERLAP_LOOKBACK = 24 * HOUR;
/** Instants whose wall clock can read a given value lie within [w - 16h, w + 13h] (offsets are −12h..+14h). */
const EARLIEST_OFFSET_SPAN = 16 * HOUR;
const LATEST_OFFSET_SPAN = 13 * HOUR;
const MAX_CACHED_ZONES = 1000;
const MAX_TRANSITIONS_PER_ZONE = 256;
/** Offsets are memoized per zone and 6-hour span of UTC, for spans with no transition. */
const OFFSET_SPAN = 6 * HOUR;
const MAX_CACHED_SPANS = 100_000;

/** Per `zone:span`, the offset of the whole span, or null when the span holds a transition. */
const spanOffsets = new Map<string, number | null>();

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Transition instants found so far, per zone: the first instant of the new offset. */
const knownTransitions = new Map<string, number[]>();

function isUtc(zone: string): boolean {
  return zone === 'UTC' || zone === 'Etc/UTC' || zone === 'Etc/GMT' || zone === 'GMT';
}

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', era: 'short',
      year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    if (formatters.size >= MAX_CACHED_ZONES) formatters.clear();
    formatters.set(zone, formatter);
  }
  return formatter;
}

/**
 * The UTC offset of `zone` at `instant`, in milliseconds (local minus UTC; +3_600_000 for UTC+1).
 * Throws a RangeError for an unknown zone.
 */
export function zoneOffsetAt(zone: string, instant: number): number {
  if (isUtc(zone)) return 0;
  const span = Math.floor(instant / OFFSET_SPAN);
  const key = `${zone}:${span}`;
  let spanOffset = spanOffsets.get(key);
  if (spanOffset === undefined) {
    const atStart = computeOffset(zone, span * OFFSET_SPAN);
    spanOffset = atStart === computeOffset(zone, (span + 1) * OFFSET_SPAN - 1) ? atStart : null;
    if (spanOffsets.size >= MAX_CACHED_SPANS) spanOffsets.clear();
    spanOffsets.set(key, spanOffset);
  }
  return spanOffset ?? computeOffset(zone, instant);
}

/** The offset of `zone` at `instant`, straight from Intl. */
function computeOffset(zone: string, instant: number): number {
  let year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0, bce = false;
  for (const part of formatterFor(zone).formatToParts(instant)) {
    switch (part.type) {
      case 'year': year = Number(part.value); break;
      case 'month': month = Number(part.value); break;
      case 'day': day = Number(part.value); break;
      case 'hour': hour = Number(part.value); break;
      case 'minute': minute = Number(part.value); break;
      case 'second': second = Number(part.value); break;
      case 'era': bce = part.value === 'BC'; break;
      default: break;
    }
  }
  const date = new Date(0);
  date.setUTCFullYear(bce ? 1 - year : year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const wholeSecond = Math.floor(instant / SECOND) * SECOND;
  return date.getTime() - wholeSecond;
}

/** The wall-clock value (see the module comment) that a clock in `zone` shows at `instant`. */
export function wallClockAt(zone: string, instant: number): number {
  return instant + zoneOffsetAt(zone, instant);
}

/**
 * The first instant in (lo, hi] at which the offset of `zone` is `offsetAfter`, given that the
 * offset at `lo` differs from it and changes once in between. Found by bisection on whole seconds
 * (tz database transitions fall on whole seconds) and remembered per zone.
 */
function transitionWithin(zone: string, lo: number, hi: number, offsetAfter: number): number {
  let known = knownTransitions.get(zone);
  if (known) {
    for (const instant of known) {
      if (instant > lo && instant <= hi) return instant;
    }
  }
  let before = Math.floor(lo / SECOND);
  let after = Math.ceil(hi / SECOND);
  while (after - before > 1) {
    const middle = Math.floor((before + after) / 2);
    if (zoneOffsetAt(zone, middle * SECOND) === offsetAfter) after = middle;
    else before = middle;
  }
  const transition = after * SECOND;
  if (!known) {
    if (knownTransitions.size >= MAX_CACHED_ZONES) knownTransitions.clear();
    known = [];
    knownTransitions.set(zone, known);
  }
  if (known.length >= MAX_TRANSITIONS_PER_ZONE) known.shift();
  known.push(transition);
  return transition;
}

/**
 * The latest wall-clock value shown in `zone` at any instant up to and including `instant`.
 * It equals `wallClockAt(zone, instant)` except during a fall-back overlap, where the clock shows
 * times it already showed before: then it is the last wall-clock value before the clock went back.
 */
export function latestWallClockUpTo(zone: string, instant: number): number {
  if (isUtc(zone)) return instant;
  const offsetNow = zoneOffsetAt(zone, instant);
  const earlier = instant - OVERLAP_LOOKBACK;
  const offsetEarlier = zoneOffsetAt(zone, earlier);
  const wall = instant + offsetNow;
  if (offsetEarlier <= offsetNow) return wall;
  const transition = transitionWithin(zone, earlier, instant, offsetNow);
  return Math.max(wall, transition - 1 + offsetEarlier);
}

/**
 * The first instant at which the wall clock of `zone` has reached `wall`:
 * the instant itself for an ordinary time, the first occurrence for a time repeated by a
 * fall-back, and the first instant after the gap for a time skipped by a spring-forward.
 */
export function instantOfWallClock(zone: string, wall: number): number {
  if (isUtc(zone)) return wall;
  const lo = wall - EARLIEST_OFFSET_SPAN;
  const hi = wall + LATEST_OFFSET_SPAN;
  const offsetLo = zoneOffsetAt(zone, lo);
  const offsetHi = zoneOffsetAt(zone, hi);
  if (offsetLo === offsetHi) return wall - offsetLo;
  const transition = transitionWithin(zone, lo, hi, offsetHi);
  const beforeTransition = wall - offsetLo;
  if (beforeTransition < transition) return beforeTransition;
  const afterTransition = wall - offsetHi;
  return afterTransition >= transition ? afterTransition : transition;
}
