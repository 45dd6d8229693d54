/**
 * Indexes for the filters of `GET /api/v1/tasks` that still walked many tasks for one page at a
 * million (docs/benchmarks.md, "Scale: `GET /api/v1/tasks` on 1,000,000 tasks"):
 *
 * - `tasks_state (state, namespace, name) WHERE state <> 'active'`: `state=paused` or `completed`
 *   (with or without a namespace, and the cursor) is one range in list order, instead of a walk of
 *   `tasks_name` filtering out the active tasks (25 ms for `completed` at 0.5 % of the tasks; with a
 *   namespace, a read of all its rows and a sort). `state=active`, nearly every task, needs no
 *   index: the walk of `tasks_name` keeps almost every row it reads. Partial, so that it holds only
 *   tasks that do not fire: a fire's update of `next_fire_at` (not HOT, since `tasks_due` covers
 *   that column) adds no entry to it.
 *
 * No index serves label selectors here: a GIN index of the labels (as jsonb, from the spec's JSON)
 * made them a range (an absent label 5.9 s → 0.5 ms at a million tasks), but PostgreSQL computes
 * its expression for every new row version, so for every fire: the fire rate of the events
 * benchmark fell from 670 to 374-460 a second (docs/benchmarks.md). Labels need a column (or a
 * table) written only when a task's spec is, to be indexed at no cost to fires.
 *
 * Cost on a million tasks: 2.6 MiB, ~5 s to build (`tasks` locked against writes meanwhile); no
 * entry per fire (active tasks are not in it).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX tasks_state ON tasks (state, namespace, name) WHERE state <> 'active'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX tasks_state`.execute(db);
}
