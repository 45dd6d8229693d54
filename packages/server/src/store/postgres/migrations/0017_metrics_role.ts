/**
 * The token role `metrics` (outside the order, as `executor`: a Prometheus scraper's credential,
 * allowed `GET /metrics` only), as SQLite's and MySQL's `0017_metrics_role`. The check of
 * `api_tokens.role` is replaced; the new one is looser, so every existing row satisfies it.
 */
import { sql, type Kysely } from 'kysely';

const TOKEN_ROLES = ['admin', 'editor', 'operator', 'viewer', 'executor', 'metrics'];
const list = (values: readonly string[]): string => values.map((value) => `'${value}'`).join(', ');

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`ALTER TABLE api_tokens
  DROP CONSTRAINT api_tokens_role_check,
  ADD CONSTRAINT api_tokens_role_check CHECK (role IN (${list(TOKEN_ROLES)}))`).execute(db);
}

/** Fails while a token has role metrics: going down would have to delete credentials. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`ALTER TABLE api_tokens
  DROP CONSTRAINT api_tokens_role_check,
  ADD CONSTRAINT api_tokens_role_check CHECK (role IN (${list(TOKEN_ROLES.filter((role) => role !== 'metrics'))}))`).execute(db);
}
