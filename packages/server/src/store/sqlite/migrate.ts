/**
 * Applies the SQLite migrations with kysely's Migrator, through the `node:sqlite` adapter.
 */
import type { DatabaseSync } from 'node:sqlite';
import { Kysely, SqliteAdapter, SqliteDialect } from 'kysely';
import { Migrator } from 'kysely/migration';
import { EcronError } from '../../core/errors.ts';
import { sqliteMigrationProvider } from './migrations/index.ts';
import { NodeSqliteDatabase } from './node-sqlite-database.ts';

/**
 * SQLite runs DDL inside transactions, but kysely's adapter says it does not (it is cautious
 * about `PRAGMA foreign_keys`, which our migrations never change). Saying yes makes the migrator
 * apply all pending migrations and their bookkeeping rows in one transaction: a crash halfway
 * leaves the schema as it was.
 */
class TransactionalSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class TransactionalSqliteDialect extends SqliteDialect {
  override createAdapter(): SqliteAdapter {
    return new TransactionalSqliteAdapter();
  }
}

/** Brings the schema of `db` to the latest migration. Throws STORE_UNAVAILABLE when one fails. */
export async function migrateToLatest(db: DatabaseSync): Promise<void> {
  // Not destroyed afterwards: destroying would close `db`, which the store keeps using.
  const kysely = new Kysely<unknown>({ dialect: new TransactionalSqliteDialect({ database: new NodeSqliteDatabase(db) }) });
  const migrator = new Migrator({ db: kysely, provider: sqliteMigrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName;
    const reason = error instanceof Error ? error.message : String(error);
    throw new EcronError('STORE_UNAVAILABLE', `migrating the SQLite store failed${failed ? ` at ${failed}` : ''}: ${reason}`, { migration: failed ?? null });
  }
}
