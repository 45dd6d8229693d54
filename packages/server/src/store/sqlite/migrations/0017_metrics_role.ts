/**
 * The token role `metrics` (outside the order, as `executor`: a Prometheus scraper's credential,
 * allowed `GET /metrics` only). As the SQL stores' `0017_metrics_role`.
 *
 * SQLite cannot alter a CHECK constraint, so `api_tokens` is rebuilt as `0010_token_expiry` rebuilt
 * it (https://www.sqlite.org/lang_altertable.html#otheralter): create `api_tokens_new` with the
 * new check and every column as 0014 left them, copy every row, drop `api_tokens`, rename. No
 * foreign key, index (other than the UNIQUE of `secret_hash`, declared with the table), trigger or
 * view refers to the table. The new check is looser than the old, so every row satisfies it.
 */
import { sql, type Kysely } from 'kysely';

/** See 0001_init: `CHECK (col = 'a' OR …)`, not `IN (…)`, which costs an ephemeral table per statement. */
const oneOf = (column: string, values: readonly string[]): string => `CHECK (${values.map((value) => `${column} = '${value}'`).join(' OR ')})`;
const TOKEN_ROLES = ['admin', 'editor', 'operator', 'viewer', 'executor', 'metrics'];

/** The columns of `api_tokens` as 0014 left them, in table order. */
const TOKEN_COLUMNS = 'id, name, role, namespaces, secret_hash, created_at, last_used_at, revoked_at, expires_at, executor_groups';

const TOKENS_NEW = `CREATE TABLE api_tokens_new (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  role TEXT NOT NULL ${oneOf('role', TOKEN_ROLES)},
  namespaces TEXT NOT NULL, -- JSON array of namespace names, "*" for all
  secret_hash TEXT NOT NULL UNIQUE, -- SHA-256 hex of the secret; the secret is never stored
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at INTEGER,
  expires_at INTEGER, -- refused from this instant on; null: never
  executor_groups TEXT -- role executor: JSON array of the groups it may act for; null: every group
) STRICT`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(TOKENS_NEW).execute(db);
  await sql.raw(`INSERT INTO api_tokens_new (${TOKEN_COLUMNS}) SELECT ${TOKEN_COLUMNS} FROM api_tokens ORDER BY rowid`).execute(db);
  await sql`DROP TABLE api_tokens`.execute(db);
  await sql`ALTER TABLE api_tokens_new RENAME TO api_tokens`.execute(db);
}
