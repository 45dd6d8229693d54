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

/** A scratch schema (PostgreSQL) or database (MySQL) on a server, created and not yet dropped. */
export interface Scratch {
  name: string;
  /** The store URL in it, for `ecron start --store` or the store factories. */
  storeUrl: string;
  drop(): Promise<void>;
}

/** Creates a scratch schema or database on the server of `url` (named `name`, default random). */
export async function createScratch(url: string, name = scratchName()): Promise<Scratch> {
  let storeUrl: string;
  let drop: string;
  if (isPostgres(url)) {
    await adminStatement(url, `CREATE SCHEMA IF NOT EXISTS ${name}`);
    const scratch = new URL(url);
    scratch.searchParams.set('schema', name);
    storeUrl = scratch.toString();
    drop = `DROP SCHEMA IF EXISTS ${name} CASCADE`;
  } else {
    await adminStatement(url, `CREATE DATABASE IF NOT EXISTS ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    const scratch = new URL(url);
    scratch.pathname = `/${name}`;
    storeUrl = scratch.toString();
    drop = `DROP DATABASE IF EXISTS ${name}`;
  }
  return { name, storeUrl, drop: async () => { await adminStatement(url, drop); } };
}

/**
 * A store (not yet open) on the server of `url`, in a new scratch schema or database; `close()`
 * closes it and then drops the scratch. `name` picks the scratch's name (default random).
 */
export async function scratchSqlStore(url: string, options: { poolSize?: number; name?: string } = {}): Promise<Store> {
  const scratch = await createScratch(url, options.name);
  const poolSize = options.poolSize ?? 4;
  const store = isPostgres(url)
    ? createPostgresStore({ url, schema: scratch.name, poolSize })
    : createMysqlStore({ url: scratch.storeUrl, poolSize });
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    await scratch.drop();
  };
  return store;
}
