/**
 * Executor group discovery (issue 20, `store/executor-groups.ts`): one row per (namespace, group)
 * whose nodes are also found by a static list of addresses or a DNS name. What they resolve to is
 * not stored. As the SQL stores' `0022_executor_groups`. No trigger writes events for this table.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE executor_groups (
  namespace TEXT NOT NULL,
  group_name TEXT NOT NULL,
  discovery TEXT NOT NULL, -- JSON: { static: [URL…] } or { dns: { name, port, scheme, path, srv, refreshMs, staleMs } }
  labels TEXT NOT NULL, -- JSON object: labels of every discovered node
  weight INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, group_name)
) STRICT`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE executor_groups`.execute(db);
}
