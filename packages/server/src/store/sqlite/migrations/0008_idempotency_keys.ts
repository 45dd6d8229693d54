/**
 * Idempotency keys of API requests (`Idempotency-Key` on task create, `tasks:batch` and trigger):
 * one row per (scope, key), the scope being the caller. The primary key is what makes two
 * concurrent requests with one key run once: the second insert finds the first's row. `status`
 * and `body` hold the first answer once it is known (null while the request runs). Rows expire
 * after `expires_at` and are deleted by `deleteExpiredIdempotencyKeys`. As the SQL stores'
 * `0008_idempotency_keys`.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE idempotency_keys (
  scope TEXT NOT NULL, -- the caller (token:<id>)
  idem_key TEXT NOT NULL,
  fingerprint TEXT NOT NULL, -- a hash of the request (method, route, params, body)
  status INTEGER, -- the answer's HTTP status; null while the first request runs
  body TEXT, -- the answer's body as JSON; null while the first request runs
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (scope, idem_key)
) STRICT`.execute(db);
  await sql`CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE idempotency_keys`.execute(db);
}
