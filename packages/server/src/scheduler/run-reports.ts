/**
 * The reports the scheduler and the run supervisor hand to their {@link Instrumentation}, built
 * from their records: what identifies a run, the target type of its task, and the gauges of what
 * this node holds. Pure functions; the callers decide when to report.
 */
import type { RunRecord, ScheduledRecord, TaskRecord } from '../core/model.ts';
import type { RunOutcome } from '../store/store.ts';
import type { FirePlan } from './fire-plan.ts';
import type { HeldRuns } from './held-runs.ts';
import type { GaugeReadings, Instrumentation } from '../observability/instrumentation.ts';
import { runIdentity } from '../observability/run-identity.ts';

/** A fire's run (the scheduler's `fire` event): `firedAt` is when it went out or was recorded. */
export function reportFire(instrumentation: Instrumentation, run: RunRecord, task: ScheduledRecord, lagMs: number): void {
  instrumentation.fireRecorded?.({ ...runIdentity(run, task), status: run.status, firedAt: run.scheduledAt + lagMs, lagMs });
}

/** The fires of a recorded plan that were not run at all: missed and skipped late, or held while no executor is live. */
export function reportMisfires(instrumentation: Instrumentation, task: ScheduledRecord, plan: FirePlan, at: number): void {
  if (!instrumentation.misfireSkipped) return;
  const base = { taskId: task.id, taskName: task.name, namespace: task.namespace, scheduledAt: plan.record.expectedNextFireAt, at };
  if (plan.missed > 0) instrumentation.misfireSkipped({ ...base, count: plan.missed, reason: 'late' });
  if (plan.heldForExecutor > 0) instrumentation.misfireSkipped({ ...base, count: plan.heldForExecutor, reason: 'no_executor' });
}

/** A run that reached a final status (the scheduler's `run:ended`), with its task when still known here. */
export function reportRunEnd(instrumentation: Instrumentation, run: RunRecord, task: ScheduledRecord | undefined): void {
  instrumentation.runEnded?.({
    ...runIdentity(run, task), status: run.status, attempts: run.attempt, createdAt: run.createdAt, startedAt: run.startedAt,
    finishedAt: run.finishedAt ?? run.createdAt, error: run.error,
  });
}

/** What the scheduler of this node holds, for the gauges (besides the leases and executors, read elsewhere). */
export function heldRunGauges(held: HeldRuns, timerQueueSize: number): Pick<GaugeReadings, 'runsInFlight' | 'runsWaiting' | 'runsThrottled' | 'queueDepth'> {
  return {
    runsInFlight: held.count('sending'),
    runsWaiting: held.count('waiting'),
    runsThrottled: held.count('throttled'),
    queueDepth: {
      fires: timerQueueSize,
      launches: held.count('recorded') + held.count('deferred'),
      retries: held.count('retrying') + held.count('starting'),
      overlap: held.count('queued'),
    },
  };
}

/**
 * An attempt ended, and what follows it (`retryScheduled` too when it is retried), reported by the
 * node that wrote the end and decided what follows: for a run another node supervises whose
 * callback reached this node, this one (the owner only learns of it from the store).
 */
export function reportAttemptEnd(instrumentation: Instrumentation, p: {
  run: RunRecord; task: TaskRecord | null; status: string; at: number; outcome: RunOutcome; error: string | null | undefined; foreign: boolean;
  /** The executor's span of the attempt (its reply's, result's or report's traceparent). */
  executorTraceparent?: string | undefined;
}): void {
  const identity = runIdentity(p.run, p.task);
  const next = p.outcome.kind === 'retry' ? 'retry' : p.outcome.kind === 'no_executor' ? 'no_executor' : 'final';
  instrumentation.attemptEnded?.({ ...identity, attempt: p.run.attempt, status: p.status, runStartedAt: p.run.startedAt, endedAt: p.at, next, foreign: p.foreign, error: p.error ?? null,
    ...(p.executorTraceparent ? { executorTraceparent: p.executorTraceparent } : {}) });
  if (p.outcome.kind === 'retry') instrumentation.retryScheduled?.({ ...identity, attempt: p.run.attempt, nextAttemptAt: p.outcome.nextAttemptAt, at: p.at });
}
