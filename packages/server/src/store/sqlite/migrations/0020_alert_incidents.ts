/**
 * Alert incidents and their notifications (issue 19, `store/alert-incidents.ts`): an incident per
 * rule and subject while its condition holds (`open_key`, unique, the pair while the incident is
 * not resolved and NULL once it is: one open incident per pair, the same way on every store), the
 * notifications of each change of state (sent by one node at a time: `owner` until
 * `lease_expires_at`, the store's clock), and the evaluator's cursor in the event log and its lease
 * (`alert_state`, one row, created by the first claim). No foreign key to the rules and channels
 * (`0019_alert_config`): an incident keeps its rule's name and reads without it. As the SQL
 * stores' `0020_alert_incidents`. No trigger writes events for these tables.
 */
import { sql, type Kysely } from 'kysely';

/** See 0001_init: `CHECK (col = 'a' OR …)`, not `IN (…)`. */
const oneOf = (column: string, values: readonly string[]): string => `CHECK (${values.map((value) => `${column} = '${value}'`).join(' OR ')})`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE alert_incidents (
  id TEXT PRIMARY KEY NOT NULL,
  rule_id TEXT NOT NULL,
  rule_name TEXT NOT NULL,
  on_kind TEXT NOT NULL, -- the rule's kind (failure, timeout, …)
  namespace TEXT NOT NULL,
  subject_kind TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  subject_name TEXT NOT NULL,
  open_key TEXT UNIQUE, -- 'rule_id|subject_kind:subject_id' while not resolved, NULL once resolved
  state TEXT NOT NULL ${oneOf('state', ['open', 'acknowledged', 'resolved'])},
  severity TEXT NOT NULL,
  summary TEXT NOT NULL,
  details TEXT NOT NULL, -- JSON: the condition's figures
  opened_at INTEGER NOT NULL,
  acknowledged_at INTEGER,
  acknowledged_by TEXT,
  resolved_at INTEGER,
  resolved_by TEXT, -- 'condition', or the actor who resolved it
  last_notified_at INTEGER, -- the last firing or repeat notification written
  updated_at INTEGER NOT NULL
) STRICT`).execute(db);
  await sql`CREATE INDEX alert_incidents_by_namespace ON alert_incidents (namespace, state, opened_at, id)`.execute(db);
  await sql`CREATE INDEX alert_incidents_by_state ON alert_incidents (state, opened_at, id)`.execute(db);
  await sql`CREATE INDEX alert_incidents_by_rule ON alert_incidents (rule_id, opened_at, id)`.execute(db);
  await sql.raw(`CREATE TABLE alert_notifications (
  id TEXT PRIMARY KEY NOT NULL, -- also the payload's id, that receivers deduplicate on
  incident_id TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  kind TEXT NOT NULL ${oneOf('kind', ['firing', 'resolved', 'repeat'])},
  state TEXT NOT NULL ${oneOf('state', ['pending', 'sent', 'failed'])},
  payload TEXT NOT NULL, -- JSON: the AlertNotification sent
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  owner TEXT, -- the node sending it, until lease_expires_at
  lease_expires_at INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  sent_at INTEGER
) STRICT`).execute(db);
  await sql`CREATE INDEX alert_notifications_due ON alert_notifications (state, next_attempt_at)`.execute(db);
  await sql`CREATE INDEX alert_notifications_by_incident ON alert_notifications (incident_id, created_at)`.execute(db);
  await sql`CREATE TABLE alert_state (
  id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
  cursor_seq INTEGER NOT NULL, -- the seq of the last event evaluated
  checked_through INTEGER, -- the time through which the periodic checks have looked
  owner TEXT, -- the node evaluating, until lease_expires_at
  lease_expires_at INTEGER
) STRICT`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE alert_state`.execute(db);
  await sql`DROP TABLE alert_notifications`.execute(db);
  await sql`DROP TABLE alert_incidents`.execute(db);
}
