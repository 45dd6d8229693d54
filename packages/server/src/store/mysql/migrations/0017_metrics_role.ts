/**
 * The token role `metrics` (outside the order, as `executor`: a Prometheus scraper's credential,
 * allowed `GET /metrics` only), as PostgreSQL's `0017_metrics_role`. The check `api_tokens_role`
 * (named so by `0010_token_expiry`) is replaced in one ALTER TABLE; the new one is looser, so
 * every existing row satisfies it. MySQL runs DDL outside transactions: an ALTER TABLE is atomic,
 * and running this again after it applied replaces the check by itself.
 */
import { sql, type Kysely } from 'kysely';

const TOKEN_ROLES = ['admin', 'editor', 'operator', 'viewer', 'executor', 'metrics'];
const list = (values: readonly string[]): string => values.map((value) => `'${value}'`).join(', ');

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role, ADD CONSTRAINT api_tokens_role CHECK (role IN (${list(TOKEN_ROLES)}))`).execute(db);
}

/** Fails while a token has role metrics: going down would have to delete credentials. */
export async function down(db: Kysely<unknown>): Promise<void> {
  const roles = TOKEN_ROLES.filter((role) => role !== 'metrics');
  await sql.raw(`ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role, ADD CONSTRAINT api_tokens_role CHECK (role IN (${list(roles)}))`).execute(db);
}
