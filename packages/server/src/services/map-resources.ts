/** Map/reduce records as the API answers them (`map` of a run, its subtasks). */
import type { MapSummary, SubtaskResource } from '@ecron/contracts';
import { triesOf, type MapCounts, type RunMapRecord, type SubtaskRecord } from '../store/run-subtasks.ts';

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function toMapSummary(map: RunMapRecord & { counts: MapCounts }): MapSummary {
  return {
    state: map.state, attempt: map.attempt, total: map.total, ...map.counts, reduce: map.reduce, onSubtaskFailure: map.onSubtaskFailure,
  };
}

export function toSubtaskResource(subtask: SubtaskRecord): SubtaskResource {
  return {
    index: subtask.index, kind: subtask.kind, handler: subtask.handler, state: subtask.state, tries: triesOf(subtask), maxAttempts: subtask.maxAttempts,
    executors: subtask.executors, payload: subtask.payload, output: subtask.output, error: subtask.error,
    startedAt: isoOrNull(subtask.startedAt), finishedAt: isoOrNull(subtask.finishedAt),
  };
}
