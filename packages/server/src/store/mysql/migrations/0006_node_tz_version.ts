/**
 * As PostgreSQL's `0006_node_tz_version`: the tz database version of each node
 * (`cluster_nodes.tz_version`), null for a node that reports none.
 *
 * MySQL runs DDL outside transactions, so this migration may be cut short and run again: the
 * column is added only when it is not there yet (MySQL 8 has no `ADD COLUMN IF NOT EXISTS`).
 */
import { sql, type Kysely } from 'kysely';

async function hasColumn(db: Kysely<unknown>): Promise<boolean> {
  const { rows } = await sql<{ name: string }>`SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'cluster_nodes' AND COLUMN_NAME = 'tz_version'`.execute(db);
  return rows.length > 0;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  if (await hasColumn(db)) return;
  await sql`ALTER TABLE cluster_nodes ADD COLUMN tz_version VARCHAR(64) NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (await hasColumn(db)) await sql`ALTER TABLE cluster_nodes DROP COLUMN tz_version`.execute(db);
}
