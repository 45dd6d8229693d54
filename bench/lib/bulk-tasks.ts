/**
 * Bulk task setup, for benchmarks that need far more tasks than the API can create in reasonable
 * time (a million) on PostgreSQL with the server stopped (on SQLite, `POST /api/v1/tasks:batch` is
 * fast enough), building each task as `TaskService.create` would:
 *
 * - {@link insertTasks}: straight into a PostgreSQL store's `tasks` and `task_revisions` tables.
 *   Batches of `batchSize` rows go in one multi-row INSERT each (`unnest` of column arrays), on one
 *   connection. What the API also writes and this skips: one audit entry and one change-log entry
 *   per task (nodes must not be running during the insert, or must not care: they learn of new rows
 *   only by their look-ahead polls).
 * - {@link upsertTasksInChunks}: through any store's `upsertTasks` verb (the batch API's path:
 *   multi-row statements, with the audit and change-log rows), chunks of 1,000; for the stores
 *   `insertTasks` does not know (SQLite, MySQL), with the server stopped.
 *
 * The records ({@link taskRecordBuilder}): the spec validated by the server's own `parseTaskSpec` and
 * `normalizeNewSpec` (once per distinct template; each row then differs only by namespace and
 * name), `newId()` for the id, `nextFireAfter` for the next fire, revision 1.
 */
import type { TaskSpec } from '@ecron/contracts';
import pg from 'pg';
import { bucketOf } from '../../packages/server/src/core/buckets.ts';
import { newId } from '../../packages/server/src/core/ids.ts';
import type { TaskRecord } from '../../packages/server/src/core/model.ts';
import type { Store } from '../../packages/server/src/store/store.ts';
import { nextFireAfter, previousFireBefore } from '../../packages/server/src/core/schedule/next-fire.ts';
import { normalizeNewSpec, parseTaskSpec } from '../../packages/server/src/services/task-spec-input.ts';

/** One task to create: a template spec (as a user writes it) and what varies per task. */
export interface BulkTask {
  /** Index of the template in the `templates` array given to {@link insertTasks}. */
  template: number;
  namespace: string;
  name: string;
  /** The creation instant: anchor of `every` schedules (spread them to spread their phases). */
  createdAt: number;
  lastRunStatus?: 'succeeded' | 'failed' | null;
  /** Paused or completed (then without a next fire); default as the schedule says. */
  state?: 'paused' | 'completed';
  /** The spec's labels (replacing the template's). */
  labels?: Record<string, string>;
}

export interface BulkOptions {
  /** Task specs as a user writes them (namespace and name are replaced per task). */
  templates: unknown[];
  count: number;
  taskAt: (i: number) => BulkTask;
  /** @default 10000 */
  batchSize?: number;
  onBatch?: (done: number) => void;
}

/**
 * Builds the i-th task's record as `TaskService.create` does. Per (template, instant) the next and
 * previous fires are computed once: daily crons created in one batch share them.
 */
export function taskRecordBuilder(templateInputs: unknown[]): (task: BulkTask) => TaskRecord {
  const templates = templateInputs.map((input) => normalizeNewSpec(parseTaskSpec(input)));
  const fireCache = new Map<string, { next: number | null; previous: number | null }>();
  const firesOf = (t: number, at: number) => {
    const key = `${t}@${at}`;
    let fires = fireCache.get(key);
    if (!fires) {
      const schedule = templates[t]!.schedule;
      fires = { next: nextFireAfter(schedule, at, { anchor: at }), previous: previousFireBefore(schedule, at, { anchor: at }) };
      if (fireCache.size > 100_000) fireCache.clear();
      fireCache.set(key, fires);
    }
    return fires;
  };
  return (task) => {
    const spec: TaskSpec = { ...templates[task.template]!, namespace: task.namespace, name: task.name, ...(task.labels ? { labels: task.labels } : {}) };
    const fires = firesOf(task.template, task.createdAt);
    const status = task.lastRunStatus ?? null;
    const state = task.state ?? (fires.next === null ? 'completed' : 'active');
    return {
      id: newId(), kind: 'task', namespace: task.namespace, name: task.name, revision: 1, state, spec,
      nextFireAt: state === 'active' ? fires.next : null, lastFireAt: status === null ? null : fires.previous, lastRunStatus: status, skippedFires: 0,
      anchorAt: task.createdAt, createdAt: task.createdAt, updatedAt: task.createdAt,
    };
  };
}

