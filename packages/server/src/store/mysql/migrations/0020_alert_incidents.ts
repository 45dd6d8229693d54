/**
 * As PostgreSQL's `0020_alert_incidents`: alert incidents (one open per rule and subject through
 * the unique `open_key`, NULL once resolved: MySQL has no partial index, and a unique key admits
 * any number of NULLs), their notifications (the node sending each: `owner` until
 * `lease_expires_at`), and the evaluator's cursor and lease (`alert_state`, one row).
 *
 * MySQL runs DDL outside transactions, so this migration may be cut short and run again: each
 * table is created with its keys in one statement, `IF NOT EXISTS`.
 */
import { sql, type Kysely } from 'kysely';

/** Ids are UUIDs; namespaces at most 128 characters (the API's pattern); node ids as cluster_nodes'. */
const ID = 'VARCHAR(64)';
const NAME = 'VARCHAR(128)';
/** A subject's id (a task's, a namespace's, a group's, a node's): at most 256 characters (the notification's schema). */
const SUBJECT_ID = 'VARCHAR(256)';
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE IF NOT EXISTS alert_incidents (
  id ${ID} NOT NULL PRIMARY KEY,
  rule_id ${ID} NOT NULL,
  rule_name VARCHAR(256) NOT NULL,
  on_kind VARCHAR(32) NOT NULL, -- the rule's kind (failure, timeout, …)
  namespace ${NAME} NOT NULL,
  subject_kind VARCHAR(16) NOT NULL,
  subject_id ${SUBJECT_ID} NOT NULL,
  subject_name VARCHAR(512) NOT NULL,
  open_key VARCHAR(400) NULL, -- 'rule_id|subject_kind:subject_id' while not resolved, NULL once resolved
  state VARCHAR(16) NOT NULL,
  severity VARCHAR(16) NOT NULL,
  summary TEXT NOT NULL,
  details MEDIUMTEXT NOT NULL, -- JSON: the condition's figures
  opened_at BIGINT NOT NULL,
  acknowledged_at BIGINT NULL,
  acknowledged_by VARCHAR(255) NULL,
  resolved_at BIGINT NULL,
  resolved_by VARCHAR(255) NULL, -- 'condition', or the actor who resolved it
  last_notified_at BIGINT NULL, -- the last firing or repeat notification written
  updated_at BIGINT NOT NULL,
  UNIQUE KEY alert_incidents_open_key (open_key),
  KEY alert_incidents_by_namespace (namespace, state, opened_at, id),
  KEY alert_incidents_by_state (state, opened_at, id),
  KEY alert_incidents_by_rule (rule_id, opened_at, id),
  CONSTRAINT alert_incidents_state CHECK (state IN ('open', 'acknowledged', 'resolved'))
) ${TABLE_OPTIONS}`).execute(db);
  await sql.raw(`CREATE TABLE IF NOT EXISTS alert_notifications (
  id ${ID} NOT NULL PRIMARY KEY, -- also the payload's id, that receivers deduplicate on
  incident_id ${ID} NOT NULL,
  channel_id ${ID} NOT NULL,
  kind VARCHAR(16) NOT NULL,
  state VARCHAR(16) NOT NULL,
  payload MEDIUMTEXT NOT NULL, -- JSON: the AlertNotification sent
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  owner VARCHAR(255) NULL, -- the node sending it, until lease_expires_at
  lease_expires_at BIGINT NULL,
  last_error TEXT NULL,
  created_at BIGINT NOT NULL,
  sent_at BIGINT NULL,
  KEY alert_notifications_due (state, next_attempt_at),
  KEY alert_notifications_by_incident (incident_id, created_at),
  CONSTRAINT alert_notifications_kind CHECK (kind IN ('firing', 'resolved', 'repeat')),
  CONSTRAINT alert_notifications_state CHECK (state IN ('pending', 'sent', 'failed'))
) ${TABLE_OPTIONS}`).execute(db);
  await sql.raw(`CREATE TABLE IF NOT EXISTS alert_state (
  id INT NOT NULL PRIMARY KEY,
  cursor_seq BIGINT NOT NULL, -- the seq of the last event evaluated
  checked_through BIGINT NULL, -- the time through which the periodic checks have looked
  owner VARCHAR(255) NULL, -- the node evaluating, until lease_expires_at
  lease_expires_at BIGINT NULL,
  CONSTRAINT alert_state_one_row CHECK (id = 1)
) ${TABLE_OPTIONS}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS alert_state`.execute(db);
  await sql`DROP TABLE IF EXISTS alert_notifications`.execute(db);
  await sql`DROP TABLE IF EXISTS alert_incidents`.execute(db);
}
