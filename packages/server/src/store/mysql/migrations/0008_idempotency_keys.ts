/**
 * As PostgreSQL's `0008_idempotency_keys`: idempotency keys of API requests, one row per
 * (scope, key), whose primary key makes two concurrent requests with one key run once.
 *
 * MySQL runs DDL outside transactions, so this migration may be cut short and run again: the table
 * and its index are created in one statement, `IF NOT EXISTS`.
 */
import { sql, type Kysely } from 'kysely';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE IF NOT EXISTS idempotency_keys (
  scope VARCHAR(128) NOT NULL, -- the caller (token:<id>)
  idem_key VARCHAR(255) NOT NULL,
  fingerprint VARCHAR(128) NOT NULL, -- a hash of the request (method, route, params, body)
  status INT NULL, -- the answer's HTTP status; null while the first request runs
  body LONGTEXT NULL, -- the answer's body as JSON; null while the first request runs
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (scope, idem_key),
  KEY idempotency_keys_expiry (expires_at)
) ${TABLE_OPTIONS}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS idempotency_keys`.execute(db);
}
