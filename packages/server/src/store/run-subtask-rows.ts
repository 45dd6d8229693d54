/**
 * Rows of `run_maps` and `run_subtasks` as records, for every store (the columns have the same
 * names everywhere; JSON arrives as text, instants and counts as numbers).
 */
import type { BackoffPolicy, MapState, SubtaskState } from '@ecron/contracts';
import type { MapCounts, RunMapRecord, SubtaskRecord } from './run-subtasks.ts';

type Row = Record<string, unknown>;

const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const json = (value: unknown): unknown => (value === null || value === undefined ? null : typeof value === 'string' ? JSON.parse(value) : value);

export function toRunMap(row: Row): RunMapRecord {
  return {
    runId: row.run_id as string,
    attempt: Number(row.attempt),
    namespace: row.namespace as string,
    group: row.group_name as string,
    state: row.state as MapState,
    reduce: (row.reduce_handler as string | null) ?? null,
    maxAttempts: Number(row.max_attempts),
    onSubtaskFailure: row.on_failure as RunMapRecord['onSubtaskFailure'],
    maxFailedRatio: numOrNull(row.max_failed_ratio),
    backoff: json(row.backoff) as BackoffPolicy,
    total: Number(row.total),
    output: json(row.output),
    error: (row.error as string | null) ?? null,
    createdAt: Number(row.created_at),
    sealedAt: numOrNull(row.sealed_at),
    finishedAt: numOrNull(row.finished_at),
  };
}

export function toSubtask(row: Row): SubtaskRecord {
  return {
    runId: row.run_id as string,
    index: Number(row.idx),
    attempt: Number(row.attempt),
    kind: row.kind as SubtaskRecord['kind'],
    handler: row.handler as string,
    payload: json(row.payload),
    state: row.state as SubtaskState,
    lease: Number(row.lease),
    lost: Number(row.lost),
    maxAttempts: Number(row.max_attempts),
    executors: json(row.executors) as string[],
    availableAt: Number(row.available_at),
    leaseExpiresAt: numOrNull(row.lease_expires_at),
    output: json(row.output),
    error: (row.error as string | null) ?? null,
    createdAt: Number(row.created_at),
    startedAt: numOrNull(row.started_at),
    finishedAt: numOrNull(row.finished_at),
  };
}

/** Counts from `SELECT state, count(*) AS n … GROUP BY state` rows. */
export function toCounts(rows: readonly Row[]): MapCounts {
  const counts: MapCounts = { pending: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const row of rows) counts[row.state as keyof MapCounts] = Number(row.n);
  return counts;
}

/** The values of a new map row, in the order of {@link MAP_INSERT_COLUMNS}. */
export const MAP_INSERT_COLUMNS = [
  'run_id', 'attempt', 'namespace', 'group_name', 'state', 'reduce_handler', 'max_attempts', 'on_failure', 'max_failed_ratio', 'backoff', 'total', 'created_at',
] as const;

/** The columns of a new subtask row (see {@link subtaskValues}). */
export const SUBTASK_INSERT_COLUMNS = [
  'run_id', 'idx', 'attempt', 'namespace', 'group_name', 'kind', 'handler', 'payload', 'state', 'lease', 'lost', 'max_attempts', 'executors', 'available_at', 'created_at',
] as const;

export function subtaskValues(p: {
  runId: string; index: number; attempt: number; namespace: string; group: string; kind: 'map' | 'reduce'; handler: string; payload: string; maxAttempts: number; at: number;
}): (string | number)[] {
  return [p.runId, p.index, p.attempt, p.namespace, p.group, p.kind, p.handler, p.payload, 'pending', 0, 0, p.maxAttempts, '[]', p.at, p.at];
}
