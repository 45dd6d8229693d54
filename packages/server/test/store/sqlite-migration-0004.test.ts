/**
 * SQLite migration 0004 rebuilds `runs` (SQLite cannot alter a CHECK constraint) to accept the
 * status `no_executor`. A database left by 0003, with runs, attempts and log lines in it, must come
 * out with every row, every index and the ON DELETE CASCADE of attempts and run_logs intact.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Kysely, SqliteDialect } from 'kysely';
import { Migrator } from 'kysely/migration';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bucketOf } from '../../src/core/buckets.ts';
import { audit, errorCode, newRun, T0 } from '../../src/store/conformance/fixtures.ts';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations/index.ts';
import * as executorsMigration from '../../src/store/sqlite/migrations/0004_executors.ts';
import { migrateToLatest } from '../../src/store/sqlite/migrate.ts';
import { NodeSqliteDatabase } from '../../src/store/sqlite/node-sqlite-database.ts';
import { dumpSqliteSchema } from '../../src/store/sqlite/schema-dump.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecron-sqlite-0004-'));
  path = join(dir, 'ecron.db');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const TASK_ID = '01900000-0000-7000-8000-000000000001';
const run = (n: number): string => `01900000-0000-7000-8000-0000000001${String(n).padStart(2, '0')}`;

/** Migrates `db` up to and including `last`, as an older ecron did. */
async function migrateUpTo(db: DatabaseSync, last: string): Promise<void> {
  const names = Object.keys(SQLITE_MIGRATIONS).sort().filter((name) => name <= last);
  const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new NodeSqliteDatabase(db) }) });
  const migrator = new Migrator({ db: kysely, provider: { getMigrations: async () => Object.fromEntries(names.map((name) => [name, SQLITE_MIGRATIONS[name]!])) } });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
}

