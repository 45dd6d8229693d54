/**
 * Executor tokens scoped to executor groups (issue 17, F1: "an `executor` role scoped to the
 * group"): `api_tokens.executor_groups`, a JSON array of group names, or null for every group of
 * the token's namespaces (every token made before this migration). As SQLite's and MySQL's
 * `0014_token_groups`. A nullable column without a default rewrites nothing.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE api_tokens ADD COLUMN executor_groups json`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE api_tokens DROP COLUMN executor_groups`.execute(db);
}
