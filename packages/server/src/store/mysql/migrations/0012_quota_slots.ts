/**
 * As PostgreSQL's `0012_quota_slots`: the run status `throttled` and `quota_slots` (see
 * `store/quota-admission.ts`).
 *
 * MySQL runs DDL outside transactions, so this migration may be cut short and run again: the
 * table is `IF NOT EXISTS`, and the checks of `runs.status` (named `runs_status` and `runs_final`
 * by `0004_executors`) are replaced only while they do not name `throttled` yet.
 */
import { sql, type Kysely } from 'kysely';

const ID = 'VARCHAR(64)';
const NAME = 'VARCHAR(128)';
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';
const RUN_STATUSES = ['pending', 'no_executor', 'throttled', 'dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'];
const ACTIVE_RUN_STATUSES = ['pending', 'no_executor', 'throttled', 'dispatched', 'running'];
const list = (values: readonly string[]): string => values.map((value) => `'${value}'`).join(', ');
const without = (values: readonly string[]): string[] => values.filter((value) => value !== 'throttled');

async function statusCheckNamesThrottled(db: Kysely<unknown>): Promise<boolean> {
  const { rows } = await sql<{ clause: string }>`SELECT cc.CHECK_CLAUSE AS clause
    FROM information_schema.TABLE_CONSTRAINTS tc JOIN information_schema.CHECK_CONSTRAINTS cc
      ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
    WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.TABLE_NAME = 'runs' AND tc.CONSTRAINT_TYPE = 'CHECK' AND tc.CONSTRAINT_NAME = 'runs_status'`.execute(db);
  return rows.some((row) => row.clause.includes("'throttled'"));
}

async function replaceChecks(db: Kysely<unknown>, statuses: readonly string[], active: readonly string[]): Promise<void> {
  await sql.raw(`ALTER TABLE runs
  DROP CONSTRAINT runs_status,
  DROP CONSTRAINT runs_final,
  ADD CONSTRAINT runs_status CHECK (status IN (${list(statuses)})),
  ADD CONSTRAINT runs_final CHECK ((finished_at IS NULL) = (status IN (${list(active)})))`).execute(db);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!await statusCheckNamesThrottled(db)) await replaceChecks(db, RUN_STATUSES, ACTIVE_RUN_STATUSES);
  await sql.raw(`CREATE TABLE IF NOT EXISTS quota_slots (
  run_id ${ID} NOT NULL PRIMARY KEY,
  namespace ${NAME} NOT NULL,
  admitted_at BIGINT NOT NULL,
  KEY quota_slots_namespace (namespace, admitted_at)
) ${TABLE_OPTIONS}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS quota_slots`.execute(db);
  await sql`UPDATE runs SET status = 'pending' WHERE status = 'throttled'`.execute(db);
  if (await statusCheckNamesThrottled(db)) await replaceChecks(db, without(RUN_STATUSES), without(ACTIVE_RUN_STATUSES));
}
