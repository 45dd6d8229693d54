/**
 * The executor registry (`executor_nodes`: nodes of executor groups and their heartbeats) and the
 * run status `no_executor` (a run waiting for a live node of its executor group).
 *
 * SQLite cannot alter a CHECK constraint, so `runs` is rebuilt by the 12-step procedure of
 * https://www.sqlite.org/lang_altertable.html#otheralter: create `runs_new` with the new checks,
 * copy every row, drop `runs`, rename `runs_new` to `runs`, recreate its indexes, then check the
 * foreign keys. (The shorter `writable_schema` procedure is refused by `node:sqlite`, which opens
 * databases in defensive mode.)
 *
 * Foreign keys must be OFF while it runs: with them on, dropping `runs` would first delete its
 * rows, and ON DELETE CASCADE would delete every attempt and log line with them. The pragma is a
 * no-op inside a transaction, so `migrate.ts` turns it off before the migrator's transaction
 * begins; this migration refuses to run when it is still on.
 */
import { sql, type Kysely } from 'kysely';

/** See 0001_init: `CHECK (col = 'a' OR …)`, not `IN (…)`, which costs an ephemeral table per statement. */
const oneOf = (column: string, values: readonly string[]): string => `CHECK (${values.map((value) => `${column} = '${value}'`).join(' OR ')})`;
const RUN_STATUSES = ['pending', 'no_executor', 'dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'];
/** Statuses of runs not yet final: exactly those without finished_at. */
const ACTIVE_RUN_STATUSES = ['pending', 'no_executor', 'dispatched', 'running'];

/** The columns of `runs` as 0001 and 0003 left them, in table order. */
const RUN_COLUMNS = 'id, task_id, namespace, task_name, task_revision, trigger, scheduled_at, status, attempt, params, progress, output, error, '
  + 'next_attempt_at, deadline_at, report_seq, created_at, started_at, finished_at, owner';

const RUNS_NEW = `CREATE TABLE runs_new (
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
  owner TEXT, -- the scheduler node supervising the run; null when none does yet
  CONSTRAINT runs_final CHECK ((finished_at IS NULL) = (${ACTIVE_RUN_STATUSES.map((status) => `status = '${status}'`).join(' OR ')}))
) STRICT`;

/** The indexes of `runs` (0001, 0002), recreated as they were: dropping the table dropped them. */
const RUN_INDEXES = [
  `CREATE UNIQUE INDEX runs_fire ON runs (scheduled_at, task_id) WHERE trigger = 'schedule'`,
  `CREATE INDEX runs_task ON runs (task_id, id)`,
  `CREATE INDEX runs_active ON runs (task_id, id) WHERE finished_at IS NULL`,
  `CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL`,
];

const EXECUTOR_NODES = `CREATE TABLE executor_nodes (
  id TEXT PRIMARY KEY NOT NULL,
  "group" TEXT NOT NULL,
  mode TEXT NOT NULL ${oneOf('mode', ['push', 'pull'])},
  transport TEXT NOT NULL ${oneOf('transport', ['http', 'grpc'])},
  address TEXT, -- where runs are sent in push mode; null in pull mode
  labels TEXT NOT NULL, -- JSON object
  weight INTEGER NOT NULL,
  handlers TEXT NOT NULL, -- JSON array
  version TEXT NOT NULL,
  inflight INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT`;

export async function up(db: Kysely<unknown>): Promise<void> {
  const { rows: [pragma] } = await sql<{ foreign_keys: number }>`PRAGMA foreign_keys`.execute(db);
  if (pragma?.foreign_keys !== 0) {
    throw new Error('0004_executors rebuilds the runs table and must run with foreign keys off (dropping runs would cascade to attempts and run_logs)');
  }
  await sql.raw(EXECUTOR_NODES).execute(db);
  await sql`CREATE INDEX executor_nodes_group ON executor_nodes ("group", id)`.execute(db);

  await sql.raw(RUNS_NEW).execute(db);
  await sql.raw(`INSERT INTO runs_new (${RUN_COLUMNS}) SELECT ${RUN_COLUMNS} FROM runs ORDER BY rowid`).execute(db);
  await sql`DROP TABLE runs`.execute(db);
  await sql`ALTER TABLE runs_new RENAME TO runs`.execute(db);
  for (const statement of RUN_INDEXES) await sql.raw(statement).execute(db);
  const { rows: broken } = await sql<Record<string, unknown>>`PRAGMA foreign_key_check`.execute(db);
  if (broken.length > 0) throw new Error(`0004_executors left ${broken.length} foreign key violations, first ${JSON.stringify(broken[0])}`);
}
