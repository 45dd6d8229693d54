import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Longest duration anywhere in a spec: 365 days. Keeps arithmetic far from overflow. */
export const MAX_DURATION_MS = 365 * 86_400_000;

/**
 * Parses "500ms", "10s", "5m", "1h", "2d", "1.5s", "1.1h" (or a plain number of milliseconds) into
 * milliseconds. Returns undefined for anything else, and for a value that is not a whole number of
 * milliseconds ("1.0005s"). A decimal is scaled exactly, in integer arithmetic: "1.1h" is
 * 11 × 3,600,000 / 10 = 3,960,000 ms, where the float product 1.1 × 3,600,000 is 3,960,000.0000000005.
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = DURATION_PATTERN.exec(value.trim());
  if (!match) return undefined;
  const [whole = '', fraction = ''] = match[1]!.split('.');
  const scale = 10n ** BigInt(fraction.length);
  const scaled = BigInt(whole + fraction) * BigInt(UNIT_MS[match[2] as keyof typeof UNIT_MS]);
  return scaled % scale === 0n ? Number(scaled / scale) : undefined;
}

/** Formats milliseconds as the shortest exact duration string ("90s", "1500ms"). */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms !== 0 && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/** A duration field: a number of milliseconds or a string such as "10s"; the parsed value is milliseconds. */
export function duration(options: { min?: number; max?: number } = {}) {
  const min = options.min ?? 0;
  const max = options.max ?? MAX_DURATION_MS;
  return z
    .union([z.number(), z.string()], {
      error: 'expected a duration: milliseconds, or a string such as "500ms", "10s", "5m", "1h"',
    })
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `invalid duration ${JSON.stringify(value)}: use milliseconds or a string such as "500ms", "10s", "5m", "1h"`,
          params: { ecronCode: 'INVALID_DURATION' },
        });
        return z.NEVER;
      }
      if (ms < min || ms > max) {
        ctx.addIssue({
          code: 'custom',
          message: `duration must be between ${formatDuration(min)} and ${formatDuration(max)}`,
          params: { ecronCode: 'DURATION_OUT_OF_RANGE' },
        });
        return z.NEVER;
      }
      return ms;
    });
}
