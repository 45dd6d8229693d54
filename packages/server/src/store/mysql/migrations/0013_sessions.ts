/**
 * As PostgreSQL's `0013_sessions`: sessions of users signed in through SSO, the SHA-256 of each
 * cookie's secret and the roles the user's groups mapped to.
 *
 * MySQL runs DDL outside transactions, so this migration may be cut short and run again: the table
 * and its indexes are created in one statement, `IF NOT EXISTS`.
 */
import { sql, type Kysely } from 'kysely';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE IF NOT EXISTS sessions (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  secret_hash VARCHAR(128) NOT NULL, -- SHA-256 hex of the cookie's secret; the secret is never stored
  actor VARCHAR(512) NOT NULL, -- user:<subject or email>, as audit entries name the user
  name VARCHAR(512) NULL, -- the user's name or email, for display
  grants MEDIUMTEXT NOT NULL, -- JSON array of { role, namespaces }
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  UNIQUE KEY sessions_secret_hash (secret_hash),
  KEY sessions_expiry (expires_at)
) ${TABLE_OPTIONS}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS sessions`.execute(db);
}
