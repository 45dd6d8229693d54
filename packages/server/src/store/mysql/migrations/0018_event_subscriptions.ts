/**
 * As PostgreSQL's `0018_event_subscriptions`: event subscriptions, their cursor in the log, the
 * node that delivers each (`owner` until `lease_expires_at`), and their dead letters.
 *
 * MySQL runs DDL outside transactions, so this migration may be cut short and run again: each
 * table is created with its keys in one statement, `IF NOT EXISTS`.
 */
import { sql, type Kysely } from 'kysely';

/** Ids are UUIDs; namespaces and names at most 128 characters (the API's pattern); node ids as cluster_nodes'. */
const ID = 'VARCHAR(64)';
const NAME = 'VARCHAR(128)';
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE IF NOT EXISTS event_subscriptions (
  id ${ID} NOT NULL PRIMARY KEY,
  namespace ${NAME} NOT NULL, -- the namespace whose events it receives; '*': all, and cluster events
  name ${NAME} NOT NULL,
  type VARCHAR(16) NOT NULL,
  config MEDIUMTEXT NOT NULL, -- JSON: the sink's settings, secrets included
  event_filter MEDIUMTEXT NOT NULL, -- JSON: { namespaces?, types?, taskId? }
  state VARCHAR(16) NOT NULL,
  cursor_seq BIGINT NOT NULL, -- the seq of the last event delivered or dead-lettered
  owner VARCHAR(255) NULL, -- the node delivering it, until lease_expires_at
  lease_expires_at BIGINT NULL,
  last_error TEXT NULL,
  last_error_at BIGINT NULL,
  failures INT NOT NULL DEFAULT 0, -- failed tries since the last success
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE KEY event_subscriptions_name (namespace, name),
  CONSTRAINT event_subscriptions_type CHECK (type IN ('webhook', 'nats', 'redis', 'rabbitmq', 'mqtt')),
  CONSTRAINT event_subscriptions_state CHECK (state IN ('active', 'paused'))
) ${TABLE_OPTIONS}`).execute(db);
  await sql.raw(`CREATE TABLE IF NOT EXISTS event_dead_letters (
  subscription_id ${ID} NOT NULL,
  seq BIGINT NOT NULL,
  event MEDIUMTEXT NOT NULL, -- JSON: the event resource as it was sent
  error TEXT NOT NULL,
  attempts INT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (subscription_id, seq)
) ${TABLE_OPTIONS}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS event_dead_letters`.execute(db);
  await sql`DROP TABLE IF EXISTS event_subscriptions`.execute(db);
}
