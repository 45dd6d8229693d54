/**
 * The PostgreSQL store, for a scheduler cluster: the shared SQL store (`../sql/`) over a
 * node-postgres pool, in one schema of one database. Several ecron processes share it; the
 * first to open a fresh schema creates and migrates it while the others wait on the migration
 * lock.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { EcronError } from '../../core/errors.ts';
import { migrateToLatest } from '../sql/migrate.ts';
import { createSqlStore } from '../sql/sql-store.ts';
import type { Store } from '../store.ts';
import { postgresDialect } from './dialect.ts';
import { POSTGRES_MIGRATIONS } from './migrations/index.ts';
import { sql } from 'kysely';

export interface PostgresStoreOptions {
  /** `postgres://user[:password]@host[:port]/database`. */
  url: string;
  /**
   * The schema holding ecron's tables, created if missing; other schemas are not touched.
   * @default 'public'
   */
  schema?: string;
  /**
   * Connections in the pool: a scheduler keeps a few busy (fires, attempts, logs, API).
   * @default 10
   */
  poolSize?: number;
}

/** How long taking a connection may wait (a new connection, or a free one of a busy pool). */
const CONNECT_TIMEOUT_MS = 10_000;

const INT8 = 20;
const JSON_OID = 114;
const JSONB = 3802;

/**
 * Type parsers of the store's pool: BIGINT (instants, counts) as JS numbers, exact to 2^53 (the
 * year 285,616), and JSON left as text for the shared row mapping to parse.
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8) return (value: string) => Number(value);
    if (oid === JSON_OID || oid === JSONB) return (value: string) => value;
    return pg.types.getTypeParser(oid, format as 'text');
  }) as typeof pg.types.getTypeParser,
};

/** The URL without its password, to name the store in messages. */
export function describePostgresUrl(url: string, schema: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return `the PostgreSQL store ${parsed.toString()} (schema ${schema})`;
  } catch {
    return `the PostgreSQL store (schema ${schema})`;
  }
}

export function createPostgresStore(options: PostgresStoreOptions): Store {
  const schema = options.schema ?? 'public';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new EcronError('CONFIG_INVALID', `the PostgreSQL schema must be a plain identifier, not ${JSON.stringify(schema)}`, { schema });
  }
  const description = describePostgresUrl(options.url, schema);
  const dialect = postgresDialect({ schema, description, url: options.url });
  return createSqlStore({
    dialect,
    description,
    createDb: () => {
      const pool = new pg.Pool({
        connectionString: options.url, max: options.poolSize ?? 10, types, application_name: 'ecron',
        // A node frozen inside a transaction (GC, SIGSTOP) must not keep its row locks: the server
        // ends its session after 2 s idle in a transaction, so other nodes can take its buckets over.
        // A statement never waits more than 10 s for a row lock: it fails (and its caller retries)
        // instead of stalling the node's firing behind it.
        options: `-c search_path=${schema} -c idle_in_transaction_session_timeout=2000 -c lock_timeout=10000`,
        // A server that does not answer fails the verb (STORE_UNAVAILABLE) instead of hanging it;
        // keepalive finds connections a dead peer or a NAT dropped.
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true,
      });
      // An idle connection that breaks (a server restart) is dropped; the next verb gets a new one.
      pool.on('error', () => undefined);
      // A connection the server ends while it is checked out (idle-in-transaction timeout after this
      // node froze, a restart) emits 'error' on its client: without a listener, that would crash the
      // process. The verb using it fails on its next statement instead, and the pool discards it.
      pool.on('connect', (client) => { client.on('error', () => undefined); });
      return new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
    },
    migrate: (db) => migrateToLatest({
      db, dialect, migrations: POSTGRES_MIGRATIONS, migrationTableSchema: schema, description,
      prepare: async (connection) => { await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(connection); },
    }),
  });
}
