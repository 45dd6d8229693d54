/**
 * Executor group discovery (issue 20, `store/executor-groups.ts`): one row per (namespace, group)
 * whose nodes are also found by a static list of addresses or a DNS name. What they resolve to is
 * not stored. As SQLite's and MySQL's `0022_executor_groups`. No trigger writes events for this table.
 */
import { sql, type Kysely } from 'kysely';

const KEY = 'text COLLATE "C"';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE executor_groups (
  namespace ${KEY} NOT NULL,
  group_name ${KEY} NOT NULL,
  discovery json NOT NULL, -- { static: [URL…] } or { dns: { name, port, scheme, path, srv, refreshMs, staleMs } }
  labels json NOT NULL, -- object: labels of every discovered node
  weight integer NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  CONSTRAINT executor_groups_pkey PRIMARY KEY (namespace, group_name)
)`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE executor_groups`.execute(db);
}
