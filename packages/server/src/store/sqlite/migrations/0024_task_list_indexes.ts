/**
 * As the SQL stores' `0024_task_list_indexes`: `tasks_state (state, namespace, name)` makes
 * `GET /api/v1/tasks?state=…` (with or without a namespace, and the cursor) one range in list
 * order. Without it SQLite (no ANALYZE statistics) took `tasks_due (state, next_fire_at)` for the
 * state and sorted every task of that state for one page (1.3 s for `state=active` at a million).
 * A fire changes none of its columns, so it costs nothing per fire. SQLite has no index for the
 * label selector or a substring of the name: both filter the rows the other conditions leave.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX tasks_state ON tasks (state, namespace, name)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX tasks_state`.execute(db);
}
