/**
 * Workflows, as SQLite's `0007_workflows` (which explains the model): `tasks.kind`, the workflow
 * links of `runs`, `workflow_nodes`, and `backfills`.
 *
 * MySQL runs DDL outside transactions, so this migration may be cut short and run again: each
 * step checks whether it was done.
 */
import { sql, type Kysely } from 'kysely';

const NODE_STATUSES = ['waiting', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'];
const ID = 'VARCHAR(64)';

async function hasColumn(db: Kysely<unknown>, table: string, column: string): Promise<boolean> {
  const { rows } = await sql<{ name: string }>`SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${table} AND COLUMN_NAME = ${column}`.execute(db);
  return rows.length > 0;
}

async function hasIndex(db: Kysely<unknown>, table: string, index: string): Promise<boolean> {
  const { rows } = await sql<{ name: string }>`SELECT INDEX_NAME AS name FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${table} AND INDEX_NAME = ${index}`.execute(db);
  return rows.length > 0;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!await hasColumn(db, 'tasks', 'kind')) await sql`ALTER TABLE tasks ADD COLUMN kind VARCHAR(16) NOT NULL DEFAULT 'task'`.execute(db);
  if (!await hasColumn(db, 'runs', 'workflow_run_id')) await sql.raw(`ALTER TABLE runs ADD COLUMN workflow_run_id ${ID} NULL`).execute(db);
  if (!await hasColumn(db, 'runs', 'node_id')) await sql`ALTER TABLE runs ADD COLUMN node_id VARCHAR(128) NULL`.execute(db);
  if (!await hasIndex(db, 'runs', 'runs_workflow')) await sql`CREATE INDEX runs_workflow ON runs (workflow_run_id, id)`.execute(db);
  if (!await hasColumn(db, 'runs', 'backfill_id')) await sql.raw(`ALTER TABLE runs ADD COLUMN backfill_id ${ID} NULL`).execute(db);
  if (!await hasIndex(db, 'runs', 'runs_backfill')) await sql`CREATE INDEX runs_backfill ON runs (backfill_id, status)`.execute(db);
  await sql.raw(`CREATE TABLE IF NOT EXISTS workflow_nodes (
  workflow_run_id ${ID} NOT NULL,
  node_id VARCHAR(128) NOT NULL,
  status VARCHAR(16) NOT NULL CHECK (status IN (${NODE_STATUSES.map((s) => `'${s}'`).join(', ')})),
  reason VARCHAR(64) NULL,
  run_id ${ID} NULL,
  attempts INT NOT NULL DEFAULT 0,
  output MEDIUMTEXT NULL,
  started_at BIGINT NULL,
  finished_at BIGINT NULL,
  PRIMARY KEY (workflow_run_id, node_id),
  CONSTRAINT workflow_nodes_run FOREIGN KEY (workflow_run_id) REFERENCES runs (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`).execute(db);
  await sql.raw(`CREATE TABLE IF NOT EXISTS backfills (
  id ${ID} NOT NULL PRIMARY KEY,
  task_id ${ID} NOT NULL,
  namespace VARCHAR(128) NOT NULL,
  from_at BIGINT NOT NULL,
  to_at BIGINT NOT NULL,
  concurrency INT NOT NULL,
  total INT NOT NULL,
  cursor_at BIGINT NULL,
  created INT NOT NULL DEFAULT 0,
  skipped INT NOT NULL DEFAULT 0,
  status VARCHAR(16) NOT NULL CHECK (status IN ('running', 'succeeded', 'cancelled', 'failed')),
  error TEXT NULL,
  owner ${ID} NULL,
  actor VARCHAR(256) NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  finished_at BIGINT NULL,
  INDEX backfills_task (task_id, id),
  INDEX backfills_running (status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS backfills`.execute(db);
  await sql`DROP TABLE IF EXISTS workflow_nodes`.execute(db);
  if (await hasIndex(db, 'runs', 'runs_backfill')) await sql`DROP INDEX runs_backfill ON runs`.execute(db);
  if (await hasColumn(db, 'runs', 'backfill_id')) await sql`ALTER TABLE runs DROP COLUMN backfill_id`.execute(db);
  if (await hasIndex(db, 'runs', 'runs_workflow')) await sql`DROP INDEX runs_workflow ON runs`.execute(db);
  if (await hasColumn(db, 'runs', 'node_id')) await sql`ALTER TABLE runs DROP COLUMN node_id`.execute(db);
  if (await hasColumn(db, 'runs', 'workflow_run_id')) await sql`ALTER TABLE runs DROP COLUMN workflow_run_id`.execute(db);
  if (await hasColumn(db, 'tasks', 'kind')) await sql`ALTER TABLE tasks DROP COLUMN kind`.execute(db);
}
