import { describe, expect, it } from 'vitest';
import type { BackoffPolicy } from '@ecron/contracts';
import { retryDelay } from '../../src/core/backoff.ts';

const exponential: BackoffPolicy = { type: 'exponential', initialMs: 1000, maxMs: 60_000, multiplier: 2, jitter: 0 };
const fixed: BackoffPolicy = { type: 'fixed', initialMs: 1500, maxMs: 60_000, multiplier: 2, jitter: 0 };
const noRandom = (): number => {
  throw new Error('random must not be called without jitter');
};
const constant = (value: number) => (): number => value;

describe('retryDelay', () => {
  it('fixed: initialMs after every failed attempt', () => {
    expect([1, 2, 5, 50].map((attempt) => retryDelay(fixed, attempt, noRandom))).toEqual([1500, 1500, 1500, 1500]);
  });

  it('exponential: initialMs × multiplier^(attempt − 1)', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => retryDelay(exponential, attempt, noRandom)))
      .toEqual([1000, 2000, 4000, 8000, 16_000, 32_000]);
    expect(retryDelay({ ...exponential, multiplier: 1.5 }, 3, noRandom)).toBe(2250);
    expect(retryDelay({ ...exponential, multiplier: 1 }, 9, noRandom)).toBe(1000);
  });

  it('exponential: capped at maxMs, even for huge attempt numbers', () => {
    expect(retryDelay(exponential, 7, noRandom)).toBe(60_000);
    expect(retryDelay(exponential, 100, noRandom)).toBe(60_000);
    expect(retryDelay(exponential, 5000, noRandom)).toBe(60_000);
  });

  it('treats an attempt number below 1 as the first', () => {
    expect(retryDelay(exponential, 0, noRandom)).toBe(1000);
  });

  it('jitter shortens the delay by jitter × random()', () => {
    const jittered = { ...exponential, jitter: 0.5 };
    expect(retryDelay(jittered, 2, constant(0))).toBe(2000);
    expect(retryDelay(jittered, 2, constant(0.5))).toBe(1500);
    expect(retryDelay(jittered, 2, constant(0.999))).toBe(1001);
    expect(retryDelay({ ...jittered, jitter: 1 }, 2, constant(0.25))).toBe(1500);
    expect(retryDelay({ ...fixed, jitter: 0.2 }, 4, constant(0.5))).toBe(1350);
  });

  it('returns whole milliseconds', () => {
    expect(retryDelay({ ...exponential, jitter: 0.3 }, 1, constant(0.123))).toBe(963);
    expect(retryDelay({ ...exponential, multiplier: 1.1 }, 3, noRandom)).toBe(1210);
  });
});
