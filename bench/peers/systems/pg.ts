/** The benchmark's own PostgreSQL databases: dropped and recreated for every run, and measured. */
import pg from 'pg';
import { mb, PG_URL } from '../common.ts';

export const databaseUrl = (name: string): string => `${PG_URL}/${name}`;

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl('postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Drops (closing its connections) and recreates the database `name` (only names starting with bench_). */
export async function recreateDatabase(name: string): Promise<string> {
  if (!/^bench_[a-z0-9_]+$/.test(name)) throw new Error(`not a benchmark database: ${name}`);
  await withAdmin(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${name}`);
  });
  return databaseUrl(name);
}

export async function databaseSizeMb(name: string): Promise<number> {
  return withAdmin(async (client) => mb(Number((await client.query('SELECT pg_database_size($1) AS size', [name])).rows[0].size)));
}

/** Runs one statement on the benchmark database `name`. */
export async function query(name: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: databaseUrl(name) });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}
