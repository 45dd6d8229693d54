/**
 * Delay before retrying a failed attempt. Pure: randomness is injected.
 */
import type { BackoffPolicy } from '@ecron/contracts';
import type { Random } from './clock.ts';

/**
 * The delay in whole milliseconds before the attempt that follows failed attempt number
 * `failedAttempt` (1 for the first attempt; values below 1 count as 1).
 *
 * - fixed: `initialMs`;
 * - exponential: `min(maxMs, initialMs × multiplier^(failedAttempt − 1))`;
 *
 * then jitter shortens it: `delay × (1 − jitter × random())`, rounded to the nearest millisecond.
 * With `jitter` 0 the delay is exact and `random` is not called.
 */
export function retryDelay(policy: BackoffPolicy, failedAttempt: number, random: Random): number {
  const attempt = Math.max(1, Math.floor(failedAttempt));
  const base = policy.type === 'fixed'
    ? policy.initialMs
    : Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** (attempt - 1));
  if (policy.jitter <= 0) return Math.round(base);
  return Math.max(0, Math.round(base * (1 - policy.jitter * random())));
}
