/**
 * The change log (`sql/change-feed.ts`), as PostgreSQL's `0002_change_log`: task changes and
 * published run changes, appended in the transaction that makes them, read by every node's
 * change poller (MySQL has no LISTEN: the poll is the only path), pruned after five minutes.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE IF NOT EXISTS changes (
  seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind VARCHAR(16) NOT NULL,
  id VARCHAR(64) NOT NULL,
  at BIGINT NOT NULL,
  KEY changes_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`).execute(db);
  // When an attempt went out; null while only recorded (see AttemptRecord.sentAt).
  await sql`ALTER TABLE attempts ADD COLUMN IF NOT EXISTS sent_at BIGINT NULL`.execute(db);
  // Secrets every node shares (executor signing key, callback token key): see Store.ensureSecret.
  await sql.raw(`CREATE TABLE IF NOT EXISTS cluster_secrets (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE attempts DROP COLUMN sent_at`.execute(db);
  await sql`DROP TABLE cluster_secrets`.execute(db);
  await sql`DROP TABLE changes`.execute(db);
}
