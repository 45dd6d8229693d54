/**
 * Stores on the machine's PostgreSQL and MariaDB for tests, each in its own schema or database
 * (`t_<random>`), dropped when the store closes. A server that cannot be reached fails the test
 * with a message saying which one: these tests never skip, in CI or anywhere else.
 *
 * ECRON_TEST_POSTGRES_URL and ECRON_TEST_MYSQL_URL point them elsewhere.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { createMysqlStore } from '../../src/store/mysql/mysql-store.ts';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import type { Store } from '../../src/store/store.ts';

export const POSTGRES_URL = process.env.ECRON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.ECRON_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export const randomName = (): string => `t_${randomBytes(6).toString('hex')}`;

function unreachable(what: string, url: string, error: unknown): Error {
  return new Error(`${what} at ${url} is unreachable (CI=${process.env.CI ?? 'unset'}); these tests need it running: ${(error as Error).message}`);
}

/** Runs `statement` on a short-lived admin connection to PostgreSQL. */
export async function postgresAdmin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  try {
    await client.connect();
  } catch (error) {
    throw unreachable('PostgreSQL', POSTGRES_URL, error);
  }
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Runs `statement` on a short-lived admin connection to MySQL/MariaDB. */
export async function mysqlAdmin(statement: string): Promise<void> {
  let connection: mysql.Connection;
  try {
    connection = await mysql.createConnection(MYSQL_URL);
  } catch (error) {
    throw unreachable('MySQL/MariaDB', MYSQL_URL, error);
  }
  try {
    await connection.query(statement);
  } finally {
    await connection.end();
  }
}

/** Makes `store.close()` also run `cleanup` once the store is closed. */
function alsoOnClose(store: Store, cleanup: () => Promise<void>): Store {
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    await cleanup();
  };
  return store;
}

/** A PostgreSQL store in a fresh schema of its own, dropped on close. */
export async function postgresTestStore(schema = randomName()): Promise<Store> {
  await postgresAdmin(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  return alsoOnClose(createPostgresStore({ url: POSTGRES_URL, schema, poolSize: 4 }), () => postgresAdmin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
}

/** A MySQL/MariaDB store in a fresh database of its own, dropped on close. */
export async function mysqlTestStore(database = randomName()): Promise<Store> {
  await mysqlAdmin(`CREATE DATABASE IF NOT EXISTS ${database}`);
  const url = new URL(MYSQL_URL);
  url.pathname = `/${database}`;
  return alsoOnClose(createMysqlStore({ url: url.toString(), poolSize: 4 }), () => mysqlAdmin(`DROP DATABASE IF EXISTS ${database}`));
}