/** A database at migration 0003 holding a task and four runs: pending, dispatched, succeeded (with logs), failed. */
async function seedVersion3(): Promise<void> {
  const db = new DatabaseSync(path);
  await migrateUpTo(db, '0003_cluster');
  const spec = JSON.stringify({ namespace: 'default', name: 'legacy', schedule: { every: '1m' }, target: { type: 'http', url: 'http://127.0.0.1:9/run' } });
  db.prepare(`INSERT INTO tasks (id, namespace, name, revision, state, spec, next_fire_at, anchor_at, created_at, updated_at, bucket)
    VALUES (?, 'default', 'legacy', 1, 'active', ?, ?, ?, ?, ?, ?)`).run(TASK_ID, spec, T0 + 60_000, T0, T0, T0, bucketOf(TASK_ID));
  const insertRun = db.prepare(`INSERT INTO runs (id, task_id, namespace, task_name, task_revision, trigger, scheduled_at, status, attempt, params,
    progress, output, error, next_attempt_at, deadline_at, report_seq, created_at, started_at, finished_at, owner)
    VALUES (?, ?, 'default', 'legacy', 1, ?, ?, ?, ?, '{"a":1}', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  insertRun.run(run(1), TASK_ID, 'schedule', T0, 'pending', 0, null, null, null, T0 + 5000, null, -1, T0, null, null, null);
  insertRun.run(run(2), TASK_ID, 'schedule', T0 + 60_000, 'dispatched', 1, 0.5, null, null, null, T0 + 90_000, 3, T0 + 60_000, T0 + 60_001, null, 'node-a');
  insertRun.run(run(3), TASK_ID, 'schedule', T0 + 120_000, 'succeeded', 1, 1, '{"rows":42}', null, null, null, 7, T0 + 120_000, T0 + 120_001, T0 + 121_000, 'node-a');
  insertRun.run(run(4), TASK_ID, 'manual', T0 + 130_000, 'failed', 2, null, null, 'HTTP 503', null, null, -1, T0 + 130_000, T0 + 130_001, T0 + 135_000, null);
  const insertAttempt = db.prepare(`INSERT INTO attempts (run_id, number, status, executor, started_at, finished_at, error, output, sent_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  insertAttempt.run(run(2), 1, 'dispatched', 'http://x/run', T0 + 60_001, null, null, null, T0 + 60_002);
  insertAttempt.run(run(3), 1, 'succeeded', 'http://x/run', T0 + 120_001, T0 + 121_000, null, '{"rows":42}', T0 + 120_002);
  insertAttempt.run(run(4), 1, 'failed', null, T0 + 130_001, T0 + 131_000, 'HTTP 503', null, T0 + 130_002);
  insertAttempt.run(run(4), 2, 'failed', null, T0 + 133_000, T0 + 135_000, 'HTTP 503', null, T0 + 133_001);
  const insertLog = db.prepare(`INSERT INTO run_logs (run_id, seq, attempt, at, level, message) VALUES (?, ?, 1, ?, 'info', ?)`);
  for (const seq of [1, 2, 3]) insertLog.run(run(3), seq, T0 + 120_000 + seq, `line ${seq}`);
  insertLog.run(run(2), 1, T0 + 60_010, 'starting');
  db.close();
}

/** Everything 0004 must keep, read straight from the file. */
function snapshot(): { runs: unknown[]; attempts: unknown[]; logs: unknown[]; indexes: unknown[]; childKeys: unknown[] } {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return {
      runs: db.prepare('SELECT * FROM runs ORDER BY id').all(),
      attempts: db.prepare('SELECT * FROM attempts ORDER BY run_id, number').all(),
      logs: db.prepare('SELECT * FROM run_logs ORDER BY run_id, seq').all(),
      indexes: db.prepare(`SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'runs' ORDER BY name`).all(),
      childKeys: ['attempts', 'run_logs'].map((table) => db.prepare(`SELECT "table", "from", "to", on_delete FROM pragma_foreign_key_list('${table}')`).all()),
    };
  } finally {
    db.close();
  }
}

describe('sqlite migration 0004_executors', () => {
  it('keeps every run, attempt, log line and index of an older database, and the cascades still work', async () => {
    await seedVersion3();
    const before = snapshot();
    expect(before.runs).toHaveLength(4);
    expect(before.indexes.map((index) => (index as { name: string }).name)).toEqual(['runs_active', 'runs_finished', 'runs_fire', 'runs_task', 'sqlite_autoindex_runs_1']);

    const store = createSqliteStore({ path });
    await store.open();
    await store.close();

    // Later migrations add to runs (0007: the workflow and backfill links and their indexes); 0004 kept the rest.
    const later = snapshot();
    const after = {
      ...later,
      runs: later.runs.map((row) => Object.fromEntries(Object.entries(row as object).filter(([column]) => !['workflow_run_id', 'node_id', 'backfill_id'].includes(column)))),
      indexes: later.indexes.filter((index) => !['runs_workflow', 'runs_backfill'].includes((index as { name: string }).name)),
    };
    expect(later.runs.every((row) => (row as { workflow_run_id: unknown }).workflow_run_id === null)).toBe(true);
    expect(after).toEqual(before);
    expect(after.childKeys).toEqual([
      [{ table: 'runs', from: 'run_id', to: 'id', on_delete: 'CASCADE' }], [{ table: 'runs', from: 'run_id', to: 'id', on_delete: 'CASCADE' }],
    ]);
    const db = new DatabaseSync(path);
    expect(db.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }]);
    expect(db.prepare('PRAGMA foreign_key_check').all()).toEqual([]);
    expect(db.prepare('SELECT name FROM kysely_migration ORDER BY name').all().map((row) => row.name)).toEqual(Object.keys(SQLITE_MIGRATIONS).sort());
    // The upgraded schema is the one a fresh database gets.
    const ddl = (db.prepare(`SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid`).all() as { sql: string }[])
      .map((row) => `${row.sql};`).join('\n\n');
    expect((await dumpSqliteSchema()).endsWith(`\n${ddl}\n`)).toBe(true);
    // The checks hold: a no_executor run may not carry finished_at.
    expect(() => db.prepare(`UPDATE runs SET status = 'no_executor' WHERE id = ?`).run(run(3))).toThrow(/CHECK constraint failed/);
    expect(() => db.prepare(`UPDATE runs SET status = 'waiting' WHERE id = ?`).run(run(1))).toThrow(/CHECK constraint failed/);
    db.close();

    // Through the store (foreign keys back on): old runs move on, and retention cascades.
    const reopened = createSqliteStore({ path });
    await reopened.open();
    try {
      const [waiting] = await reopened.finishAttempts([{ runId: run(2), attempt: 1, attemptStatus: 'failed', at: T0 + 70_000, outcome: { kind: 'no_executor' } }]);
      expect(waiting).toMatchObject({ status: 'no_executor', attempt: 1, owner: 'node-a', startedAt: T0 + 60_001 });
      const task = (await reopened.getTask(TASK_ID))!;
      const manual = await reopened.createRun({ run: newRun(task, { trigger: 'manual', scheduledAt: T0, status: 'no_executor' }), audit: audit('task.trigger') });
      expect((await reopened.listActiveRuns({ limit: 10 })).map((r) => r.id)).toEqual([run(1), run(2), manual.id]);
      expect(await reopened.deleteHistory({ finishedBefore: T0 + 10 * 60_000, limit: 10 })).toBe(2);
    } finally {
      await reopened.close();
    }
    const end = snapshot();
    expect(end.runs.map((row) => (row as { id: string }).id)).toEqual([run(1), run(2), expect.any(String)]);
    expect(end.attempts.map((row) => [(row as { run_id: string }).run_id, (row as { status: string }).status])).toEqual([[run(2), 'failed']]);
    expect(end.logs.map((row) => (row as { message: string }).message)).toEqual(['starting']);
  });

  it('rolls back whole when the rebuilt table breaks a foreign key, and leaves the old schema', async () => {
    await seedVersion3();
    const db = new DatabaseSync(path, { enableForeignKeyConstraints: false });
    db.prepare(`INSERT INTO run_logs (run_id, seq, attempt, at, level, message) VALUES ('no-such-run', 1, 1, 0, 'info', 'orphan')`).run();
    db.close();
    const store = createSqliteStore({ path });
    expect(await errorCode(store.open())).toBe('STORE_UNAVAILABLE');
    await store.close();
    const after = new DatabaseSync(path, { readOnly: true });
    expect(after.prepare('SELECT name FROM kysely_migration ORDER BY name').all().map((row) => row.name)).toEqual(['0001_init', '0002_runs_finished_index', '0003_cluster']);
    expect(after.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE name IN ('executor_nodes', 'runs_new')`).get()).toEqual({ n: 0 });
    expect(after.prepare('SELECT count(*) AS n FROM runs').get()).toEqual({ n: 4 });
    expect(after.prepare('SELECT count(*) AS n FROM attempts').get()).toEqual({ n: 4 });
    after.close();
  });

  it('refuses to run with foreign keys on, and migrateToLatest sets them back as they were', async () => {
    const db = new DatabaseSync(':memory:');
    await migrateUpTo(db, '0003_cluster');
    const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new NodeSqliteDatabase(db) }) });
    await expect(executorsMigration.up(kysely)).rejects.toThrow(/must run with foreign keys off/);
    expect(db.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE name = 'executor_nodes'`).get()).toEqual({ n: 0 });
    expect(db.prepare('PRAGMA foreign_keys').get()).toEqual({ foreign_keys: 1 });
    await migrateToLatest(db);
    expect(db.prepare('PRAGMA foreign_keys').get()).toEqual({ foreign_keys: 1 });
    db.exec('PRAGMA foreign_keys = OFF');
    await migrateToLatest(db);
    expect(db.prepare('PRAGMA foreign_keys').get()).toEqual({ foreign_keys: 0 });
    db.close();
  });
});
