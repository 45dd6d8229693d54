import type { AttemptStatus } from '@ecron/contracts';
import { retryDelay } from '../core/backoff.ts';
import type { Random } from '../core/clock.ts';
import type { TaskRecord } from '../core/model.ts';
import type { RunOutcome } from '../store/store.ts';

type EndedAttempt = Exclude<AttemptStatus, 'dispatched' | 'running'>;

/**
 * Decides what an ended attempt means for its run: success and cancel are final; failure,
 * timeout and loss are retried after backoff while attempts remain (of the task as it is now).
 */
export function decideOutcome(task: TaskRecord | null, attempt: number, status: EndedAttempt, now: number, random: Random): RunOutcome {
  if (status === 'succeeded' || status === 'cancelled') return { kind: 'final', status };
  if (task && attempt < task.spec.retry.maxAttempts) {
    return { kind: 'retry', nextAttemptAt: now + retryDelay(task.spec.retry.backoff, attempt, random) };
  }
  return { kind: 'final', status };
}

/** For fixed-delay schedules: the next fire, timed from the end of a scheduled run. */
export function fixedDelayNextFire(task: TaskRecord | null, trigger: string, endedAt: number): number | undefined {
  if (!task || task.state !== 'active' || trigger !== 'schedule') return undefined;
  const schedule = task.spec.schedule;
  if (!('every' in schedule) || schedule.mode !== 'fixed-delay') return undefined;
  const next = endedAt + schedule.every;
  return schedule.endAt && next > Date.parse(schedule.endAt) ? undefined : next;
}
