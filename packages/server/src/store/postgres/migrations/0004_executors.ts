/**
 * The executor registry (`executor_nodes`: nodes of executor groups and their heartbeats) and the
 * run status `no_executor` (a run waiting for a live node of its executor group; not final), as
 * SQLite's and MySQL's `0004_executors`. The two checks on `runs.status` are replaced in one
 * ALTER TABLE; the new ones are looser than the old, so every existing row satisfies them.
 */
import { sql, type Kysely } from 'kysely';

const KEY = 'text COLLATE "C"';
const RUN_STATUSES = ['pending', 'no_executor', 'dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'];
/** Statuses of runs not yet final: exactly those without finished_at. */
const ACTIVE_RUN_STATUSES = ['pending', 'no_executor', 'dispatched', 'running'];
const list = (values: readonly string[]): string => values.map((value) => `'${value}'`).join(', ');

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE executor_nodes (
  id ${KEY} PRIMARY KEY,
  "group" ${KEY} NOT NULL,
  mode text NOT NULL CHECK (mode IN ('push', 'pull')),
  transport text NOT NULL CHECK (transport IN ('http', 'grpc')),
  address text, -- where runs are sent in push mode; null in pull mode
  labels json NOT NULL, -- object
  weight integer NOT NULL,
  handlers json NOT NULL, -- array of handler names
  version text NOT NULL,
  inflight integer NOT NULL,
  started_at bigint NOT NULL,
  heartbeat_at bigint NOT NULL,
  expires_at bigint NOT NULL
)`).execute(db);
  await sql`CREATE INDEX executor_nodes_group ON executor_nodes ("group", id)`.execute(db);
  await sql.raw(`ALTER TABLE runs
  DROP CONSTRAINT runs_status_check,
  DROP CONSTRAINT runs_final,
  ADD CONSTRAINT runs_status_check CHECK (status IN (${list(RUN_STATUSES)})),
  ADD CONSTRAINT runs_final CHECK ((finished_at IS NULL) = (status IN (${list(ACTIVE_RUN_STATUSES)})))`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE executor_nodes`.execute(db);
  await sql.raw(`ALTER TABLE runs
  DROP CONSTRAINT runs_status_check,
  DROP CONSTRAINT runs_final,
  ADD CONSTRAINT runs_status_check CHECK (status IN (${list(RUN_STATUSES.filter((status) => status !== 'no_executor'))})),
  ADD CONSTRAINT runs_final CHECK ((finished_at IS NULL) = (status IN (${list(ACTIVE_RUN_STATUSES.filter((status) => status !== 'no_executor'))})))`).execute(db);
}
