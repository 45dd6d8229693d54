/**
 * Tokens that expire (`api_tokens.expires_at`, null: never) and the roles `operator` (between
 * viewer and editor) and `executor` (outside the order: executor nodes' credentials), as SQLite's
 * and MySQL's `0010_token_expiry`. The check of `api_tokens.role` is replaced in the ALTER TABLE
 * that adds the column; the new check is looser than the old, so every existing row satisfies it,
 * and a nullable column without a default rewrites nothing.
 */
import { sql, type Kysely } from 'kysely';

const TOKEN_ROLES = ['admin', 'editor', 'operator', 'viewer', 'executor'];
const list = (values: readonly string[]): string => values.map((value) => `'${value}'`).join(', ');

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`ALTER TABLE api_tokens
  ADD COLUMN expires_at bigint,
  DROP CONSTRAINT api_tokens_role_check,
  ADD CONSTRAINT api_tokens_role_check CHECK (role IN (${list(TOKEN_ROLES)}))`).execute(db);
}

/** Fails while a token has one of the new roles: going down would have to delete credentials. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`ALTER TABLE api_tokens
  DROP COLUMN expires_at,
  DROP CONSTRAINT api_tokens_role_check,
  ADD CONSTRAINT api_tokens_role_check CHECK (role IN (${list(['admin', 'editor', 'viewer'])}))`).execute(db);
}
