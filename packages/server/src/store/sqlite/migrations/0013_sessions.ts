/**
 * Sessions of users signed in through SSO (OpenID Connect; docs/security.md, "SSO"): one row per
 * session, kept in the store so that every API node of a cluster accepts it and a sign-out ends it
 * everywhere. Only the SHA-256 of the cookie's secret is stored. `grants` are the roles the user's
 * groups mapped to at sign-in, as JSON `[{ role, namespaces }]`. Rows past `expires_at` are refused
 * and deleted by `deleteExpiredSessions`. As the SQL stores' `0013_sessions`.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL UNIQUE, -- SHA-256 hex of the cookie's secret; the secret is never stored
  actor TEXT NOT NULL, -- user:<subject or email>, as audit entries name the user
  name TEXT, -- the user's name or email, for display
  grants TEXT NOT NULL, -- JSON array of { role, namespaces }
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT`.execute(db);
  await sql`CREATE INDEX sessions_expiry ON sessions (expires_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE sessions`.execute(db);
}
