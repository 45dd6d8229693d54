/**
 * The MySQL/MariaDB store, for a scheduler cluster: the shared SQL store (`../sql/`) over a
 * mysql2 pool, in one database. Several ecron processes share it; the first to open a fresh
 * database migrates it while the others wait on the migration lock (`GET_LOCK`).
 *
 * Every connection works in READ COMMITTED (as PostgreSQL does; InnoDB's default REPEATABLE READ
 * takes gap locks that make concurrent batches deadlock), in UTC, and with the utf8mb4_bin
 * collation, so that literals compare with the tables' binary-collated columns.
 */
import { CompiledQuery, Kysely, MysqlDialect } from 'kysely';
import { createPool } from 'mysql2';
import { migrateToLatest } from '../sql/migrate.ts';
import { createSqlStore } from '../sql/sql-store.ts';
import type { Store } from '../store.ts';
import { mysqlDialect } from './dialect.ts';
import { MYSQL_MIGRATIONS } from './migrations/index.ts';

export interface MysqlStoreOptions {
  /** `mysql://user[:password]@host[:port]/database`. */
  url: string;
  /**
   * Connections in the pool: a scheduler keeps a few busy (fires, attempts, logs, API).
   * @default 10
   */
  poolSize?: number;
}

/** The URL without its password, to name the store in messages. */
export function describeMysqlUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return `the MySQL store ${parsed.toString()}`;
  } catch {
    return 'the MySQL store';
  }
}

export function createMysqlStore(options: MysqlStoreOptions): Store {
  const description = describeMysqlUrl(options.url);
  const dialect = mysqlDialect({ description });
  return createSqlStore({
    dialect,
    description,
    createDb: () => new Kysely<unknown>({
      dialect: new MysqlDialect({
        pool: createPool({ uri: options.url, connectionLimit: options.poolSize ?? 10, charset: 'UTF8MB4_BIN', timezone: 'Z' }),
        onCreateConnection: async (connection) => {
          await connection.executeQuery(CompiledQuery.raw('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED'));
          await connection.executeQuery(CompiledQuery.raw(`SET time_zone = '+00:00'`));
          // A node frozen inside a transaction (GC, SIGSTOP) must not keep its row locks: MariaDB
          // ends the transaction after 2 s idle, so other nodes can take its buckets over.
          // MySQL has no such setting (it then waits for wait_timeout).
          await connection.executeQuery(CompiledQuery.raw('SET SESSION idle_transaction_timeout = 2')).catch(() => undefined);
          // A statement never waits more than 10 s for a row lock (the default is 50 s).
          await connection.executeQuery(CompiledQuery.raw('SET SESSION innodb_lock_wait_timeout = 10'));
        },
      }),
    }),
    migrate: (db) => migrateToLatest({ db, dialect, migrations: MYSQL_MIGRATIONS, description }),
  });
}
