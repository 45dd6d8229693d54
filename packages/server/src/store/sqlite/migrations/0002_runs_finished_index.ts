/**
 * History retention (`deleteHistory`) finds the runs that ended before a cutoff through this
 * index, oldest first, without scanning the history.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX runs_finished`.execute(db);
}
