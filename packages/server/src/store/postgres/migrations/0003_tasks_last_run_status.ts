/**
 * An index for listing tasks by their last run's status (`GET /api/v1/tasks?lastRunStatus=…`,
 * the console's "failing tasks" view). The list is ordered by (namespace, name): without this
 * index PostgreSQL walks `tasks_name` and filters, reading every task until it has a page of a rare
 * status (801 ms for `failed` on a million tasks, 0.4 ms with it; see docs/benchmarks.md, "Cluster
 * on PostgreSQL"). The trailing (namespace, name) serve the order, the namespace filter and the
 * cursor from the index.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX tasks_last_run_status ON tasks (last_run_status, namespace, name)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX tasks_last_run_status`.execute(db);
}
