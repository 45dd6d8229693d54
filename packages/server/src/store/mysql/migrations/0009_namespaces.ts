/**
 * As PostgreSQL's `0009_namespaces`: one row per namespace whose settings were set; a namespace
 * without one has the default settings.
 *
 * MySQL runs DDL outside transactions, so this migration may be cut short and run again: the table
 * is created in one statement, `IF NOT EXISTS`.
 */
import { sql, type Kysely } from 'kysely';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE IF NOT EXISTS namespaces (
  name VARCHAR(128) NOT NULL PRIMARY KEY,
  description TEXT NOT NULL,
  labels MEDIUMTEXT NOT NULL, -- JSON object
  quotas MEDIUMTEXT NOT NULL, -- JSON object: the quotas set (the others take their defaults)
  outbound MEDIUMTEXT NOT NULL, -- JSON object: { allow: [rule…], deny: [rule…] }
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
) ${TABLE_OPTIONS}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS namespaces`.execute(db);
}
