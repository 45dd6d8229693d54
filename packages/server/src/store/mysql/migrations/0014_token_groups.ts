/**
 * As PostgreSQL's `0014_token_groups`: executor tokens scoped to executor groups
 * (`api_tokens.executor_groups`, a JSON array of group names; null: every group of the token's
 * namespaces). The column is not called `groups`, a reserved word of MySQL 8.
 *
 * MySQL runs DDL outside transactions, so this migration may be cut short and run again: the
 * column is added only when it is not there yet (MySQL 8 has no `ADD COLUMN IF NOT EXISTS`).
 */
import { sql, type Kysely } from 'kysely';

async function hasColumn(db: Kysely<unknown>): Promise<boolean> {
  const { rows } = await sql<{ name: string }>`SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'api_tokens' AND COLUMN_NAME = 'executor_groups'`.execute(db);
  return rows.length > 0;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!await hasColumn(db)) await sql`ALTER TABLE api_tokens ADD COLUMN executor_groups MEDIUMTEXT NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (await hasColumn(db)) await sql`ALTER TABLE api_tokens DROP COLUMN executor_groups`.execute(db);
}
