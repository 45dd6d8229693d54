/**
 * Alert silences (issue 19, `store/alert-silences.ts`): maintenance windows `[starts_at, ends_at)`
 * during which the incidents of a task, a workflow, the tasks with some labels or a whole namespace
 * (`scope`), of some rules (`rule_ids`) or of all, send no notification. As SQLite's and MySQL's
 * `0021_alert_silences`. No trigger writes events for this table.
 */
import { sql, type Kysely } from 'kysely';

const KEY = 'text COLLATE "C"';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE alert_silences (
  id ${KEY} PRIMARY KEY,
  namespace ${KEY} NOT NULL,
  scope json NOT NULL, -- exactly one of taskId, workflowId, labels, namespace
  rule_ids json, -- ids of rules of the namespace; NULL: every rule
  starts_at bigint NOT NULL,
  ends_at bigint NOT NULL, -- excluded; ending early sets it to now
  comment text NOT NULL,
  created_by text NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  CONSTRAINT alert_silences_window CHECK (ends_at >= starts_at)
)`).execute(db);
  // In force at T in namespace N: ends_at > T is a range of the index, starts_at <= T read from it.
  await sql`CREATE INDEX alert_silences_active_in ON alert_silences (namespace, ends_at, starts_at)`.execute(db);
  // In force at T in every namespace (the evaluator), and the listing's order.
  await sql`CREATE INDEX alert_silences_active ON alert_silences (ends_at, starts_at)`.execute(db);
  await sql`CREATE INDEX alert_silences_by_start ON alert_silences (starts_at, id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE alert_silences`.execute(db);
}
