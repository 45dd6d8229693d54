/**
 * As PostgreSQL's `0003_tasks_last_run_status`: an index for listing tasks by their last run's
 * status in (namespace, name) order, instead of walking `tasks_name` until a page of a rare status
 * is found.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX tasks_last_run_status ON tasks (last_run_status, namespace, name)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX tasks_last_run_status ON tasks`.execute(db);
}
