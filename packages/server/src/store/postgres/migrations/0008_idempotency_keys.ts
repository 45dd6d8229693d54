/**
 * Idempotency keys of API requests (`Idempotency-Key` on task create, `tasks:batch` and trigger):
 * one row per (scope, key), the scope being the caller. The primary key is what makes two
 * concurrent requests with one key run once: the second insert breaks it and reads the first's
 * row. `status` and `body` hold the first answer once it is known (null while the request runs).
 * Rows expire after `expires_at`. As SQLite's and MySQL's `0008_idempotency_keys`.
 */
import { sql, type Kysely } from 'kysely';

const KEY = 'text COLLATE "C"';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE idempotency_keys (
  scope ${KEY} NOT NULL, -- the caller (token:<id>)
  idem_key ${KEY} NOT NULL,
  fingerprint text NOT NULL, -- a hash of the request (method, route, params, body)
  status integer, -- the answer's HTTP status; null while the first request runs
  body text, -- the answer's body as JSON; null while the first request runs
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  CONSTRAINT idempotency_keys_pkey PRIMARY KEY (scope, idem_key)
)`).execute(db);
  await sql`CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE idempotency_keys`.execute(db);
}
