/**
 * As the SQL stores' `0003_tasks_last_run_status` and `0005_task_name_search`: indexes for listing
 * tasks by their last run's status (`tasks_last_run_status`) and by exact name (`tasks_by_name`),
 * each in list order, instead of walking every task. SQLite has no trigram index: a substring of
 * the name (`?q=`) still reads every name.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX tasks_last_run_status ON tasks (last_run_status, namespace, name)`.execute(db);
  await sql`CREATE INDEX tasks_by_name ON tasks (name, namespace)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX tasks_by_name`.execute(db);
  await sql`DROP INDEX tasks_last_run_status`.execute(db);
}
