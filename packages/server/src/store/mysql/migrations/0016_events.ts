/**
 * As PostgreSQL's `0016_events` (the event log and its triggers, `store/event-triggers.ts`).
 * `IF NOT EXISTS` and drop-before-create, so that a run cut short (MySQL runs DDL outside
 * transactions) can run again.
 */
import { sql, type Kysely } from 'kysely';
import { dropEventTriggerStatements, eventTriggerStatements } from '../../event-triggers.ts';

const ID = 'VARCHAR(64)';
const NAME = 'VARCHAR(128)';
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE IF NOT EXISTS events (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  seq BIGINT NULL,
  at BIGINT NOT NULL,
  type VARCHAR(64) NOT NULL,
  namespace ${NAME} NULL,
  task_id ${ID} NULL,
  run_id ${ID} NULL,
  workflow_run_id ${ID} NULL,
  data LONGTEXT NOT NULL,
  UNIQUE KEY events_seq (seq),
  KEY events_unsequenced (seq, id),
  KEY events_at (at)
) ${TABLE_OPTIONS}`).execute(db);
  await sql.raw(`CREATE TABLE IF NOT EXISTS event_sequence (id INT NOT NULL PRIMARY KEY, last_seq BIGINT NOT NULL) ${TABLE_OPTIONS}`).execute(db);
  await sql`INSERT IGNORE INTO event_sequence (id, last_seq) VALUES (1, 0)`.execute(db);
  await sql`ALTER TABLE executor_nodes ADD COLUMN IF NOT EXISTS suspected_at BIGINT NULL`.execute(db);
  for (const statement of dropEventTriggerStatements('mysql')) await sql.raw(statement).execute(db);
  for (const statement of eventTriggerStatements('mysql')) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of dropEventTriggerStatements('mysql')) await sql.raw(statement).execute(db);
  await sql`ALTER TABLE executor_nodes DROP COLUMN IF EXISTS suspected_at`.execute(db);
  await sql`DROP TABLE IF EXISTS event_sequence`.execute(db);
  await sql`DROP TABLE IF EXISTS events`.execute(db);
}
