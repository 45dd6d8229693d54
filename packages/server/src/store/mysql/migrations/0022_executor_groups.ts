/**
 * As PostgreSQL's `0022_executor_groups`: executor group discovery, one row per (namespace, group)
 * whose nodes are also found by a static list of addresses or a DNS name.
 *
 * MySQL runs DDL outside transactions, so this migration may be cut short and run again: the table
 * is created with its key in one statement, `IF NOT EXISTS`.
 */
import { sql, type Kysely } from 'kysely';

/** Namespaces and groups: at most 128 characters (the API's patterns). */
const NAME = 'VARCHAR(128)';
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE IF NOT EXISTS executor_groups (
  namespace ${NAME} NOT NULL,
  group_name ${NAME} NOT NULL,
  discovery MEDIUMTEXT NOT NULL, -- JSON: { static: [URL…] } or { dns: { name, port, scheme, path, srv, refreshMs, staleMs } }
  labels MEDIUMTEXT NOT NULL, -- JSON object: labels of every discovered node
  weight INT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (namespace, group_name)
) ${TABLE_OPTIONS}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS executor_groups`.execute(db);
}
