/**
 * The first PostgreSQL schema: the tables of SQLite's migrations 0001 to 0003 (tasks, runs and
 * their history, tokens, audit, and the cluster's nodes and bucket leases).
 * Migrations are append-only: never edit this file once released; add `0002_….ts` and register
 * it in `index.ts`, then regenerate `../schema.sql`.
 *
 * Instants are BIGINT epoch milliseconds (UTC): no time zone or precision drift, and the year
 * 9999 fits. JSON is `json`, which keeps the text as written (key order included; `jsonb` would
 * reorder keys) and is checked on the way in. Keys and names are `COLLATE "C"`: byte order,
 * which is also the cheapest to compare.
 */
import { sql, type Kysely } from 'kysely';

const oneOf = (column: string, values: readonly string[]): string => `CHECK (${column} IN (${values.map((value) => `'${value}'`).join(', ')}))`;
const RUN_STATUSES = ['pending', 'dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'];
const ATTEMPT_STATUSES = ['dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'lost'];
const KEY = 'text COLLATE "C"';

/** State: what drives the system. Small, hot, never pruned by retention. */
const STATE_TABLES = [
  `CREATE TABLE tasks (
  id ${KEY} PRIMARY KEY,
  namespace ${KEY} NOT NULL,
  name ${KEY} NOT NULL,
  revision integer NOT NULL,
  state text NOT NULL ${oneOf('state', ['active', 'paused', 'completed'])},
  spec json NOT NULL,
  next_fire_at bigint, -- null: no fire scheduled (manual, finished, or waiting on fixed-delay)
  last_fire_at bigint,
  last_run_status text,
  skipped_fires bigint NOT NULL DEFAULT 0,
  anchor_at bigint NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  bucket integer NOT NULL, -- bucketOf(id): the scheduler node leasing this bucket fires the task
  CONSTRAINT tasks_name UNIQUE (namespace, name)
)`,
  // listDueTasks: active tasks in fire order, and nothing else; a node's share filters by bucket.
  `CREATE INDEX tasks_due ON tasks (next_fire_at, id) WHERE state = 'active'`,
  `CREATE TABLE task_revisions (
  task_id ${KEY} NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  revision integer NOT NULL,
  spec json NOT NULL,
  created_at bigint NOT NULL,
  actor text NOT NULL,
  PRIMARY KEY (task_id, revision)
)`,
  `CREATE TABLE api_tokens (
  id ${KEY} PRIMARY KEY,
  name text NOT NULL,
  role text NOT NULL ${oneOf('role', ['admin', 'editor', 'viewer'])},
  namespaces json NOT NULL, -- array of namespace names, "*" for all
  secret_hash ${KEY} NOT NULL UNIQUE, -- SHA-256 hex of the secret; the secret is never stored
  created_at bigint NOT NULL,
  last_used_at bigint,
  revoked_at bigint
)`,
  // The cluster: nodes heartbeat here; buckets of tasks are leased to them in terms (epochs).
  `CREATE TABLE cluster_nodes (
  id ${KEY} PRIMARY KEY,
  address text,
  roles json NOT NULL, -- array of role names
  version text NOT NULL,
  started_at bigint NOT NULL,
  heartbeat_at bigint NOT NULL,
  expires_at bigint NOT NULL
)`,
  `CREATE TABLE bucket_leases (
  bucket integer PRIMARY KEY,
  owner ${KEY} NOT NULL,
  epoch bigint NOT NULL,
  expires_at bigint NOT NULL
)`,
];

/** History: what happened. Pruned by retention; no foreign key to state (runs outlive their task). */
const HISTORY_TABLES = [
  `CREATE TABLE runs (
  id ${KEY} PRIMARY KEY, -- UUIDv7: ordering by id is ordering by creation
  task_id ${KEY} NOT NULL,
  namespace ${KEY} NOT NULL,
  task_name ${KEY} NOT NULL,
  task_revision integer NOT NULL,
  trigger text NOT NULL ${oneOf('trigger', ['schedule', 'manual'])},
  scheduled_at bigint NOT NULL,
  status text NOT NULL ${oneOf('status', RUN_STATUSES)},
  attempt integer NOT NULL DEFAULT 0, -- current attempt; 0 before the first dispatch
  params json NOT NULL,
  progress double precision,
  output json, -- capped (see history-caps.ts)
  error text,
  next_attempt_at bigint,
  deadline_at bigint,
  report_seq bigint NOT NULL DEFAULT -1, -- highest callback seq of the current attempt
  owner text, -- the scheduler node supervising the run; null when none does yet
  created_at bigint NOT NULL,
  started_at bigint,
  finished_at bigint, -- set exactly when the status becomes final
  CONSTRAINT runs_final CHECK ((finished_at IS NULL) = (status IN ('pending', 'dispatched', 'running')))
)`,
  // Fire identity: a scheduled fire (task_id, scheduled_at) is recorded at most once; manual runs
  // are not constrained. scheduled_at leads so that a batch of fires appends at the index's end.
  `CREATE UNIQUE INDEX runs_fire ON runs (scheduled_at, task_id) WHERE trigger = 'schedule'`,
  // A task's history, newest first.
  `CREATE INDEX runs_task ON runs (task_id, id)`,
  // Runs not yet final, in a small partial index: overlap checks and recovery never scan history.
  `CREATE INDEX runs_active ON runs (task_id, id) WHERE finished_at IS NULL`,
  // History retention: ended runs, oldest ended first.
  `CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL`,
  `CREATE TABLE attempts (
  run_id ${KEY} NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  number integer NOT NULL,
  status text NOT NULL ${oneOf('status', ATTEMPT_STATUSES)},
  executor text,
  started_at bigint NOT NULL,
  finished_at bigint,
  error text,
  output json, -- capped
  PRIMARY KEY (run_id, number)
)`,
  `CREATE TABLE run_logs (
  run_id ${KEY} NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  seq integer NOT NULL, -- 1, 2, … per run
  attempt integer NOT NULL,
  at bigint NOT NULL,
  level text NOT NULL ${oneOf('level', ['debug', 'info', 'warn', 'error'])},
  message text NOT NULL,
  PRIMARY KEY (run_id, seq)
)`,
  `CREATE TABLE audit_log (
  id ${KEY} PRIMARY KEY, -- UUIDv7
  at bigint NOT NULL,
  actor text NOT NULL,
  action ${KEY} NOT NULL,
  resource_type text NOT NULL,
  resource_id ${KEY},
  details json
)`,
  `CREATE INDEX audit_log_resource ON audit_log (resource_id, id)`,
  `CREATE INDEX audit_log_action ON audit_log (action, id)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of [...STATE_TABLES, ...HISTORY_TABLES]) await sql.raw(statement).execute(db);
}
