/**
 * Namespace quotas exact across the cluster (issue 17): the run status `throttled` (a run waiting
 * for its namespace's quota before its first attempt; not final) and `quota_slots`, one row per
 * run admitted in a namespace that limits its concurrent runs or fires per minute. A slot holds
 * while its run is not final; its `admitted_at` counts towards the fires of the last minute. Rows
 * whose run ended more than a minute after admission are pruned by the admissions themselves
 * (`store/quota-admission.ts`).
 *
 * SQLite cannot alter a CHECK constraint, so `runs` is rebuilt as `0004_executors` did (see there
 * why foreign keys must be off, which `migrate.ts` ensures).
 */
import { sql, type Kysely } from 'kysely';

const oneOf = (column: string, values: readonly string[]): string => `CHECK (${values.map((value) => `${column} = '${value}'`).join(' OR ')})`;
const RUN_STATUSES = ['pending', 'no_executor', 'throttled', 'dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'];
/** Statuses of runs not yet final: exactly those without finished_at. */
const ACTIVE_RUN_STATUSES = ['pending', 'no_executor', 'throttled', 'dispatched', 'running'];

/** The columns of `runs` as 0004 and 0007 left them, in table order. */
const RUN_COLUMNS = 'id, task_id, namespace, task_name, task_revision, trigger, scheduled_at, status, attempt, params, progress, output, error, '
  + 'next_attempt_at, deadline_at, report_seq, created_at, started_at, finished_at, owner, workflow_run_id, node_id, backfill_id';

const runsTable = (name: string, statuses: readonly string[], active: readonly string[]): string => `CREATE TABLE ${name} (
  id TEXT PRIMARY KEY NOT NULL, -- UUIDv7: ordering by id is ordering by creation
  task_id TEXT NOT NULL,
  namespace TEXT NOT NULL,
  task_name TEXT NOT NULL,
  task_revision INTEGER NOT NULL,
  trigger TEXT NOT NULL ${oneOf('trigger', ['schedule', 'manual'])},
  scheduled_at INTEGER NOT NULL,
  status TEXT NOT NULL ${oneOf('status', statuses)},
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
  workflow_run_id TEXT,
  node_id TEXT,
  backfill_id TEXT,
  CONSTRAINT runs_final CHECK ((finished_at IS NULL) = (${active.map((status) => `status = '${status}'`).join(' OR ')}))
) STRICT`;

/** The indexes of `runs` (0001, 0002, 0007), recreated as they were: dropping the table dropped them. */
const RUN_INDEXES = [
  `CREATE UNIQUE INDEX runs_fire ON runs (scheduled_at, task_id) WHERE trigger = 'schedule'`,
  `CREATE INDEX runs_task ON runs (task_id, id)`,
  `CREATE INDEX runs_active ON runs (task_id, id) WHERE finished_at IS NULL`,
  `CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL`,
  `CREATE INDEX runs_workflow ON runs (workflow_run_id, id) WHERE workflow_run_id IS NOT NULL`,
  `CREATE INDEX runs_backfill ON runs (backfill_id, status) WHERE backfill_id IS NOT NULL`,
];

async function rebuildRuns(db: Kysely<unknown>, statuses: readonly string[], active: readonly string[]): Promise<void> {
  const { rows: [pragma] } = await sql<{ foreign_keys: number }>`PRAGMA foreign_keys`.execute(db);
  if (pragma?.foreign_keys !== 0) {
    throw new Error('0012_quota_slots rebuilds the runs table and must run with foreign keys off (dropping runs would cascade to attempts and run_logs)');
  }
  await sql.raw(runsTable('runs_new', statuses, active)).execute(db);
  await sql.raw(`INSERT INTO runs_new (${RUN_COLUMNS}) SELECT ${RUN_COLUMNS} FROM runs ORDER BY rowid`).execute(db);
  await sql`DROP TABLE runs`.execute(db);
  await sql`ALTER TABLE runs_new RENAME TO runs`.execute(db);
  for (const statement of RUN_INDEXES) await sql.raw(statement).execute(db);
  const { rows: broken } = await sql<Record<string, unknown>>`PRAGMA foreign_key_check`.execute(db);
  if (broken.length > 0) throw new Error(`0012_quota_slots left ${broken.length} foreign key violations, first ${JSON.stringify(broken[0])}`);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await rebuildRuns(db, RUN_STATUSES, ACTIVE_RUN_STATUSES);
  await sql`CREATE TABLE quota_slots (
  run_id TEXT PRIMARY KEY NOT NULL,
  namespace TEXT NOT NULL,
  admitted_at INTEGER NOT NULL
) STRICT`.execute(db);
  await sql`CREATE INDEX quota_slots_namespace ON quota_slots (namespace, admitted_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE quota_slots`.execute(db);
  await sql`UPDATE runs SET status = 'pending' WHERE status = 'throttled'`.execute(db);
  await rebuildRuns(db, RUN_STATUSES.filter((s) => s !== 'throttled'), ACTIVE_RUN_STATUSES.filter((s) => s !== 'throttled'));
}
