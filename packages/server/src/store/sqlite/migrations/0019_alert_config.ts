/**
 * Alert channels and alert rules (issue 19): where notifications go (`alert_channels`, secrets in
 * `config`) and what opens incidents (`alert_rules`, naming channels of their namespace by name in
 * `channels`). As the SQL stores' `0019_alert_config`. No trigger writes events for these tables.
 */
import { sql, type Kysely } from 'kysely';

/** See 0001_init: `CHECK (col = 'a' OR …)`, not `IN (…)`. */
const oneOf = (column: string, values: readonly string[]): string => `CHECK (${values.map((value) => `${column} = '${value}'`).join(' OR ')})`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE alert_channels (
  id TEXT PRIMARY KEY NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL, -- rules name their channels by it
  type TEXT NOT NULL ${oneOf('type', ['webhook', 'email', 'slack', 'feishu', 'dingtalk', 'wecom'])},
  config TEXT NOT NULL, -- JSON: the type's settings, secrets included
  locale TEXT NOT NULL ${oneOf('locale', ['en', 'zh'])},
  description TEXT,
  last_error TEXT, -- the last failed send, kept after later successes
  last_error_at INTEGER,
  last_sent_at INTEGER, -- the last send the receiver accepted
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (namespace, name)
) STRICT`).execute(db);
  await sql.raw(`CREATE TABLE alert_rules (
  id TEXT PRIMARY KEY NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  on_kind TEXT NOT NULL ${oneOf('on_kind', ['failure', 'timeout', 'consecutive-failures', 'failure-rate', 'missed-fire', 'late-start', 'long-running', 'no-executor', 'node-lost'])},
  scope TEXT NOT NULL, -- JSON: exactly one of taskId, workflowId, labels, namespace
  params TEXT NOT NULL, -- JSON: the kind's parameters, durations in ms
  severity TEXT NOT NULL ${oneOf('severity', ['info', 'warning', 'critical'])},
  channels TEXT NOT NULL, -- JSON: names of alert channels of the namespace
  repeat_interval_ms INTEGER, -- NULL: notify once
  send_resolved INTEGER NOT NULL, -- 0 or 1
  enabled INTEGER NOT NULL, -- 0 or 1
  description TEXT,
  revision INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (namespace, name)
) STRICT`).execute(db);
  // The evaluator reads the enabled rules of every namespace.
  await sql`CREATE INDEX alert_rules_enabled ON alert_rules (enabled, namespace, name)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE alert_rules`.execute(db);
  await sql`DROP TABLE alert_channels`.execute(db);
}
