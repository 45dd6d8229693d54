/**
 * The change log (`sql/change-feed.ts`): task changes and published run changes, appended in the
 * transaction that makes them, read by every node's change poller, pruned after five minutes.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE changes (
  seq bigserial PRIMARY KEY,
  kind text NOT NULL,
  id text COLLATE "C" NOT NULL,
  at bigint NOT NULL
)`).execute(db);
  await sql`CREATE INDEX changes_at ON changes (at)`.execute(db);
  // When an attempt went out; null while only recorded (see AttemptRecord.sentAt).
  await sql`ALTER TABLE attempts ADD COLUMN sent_at bigint`.execute(db);
  // Secrets every node shares (executor signing key, callback token key): see Store.ensureSecret.
  await sql.raw(`CREATE TABLE cluster_secrets (
  name text COLLATE "C" PRIMARY KEY,
  value text NOT NULL
)`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE attempts DROP COLUMN sent_at`.execute(db);
  await sql`DROP TABLE cluster_secrets`.execute(db);
  await sql`DROP TABLE changes`.execute(db);
}
