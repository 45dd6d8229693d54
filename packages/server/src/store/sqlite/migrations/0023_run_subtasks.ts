/**
 * Map/reduce (issue 20, `store/run-subtasks.ts`): a run's map (`run_maps`, one row per run: the
 * attempt that emitted it, its options and state) and its subtasks (`run_subtasks`, keyed by run
 * and index; the reduce is index -1). Both go with their run (ON DELETE CASCADE). As the SQL
 * stores' `0023_run_subtasks`. No trigger writes events for these tables.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE run_maps (
  run_id TEXT PRIMARY KEY NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  namespace TEXT NOT NULL,
  group_name TEXT NOT NULL,
  state TEXT NOT NULL, -- mapping | running | reducing | succeeded | failed | cancelled
  reduce_handler TEXT,
  max_attempts INTEGER NOT NULL,
  on_failure TEXT NOT NULL, -- fail-run | continue
  max_failed_ratio REAL,
  backoff TEXT NOT NULL, -- JSON: the task's retry backoff
  total INTEGER NOT NULL,
  output TEXT, -- JSON
  error TEXT,
  created_at INTEGER NOT NULL,
  sealed_at INTEGER,
  finished_at INTEGER
) STRICT`).execute(db);
  await sql`CREATE INDEX run_maps_state ON run_maps (state)`.execute(db);
  await sql.raw(`CREATE TABLE run_subtasks (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL, -- -1: the reduce
  attempt INTEGER NOT NULL,
  namespace TEXT NOT NULL,
  group_name TEXT NOT NULL,
  kind TEXT NOT NULL, -- map | reduce
  handler TEXT NOT NULL,
  payload TEXT NOT NULL, -- JSON
  state TEXT NOT NULL, -- pending | running | succeeded | failed | cancelled
  lease INTEGER NOT NULL, -- claims so far: the fencing number of the current one
  lost INTEGER NOT NULL, -- claims ended by an expired lease
  max_attempts INTEGER NOT NULL,
  executors TEXT NOT NULL, -- JSON: the nodes of each claim
  last_executor TEXT,
  available_at INTEGER NOT NULL,
  lease_expires_at INTEGER,
  output TEXT, -- JSON
  error TEXT,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  PRIMARY KEY (run_id, idx)
) STRICT`).execute(db);
  // Claims: the pending subtasks of a group, by when they become available.
  await sql`CREATE INDEX run_subtasks_claim ON run_subtasks (namespace, group_name, available_at) WHERE state = 'pending'`.execute(db);
  // The sweep: running subtasks by lease expiry.
  await sql`CREATE INDEX run_subtasks_lease ON run_subtasks (lease_expires_at) WHERE state = 'running'`.execute(db);
  // A run's subtasks in one state (counts, listings, "is any left").
  await sql`CREATE INDEX run_subtasks_run_state ON run_subtasks (run_id, state, idx)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE run_subtasks`.execute(db);
  await sql`DROP TABLE run_maps`.execute(db);
}
