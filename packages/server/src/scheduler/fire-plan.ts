/**
 * What one due task's fire comes to: which nominal instants are recorded, which of their runs
 * are dispatched, queued or skipped under the overlap policy, and where the schedule goes next.
 * Pure: the scheduler feeds it the task, the time and what is running; it returns a store
 * `FireRecord` plus whether running runs must be cancelled first (`cancel-previous`).
 */
import type { ScheduledRecord } from '../core/model.ts';
import type { FireRecord, NewRun } from '../store/store.ts';
import { nextFireAfter, type ScheduleContext } from '../core/schedule/next-fire.ts';
import { planMissedFires } from '../core/schedule/misfire.ts';

export interface FirePlanInput {
  task: ScheduledRecord;
  now: number;
  /** A fire later than this after its instant is a misfire. */
  thresholdMs: number;
  /** Runs of the task currently dispatched or running. */
  activeCount: number;
  /** Runs of the task waiting in the `queue-one` slot. */
  queuedCount: number;
  /**
   * Runs of the task waiting for their namespace's run quota (`throttled`). While one waits, a new
   * fire is skipped (counted), unless the misfire policy is `catch-up`, which lets up to
   * `maxCatchUp` wait: so the runs a quota holds back stay bounded per task. @default 0
   */
  throttledCount?: number;
  /**
   * The task's executor group has no live node and a run already waits for one: the fires are
   * skipped (counted in skippedFires), no run is recorded. @default false
   */
  holdForExecutor?: boolean;
  /** Jitter of this fire: it was meant to happen at nextFireAt + jitterMs. */
  jitterMs: number;
  newId: () => string;
  executor: string | null;
  /** The executor group its runs go to (executor and shell targets), for the namespace's group quota. @default null */
  executorGroup?: string | null;
  /** The scheduler node that records and supervises the runs. */
  owner: string;
}

export interface FirePlan {
  record: FireRecord;
  /** `cancel-previous`: the active runs must be cancelled before the new one starts. */
  cancelActive: boolean;
  /** Fires missed and skipped by the misfire policy (no run recorded). */
  missed: number;
  /** Fires skipped because the task's executor group has no live node and a run waits (no run recorded). */
  heldForExecutor: number;
}

export function scheduleContext(task: ScheduledRecord): ScheduleContext {
  return { anchor: task.anchorAt };
}

export function planFire(input: FirePlanInput): FirePlan {
  const { task, now } = input;
  const due = task.nextFireAt!;
  const schedule = task.spec.schedule;
  const fixedDelay = 'every' in schedule && schedule.mode === 'fixed-delay';
  const late = now - (due + input.jitterMs) > input.thresholdMs;
  let fires: number[];
  let skipped = 0;
  let nextFireAt: number | null;

  if (fixedDelay) {
    // The next fire is timed from the end of this run: at most one fire, and no catch-up.
    const skip = late && task.spec.misfire.policy === 'skip';
    fires = skip ? [] : [due];
    skipped = skip ? 1 : 0;
    nextFireAt = skip ? now + schedule.every : null;
  } else if (late) {
    const plan = planMissedFires({ schedule, ctx: scheduleContext(task), policy: task.spec.misfire, firstDue: due, now, thresholdMs: input.thresholdMs });
    ({ fires, skipped, nextFireAt } = plan);
  } else {
    fires = [due];
    nextFireAt = nextFireAfter(schedule, due, scheduleContext(task));
  }

  const missed = skipped;
  if (input.holdForExecutor) {
    skipped += fires.length;
    fires = [];
    // A fixed-delay schedule waits for a run's end; with none recorded, it goes on from now.
    if (fixedDelay) nextFireAt = now + schedule.every;
  }
  const waitingCap = task.spec.misfire.policy === 'catch-up' ? task.spec.misfire.maxCatchUp : 1;
  let throttled = input.throttledCount ?? 0;
  const runs: NewRun[] = [];
  let active = input.activeCount;
  let queued = input.queuedCount;
  let cancelActive = false;
  const overlap = task.spec.overlap;
  const limit = (task.kind === 'task' ? task.spec.maxConcurrency : undefined) ?? Infinity;
  fires.forEach((scheduledAt, index) => {
    const id = input.newId();
    const base = {
      // A workflow's fire is a workflow run: its own run, whose id names the workflow run.
      id, ...(task.kind === 'workflow' ? { workflowRunId: id } : {}), taskId: task.id, namespace: task.namespace, taskName: task.name, taskRevision: task.revision,
      trigger: 'schedule' as const, scheduledAt, params: task.spec.params, createdAt: now, owner: input.owner,
    };
    const last = index === fires.length - 1;
    const dispatch = (): NewRun => {
      active += 1;
      // A run recorded while others of the task wait for the quota would wait too: counted as one more.
      if (throttled > 0) throttled += 1;
      return {
        ...base, status: 'dispatched', attempt: { executor: input.executor, startedAt: now, deadlineAt: task.spec.timeoutMs ? now + task.spec.timeoutMs : null },
        ...(input.executorGroup ? { executorGroup: input.executorGroup } : {}),
      };
    };
    const skip = (why: string): NewRun => ({ ...base, status: 'skipped', error: why });
    if (throttled >= waitingCap) {
      runs.push(skip(`namespace run quota: ${throttled} run${throttled === 1 ? '' : 's'} of this task already wait${throttled === 1 ? 's' : ''} (throttled)`));
    } else if (overlap === 'cancel-previous') {
      if (!last) runs.push(skip('overlap: superseded by a later fire (cancel-previous)'));
      else {
        cancelActive = active > 0;
        runs.push(dispatch());
      }
    } else if (active === 0 || (overlap === 'allow' && active < limit)) {
      runs.push(dispatch());
    } else if (overlap === 'queue-one' && queued === 0) {
      queued += 1;
      runs.push({ ...base, status: 'pending' });
    } else {
      runs.push(skip(overlap === 'allow' ? `overlap: maxConcurrency ${limit} reached` : `overlap: previous run still active (${overlap})`));
    }
  });

  const skippedRuns = runs.filter((r) => r.status === 'skipped').length;
  return {
    cancelActive, missed, heldForExecutor: skipped - missed,
    record: {
      taskId: task.id,
      expectedNextFireAt: due,
      nextFireAt,
      complete: nextFireAt === null && !fixedDelay,
      lastFireAt: fires.length > 0 ? fires[fires.length - 1]! : task.lastFireAt,
      skippedDelta: skipped + skippedRuns,
      runs,
    },
  };
}
