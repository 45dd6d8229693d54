/**
 * The first MySQL/MariaDB schema: the tables of SQLite's migrations 0001 to 0003 (tasks, runs and
 * their history, tokens, audit, and the cluster's nodes and bucket leases). Migrations are
 * append-only: never edit this file once released; add `0002_….ts` and register it in
 * `index.ts`, then regenerate `../schema.sql`.
 *
 * MySQL runs DDL outside transactions, so every statement is `IF NOT EXISTS` with its indexes
 * inline: a migration cut short is simply run again. Instants are BIGINT epoch milliseconds (UTC).
 * JSON is MEDIUMTEXT: MySQL 8's JSON type reorders keys, MariaDB's is text anyway. Every table is
 * utf8mb4_bin, so names compare and sort in byte order.
 */
import { sql, type Kysely } from 'kysely';

const oneOf = (column: string, values: readonly string[]): string => `CHECK (${column} IN (${values.map((value) => `'${value}'`).join(', ')}))`;
const RUN_STATUSES = ['pending', 'dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'];
const ATTEMPT_STATUSES = ['dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'lost'];
/** Ids are UUIDs; namespaces and names are at most 128 ASCII characters (the spec's pattern). */
const ID = 'VARCHAR(64)';
const NAME = 'VARCHAR(128)';
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

/** State: what drives the system. Small, hot, never pruned by retention. */
const STATE_TABLES = [
  `CREATE TABLE IF NOT EXISTS tasks (
  id ${ID} NOT NULL PRIMARY KEY,
  namespace ${NAME} NOT NULL,
  name ${NAME} NOT NULL,
  revision INT NOT NULL,
  state VARCHAR(16) NOT NULL ${oneOf('state', ['active', 'paused', 'completed'])},
  spec MEDIUMTEXT NOT NULL,
  next_fire_at BIGINT, -- null: no fire scheduled (manual, finished, or waiting on fixed-delay)
  last_fire_at BIGINT,
  last_run_status VARCHAR(16),
  skipped_fires BIGINT NOT NULL DEFAULT 0,
  anchor_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  bucket INT NOT NULL, -- bucketOf(id): the scheduler node leasing this bucket fires the task
  UNIQUE KEY tasks_name (namespace, name),
  KEY tasks_due (state, next_fire_at, id) -- listDueTasks
) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS task_revisions (
  task_id ${ID} NOT NULL,
  revision INT NOT NULL,
  spec MEDIUMTEXT NOT NULL,
  created_at BIGINT NOT NULL,
  actor VARCHAR(255) NOT NULL,
  PRIMARY KEY (task_id, revision),
  CONSTRAINT task_revisions_task FOREIGN KEY (task_id) REFERENCES tasks (id) ON DELETE CASCADE
) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS api_tokens (
  id ${ID} NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  role VARCHAR(16) NOT NULL ${oneOf('role', ['admin', 'editor', 'viewer'])},
  namespaces MEDIUMTEXT NOT NULL, -- JSON array of namespace names, "*" for all
  secret_hash VARCHAR(128) NOT NULL, -- SHA-256 hex of the secret; the secret is never stored
  created_at BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at BIGINT,
  UNIQUE KEY api_tokens_secret_hash (secret_hash)
) ${TABLE_OPTIONS}`,
  // The cluster: nodes heartbeat here; buckets of tasks are leased to them in terms (epochs).
  `CREATE TABLE IF NOT EXISTS cluster_nodes (
  id ${ID} NOT NULL PRIMARY KEY,
  address VARCHAR(2048),
  roles MEDIUMTEXT NOT NULL, -- JSON array of role names
  version VARCHAR(64) NOT NULL,
  started_at BIGINT NOT NULL,
  heartbeat_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS bucket_leases (
  bucket INT NOT NULL PRIMARY KEY,
  owner ${ID} NOT NULL,
  epoch BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
) ${TABLE_OPTIONS}`,
];

/** History: what happened. Pruned by retention; no foreign key to state (runs outlive their task). */
const HISTORY_TABLES = [
  `CREATE TABLE IF NOT EXISTS runs (
  id ${ID} NOT NULL PRIMARY KEY, -- UUIDv7: ordering by id is ordering by creation
  task_id ${ID} NOT NULL,
  namespace ${NAME} NOT NULL,
  task_name ${NAME} NOT NULL,
  task_revision INT NOT NULL,
  \`trigger\` VARCHAR(16) NOT NULL ${oneOf('`trigger`', ['schedule', 'manual'])},
  scheduled_at BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL ${oneOf('status', RUN_STATUSES)},
  attempt INT NOT NULL DEFAULT 0, -- current attempt; 0 before the first dispatch
  params MEDIUMTEXT NOT NULL, -- JSON object
  progress DOUBLE,
  output MEDIUMTEXT, -- JSON, capped (see history-caps.ts)
  error MEDIUMTEXT,
  next_attempt_at BIGINT,
  deadline_at BIGINT,
  report_seq BIGINT NOT NULL DEFAULT -1, -- highest callback seq of the current attempt
  owner ${ID}, -- the scheduler node supervising the run; null when none does yet
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT, -- set exactly when the status becomes final
  -- The task of a scheduled run, null for a manual one: MySQL has no partial unique index.
  fire_task_id ${ID} AS (CASE WHEN \`trigger\` = 'schedule' THEN task_id END) STORED,
  -- Fire identity: a scheduled fire (task_id, scheduled_at) is recorded at most once (NULLs of
  -- manual runs never collide). scheduled_at leads so that a batch of fires appends at the end.
  UNIQUE KEY runs_fire (scheduled_at, fire_task_id),
  KEY runs_task (task_id, id), -- a task's history, newest first
  -- Runs not yet final lead (finished_at IS NULL), by task; retention walks the ended ones in order.
  KEY runs_finished (finished_at, task_id, id),
  CONSTRAINT runs_final CHECK ((finished_at IS NULL) = (status IN ('pending', 'dispatched', 'running')))
) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS attempts (
  run_id ${ID} NOT NULL,
  number INT NOT NULL,
  status VARCHAR(16) NOT NULL ${oneOf('status', ATTEMPT_STATUSES)},
  executor VARCHAR(255),
  started_at BIGINT NOT NULL,
  finished_at BIGINT,
  error MEDIUMTEXT,
  output MEDIUMTEXT, -- JSON, capped
  PRIMARY KEY (run_id, number),
  CONSTRAINT attempts_run FOREIGN KEY (run_id) REFERENCES runs (id) ON DELETE CASCADE
) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS run_logs (
  run_id ${ID} NOT NULL,
  seq INT NOT NULL, -- 1, 2, … per run
  attempt INT NOT NULL,
  at BIGINT NOT NULL,
  level VARCHAR(8) NOT NULL ${oneOf('level', ['debug', 'info', 'warn', 'error'])},
  message MEDIUMTEXT NOT NULL,
  PRIMARY KEY (run_id, seq),
  CONSTRAINT run_logs_run FOREIGN KEY (run_id) REFERENCES runs (id) ON DELETE CASCADE
) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS audit_log (
  id ${ID} NOT NULL PRIMARY KEY, -- UUIDv7
  at BIGINT NOT NULL,
  actor VARCHAR(255) NOT NULL,
  action VARCHAR(128) NOT NULL,
  resource_type VARCHAR(64) NOT NULL,
  resource_id VARCHAR(255),
  details MEDIUMTEXT, -- JSON
  KEY audit_log_resource (resource_id, id),
  KEY audit_log_action (action, id)
) ${TABLE_OPTIONS}`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of [...STATE_TABLES, ...HISTORY_TABLES]) await sql.raw(statement).execute(db);
}
