/**
 * The instants a fire can have. A schedule has no horizon of its own: cron fires go on for as
 * long as fixed-rate ones do (croner's search stopping at local year 3000 is worked around in
 * `cron-fires.ts`). The one limit is JavaScript's: a `Date` holds instants up to
 * +275760-09-13T00:00:00Z. Two days are kept below that so a wall-clock value (instant + offset,
 * offsets within ±16 h) near the last fire is still a valid `Date`.
 */

/** The last instant at which any schedule fires (+275760-09-11T00:00:00Z); after it, none has a next fire. */
export const LAST_FIRE_INSTANT = 8_640_000_000_000_000 - 2 * 86_400_000;
