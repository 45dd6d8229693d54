/**
 * What only the MySQL/MariaDB store has (see `sql-store-checks.ts`), and its error table.
 */
import { describe, expect, it } from 'vitest';
import { classifyMysqlError, mysqlDialect, packetSizedChunks } from '../../src/store/mysql/dialect.ts';
import { MYSQL_MIGRATIONS } from '../../src/store/mysql/migrations/index.ts';
import { createMysqlStore } from '../../src/store/mysql/mysql-store.ts';
import { dumpMysqlSchema } from '../../src/store/mysql/schema-dump.ts';
import { describeSqlStore } from './sql-store-checks.ts';
import { MYSQL_URL } from './sql-test-stores.ts';

function databaseUrl(database: string, url = MYSQL_URL): string {
  const scratch = new URL(url);
  scratch.pathname = `/${database}`;
  return scratch.toString();
}

describeSqlStore({
  name: 'mysql',
  create: (database, poolSize, url) => createMysqlStore({ url: databaseUrl(database, url), poolSize }),
  url: MYSQL_URL,
  admin: (statement, database) => (statement === 'create'
    ? `CREATE DATABASE ${database} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin` : `DROP DATABASE IF EXISTS ${database}`),
  migrations: MYSQL_MIGRATIONS,
  unreachableUrl: 'mysql://ecron:secret@127.0.0.1:1/nowhere',
  dump: () => dumpMysqlSchema(MYSQL_URL),
});

describe('mysql store errors', () => {
  const mysqlError = (errno: number, code: string, message = 'mysql says no') => Object.assign(new Error(message), { errno, code });

  it('classifies server and connection failures as STORE_UNAVAILABLE, and nothing else', () => {
    for (const [errno, code] of [[1213, 'ER_LOCK_DEADLOCK'], [1205, 'ER_LOCK_WAIT_TIMEOUT'], [1040, 'ER_CON_COUNT_ERROR'], [1053, 'ER_SERVER_SHUTDOWN'],
      [1927, 'ER_CONNECTION_KILLED'], [2013, 'CR_SERVER_LOST']] as const) {
      expect(classifyMysqlError(mysqlError(errno, code))).toMatchObject({ code: 'STORE_UNAVAILABLE', details: { errno } });
    }
    expect(classifyMysqlError(mysqlError(1213, 'ER_LOCK_DEADLOCK'))).toMatchObject({ details: { retryable: true } });
    expect(classifyMysqlError(mysqlError(1053, 'ER_SERVER_SHUTDOWN'))).toMatchObject({ details: { retryable: false } });
    expect(classifyMysqlError(mysqlError(-111, 'ECONNREFUSED'))).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(classifyMysqlError(Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true })))
      .toMatchObject({ code: 'STORE_UNAVAILABLE' });
    for (const error of [mysqlError(1062, 'ER_DUP_ENTRY'), mysqlError(1064, 'ER_PARSE_ERROR'), mysqlError(1452, 'ER_NO_REFERENCED_ROW_2'), new TypeError('not mysql')]) {
      expect(classifyMysqlError(error)).toBe(error);
    }
  });

  it('names the unique key a duplicate broke, as MariaDB and MySQL 8 word it', () => {
    const dialect = mysqlDialect({ description: 'x' });
    expect(dialect.uniqueViolation(mysqlError(1062, 'ER_DUP_ENTRY', "Duplicate entry 'ns-dup' for key 'tasks_name'"))).toBe('tasks_name');
    expect(dialect.uniqueViolation(mysqlError(1062, 'ER_DUP_ENTRY', "Duplicate entry 'ns-dup' for key 'tasks.tasks_name'"))).toBe('tasks_name');
    expect(dialect.uniqueViolation(mysqlError(1064, 'ER_PARSE_ERROR'))).toBeNull();
  });
});

describe('mysql store batches', () => {
  it('splits a multi-row insert so that no statement outgrows the server packet', () => {
    const row = (text: string) => ['id', 1, text];
    expect(packetSizedChunks([], 100)).toEqual([]);
    expect(packetSizedChunks([row('a'), row('b'), row('c')], 1000)).toEqual([[row('a'), row('b'), row('c')]]);
    const chunks = packetSizedChunks([row('x'.repeat(30)), row('y'.repeat(30)), row('z'.repeat(200)), row('w')], 250);
    expect(chunks.map((chunk) => chunk.map((r) => (r[2] as string)[0]))).toEqual([['x', 'y'], ['z'], ['w']]);
  });
});
