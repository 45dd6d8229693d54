/**
 * `group_slots`: one row per run of an executor group its namespace limits
 * (`quotas.groupMaxConcurrentRuns`), held while the run is not final (see
 * `store/quota-admission.ts`). As SQLite's and MySQL's `0015_group_slots`.
 */
import { sql, type Kysely } from 'kysely';

const KEY = 'text COLLATE "C"';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE group_slots (
  run_id ${KEY} PRIMARY KEY,
  namespace ${KEY} NOT NULL,
  executor_group ${KEY} NOT NULL
)`).execute(db);
  await sql`CREATE INDEX group_slots_group ON group_slots (namespace, executor_group)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE group_slots`.execute(db);
}
