/**
 * Namespace quotas exact across the cluster (issue 17), as SQLite's and MySQL's `0012_quota_slots`:
 * the run status `throttled` (waiting for its namespace's quota before its first attempt; not
 * final) and `quota_slots`, one row per run admitted in a namespace that limits its concurrent runs
 * or fires per minute (see `store/quota-admission.ts`).
 */
import { sql, type Kysely } from 'kysely';

const KEY = 'text COLLATE "C"';
const RUN_STATUSES = ['pending', 'no_executor', 'throttled', 'dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'];
const ACTIVE_RUN_STATUSES = ['pending', 'no_executor', 'throttled', 'dispatched', 'running'];
const list = (values: readonly string[]): string => values.map((value) => `'${value}'`).join(', ');
const without = (values: readonly string[]): string[] => values.filter((value) => value !== 'throttled');

async function replaceChecks(db: Kysely<unknown>, statuses: readonly string[], active: readonly string[]): Promise<void> {
  await sql.raw(`ALTER TABLE runs
  DROP CONSTRAINT runs_status_check,
  DROP CONSTRAINT runs_final,
  ADD CONSTRAINT runs_status_check CHECK (status IN (${list(statuses)})),
  ADD CONSTRAINT runs_final CHECK ((finished_at IS NULL) = (status IN (${list(active)})))`).execute(db);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await replaceChecks(db, RUN_STATUSES, ACTIVE_RUN_STATUSES);
  await sql.raw(`CREATE TABLE quota_slots (
  run_id ${KEY} PRIMARY KEY,
  namespace ${KEY} NOT NULL,
  admitted_at bigint NOT NULL
)`).execute(db);
  await sql`CREATE INDEX quota_slots_namespace ON quota_slots (namespace, admitted_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE quota_slots`.execute(db);
  await sql`UPDATE runs SET status = 'pending' WHERE status = 'throttled'`.execute(db);
  await replaceChecks(db, without(RUN_STATUSES), without(ACTIVE_RUN_STATUSES));
}
