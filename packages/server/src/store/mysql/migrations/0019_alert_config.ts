/**
 * As PostgreSQL's `0019_alert_config`: alert channels (secrets in `config`) and alert rules
 * (naming channels of their namespace by name in `channels`).
 *
 * MySQL runs DDL outside transactions, so this migration may be cut short and run again: each
 * table is created with its keys in one statement, `IF NOT EXISTS`.
 */
import { sql, type Kysely } from 'kysely';

/** Ids are UUIDs; namespaces and names at most 128 characters (the API's pattern). */
const ID = 'VARCHAR(64)';
const NAME = 'VARCHAR(128)';
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE IF NOT EXISTS alert_channels (
  id ${ID} NOT NULL PRIMARY KEY,
  namespace ${NAME} NOT NULL,
  name ${NAME} NOT NULL, -- rules name their channels by it
  type VARCHAR(16) NOT NULL,
  config MEDIUMTEXT NOT NULL, -- JSON: the type's settings, secrets included
  locale VARCHAR(8) NOT NULL,
  description TEXT NULL,
  last_error TEXT NULL, -- the last failed send, kept after later successes
  last_error_at BIGINT NULL,
  last_sent_at BIGINT NULL, -- the last send the receiver accepted
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE KEY alert_channels_name (namespace, name),
  CONSTRAINT alert_channels_type CHECK (type IN ('webhook', 'email', 'slack', 'feishu', 'dingtalk', 'wecom')),
  CONSTRAINT alert_channels_locale CHECK (locale IN ('en', 'zh'))
) ${TABLE_OPTIONS}`).execute(db);
  await sql.raw(`CREATE TABLE IF NOT EXISTS alert_rules (
  id ${ID} NOT NULL PRIMARY KEY,
  namespace ${NAME} NOT NULL,
  name ${NAME} NOT NULL,
  on_kind VARCHAR(32) NOT NULL,
  scope MEDIUMTEXT NOT NULL, -- JSON: exactly one of taskId, workflowId, labels, namespace
  params MEDIUMTEXT NOT NULL, -- JSON: the kind's parameters, durations in ms
  severity VARCHAR(16) NOT NULL,
  channels MEDIUMTEXT NOT NULL, -- JSON: names of alert channels of the namespace
  repeat_interval_ms BIGINT NULL, -- NULL: notify once
  send_resolved TINYINT NOT NULL,
  enabled TINYINT NOT NULL,
  description TEXT NULL,
  revision INT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE KEY alert_rules_name (namespace, name),
  KEY alert_rules_enabled (enabled, namespace, name),
  CONSTRAINT alert_rules_on_kind CHECK (on_kind IN ('failure', 'timeout', 'consecutive-failures', 'failure-rate', 'missed-fire', 'late-start', 'long-running', 'no-executor', 'node-lost')),
  CONSTRAINT alert_rules_severity CHECK (severity IN ('info', 'warning', 'critical')),
  CONSTRAINT alert_rules_flags CHECK (send_resolved IN (0, 1) AND enabled IN (0, 1))
) ${TABLE_OPTIONS}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS alert_rules`.execute(db);
  await sql`DROP TABLE IF EXISTS alert_channels`.execute(db);
}
