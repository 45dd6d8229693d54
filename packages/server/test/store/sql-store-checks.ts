/**
 * What the PostgreSQL and MySQL stores have and the conformance suite cannot see, checked alike
 * on both: migrations shared by processes, reopening, connection failures, a name race and the
 * committed schema dump. Each store's test file adds its own error table's checks.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { audit, errorCode, taskRecord } from '../../src/store/conformance/fixtures.ts';
import type { Store } from '../../src/store/store.ts';
import { adminQuery, randomName } from './sql-test-stores.ts';

export interface SqlStoreUnderTest {
  name: 'postgres' | 'mysql';
  /** The test server. */
  url: string;
  /** A store (not open) in the schema or database `scratch`, on the test server or at `url`. */
  create(scratch: string, poolSize: number, url?: string): Store;
  /** The statements creating (before) and dropping (after) the schema or database `scratch`. */
  admin(statement: 'create' | 'drop', scratch: string): string;
  migrations: Readonly<Record<string, unknown>>;
  /** A URL of this kind on a port where nothing listens, with the password "secret". */
  unreachableUrl: string;
  dump(): Promise<string>;
}

export function describeSqlStore(under: SqlStoreUnderTest): void {
  /** Runs `fn` with stores in a fresh scratch, closing them and dropping it afterwards. */
  async function withScratch(count: number, fn: (stores: Store[], scratch: string) => Promise<void>): Promise<void> {
    const scratch = randomName();
    await adminQuery(under.url, under.admin('create', scratch));
    const stores = Array.from({ length: count }, () => under.create(scratch, 2));
    try {
      await fn(stores, scratch);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
      await adminQuery(under.url, under.admin('drop', scratch));
    }
  }

  describe(`${under.name} store`, () => {
    it('migrates a fresh schema once when several processes open it at the same time', () => withScratch(4, async (stores, scratch) => {
      await Promise.all(stores.map((store) => store.open()));
      const task = await stores[0]!.createTask({ task: taskRecord(), audit: audit('task.create') });
      expect(await stores[3]!.getTask(task.id)).toEqual(task);
      const applied = await adminQuery(under.url, `SELECT name FROM ${scratch}.kysely_migration ORDER BY name`);
      expect(applied.map((row) => row.name)).toEqual(Object.keys(under.migrations).sort());
    }));

    it('keeps data across close and open, and opens idempotently', () => withScratch(2, async ([first, second]) => {
      await Promise.all([first!.open(), first!.open()]);
      const task = await first!.createTask({ task: taskRecord(), audit: audit('task.create') });
      await first!.close();
      await first!.close();
      await second!.open();
      expect(await second!.getTask(task.id)).toEqual(task);
    }));

    it('refuses verbs before open and after close', () => withScratch(1, async ([store]) => {
      expect(await errorCode(store!.getTask('x'))).toBe('STORE_UNAVAILABLE');
      await store!.open();
      await store!.close();
      expect(await errorCode(store!.listDueTasks({ until: 0, limit: 1 }))).toBe('STORE_UNAVAILABLE');
    }));

    it('gives a name to exactly one of tasks created with it at the same time', () => withScratch(1, async ([store]) => {
      await store!.open();
      const results = await Promise.allSettled([0, 1, 2].map(() => store!.createTask({ task: taskRecord({ name: 'same' }), audit: audit('task.create') })));
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      expect(results.flatMap((result) => (result.status === 'rejected' ? [(result.reason as { code?: string }).code] : []))).toEqual(['TASK_NAME_TAKEN', 'TASK_NAME_TAKEN']);
    }));

    it('fails to open an unreachable server with STORE_UNAVAILABLE, naming it without its password', async () => {
      const store = under.create('unused', 1, under.unreachableUrl);
      const error = await store.open().then(() => null, (caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect((error as Error).message).toContain('127.0.0.1:1');
      expect((error as Error).message).not.toContain('secret');
      await store.close();
    });

    it('has a committed schema.sql that matches the migrations', async () => {
      const committed = readFileSync(fileURLToPath(new URL(`../../src/store/${under.name}/schema.sql`, import.meta.url)), 'utf8');
      // When this fails: node packages/server/scripts/dump-sql-schema.ts <postgres|mysql>
      expect(committed).toBe(await under.dump());
    });
  });
}
