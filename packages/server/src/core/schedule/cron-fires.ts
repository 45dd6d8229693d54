/**
 * Fire instants of a cron expression in an IANA time zone, with the engine's DST rule.
 *
 * croner parses and matches the expression. It does so on the zone's *wall clock*: the Cron
 * instance runs at UTC offset 0 over wall-clock values (local times written as UTC, see
 * `zone-clock.ts`), so it sees a plain calendar without DST. Each matching wall-clock time is then
 * mapped to the first instant at which the zone's clock reaches it:
 *
 * - spring forward: a matching time inside the gap fires once, at the first instant after the gap
 *   (America/New_York, 2026-03-08: `30 2 * * *` fires at 03:00 EDT = 07:00Z). Several matching
 *   times in one gap (`*\/20 2 * * *`) still give one fire, since a fire is one instant;
 * - fall back: a matching time that occurs twice fires once, at its first occurrence
 *   (America/New_York, 2026-11-01: `30 1 * * *` fires at 01:30 EDT = 05:30Z, not again at
 *   01:30 EST). This applies to every expression, so `* * * * *` does not fire during the
 *   repeated hour: it goes from 01:59 EDT to 02:00 EST.
 *
 * Why not croner's own `timezone` option: croner (v11) applies that rule only to "fixed-time"
 * expressions (a single second, minute and hour). For others (`30 * * * *`, `30 2,14 * * *`,
 * `*\/20 2 * * *`) it skips matching times inside a gap and fires repeated times twice, and the
 * result would depend on how the expression is written.
 *
 * The mapping is monotonic, so the next fire after instant `a` is the image of the first matching
 * wall-clock value later than the latest wall clock shown up to `a`, and symmetrically backwards.
 *
 * No horizon: croner gives up searching forward at local year 3000, and backward 400 years before
 * where it starts. The Gregorian calendar repeats exactly every 400 years (146,097 days, a whole
 * number of weeks), so a wall-clock value outside [1800, 2200) is moved by whole 400-year cycles
 * into that window, croner searches there (at least 400 years either way, a full cycle, so an
 * expression that matches at all is found), and the result is moved back. Fires thus go on up to
 * {@link LAST_FIRE_INSTANT}, as fixed-rate ones do.
 */
import { Cron } from 'croner';
import { LAST_FIRE_INSTANT } from './fire-range.ts';
import { instantOfWallClock, latestWallClockUpTo } from './zone-clock.ts';

/** Most Cron instances kept; the least recently used is dropped beyond this. */
export const CRON_CACHE_LIMIT = 10_000;

const cronCache = new Map<string, Cron>();

/**
 * The parsed croner instance for `expression` (5 fields, or 6 with leading seconds; croner
 * syntax), shared by all zones since it always runs on wall-clock values at offset 0.
 * Throws croner's TypeError for an invalid expression.
 */
function cronFor(expression: string): Cron {
  const cached = cronCache.get(expression);
  if (cached) {
    cronCache.delete(expression);
    cronCache.set(expression, cached);
    return cached;
  }
  const cron = new Cron(expression, { paused: true, utcOffset: 0 });
  if (cronCache.size >= CRON_CACHE_LIMIT) {
    const oldest = cronCache.keys().next();
    if (!oldest.done) cronCache.delete(oldest.value);
  }
  cronCache.set(expression, cron);
  return cron;
}

/** 400 Gregorian years: 146,097 days, 20,871 weeks. Wall clocks one cycle apart show the same date and weekday. */
export const GREGORIAN_CYCLE_MS = 146_097 * 86_400_000;
/** croner is only asked about wall-clock values in [CRONER_WINDOW_START, CRONER_WINDOW_START + one cycle): 1800–2199. */
const CRONER_WINDOW_START = Date.UTC(1800, 0, 1);
/** A wall-clock value this far past the last fire instant still has a zone offset Intl can compute. */
const WALL_CLOCK_MARGIN = 86_400_000;

/** How many whole cycles to subtract from `wall` to bring it into croner's window. */
function cyclesOutsideWindow(wall: number): number {
  return Math.floor((wall - CRONER_WINDOW_START) / GREGORIAN_CYCLE_MS);
}

/** The wall-clock result of croner, as an instant; null past {@link LAST_FIRE_INSTANT}. */
function fireOfWall(zone: string, wall: number): number | null {
  if (wall > LAST_FIRE_INSTANT + WALL_CLOCK_MARGIN) return null;
  const fire = instantOfWallClock(zone, wall);
  return fire > LAST_FIRE_INSTANT ? null : fire;
}

/**
 * The first fire instant of `expression` in `zone` strictly after `after`, or null when the
 * expression never matches again (e.g. `0 0 30 2 *`) or the next match is past
 * {@link LAST_FIRE_INSTANT}. Fires fall on whole seconds.
 */
export function nextCronFire(expression: string, zone: string, after: number): number | null {
  if (after >= LAST_FIRE_INSTANT) return null;
  const latestWall = latestWallClockUpTo(zone, after);
  const shift = cyclesOutsideWindow(latestWall) * GREGORIAN_CYCLE_MS;
  const wall = cronFor(expression).nextRun(new Date(latestWall - shift));
  return wall === null ? null : fireOfWall(zone, wall.getTime() + shift);
}

/**
 * The last fire instant of `expression` in `zone` strictly before `before`, or null when there is
 * none.
 */
export function previousCronFire(expression: string, zone: string, before: number): number | null {
  const latestWall = latestWallClockUpTo(zone, Math.min(before, LAST_FIRE_INSTANT + 1) - 1);
  const shift = cyclesOutsideWindow(latestWall) * GREGORIAN_CYCLE_MS;
  const [wall] = cronFor(expression).previousRuns(1, new Date(latestWall + 1 - shift));
  return wall === undefined ? null : fireOfWall(zone, wall.getTime() + shift);
}
