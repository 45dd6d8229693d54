/**
 * What only the PostgreSQL store has: migrations shared by processes, the committed schema dump,
 * its error table, and connection failures. Everything else is in the conformance suite.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { audit, errorCode, taskRecord } from '../../src/store/conformance/fixtures.ts';
import { classifyPostgresError } from '../../src/store/postgres/dialect.ts';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations/index.ts';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { dumpPostgresSchema } from '../../src/store/postgres/schema-dump.ts';
import { POSTGRES_URL, postgresAdmin, postgresTestStore, randomName } from './sql-test-stores.ts';

const pgError = (code: string, message = 'postgres says no') => Object.assign(new Error(message), { code });

async function appliedMigrations(schema: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(`SELECT name FROM ${schema}.kysely_migration ORDER BY name`);
    return rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}

describe('postgres store', () => {
  it('migrates a fresh schema once when several processes open it at the same time', async () => {
    const schema = randomName();
    const stores = Array.from({ length: 4 }, () => createPostgresStore({ url: POSTGRES_URL, schema, poolSize: 2 }));
    try {
      await Promise.all(stores.map((store) => store.open()));
      const task = await stores[0]!.createTask({ task: taskRecord(), audit: audit('task.create') });
      expect(await stores[3]!.getTask(task.id)).toEqual(task);
      expect(await appliedMigrations(schema)).toEqual(Object.keys(POSTGRES_MIGRATIONS).sort());
    } finally {
      await Promise.all(stores.map((store) => store.close()));
      await postgresAdmin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  });

  it('keeps data across close and open, and opens idempotently', async () => {
    const schema = randomName();
    const first = createPostgresStore({ url: POSTGRES_URL, schema, poolSize: 1 });
    const second = createPostgresStore({ url: POSTGRES_URL, schema, poolSize: 1 });
    try {
      await Promise.all([first.open(), first.open()]);
      const task = await first.createTask({ task: taskRecord(), audit: audit('task.create') });
      await first.close();
      await first.close();
      await second.open();
      expect(await second.getTask(task.id)).toEqual(task);
    } finally {
      await first.close();
      await second.close();
      await postgresAdmin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  });

  it('refuses verbs before open and after close', async () => {
    const store = await postgresTestStore();
    expect(await errorCode(store.getTask('x'))).toBe('STORE_UNAVAILABLE');
    await store.open();
    await store.close();
    expect(await errorCode(store.listDueTasks({ until: 0, limit: 1 }))).toBe('STORE_UNAVAILABLE');
  });

  it('fails to open an unreachable server with STORE_UNAVAILABLE, naming it without its password', async () => {
    const store = createPostgresStore({ url: 'postgres://ecron:secret@127.0.0.1:1/nowhere', poolSize: 1 });
    const error = await store.open().then(() => null, (caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect((error as Error).message).toContain('127.0.0.1:1/nowhere');
    expect((error as Error).message).not.toContain('secret');
    await store.close();
  });

  it('refuses a schema name that is not a plain identifier', () => {
    expect(() => createPostgresStore({ url: POSTGRES_URL, schema: 'a; DROP TABLE x' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('gives a name to exactly one of two tasks created with it at the same time', async () => {
    const store = await postgresTestStore();
    await store.open();
    try {
      const results = await Promise.allSettled([0, 1, 2].map(() => store.createTask({ task: taskRecord({ name: 'same' }), audit: audit('task.create') })));
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      expect(results.flatMap((result) => (result.status === 'rejected' ? [(result.reason as { code?: string }).code] : []))).toEqual(['TASK_NAME_TAKEN', 'TASK_NAME_TAKEN']);
    } finally {
      await store.close();
    }
  });

  it('classifies server and connection failures as STORE_UNAVAILABLE, and nothing else', () => {
    for (const code of ['57P01', '57P03', '40001', '40P01', '53300', '08006', '08001', '55P03', 'ECONNREFUSED', 'ECONNRESET']) {
      expect(classifyPostgresError(pgError(code))).toMatchObject({ code: 'STORE_UNAVAILABLE', details: { code } });
    }
    expect(classifyPostgresError(pgError('40P01'))).toMatchObject({ details: { retryable: true } });
    expect(classifyPostgresError(pgError('57P01'))).toMatchObject({ details: { retryable: false } });
    expect(classifyPostgresError(new Error('Connection terminated unexpectedly'))).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    for (const error of [pgError('23505'), pgError('42601'), pgError('22P02'), new TypeError('not postgres')]) {
      expect(classifyPostgresError(error)).toBe(error);
    }
    expect(classifyPostgresError('a string')).toBe('a string');
  });

  it('has a committed schema.sql that matches the migrations', async () => {
    const committed = readFileSync(fileURLToPath(new URL('../../src/store/postgres/schema.sql', import.meta.url)), 'utf8');
    // When this fails: node packages/server/scripts/dump-sql-schema.ts postgres
    expect(committed).toBe(await dumpPostgresSchema(POSTGRES_URL));
  });
});
