import { describe, expect, it } from 'vitest';
import { duration, MAX_DURATION_MS, parseDuration, toFieldIssues } from '../src/index.ts';

const UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

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

describe('parseDuration: decimals', () => {
  it('parses exact decimals that a float product gets wrong', () => {
    // 1.1 × 3,600,000 is 3,960,000.0000000005 in floating point; 16.1 × 60,000 and 32.2 × 60,000 are off too.
    expect(1.1 * 3_600_000).not.toBe(3_960_000);
    expect(parseDuration('1.1h')).toBe(3_960_000);
    expect(parseDuration('16.1m')).toBe(966_000);
    expect(parseDuration('32.2m')).toBe(1_932_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('0.001s')).toBe(1);
    expect(parseDuration('1.10s')).toBe(1100);
    expect(parseDuration('0.5d')).toBe(43_200_000);
    expect(parseDuration('2.0ms')).toBe(2);
    expect(parseDuration('007s')).toBe(7000);
  });

  it('still refuses a value that is not a whole number of milliseconds', () => {
    expect(parseDuration('1.5ms')).toBeUndefined();
    expect(parseDuration('0.0001s')).toBeUndefined();
    expect(parseDuration('1.0005s')).toBeUndefined();
    expect(parseDuration('0.00000001h')).toBeUndefined();
  });

  it('refuses malformed decimals', () => {
    for (const text of ['.5s', '5.s', '1..5s', '1.5.5s', '1,5s', '-1.5s', '1e3ms', '0x10s', '1.5']) expect(parseDuration(text), text).toBeUndefined();
  });

  it('agrees with integer arithmetic on many random decimals, in every unit', () => {
    const random = seededRandom(42);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const unit = (Object.keys(UNITS) as (keyof typeof UNITS)[])[Math.floor(random() * 5)]!;
      const whole = Math.floor(random() * 10 ** Math.floor(random() * 5));
      const digits = 1 + Math.floor(random() * 4);
      const fraction = String(Math.floor(random() * 10 ** digits)).padStart(digits, '0');
      const text = `${whole}.${fraction}${unit}`;
      // The exact value in units of 10^-digits ms, all integers well below 2^53.
      const scaled = (whole * 10 ** digits + Number(fraction)) * UNITS[unit];
      const expected = scaled % 10 ** digits === 0 ? scaled / 10 ** digits : undefined;
      expect(parseDuration(text), text).toBe(expected);
      if (expected !== undefined) accepted += 1;
    }
    // Both outcomes are exercised often.
    expect(accepted).toBeGreaterThan(5000);
    expect(accepted).toBeLessThan(19_000);
  });

  it('accepts every tenth and hundredth of a minute and an hour that is a whole number of ms', () => {
    for (let hundredths = 0; hundredths < 100 * 100; hundredths++) {
      const text = `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, '0')}`;
      expect(parseDuration(`${text}m`), `${text}m`).toBe(hundredths * 600);
      expect(parseDuration(`${text}h`), `${text}h`).toBe(hundredths * 36_000);
    }
  });

  it('the schema field accepts "1.1h" and still range-checks it', () => {
    expect(duration().parse('1.1h')).toBe(3_960_000);
    const tooLong = duration({ max: 3_600_000 }).safeParse('1.1h');
    expect(tooLong.success).toBe(false);
    if (!tooLong.success) expect(toFieldIssues(tooLong.error).map((i) => i.code)).toEqual(['DURATION_OUT_OF_RANGE']);
    const huge = duration().safeParse(`${'9'.repeat(400)}.5d`);
    expect(huge.success).toBe(false);
    if (!huge.success) expect(toFieldIssues(huge.error).map((i) => i.code)).toEqual(['DURATION_OUT_OF_RANGE']);
    expect(duration().parse('365d')).toBe(MAX_DURATION_MS);
  });
});
