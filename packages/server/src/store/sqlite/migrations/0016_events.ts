/**
 * As the SQL stores' `0016_events` (the event log and its triggers, `store/event-triggers.ts`).
 * SQLite's writers are serialised, so the order of insertion is the order of commit and `seq`
 * is the row's own AUTOINCREMENT number (never reused, whatever retention deletes).
 *
 * A later migration that rebuilds one of the tables with triggers (runs, tasks, workflow_nodes,
 * executor_nodes, cluster_nodes, bucket_leases) drops its triggers with the old table: it must
 * create them again.
 */
import { sql, type Kysely } from 'kysely';
import { dropEventTriggerStatements, eventTriggerStatements } from '../../event-triggers.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  type TEXT NOT NULL,
  namespace TEXT,
  task_id TEXT,
  run_id TEXT,
  workflow_run_id TEXT,
  data TEXT NOT NULL
) STRICT`.execute(db);
  await sql`CREATE INDEX events_at ON events (at)`.execute(db);
  await sql`ALTER TABLE executor_nodes ADD COLUMN suspected_at INTEGER`.execute(db);
  for (const statement of eventTriggerStatements('sqlite')) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of dropEventTriggerStatements('sqlite')) await sql.raw(statement).execute(db);
  await sql`DROP TABLE events`.execute(db);
  await sql`ALTER TABLE executor_nodes DROP COLUMN suspected_at`.execute(db);
}
