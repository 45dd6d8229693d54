/**
 * Indexes for the filters of `GET /api/v1/tasks` that still read many tasks for one page at a
 * million (docs/benchmarks.md, "Scale: `GET /api/v1/tasks` on 1,000,000 tasks"):
 *
 * - `tasks_state (state, namespace, name)`, as PostgreSQL's `0024_task_list_indexes` without its
 *   WHERE (MariaDB has no partial index): `state=…` (with or without a namespace, and the cursor)
 *   is one range in list order, instead of a walk of `tasks_name` reading the row of every task it
 *   passes (0.6 s for `completed` at 0.5 % of a million).
 * - `tasks_kind_name (kind, namespace, name)`: the substring search (`q=`) picks the page's keys
 *   from an index before reading any row (see `listTasks`), but `kind` (added by `0007_workflows`)
 *   is in no index, so that walk read the row of every task it passed: a million random reads of the
 *   clustered index for a search without a namespace (60 s on a 128 MiB buffer pool). With this
 *   index the walk reads no row (0.2 s); it is still a walk of every key, as no MySQL or MariaDB
 *   index serves `%q%`.
 *
 * InnoDB changes a secondary index only when its columns change: a fire's update of
 * `next_fire_at` touches neither. Each costs one entry per new task, ~40-60 MiB at a million.
 * MySQL and MariaDB have no index for the label selector (a JSON path of any key): it reads and
 * filters the rows the other conditions leave.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX tasks_state ON tasks (state, namespace, name)`.execute(db);
  await sql`CREATE INDEX tasks_kind_name ON tasks (kind, namespace, name)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX tasks_kind_name ON tasks`.execute(db);
  await sql`DROP INDEX tasks_state ON tasks`.execute(db);
}
