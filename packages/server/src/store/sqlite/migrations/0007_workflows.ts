/**
 * Workflows (see `core/workflow/`): a workflow is a row of `tasks` with `kind = 'workflow'`, so
 * that it is fired by the same buckets, fires and policies as a task. A workflow run is the run of
 * one of its fires (`runs.workflow_run_id` = its own id); each node that runs gets an ordinary run
 * (`workflow_run_id` = the workflow run, `node_id` = the node). `workflow_nodes` holds the state of
 * every node of every workflow run, changed only in the transactions that end its runs or act on
 * the workflow run. `backfills` holds each backfill of a task or workflow: the fires its schedule
 * would have had in a past range, created by one scheduler node at a time. As the SQL stores'
 * `0007_workflows`.
 */
import { sql, type Kysely } from 'kysely';

const NODE_STATUSES = ['waiting', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'];
const oneOf = (column: string, values: readonly string[]): string => `CHECK (${values.map((value) => `${column} = '${value}'`).join(' OR ')})`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE tasks ADD COLUMN kind TEXT NOT NULL DEFAULT 'task'`.execute(db);
  await sql`ALTER TABLE runs ADD COLUMN workflow_run_id TEXT`.execute(db);
  await sql`ALTER TABLE runs ADD COLUMN node_id TEXT`.execute(db);
  await sql`CREATE INDEX runs_workflow ON runs (workflow_run_id, id) WHERE workflow_run_id IS NOT NULL`.execute(db);
  await sql`ALTER TABLE runs ADD COLUMN backfill_id TEXT`.execute(db);
  await sql`CREATE INDEX runs_backfill ON runs (backfill_id, status) WHERE backfill_id IS NOT NULL`.execute(db);
  await sql.raw(`CREATE TABLE workflow_nodes (
  workflow_run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  node_id TEXT NOT NULL,
  status TEXT NOT NULL ${oneOf('status', NODE_STATUSES)},
  reason TEXT, -- why a node was skipped or failed without a run
  run_id TEXT, -- its latest run; null before it ran (or when marked by hand)
  attempts INTEGER NOT NULL DEFAULT 0, -- runs it was given in this workflow run (reruns included)
  output TEXT, -- JSON: its latest run's output, or the output it was marked succeeded with
  started_at INTEGER,
  finished_at INTEGER,
  PRIMARY KEY (workflow_run_id, node_id)
) STRICT, WITHOUT ROWID`).execute(db);
  await sql.raw(BACKFILLS).execute(db);
  await sql`CREATE INDEX backfills_task ON backfills (task_id, id)`.execute(db);
  await sql`CREATE INDEX backfills_running ON backfills (status) WHERE status = 'running'`.execute(db);
}

const BACKFILLS = `CREATE TABLE backfills (
  id TEXT PRIMARY KEY NOT NULL,
  task_id TEXT NOT NULL, -- a task or a workflow; kept when it is deleted (the backfill then fails)
  namespace TEXT NOT NULL,
  from_at INTEGER NOT NULL, -- first instant (inclusive)
  to_at INTEGER NOT NULL, -- last instant (inclusive)
  concurrency INTEGER NOT NULL, -- runs of the backfill active at once, at most
  total INTEGER NOT NULL, -- fires of the schedule in the range
  cursor_at INTEGER, -- the last instant handled; null before the first
  created INTEGER NOT NULL DEFAULT 0, -- fires created
  skipped INTEGER NOT NULL DEFAULT 0, -- instants that had a fire already
  status TEXT NOT NULL ${oneOf('status', ['running', 'succeeded', 'cancelled', 'failed'])},
  error TEXT,
  owner TEXT, -- the scheduler node creating its fires
  actor TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER
) STRICT`;

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE backfills`.execute(db);
  await sql`DROP TABLE workflow_nodes`.execute(db);
  await sql`DROP INDEX runs_backfill`.execute(db);
  await sql`ALTER TABLE runs DROP COLUMN backfill_id`.execute(db);
  await sql`DROP INDEX runs_workflow`.execute(db);
  await sql`ALTER TABLE runs DROP COLUMN node_id`.execute(db);
  await sql`ALTER TABLE runs DROP COLUMN workflow_run_id`.execute(db);
  await sql`ALTER TABLE tasks DROP COLUMN kind`.execute(db);
}
