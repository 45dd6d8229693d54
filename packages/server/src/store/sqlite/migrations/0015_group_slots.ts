/**
 * `group_slots`: one row per run of an executor group its namespace limits
 * (`quotas.groupMaxConcurrentRuns`), held while the run is not final (see
 * `store/quota-admission.ts`). As the SQL stores' `0015_group_slots`.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE group_slots (
  run_id TEXT PRIMARY KEY NOT NULL,
  namespace TEXT NOT NULL,
  executor_group TEXT NOT NULL
) STRICT`.execute(db);
  await sql`CREATE INDEX group_slots_group ON group_slots (namespace, executor_group)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE group_slots`.execute(db);
}
