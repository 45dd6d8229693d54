/** What identifies a run in the reports of the scheduler and dispatch, built from its records. */
import type { RunRecord, ScheduledRecord, TaskRecord } from '../core/model.ts';
import type { RunIdentity, TargetType } from './instrumentation.ts';

/** The target type of a task's runs (`workflow` for a workflow's own runs; `unknown` when the task is gone). */
export function targetTypeOf(task: ScheduledRecord | TaskRecord | null | undefined): TargetType {
  if (!task) return 'unknown';
  return task.kind === 'workflow' ? 'workflow' : task.spec.target.type;
}

export function runIdentity(run: RunRecord, task: ScheduledRecord | TaskRecord | null | undefined): RunIdentity {
  return {
    runId: run.id, taskId: run.taskId, taskName: run.taskName, namespace: run.namespace, trigger: run.trigger, scheduledAt: run.scheduledAt,
    workflowRunId: run.workflowRunId, targetType: run.workflowRunId === run.id ? 'workflow' : targetTypeOf(task),
  };
}
