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
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE changes`.execute(db);
}
