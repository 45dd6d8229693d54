/**
 * Sessions of users signed in through SSO (OpenID Connect; docs/security.md, "SSO"): one row per
 * session, kept in the store so that every API node of a cluster accepts it and a sign-out ends it
 * everywhere. Only the SHA-256 of the cookie's secret is stored. `grants` are the roles the user's
 * groups mapped to at sign-in, as JSON `[{ role, namespaces }]`. As SQLite's and MySQL's
 * `0013_sessions`.
 */
import { sql, type Kysely } from 'kysely';

const KEY = 'text COLLATE "C"';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE sessions (
  id ${KEY} PRIMARY KEY,
  secret_hash ${KEY} NOT NULL UNIQUE, -- SHA-256 hex of the cookie's secret; the secret is never stored
  actor text NOT NULL, -- user:<subject or email>, as audit entries name the user
  name text, -- the user's name or email, for display
  grants json NOT NULL, -- array of { role, namespaces }
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL
)`).execute(db);
  await sql`CREATE INDEX sessions_expiry ON sessions (expires_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE sessions`.execute(db);
}
