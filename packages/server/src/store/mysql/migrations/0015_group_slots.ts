/**
 * As PostgreSQL's `0015_group_slots` (see `store/quota-admission.ts`). `IF NOT EXISTS`, so that a
 * run cut short (MySQL runs DDL outside transactions) can run again.
 */
import { sql, type Kysely } from 'kysely';

const ID = 'VARCHAR(64)';
const NAME = 'VARCHAR(128)';
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE IF NOT EXISTS group_slots (
  run_id ${ID} NOT NULL PRIMARY KEY,
  namespace ${NAME} NOT NULL,
  executor_group ${NAME} NOT NULL,
  KEY group_slots_group (namespace, executor_group)
) ${TABLE_OPTIONS}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS group_slots`.execute(db);
}
