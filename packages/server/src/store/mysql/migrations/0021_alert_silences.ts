/**
 * As PostgreSQL's `0021_alert_silences`: alert silences, maintenance windows
 * `[starts_at, ends_at)` during which the incidents of the subjects of `scope`, of the rules
 * `rule_ids` (NULL: of every rule), send no notification.
 *
 * MySQL runs DDL outside transactions, so this migration may be cut short and run again: the table
 * is created with its keys in one statement, `IF NOT EXISTS`.
 */
import { sql, type Kysely } from 'kysely';

/** Ids are UUIDs; namespaces at most 128 characters (the API's pattern). */
const ID = 'VARCHAR(64)';
const NAME = 'VARCHAR(128)';
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE IF NOT EXISTS alert_silences (
  id ${ID} NOT NULL PRIMARY KEY,
  namespace ${NAME} NOT NULL,
  scope MEDIUMTEXT NOT NULL, -- JSON: exactly one of taskId, workflowId, labels, namespace
  rule_ids MEDIUMTEXT NULL, -- JSON: ids of rules of the namespace; NULL: every rule
  starts_at BIGINT NOT NULL,
  ends_at BIGINT NOT NULL, -- excluded; ending early sets it to now
  comment TEXT NOT NULL,
  created_by VARCHAR(512) NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  KEY alert_silences_active_in (namespace, ends_at, starts_at),
  KEY alert_silences_active (ends_at, starts_at),
  KEY alert_silences_by_start (starts_at, id),
  CONSTRAINT alert_silences_window CHECK (ends_at >= starts_at)
) ${TABLE_OPTIONS}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS alert_silences`.execute(db);
}
