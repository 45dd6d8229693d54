/**
 * Workflows, as SQLite's `0007_workflows` (which explains the model): `tasks.kind`, the workflow
 * links of `runs`, `workflow_nodes`, and `backfills`. Adding nullable columns, or one with a constant default,
 * rewrites no table.
 */
import { sql, type Kysely } from 'kysely';

const NODE_STATUSES = ['waiting', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'];
const KEY = 'text COLLATE "C"';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE tasks ADD COLUMN kind text NOT NULL DEFAULT 'task'`.execute(db);
  await sql.raw(`ALTER TABLE runs ADD COLUMN workflow_run_id ${KEY}, ADD COLUMN node_id ${KEY}`).execute(db);
  await sql`CREATE INDEX runs_workflow ON runs (workflow_run_id, id) WHERE workflow_run_id IS NOT NULL`.execute(db);
  await sql.raw(`ALTER TABLE runs ADD COLUMN backfill_id ${KEY}`).execute(db);
  await sql`CREATE INDEX runs_backfill ON runs (backfill_id, status) WHERE backfill_id IS NOT NULL`.execute(db);
  await sql.raw(`CREATE TABLE workflow_nodes (
  workflow_run_id ${KEY} NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  node_id ${KEY} NOT NULL,
  status text NOT NULL CHECK (status IN (${NODE_STATUSES.map((s) => `'${s}'`).join(', ')})),
  reason text,
  run_id ${KEY},
  attempts integer NOT NULL DEFAULT 0,
  output json,
  started_at bigint,
  finished_at bigint,
  PRIMARY KEY (workflow_run_id, node_id)
)`).execute(db);
  await sql.raw(`CREATE TABLE backfills (
  id ${KEY} PRIMARY KEY,
  task_id ${KEY} NOT NULL,
  namespace ${KEY} NOT NULL,
  from_at bigint NOT NULL,
  to_at bigint NOT NULL,
  concurrency integer NOT NULL,
  total integer NOT NULL,
  cursor_at bigint,
  created integer NOT NULL DEFAULT 0,
  skipped integer NOT NULL DEFAULT 0,
  status text NOT NULL CHECK (status IN ('running', 'succeeded', 'cancelled', 'failed')),
  error text,
  owner ${KEY},
  actor text NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  finished_at bigint
)`).execute(db);
  await sql`CREATE INDEX backfills_task ON backfills (task_id, id)`.execute(db);
  await sql`CREATE INDEX backfills_running ON backfills (status) WHERE status = 'running'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE backfills`.execute(db);
  await sql`DROP TABLE workflow_nodes`.execute(db);
  await sql`DROP INDEX runs_backfill`.execute(db);
  await sql`ALTER TABLE runs DROP COLUMN backfill_id`.execute(db);
  await sql`DROP INDEX runs_workflow`.execute(db);
  await sql`ALTER TABLE runs DROP COLUMN node_id, DROP COLUMN workflow_run_id`.execute(db);
  await sql`ALTER TABLE tasks DROP COLUMN kind`.execute(db);
}
