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
 * - `tasks_labels`: a GIN index (`jsonb_path_ops`) on the spec's labels as jsonb, for the label
 *   selector (`label=k=v`, which the dialect's `labelEquals` writes as containment of `{"k": "v"}` in
 *   this same expression). A rare or absent label was a walk of every task (5.9 s at a million), a
 *   label with a namespace a read of all the namespace's rows (84 ms). A common label is still found
 *   by walking `tasks_name` when the planner estimates that cheaper, from the statistics of the
 *   expression (hence the ANALYZE below). The CASE keeps the expression from failing: jsonb cannot
 *   hold U+0000, which `json` takes as `\u0000`, so labels holding one (a `\u0000` after an even
 *   number of backslashes) index as NULL, and no selector finds that task (before, a selector on the
 *   key holding it failed, on another key found it). Not partial: the planner uses no statistics of
 *   a partial index's expression.
 *
 * Cost on a million tasks: 2.6 MiB (`tasks_state`) and 1.8 MiB (`tasks_labels`), ~10 s to build
 * (`tasks` locked against writes meanwhile) and 1 s to ANALYZE. Each new row version that is not
 * HOT, so each fire, adds one entry to `tasks_labels` (per label pair, or one NULL entry for a task
 * without labels), appended to GIN's pending list and merged into the index by (auto)vacuum or by
 * the write that fills the list (`gin_pending_list_limit`, 4 MB), as for the trigram index of
 * `0005`, which takes ~10 entries per fire.
 */
import { sql, type Kysely } from 'kysely';

/** The labels as jsonb, or NULL when they hold U+0000: the dialect's `labelEquals` writes the same. */
const LABELS = sql.raw(String.raw`(CASE WHEN strpos((spec -> 'labels')::text, '\u0000') = 0`
  + String.raw` OR (spec -> 'labels')::text !~ '(^|[^\\])(\\\\)*\\u0000' THEN (spec -> 'labels')::jsonb END)`);

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX tasks_state ON tasks (state, namespace, name) WHERE state <> 'active'`.execute(db);
  await sql`CREATE INDEX tasks_labels ON tasks USING gin (${LABELS} jsonb_path_ops)`.execute(db);
  // The planner estimates a label's share from the statistics of the index's expression, which only
  // ANALYZE gathers; autovacuum would run it only after a tenth of the tasks changed. Without them
  // it guesses 1 % for every label and keeps walking `tasks_name` (seconds for an absent label).
  await sql`ANALYZE tasks`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX tasks_labels`.execute(db);
  await sql`DROP INDEX tasks_state`.execute(db);
}
