/**
 * Stores on the machine's PostgreSQL and MariaDB for tests, each in its own schema or database
 * (`t_<random>`), dropped when the store closes. A server that cannot be reached fails the test
 * with a message saying which one: these tests never skip, in CI or anywhere else.
 *
 * ECRON_TEST_POSTGRES_URL and ECRON_TEST_MYSQL_URL point them elsewhere.
 */
import type { Store } from '../../src/store/store.ts';
import { adminStatement, scratchName, scratchSqlStore } from '../../scripts/scratch-sql-store.ts';

export const POSTGRES_URL = process.env.ECRON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.ECRON_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export { scratchName as randomName };

/** Runs `fn`, telling which server was unreachable when its connection fails. */
async function reaching<T>(url: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'ECONNREFUSED' && code !== 'ENOTFOUND' && code !== 'ETIMEDOUT' && code !== 'EHOSTUNREACH') throw error;
    throw new Error(`the database server at ${url} is unreachable (CI=${process.env.CI ?? 'unset'}); these tests need it running: ${(error as Error).message}`, { cause: error });
  }
}

/** Runs one statement on the test server of `url` (POSTGRES_URL or MYSQL_URL); returns its rows. */
export const adminQuery = (url: string, statement: string): Promise<Record<string, unknown>[]> => reaching(url, () => adminStatement(url, statement));

/** A PostgreSQL store in a fresh schema of its own, dropped on close. */
export const postgresTestStore = (): Promise<Store> => reaching(POSTGRES_URL, () => scratchSqlStore(POSTGRES_URL));

/** A MySQL/MariaDB store in a fresh database of its own, dropped on close. */
export const mysqlTestStore = (): Promise<Store> => reaching(MYSQL_URL, () => scratchSqlStore(MYSQL_URL));
