/**
 * Applies a SQL store's migrations with kysely's Migrator, under the dialect's database-wide
 * migration lock (`pg_advisory_lock`, `GET_LOCK`), so that several processes opening one fresh
 * database at once apply each migration exactly once and all succeed.
 */
import type { Kysely } from 'kysely';
import { Migrator, type Migration } from 'kysely/migration';
import { EcronError } from '../../core/errors.ts';
import type { SqlDialect } from './dialect.ts';

export interface MigrateOptions {
  db: Kysely<unknown>;
  dialect: SqlDialect;
  migrations: Readonly<Record<string, Migration>>;
  /** Where the migrator keeps its bookkeeping tables (PostgreSQL: the store's schema). */
  migrationTableSchema?: string;
  /** Run under the lock before migrating (PostgreSQL creates the store's schema). */
  prepare?: (connection: Kysely<unknown>) => Promise<void>;
  /** Names the store in error messages. */
  description: string;
}

/** Brings the schema to the latest migration. Throws STORE_UNAVAILABLE when a migration fails. */
export async function migrateToLatest(options: MigrateOptions): Promise<void> {
  const { error, results } = await options.dialect.withMigrationLock(options.db, async (connection) => {
    await options.prepare?.(connection);
    const migrator = new Migrator({
      db: connection,
      provider: { getMigrations: async () => ({ ...options.migrations }) },
      ...(options.migrationTableSchema === undefined ? {} : { migrationTableSchema: options.migrationTableSchema }),
    });
    return migrator.migrateToLatest();
  });
  if (error !== undefined) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName;
    const reason = error instanceof Error ? error.message : String(error);
    throw new EcronError('STORE_UNAVAILABLE', `migrating ${options.description} failed${failed ? ` at ${failed}` : ''}: ${reason}`, { migration: failed ?? null });
  }
}
