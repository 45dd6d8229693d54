/**
 * As PostgreSQL's `0005_task_name_search`, without the trigram index: `tasks_by_name (name,
 * namespace)` makes an exact name (`GET /api/v1/tasks?name=…`) one range, already in list order,
 * and serves a prefix (`name LIKE 'abc%'`, byte order under `utf8mb4_bin`). MySQL and MariaDB have
 * no index for substrings (FULLTEXT's ngram parser matches tokens, not substrings), so `?q=`
 * still reads every name, from `tasks_name`, which covers that read (see `listTasks`).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX tasks_by_name ON tasks (name, namespace)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX tasks_by_name ON tasks`.execute(db);
}
