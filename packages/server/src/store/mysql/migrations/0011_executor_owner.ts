/**
 * As PostgreSQL's `0011_executor_owner`: the namespace of an executor node's group and the
 * credential that registered it (issue 17, F1).
 *
 * MySQL runs DDL outside transactions, so this migration may be cut short and run again: each
 * column is added only when it is not there yet (MySQL 8 has no `ADD COLUMN IF NOT EXISTS`).
 */
import { sql, type Kysely } from 'kysely';

async function hasColumn(db: Kysely<unknown>, column: string): Promise<boolean> {
  const { rows } = await sql<{ name: string }>`SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'executor_nodes' AND COLUMN_NAME = ${column}`.execute(db);
  return rows.length > 0;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!await hasColumn(db, 'namespace')) await sql`ALTER TABLE executor_nodes ADD COLUMN namespace VARCHAR(128) NOT NULL DEFAULT 'default'`.execute(db);
  if (!await hasColumn(db, 'owner')) await sql`ALTER TABLE executor_nodes ADD COLUMN owner VARCHAR(200) NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (await hasColumn(db, 'owner')) await sql`ALTER TABLE executor_nodes DROP COLUMN owner`.execute(db);
  if (await hasColumn(db, 'namespace')) await sql`ALTER TABLE executor_nodes DROP COLUMN namespace`.execute(db);
}