const COLUMNS = [
  ['id', 'text'], ['namespace', 'text'], ['name', 'text'], ['revision', 'int'], ['state', 'text'], ['spec', 'json'],
  ['next_fire_at', 'bigint'], ['last_fire_at', 'bigint'], ['last_run_status', 'text'], ['skipped_fires', 'bigint'],
  ['anchor_at', 'bigint'], ['created_at', 'bigint'], ['updated_at', 'bigint'], ['bucket', 'int'],
] as const;

/**
 * Inserts `count` tasks, `taskAt(i)` describing the i-th, into the PostgreSQL schema `schema` of
 * `serverUrl` (already migrated). Returns the ids in order. `onBatch` reports progress.
 */
export async function insertTasks(options: BulkOptions & { serverUrl: string; schema: string }): Promise<string[]> {
  const build = taskRecordBuilder(options.templates);
  const batchSize = options.batchSize ?? 10_000;
  const client = new pg.Client({ connectionString: options.serverUrl });
  await client.connect();
  const ids: string[] = [];
  try {
    await client.query(`SET search_path TO ${options.schema}`);
    const taskInsert = `INSERT INTO tasks (${COLUMNS.map(([c]) => c).join(', ')}) SELECT ${COLUMNS.map(([c, t]) => (t === 'json' ? `${c}::json` : c)).join(', ')}
      FROM unnest(${COLUMNS.map(([, t], i) => `$${i + 1}::${t === 'json' ? 'text' : t}[]`).join(', ')}) AS r(${COLUMNS.map(([c]) => c).join(', ')})`;
    const revisionInsert = `INSERT INTO task_revisions (task_id, revision, spec, created_at, actor)
      SELECT id, 1, spec::json, created_at, 'bench' FROM unnest($1::text[], $2::text[], $3::bigint[]) AS r(id, spec, created_at)`;
    for (let start = 0; start < options.count; start += batchSize) {
      const end = Math.min(options.count, start + batchSize);
      const columns: unknown[][] = COLUMNS.map(() => []);
      for (let i = start; i < end; i += 1) {
        const t = build(options.taskAt(i));
        const row = [
          t.id, t.namespace, t.name, t.revision, t.state, JSON.stringify(t.spec), t.nextFireAt, t.lastFireAt, t.lastRunStatus, t.skippedFires,
          t.anchorAt, t.createdAt, t.updatedAt, bucketOf(t.id),
        ];
        row.forEach((value, c) => columns[c]!.push(value));
        ids.push(t.id);
      }
      await client.query('BEGIN');
      await client.query(taskInsert, columns);
      await client.query(revisionInsert, [columns[0], columns[5], columns[11]]);
      await client.query('COMMIT');
      options.onBatch?.(end);
    }
    await client.query('ANALYZE tasks');
    await client.query('ANALYZE task_revisions');
  } finally {
    await client.end();
  }
  return ids;
}

/**
 * Inserts `count` tasks, `taskAt(i)` describing the i-th, through `store.upsertTasks` (open, migrated,
 * no server on it), `chunk` per call (default 1,000, as the batch API does).
 */
export async function upsertTasksInChunks(options: BulkOptions & { store: Store; chunk?: number }): Promise<void> {
  const build = taskRecordBuilder(options.templates);
  const chunk = options.chunk ?? 1000;
  const report = options.batchSize ?? 10_000;
  for (let start = 0; start < options.count; start += chunk) {
    const end = Math.min(options.count, start + chunk);
    const items = [];
    for (let i = start; i < end; i += 1) items.push({ op: 'create' as const, task: build(options.taskAt(i)), audit: { actor: 'bench', action: 'task.create' } });
    const { conflicts } = await options.store.upsertTasks({ items });
    if (conflicts.length > 0) throw new Error(`upsertTasks: ${conflicts.length} conflicts in tasks ${start}..${end - 1}`);
    if (Math.floor(end / report) > Math.floor(start / report) || end === options.count) options.onBatch?.(end);
  }
}
