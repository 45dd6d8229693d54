/**
 * The first schema. Migrations are append-only: never edit this file once released; add
 * `0002_….ts` and register it in `index.ts`.
 *
 * Instants are INTEGER epoch milliseconds (UTC); JSON is TEXT. Tables are STRICT so that a wrong
 * type fails loudly instead of being stored as-is.
 */
import { sql, type Kysely } from 'kysely';

/**
 * `CHECK (col = 'a' OR col = 'b' …)`. Not `IN (…)`: SQLite builds an ephemeral table for an IN
 * list on every statement execution, which doubled the cost of inserting a run.
 */
const oneOf = (column: string, values: readonly string[]): string => `CHECK (${values.map((value) => `${column} = '${value}'`).join(' OR ')})`;
const RUN_STATUSES = ['pending', 'dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'];
const ATTEMPT_STATUSES = ['dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'lost'];

/** State: what drives the system. Small, hot, never pruned by retention. */
const STATE_TABLES = [
  `CREATE TABLE tasks (
  id TEXT PRIMARY KEY NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  revision INTEGER NOT NULL,
  state TEXT NOT NULL ${oneOf('state', ['active', 'paused', 'completed'])},
  spec TEXT NOT NULL, -- the TaskSpec as JSON
  next_fire_at INTEGER, -- null: no fire scheduled (manual, finished, or waiting on fixed-delay)
  last_fire_at INTEGER,
  last_run_status TEXT,
  skipped_fires INTEGER NOT NULL DEFAULT 0,
  anchor_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (namespace, name)
) STRICT`,
  // listDueTasks and the fire compare-and-set.
  `CREATE INDEX tasks_due ON tasks (state, next_fire_at)`,
  // A task's revisions go with the task: deleted with it.
  `CREATE TABLE task_revisions (
  task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  revision INTEGER NOT NULL,
  spec TEXT NOT NULL, -- JSON
  created_at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  PRIMARY KEY (task_id, revision)
) STRICT`,
  `CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  role TEXT NOT NULL ${oneOf('role', ['admin', 'editor', 'viewer'])},
  namespaces TEXT NOT NULL, -- JSON array of namespace names, "*" for all
  secret_hash TEXT NOT NULL UNIQUE, -- SHA-256 hex of the secret; the secret is never stored
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at INTEGER
) STRICT`,
];

/**
 * History: what happened. Grows without bound and is pruned by retention, so nothing in state
 * references it and it holds no foreign key to state (runs outlive their task).
 */
const HISTORY_TABLES = [
  `CREATE TABLE runs (
  id TEXT PRIMARY KEY NOT NULL, -- UUIDv7: ordering by id is ordering by creation
  task_id TEXT NOT NULL,
  namespace TEXT NOT NULL,
  task_name TEXT NOT NULL,
  task_revision INTEGER NOT NULL,
  trigger TEXT NOT NULL ${oneOf('trigger', ['schedule', 'manual'])},
  scheduled_at INTEGER NOT NULL,
  status TEXT NOT NULL ${oneOf('status', RUN_STATUSES)},
  attempt INTEGER NOT NULL DEFAULT 0, -- current attempt; 0 before the first dispatch
  params TEXT NOT NULL, -- JSON object
  progress REAL,
  output TEXT, -- JSON, capped (see history-caps.ts)
  error TEXT,
  next_attempt_at INTEGER,
  deadline_at INTEGER,
  report_seq INTEGER NOT NULL DEFAULT -1, -- highest callback seq of the current attempt
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER, -- set exactly when the status becomes final
  CHECK ((finished_at IS NULL) = (status = 'pending' OR status = 'dispatched' OR status = 'running'))
) STRICT`,
  // Fire identity: a scheduled fire (task_id, scheduled_at) is recorded at most once; manual runs
  // are not constrained. scheduled_at leads so that a batch of fires appends at the index's end
  // instead of dirtying one page per task.
  `CREATE UNIQUE INDEX runs_fire ON runs (scheduled_at, task_id) WHERE trigger = 'schedule'`,
  // A task's history, newest first.
  `CREATE INDEX runs_task ON runs (task_id, id)`,
  // Runs not yet final (pending, dispatched, running: exactly those without finished_at), in a
  // small partial index, so overlap checks and recovery never scan history. Every index here
  // costs each fire an insert: add one only for a query that needs it.
  `CREATE INDEX runs_active ON runs (task_id, id) WHERE finished_at IS NULL`,
  `CREATE TABLE attempts (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  number INTEGER NOT NULL,
  status TEXT NOT NULL ${oneOf('status', ATTEMPT_STATUSES)},
  executor TEXT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  error TEXT,
  output TEXT, -- JSON, capped
  PRIMARY KEY (run_id, number)
) STRICT, WITHOUT ROWID`,
  `CREATE TABLE run_logs (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL, -- 1, 2, … per run
  attempt INTEGER NOT NULL,
  at INTEGER NOT NULL,
  level TEXT NOT NULL ${oneOf('level', ['debug', 'info', 'warn', 'error'])},
  message TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
) STRICT, WITHOUT ROWID`,
  `CREATE TABLE audit_log (
  id TEXT PRIMARY KEY NOT NULL, -- UUIDv7
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  resource_type TEXT NOT NULL,
  resource_id TEXT,
  details TEXT -- JSON
) STRICT`,
  `CREATE INDEX audit_log_resource ON audit_log (resource_id, id)`,
  `CREATE INDEX audit_log_action ON audit_log (action, id)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of [...STATE_TABLES, ...HISTORY_TABLES]) await sql.raw(statement).execute(db);
}
