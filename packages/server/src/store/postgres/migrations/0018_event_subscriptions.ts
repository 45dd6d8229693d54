/**
 * Event subscriptions (issue 18, delivery): where events go and how far each subscription got in
 * the log (`cursor_seq`), which node delivers it (`owner` until `lease_expires_at`, the database
 * clock), and the events it gave up on (`event_dead_letters`). As SQLite's and MySQL's
 * `0018_event_subscriptions`. No trigger writes events for these tables.
 */
import { sql, type Kysely } from 'kysely';

const KEY = 'text COLLATE "C"';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE event_subscriptions (
  id ${KEY} PRIMARY KEY,
  namespace ${KEY} NOT NULL, -- the namespace whose events it receives; '*': all, and cluster events
  name ${KEY} NOT NULL,
  type text NOT NULL CHECK (type IN ('webhook', 'nats', 'redis', 'rabbitmq', 'mqtt')),
  config json NOT NULL, -- the sink's settings, secrets included
  event_filter json NOT NULL, -- { namespaces?, types?, taskId? }
  state text NOT NULL CHECK (state IN ('active', 'paused')),
  cursor_seq bigint NOT NULL, -- the seq of the last event delivered or dead-lettered
  owner ${KEY}, -- the node delivering it, until lease_expires_at
  lease_expires_at bigint,
  last_error text,
  last_error_at bigint,
  failures integer NOT NULL DEFAULT 0, -- failed tries since the last success
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  CONSTRAINT event_subscriptions_name UNIQUE (namespace, name)
)`).execute(db);
  await sql.raw(`CREATE TABLE event_dead_letters (
  subscription_id ${KEY} NOT NULL,
  seq bigint NOT NULL,
  event json NOT NULL, -- the event resource as it was sent
  error text NOT NULL,
  attempts integer NOT NULL,
  at bigint NOT NULL,
  PRIMARY KEY (subscription_id, seq)
)`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE event_dead_letters`.execute(db);
  await sql`DROP TABLE event_subscriptions`.execute(db);
}
