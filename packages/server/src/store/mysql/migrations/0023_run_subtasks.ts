/**
 * As PostgreSQL's `0023_run_subtasks`: a run's map (`run_maps`) and its subtasks (`run_subtasks`,
 * keyed by run and index; the reduce is index -1), both going with their run. MySQL has no partial
 * index: the claim and sweep indexes lead with the state.
 *
 * MySQL runs DDL outside transactions, so this migration may be cut short and run again: each
 * table is created with its keys in one statement, `IF NOT EXISTS`.
 */
import { sql, type Kysely } from 'kysely';

/** Ids are UUIDs; namespaces, groups and handlers at most 128 characters (the API's patterns). */
const ID = 'VARCHAR(64)';
const NAME = 'VARCHAR(128)';
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE IF NOT EXISTS run_maps (
  run_id ${ID} NOT NULL PRIMARY KEY,
  attempt INT NOT NULL,
  namespace ${NAME} NOT NULL,
  group_name ${NAME} NOT NULL,
  state VARCHAR(16) NOT NULL, -- mapping | running | reducing | succeeded | failed | cancelled
  reduce_handler ${NAME} NULL,
  max_attempts INT NOT NULL,
  on_failure VARCHAR(16) NOT NULL, -- fail-run | continue
  max_failed_ratio DOUBLE NULL,
  backoff TEXT NOT NULL, -- JSON: the task's retry backoff
  total INT NOT NULL,
  output MEDIUMTEXT NULL, -- JSON
  error TEXT NULL,
  created_at BIGINT NOT NULL,
  sealed_at BIGINT NULL,
  finished_at BIGINT NULL,
  KEY run_maps_state (state),
  CONSTRAINT run_maps_run FOREIGN KEY (run_id) REFERENCES runs (id) ON DELETE CASCADE
) ${TABLE_OPTIONS}`).execute(db);
  await sql.raw(`CREATE TABLE IF NOT EXISTS run_subtasks (
  run_id ${ID} NOT NULL,
  idx INT NOT NULL, -- -1: the reduce
  attempt INT NOT NULL,
  namespace ${NAME} NOT NULL,
  group_name ${NAME} NOT NULL,
  kind VARCHAR(8) NOT NULL, -- map | reduce
  handler ${NAME} NOT NULL,
  payload MEDIUMTEXT NOT NULL, -- JSON
  state VARCHAR(16) NOT NULL, -- pending | running | succeeded | failed | cancelled
  lease INT NOT NULL, -- claims so far: the fencing number of the current one
  lost INT NOT NULL, -- claims ended by an expired lease
  max_attempts INT NOT NULL,
  executors TEXT NOT NULL, -- JSON: the nodes of each claim
  last_executor ${NAME} NULL,
  available_at BIGINT NOT NULL,
  lease_expires_at BIGINT NULL,
  output MEDIUMTEXT NULL, -- JSON
  error TEXT NULL,
  created_at BIGINT NOT NULL,
  started_at BIGINT NULL,
  finished_at BIGINT NULL,
  PRIMARY KEY (run_id, idx),
  KEY run_subtasks_claim (state, namespace, group_name, available_at),
  KEY run_subtasks_lease (state, lease_expires_at),
  KEY run_subtasks_run_state (run_id, state, idx),
  CONSTRAINT run_subtasks_run FOREIGN KEY (run_id) REFERENCES runs (id) ON DELETE CASCADE
) ${TABLE_OPTIONS}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS run_subtasks`.execute(db);
  await sql`DROP TABLE IF EXISTS run_maps`.execute(db);
}
