/**
 * Executor tokens scoped to executor groups (issue 17, F1: "an `executor` role scoped to the
 * group"): `api_tokens.executor_groups`, a JSON array of group names, or null for every group of
 * the token's namespaces (every token made before this migration). As the SQL stores'
 * `0014_token_groups`. The column is not called `groups`, a reserved word of MySQL 8.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE api_tokens ADD COLUMN executor_groups TEXT`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE api_tokens DROP COLUMN executor_groups`.execute(db);
}
