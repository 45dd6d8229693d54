/**
 * Alert silences (issue 19, `store/alert-silences.ts`): maintenance windows `[starts_at, ends_at)`
 * during which the incidents of a task, a workflow, the tasks with some labels or a whole namespace
 * (`scope`), of some rules (`rule_ids`) or of all, send no notification. As the SQL stores'
 * `0021_alert_silences`. No trigger writes events for this table.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE alert_silences (
  id TEXT PRIMARY KEY NOT NULL,
  namespace TEXT NOT NULL,
  scope TEXT NOT NULL, -- JSON: exactly one of taskId, workflowId, labels, namespace
  rule_ids TEXT, -- JSON: ids of rules of the namespace; NULL: every rule
  starts_at INTEGER NOT NULL,
  ends_at INTEGER NOT NULL, -- excluded; ending early sets it to now
  comment TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  CHECK (ends_at >= starts_at)
) STRICT`).execute(db);
  // In force at T in namespace N: ends_at > T is a range of the index, starts_at <= T read from it.
  await sql`CREATE INDEX alert_silences_active_in ON alert_silences (namespace, ends_at, starts_at)`.execute(db);
  // In force at T in every namespace (the evaluator), and the listing's order.
  await sql`CREATE INDEX alert_silences_active ON alert_silences (ends_at, starts_at)`.execute(db);
  await sql`CREATE INDEX alert_silences_by_start ON alert_silences (starts_at, id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE alert_silences`.execute(db);
}
