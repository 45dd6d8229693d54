/**
 * Alert channels and alert rules (issue 19): where notifications go (`alert_channels`, secrets in
 * `config`) and what opens incidents (`alert_rules`, naming channels of their namespace by name in
 * `channels`). As SQLite's and MySQL's `0019_alert_config`. No trigger writes events for these tables.
 */
import { sql, type Kysely } from 'kysely';

const KEY = 'text COLLATE "C"';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE alert_channels (
  id ${KEY} PRIMARY KEY,
  namespace ${KEY} NOT NULL,
  name ${KEY} NOT NULL, -- rules name their channels by it
  type text NOT NULL CHECK (type IN ('webhook', 'email', 'slack', 'feishu', 'dingtalk', 'wecom')),
  config json NOT NULL, -- the type's settings, secrets included
  locale text NOT NULL CHECK (locale IN ('en', 'zh')),
  description text,
  last_error text, -- the last failed send, kept after later successes
  last_error_at bigint,
  last_sent_at bigint, -- the last send the receiver accepted
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  CONSTRAINT alert_channels_name UNIQUE (namespace, name)
)`).execute(db);
  await sql.raw(`CREATE TABLE alert_rules (
  id ${KEY} PRIMARY KEY,
  namespace ${KEY} NOT NULL,
  name ${KEY} NOT NULL,
  on_kind text NOT NULL CHECK (on_kind IN ('failure', 'timeout', 'consecutive-failures', 'failure-rate', 'missed-fire', 'late-start', 'long-running', 'no-executor', 'node-lost')),
  scope json NOT NULL, -- exactly one of taskId, workflowId, labels, namespace
  params json NOT NULL, -- the kind's parameters, durations in ms
  severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  channels json NOT NULL, -- names of alert channels of the namespace
  repeat_interval_ms bigint, -- NULL: notify once
  send_resolved smallint NOT NULL CHECK (send_resolved IN (0, 1)),
  enabled smallint NOT NULL CHECK (enabled IN (0, 1)),
  description text,
  revision integer NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  CONSTRAINT alert_rules_name UNIQUE (namespace, name)
)`).execute(db);
  // The evaluator reads the enabled rules of every namespace.
  await sql`CREATE INDEX alert_rules_enabled ON alert_rules (enabled, namespace, name)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE alert_rules`.execute(db);
  await sql`DROP TABLE alert_channels`.execute(db);
}
