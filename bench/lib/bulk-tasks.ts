/**
 * Bulk task setup straight into a PostgreSQL store's `tasks` and `task_revisions` tables, for
 * benchmarks that need far more tasks than the API can create in reasonable time (a million).
 *
 * The rows are what `TaskService.create` would store: the spec validated by the server's own
 * `parseTaskSpec` (once per distinct template; each row then differs only by namespace and name),
 * `newId()` for the id, `nextFireAfter` for the next fire, `bucketOf` for the bucket, revision 1
 * with its `task_revisions` row. What the API also writes and this skips: one audit entry and one
 * change-log entry per task (nodes must not be running during the insert, or must not care: they
 * learn of new rows only by their look-ahead polls). Batches of `batchSize` rows go in one
 * multi-row INSERT each (`unnest` of column arrays), on one connection.
 */
import type { TaskSpec } from '@ecron/contracts';
import pg from 'pg';
import { bucketOf } from '../../packages/server/src/core/buckets.ts';
import { newId } from '../../packages/server/src/core/ids.ts';
import { nextFireAfter, previousFireBefore } from '../../packages/server/src/core/schedule/next-fire.ts';
import { parseTaskSpec } from '../../packages/server/src/services/task-spec-input.ts';

/** One row to insert: a template spec (as a user writes it) and what varies per task. */
export interface BulkTask {
  /** Index of the template in the `templates` array given to {@link insertTasks}. */
  template: number;
  namespace: string;
  name: string;
  /** The creation instant: anchor of `every` schedules (spread them to spread their phases). */
  createdAt: number;
  lastRunStatus?: 'succeeded' | 'failed' | null;
}

interface Template {
  spec: TaskSpec;
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
export async function insertTasks(options: {
  serverUrl: string;
  schema: string;
  templates: unknown[];
  count: number;
  taskAt: (i: number) => BulkTask;
  batchSize?: number;
  onBatch?: (done: number) => void;
}): Promise<string[]> {
  const templates: Template[] = options.templates.map((input) => ({ spec: parseTaskSpec(input) }));
  const batchSize = options.batchSize ?? 10_000;
  const client = new pg.Client({ connectionString: options.serverUrl });
  await client.connect();
  const ids: string[] = [];
  // Per (template, instant) the next/previous fire: daily crons share them, so compute each once.
  const fireCache = new Map<string, { next: number | null; previous: number | null }>();
  const firesOf = (t: number, at: number) => {
    const key = `${t}@${at}`;
    let fires = fireCache.get(key);
    if (!fires) {
      const schedule = templates[t]!.spec.schedule;
      fires = { next: nextFireAfter(schedule, at, { anchor: at }), previous: previousFireBefore(schedule, at, { anchor: at }) };
      if (fireCache.size > 100_000) fireCache.clear();
      fireCache.set(key, fires);
    }
    return fires;
  };
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
        const task = options.taskAt(i);
        const template = templates[task.template]!;
        const spec: TaskSpec = { ...template.spec, namespace: task.namespace, name: task.name };
        const id = newId();
        const fires = firesOf(task.template, task.createdAt);
        const status = task.lastRunStatus ?? null;
        const row = [
          id, task.namespace, task.name, 1, fires.next === null ? 'completed' : 'active', JSON.stringify(spec), fires.next,
          status === null ? null : fires.previous, status, 0, task.createdAt, task.createdAt, task.createdAt, bucketOf(id),
        ];
        row.forEach((value, c) => columns[c]!.push(value));
        ids.push(id);
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
