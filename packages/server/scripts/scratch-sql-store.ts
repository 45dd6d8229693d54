/**
 * A SQL store in a scratch schema (PostgreSQL) or database (MySQL/MariaDB) of its own, named
 * `t_<random>` and dropped on close: for tests and benchmarks that must not see each other's data.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { createMysqlStore } from '../src/store/mysql/mysql-store.ts';
import { createPostgresStore } from '../src/store/postgres/postgres-store.ts';
import type { Store } from '../src/store/store.ts';

export const scratchName = (): string => `t_${randomBytes(6).toString('hex')}`;

const isPostgres = (url: string): boolean => /^postgres(ql)?:\/\//.test(url);

/** Runs one statement on a short-lived connection to the server of `url`; returns its rows. */
export async function adminStatement(url: string, statement: string): Promise<Record<string, unknown>[]> {
  if (isPostgres(url)) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(statement)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  }
  const connection = await mysql.createConnection(url);
  try {
    const [rows] = await connection.query(statement);
    return Array.isArray(rows) ? rows as Record<string, unknown>[] : [];
  } finally {
    await connection.end();
  }
}

/**
 * A store (not yet open) on the server of `url`, in a new scratch schema or database; `close()`
 * closes it and then drops the scratch. `name` picks the scratch's name (default random).
 */
export async function scratchSqlStore(url: string, options: { poolSize?: number; name?: string } = {}): Promise<Store> {
  const name = options.name ?? scratchName();
  const poolSize = options.poolSize ?? 4;
  let store: Store;
  let drop: string;
  if (isPostgres(url)) {
    await adminStatement(url, `CREATE SCHEMA IF NOT EXISTS ${name}`);
    store = createPostgresStore({ url, schema: name, poolSize });
    drop = `DROP SCHEMA IF EXISTS ${name} CASCADE`;
  } else {
    await adminStatement(url, `CREATE DATABASE IF NOT EXISTS ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    const scratch = new URL(url);
    scratch.pathname = `/${name}`;
    store = createMysqlStore({ url: scratch.toString(), poolSize });
    drop = `DROP DATABASE IF EXISTS ${name}`;
  }
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    await adminStatement(url, drop);
  };
  return store;
}
