/**
 * What only the PostgreSQL store has (see `sql-store-checks.ts`), and its error table.
 */
import { describe, expect, it } from 'vitest';
import { classifyPostgresError } from '../../src/store/postgres/dialect.ts';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations/index.ts';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { dumpPostgresSchema } from '../../src/store/postgres/schema-dump.ts';
import { describeSqlStore } from './sql-store-checks.ts';
import { POSTGRES_URL } from './sql-test-stores.ts';

describeSqlStore({
  name: 'postgres',
  create: (schema, poolSize, url = POSTGRES_URL) => createPostgresStore({ url, schema, poolSize }),
  url: POSTGRES_URL,
  admin: (statement, schema) => (statement === 'create' ? `CREATE SCHEMA ${schema}` : `DROP SCHEMA IF EXISTS ${schema} CASCADE`),
  migrations: POSTGRES_MIGRATIONS,
  unreachableUrl: 'postgres://ecron:secret@127.0.0.1:1/nowhere',
  dump: () => dumpPostgresSchema(POSTGRES_URL),
});

describe('postgres store errors', () => {
  const pgError = (code: string, message = 'postgres says no') => Object.assign(new Error(message), { code });

  it('refuses a schema name that is not a plain identifier', () => {
    expect(() => createPostgresStore({ url: POSTGRES_URL, schema: 'a; DROP TABLE x' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
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
});
