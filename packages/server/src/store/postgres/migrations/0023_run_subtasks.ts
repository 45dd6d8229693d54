/**
 * Map/reduce (issue 20, `store/run-subtasks.ts`): a run's map (`run_maps`, one row per run: the
 * attempt that emitted it, its options and state) and its subtasks (`run_subtasks`, keyed by run
 * and index; the reduce is index -1). Both go with their run (ON DELETE CASCADE). As SQLite's and
 * MySQL's `0023_run_subtasks`. No trigger writes events for these tables.
 */
import { sql, type Kysely } from 'kysely';

const KEY = 'text COLLATE "C"';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE run_maps (
  run_id ${KEY} PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  namespace ${KEY} NOT NULL,
  group_name ${KEY} NOT NULL,
  state text NOT NULL, -- mapping | running | reducing | succeeded | failed | cancelled
  reduce_handler text,
  max_attempts integer NOT NULL,
  on_failure text NOT NULL, -- fail-run | continue
  max_failed_ratio double precision,
  backoff json NOT NULL, -- the task's retry backoff
  total integer NOT NULL,
  output json,
  error text,
  created_at bigint NOT NULL,
  sealed_at bigint,
  finished_at bigint
)`).execute(db);
  await sql`CREATE INDEX run_maps_state ON run_maps (state)`.execute(db);
  await sql.raw(`CREATE TABLE run_subtasks (
  run_id ${KEY} NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  idx integer NOT NULL, -- -1: the reduce
  attempt integer NOT NULL,
  namespace ${KEY} NOT NULL,
  group_name ${KEY} NOT NULL,
  kind text NOT NULL, -- map | reduce
  handler ${KEY} NOT NULL,
  payload json NOT NULL,
  state text NOT NULL, -- pending | running | succeeded | failed | cancelled
  lease integer NOT NULL, -- claims so far: the fencing number of the current one
  lost integer NOT NULL, -- claims ended by an expired lease
  max_attempts integer NOT NULL,
  executors json NOT NULL, -- the nodes of each claim
  last_executor text,
  available_at bigint NOT NULL,
  lease_expires_at bigint,
  output json,
  error text,
  created_at bigint NOT NULL,
  started_at bigint,
  finished_at bigint,
  PRIMARY KEY (run_id, idx)
)`).execute(db);
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
