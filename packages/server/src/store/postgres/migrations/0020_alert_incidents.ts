/**
 * Alert incidents and their notifications (issue 19, `store/alert-incidents.ts`): an incident per
 * rule and subject while its condition holds (`open_key`, unique, the pair while the incident is
 * not resolved and NULL once it is: one open incident per pair, as on MySQL, which has no partial
 * index), the notifications of each change of state (sent by one node at a time: `owner` until
 * `lease_expires_at`, the database clock), and the evaluator's cursor in the event log and its
 * lease (`alert_state`, one row, created by the first claim). No foreign key to the rules and
 * channels (`0019_alert_config`): an incident keeps its rule's name and reads without it. As
 * SQLite's and MySQL's `0020_alert_incidents`. No trigger writes events for these tables.
 */
import { sql, type Kysely } from 'kysely';

const KEY = 'text COLLATE "C"';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE alert_incidents (
  id ${KEY} PRIMARY KEY,
  rule_id ${KEY} NOT NULL,
  rule_name text NOT NULL,
  on_kind text NOT NULL, -- the rule's kind (failure, timeout, …)
  namespace ${KEY} NOT NULL,
  subject_kind text NOT NULL,
  subject_id ${KEY} NOT NULL,
  subject_name text NOT NULL,
  open_key ${KEY}, -- 'rule_id|subject_kind:subject_id' while not resolved, NULL once resolved
  state text NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
  severity text NOT NULL,
  summary text NOT NULL,
  details json NOT NULL, -- the condition's figures
  opened_at bigint NOT NULL,
  acknowledged_at bigint,
  acknowledged_by text,
  resolved_at bigint,
  resolved_by text, -- 'condition', or the actor who resolved it
  last_notified_at bigint, -- the last firing or repeat notification written
  updated_at bigint NOT NULL,
  CONSTRAINT alert_incidents_open_key UNIQUE (open_key)
)`).execute(db);
  await sql`CREATE INDEX alert_incidents_by_namespace ON alert_incidents (namespace, state, opened_at, id)`.execute(db);
  await sql`CREATE INDEX alert_incidents_by_state ON alert_incidents (state, opened_at, id)`.execute(db);
  await sql`CREATE INDEX alert_incidents_by_rule ON alert_incidents (rule_id, opened_at, id)`.execute(db);
  await sql.raw(`CREATE TABLE alert_notifications (
  id ${KEY} PRIMARY KEY, -- also the payload's id, that receivers deduplicate on
  incident_id ${KEY} NOT NULL,
  channel_id ${KEY} NOT NULL,
  kind text NOT NULL CHECK (kind IN ('firing', 'resolved', 'repeat')),
  state text NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
  payload json NOT NULL, -- the AlertNotification sent
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL,
  owner ${KEY}, -- the node sending it, until lease_expires_at
  lease_expires_at bigint,
  last_error text,
  created_at bigint NOT NULL,
  sent_at bigint
)`).execute(db);
  await sql`CREATE INDEX alert_notifications_due ON alert_notifications (state, next_attempt_at)`.execute(db);
  await sql`CREATE INDEX alert_notifications_by_incident ON alert_notifications (incident_id, created_at)`.execute(db);
  await sql.raw(`CREATE TABLE alert_state (
  id integer PRIMARY KEY CHECK (id = 1),
  cursor_seq bigint NOT NULL, -- the seq of the last event evaluated
  checked_through bigint, -- the time through which the periodic checks have looked
  owner ${KEY}, -- the node evaluating, until lease_expires_at
  lease_expires_at bigint
)`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE alert_state`.execute(db);
  await sql`DROP TABLE alert_notifications`.execute(db);
  await sql`DROP TABLE alert_incidents`.execute(db);
}
