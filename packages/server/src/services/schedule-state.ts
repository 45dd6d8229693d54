/**
 * The schedule state of a task or workflow across its management verbs: where its next fire lies
 * after a create, an update, a pause or a resume. Tasks and workflows follow the same rules.
 */
import type { Schedule, TaskState } from '@ecron/contracts';
import type { ScheduledRecord } from '../core/model.ts';
import { nextFireAfter } from '../core/schedule/next-fire.ts';
import { sameSchedule } from './task-spec-input.ts';

/**
 * The state a task is in when its schedule yields `nextFireAt`: a schedule with no fire left
 * (a one-shot in the past, past its end) is `completed`; a manual schedule never has a fire.
 */
export function stateFor(schedule: Schedule, nextFireAt: number | null): TaskState {
  return nextFireAt === null && !('manual' in schedule) ? 'completed' : 'active';
}

/** A new task's or workflow's first fire and state. */
export function initialFireState(schedule: Schedule, now: number): { nextFireAt: number | null; state: TaskState; anchorAt: number } {
  const nextFireAt = nextFireAfter(schedule, now, { anchor: now });
  return { nextFireAt, state: stateFor(schedule, nextFireAt), anchorAt: now };
}

/**
 * After a spec change: an unchanged schedule keeps its fire; a changed one counts from now (a
 * paused task stays paused, with no fire).
 */
export function updatedFireState(existing: ScheduledRecord, schedule: Schedule, now: number): { nextFireAt: number | null; state: TaskState; anchorAt: number } {
  let { nextFireAt, anchorAt, state } = existing;
  if (!sameSchedule(schedule, existing.spec.schedule)) {
    anchorAt = now;
    if (existing.state === 'paused') {
      nextFireAt = null;
    } else {
      nextFireAt = nextFireAfter(schedule, now, { anchor: now });
      state = stateFor(schedule, nextFireAt);
    }
  }
  return { nextFireAt, anchorAt, state };
}

/**
 * After a resume: an active task keeps its pending fire (which may be due); a paused or completed
 * one continues from now, in the phase of its anchor (fixed-rate schedules keep their rhythm).
 * (An active fixed-delay task waiting for its run to end has no next fire, and stays active.)
 */
export function resumedFireState(existing: ScheduledRecord, now: number): { nextFireAt: number | null; state: TaskState } {
  if (existing.state === 'active') return { nextFireAt: existing.nextFireAt, state: 'active' };
  const nextFireAt = nextFireAfter(existing.spec.schedule, now, { anchor: existing.anchorAt });
  return { nextFireAt, state: stateFor(existing.spec.schedule, nextFireAt) };
}
