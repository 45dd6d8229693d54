/**
 * Event subscriptions (issue 18, delivery): where events go and how far each subscription got in
 * the log (`cursor_seq`), which node delivers it (`owner` until `lease_expires_at`, the store's
 * clock), and the events it gave up on (`event_dead_letters`). As the SQL stores'
 * `0018_event_subscriptions`. No trigger writes events for these tables.
 */
import { sql, type Kysely } from 'kysely';

/** See 0001_init: `CHECK (col = 'a' OR …)`, not `IN (…)`. */
const oneOf = (column: string, values: readonly string[]): string => `CHECK (${values.map((value) => `${column} = '${value}'`).join(' OR ')})`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE event_subscriptions (
  id TEXT PRIMARY KEY NOT NULL,
  namespace TEXT NOT NULL, -- the namespace whose events it receives; '*': all, and cluster events
  name TEXT NOT NULL,
  type TEXT NOT NULL ${oneOf('type', ['webhook', 'nats', 'redis', 'rabbitmq', 'mqtt'])},
  config TEXT NOT NULL, -- JSON: the sink's settings, secrets included
  event_filter TEXT NOT NULL, -- JSON: { namespaces?, types?, taskId? }
  state TEXT NOT NULL ${oneOf('state', ['active', 'paused'])},
  cursor_seq INTEGER NOT NULL, -- the seq of the last event delivered or dead-lettered
  owner TEXT, -- the node delivering it, until lease_expires_at
  lease_expires_at INTEGER,
  last_error TEXT,
  last_error_at INTEGER,
  failures INTEGER NOT NULL DEFAULT 0, -- failed tries since the last success
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (namespace, name)
) STRICT`).execute(db);
  await sql`CREATE TABLE event_dead_letters (
  subscription_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event TEXT NOT NULL, -- JSON: the event resource as it was sent
  error TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (subscription_id, seq)
) STRICT`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE event_dead_letters`.execute(db);
  await sql`DROP TABLE event_subscriptions`.execute(db);
}
