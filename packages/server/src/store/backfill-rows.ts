/**
 * Mapping between `backfills` rows and records, for every store (SQLite and the SQL stores give
 * instants and counters as JS numbers, or as strings for BIGINT on some drivers).
 */
import type { BackfillRecord } from '../core/model.ts';

type Row = Record<string, unknown>;
const num = (value: unknown): number => Number(value);
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const textOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

export const BACKFILL_COLUMNS = ['id', 'task_id', 'namespace', 'from_at', 'to_at', 'concurrency', 'total', 'cursor_at', 'created', 'skipped', 'status',
  'error', 'owner', 'actor', 'created_at', 'updated_at', 'finished_at'] as const;

export function backfillValues(b: BackfillRecord): (string | number | null)[] {
  return [b.id, b.taskId, b.namespace, b.fromAt, b.toAt, b.concurrency, b.total, b.cursorAt, b.created, b.skipped, b.status, b.error, b.owner, b.actor,
    b.createdAt, b.updatedAt, b.finishedAt];
}

export function toBackfill(row: Row): BackfillRecord {
  return {
    id: String(row.id), taskId: String(row.task_id), namespace: String(row.namespace), fromAt: num(row.from_at), toAt: num(row.to_at),
    concurrency: num(row.concurrency), total: num(row.total), cursorAt: numOrNull(row.cursor_at), created: num(row.created), skipped: num(row.skipped),
    status: row.status as BackfillRecord['status'], error: textOrNull(row.error), owner: textOrNull(row.owner), actor: String(row.actor),
    createdAt: num(row.created_at), updatedAt: num(row.updated_at), finishedAt: numOrNull(row.finished_at),
  };
}

/** The SET list of an update: column = value for each patched field, plus updated_at. */
export function backfillPatch(patch: Partial<BackfillRecord>, at: number): [string, string | number | null][] {
  const columns: Record<string, string> = { cursorAt: 'cursor_at', created: 'created', skipped: 'skipped', status: 'status', error: 'error', finishedAt: 'finished_at' };
  const set: [string, string | number | null][] = [];
  for (const [key, column] of Object.entries(columns)) {
    const value = (patch as Record<string, unknown>)[key];
    if (value !== undefined) set.push([column, value as string | number | null]);
  }
  set.push(['updated_at', at]);
  return set;
}
