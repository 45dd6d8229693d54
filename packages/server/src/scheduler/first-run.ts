/**
 * The run a manual trigger or a backfill's fire creates: recorded with its first attempt
 * `dispatched` (its namespace's run quota may refuse it: the store then records it `throttled`).
 */
import { newId } from '../core/ids.ts';
import type { ScheduledRecord } from '../core/model.ts';
import type { NewRun } from '../store/store.ts';
import { executorGroupOf, executorOf } from './run-supervisor.ts';

export function firstRun(task: ScheduledRecord, fields: Pick<NewRun, 'trigger' | 'scheduledAt' | 'params' | 'backfillId'>, now: number, owner: string): NewRun {
  const id = newId();
  return {
    id, ...(task.kind === 'workflow' ? { workflowRunId: id } : {}), taskId: task.id, namespace: task.namespace, taskName: task.name, taskRevision: task.revision,
    ...fields, status: 'dispatched', createdAt: now, owner,
    attempt: { executor: executorOf(task), startedAt: now, deadlineAt: task.spec.timeoutMs ? now + task.spec.timeoutMs : null }, executorGroup: executorGroupOf(task),
  };
}
