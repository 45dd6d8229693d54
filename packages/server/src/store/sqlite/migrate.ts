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
 * about `PRAGMA foreign_keys`, which our migrations never change: `migrateToLatest` sets it
 * around the transaction). Saying yes makes the migrator apply all pending migrations and their
 * bookkeeping rows in one transaction: a crash halfway leaves the schema as it was.
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

/**
 * Brings the schema of `db` to the latest migration. Throws STORE_UNAVAILABLE when one fails.
 *
 * Foreign keys are off while migrations run, and set back as they were afterwards: a migration
 * that rebuilds a table (SQLite's 12-step ALTER procedure, as `0004_executors` does for `runs`)
 * drops the old table, and with foreign keys on that would first delete its rows and cascade to
 * their children. `PRAGMA foreign_keys` is a no-op inside a transaction, so it is set here, before
 * the migrator's transaction begins; such a migration runs `PRAGMA foreign_key_check` before it
 * commits.
 */
export async function migrateToLatest(db: DatabaseSync): Promise<void> {
  // Not destroyed afterwards: destroying would close `db`, which the store keeps using.
  const kysely = new Kysely<unknown>({ dialect: new TransactionalSqliteDialect({ database: new NodeSqliteDatabase(db) }) });
  const migrator = new Migrator({ db: kysely, provider: sqliteMigrationProvider });
  const foreignKeys = (db.prepare('PRAGMA foreign_keys').get() as { foreign_keys: number }).foreign_keys;
  db.exec('PRAGMA foreign_keys = OFF');
  let outcome: Awaited<ReturnType<Migrator['migrateToLatest']>>;
  try {
    outcome = await migrator.migrateToLatest();
  } finally {
    db.exec(`PRAGMA foreign_keys = ${foreignKeys === 1 ? 'ON' : 'OFF'}`);
  }
  const { error, results } = outcome;
  if (error !== undefined) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName;
    const reason = error instanceof Error ? error.message : String(error);
    throw new EcronError('STORE_UNAVAILABLE', `migrating the SQLite store failed${failed ? ` at ${failed}` : ''}: ${reason}`, { migration: failed ?? null });
  }
}
