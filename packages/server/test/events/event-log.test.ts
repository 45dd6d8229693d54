/**
 * The event log's followers (`events/event-log.ts`) over real stores, with writers running while
 * they follow: every follower gets every event after its position once, in seq order, whether it
 * is served from the buffer or catches up from the store, and on the SQL stores two nodes (two
 * stores on one schema, each numbering) show the same log.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createScratch, type Scratch } from '../../scripts/scratch-sql-store.ts';
import { EventLog } from '../../src/events/event-log.ts';
import { createMysqlStore } from '../../src/store/mysql/mysql-store.ts';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { EventRecord, Store } from '../../src/store/store.ts';
import { seedDispatchedRun, seedTask } from '../../src/store/conformance/fixtures.ts';
import { MYSQL_URL, POSTGRES_URL } from '../store/sql-test-stores.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Two stores on one database (two nodes), opened. */
async function pair(kind: 'sqlite' | 'postgres' | 'mysql'): Promise<[Store, Store]> {
  if (kind === 'sqlite') {
    const store = createSqliteStore({ path: ':memory:' });
    await store.open();
    cleanup.push(() => store.close());
    return [store, store];
  }
  const scratch: Scratch = await createScratch(kind === 'postgres' ? POSTGRES_URL : MYSQL_URL);
  cleanup.push(() => scratch.drop());
  const open = async () => {
    const store = kind === 'postgres' ? createPostgresStore({ url: POSTGRES_URL, schema: scratch.name, poolSize: 4 }) : createMysqlStore({ url: scratch.storeUrl, poolSize: 4 });
    await store.open();
    cleanup.push(() => store.close());
    return store;
  };
  const first = await open();
  return [first, await open()];
}

async function collect(log: EventLog, after: number, until: (events: EventRecord[]) => boolean, filter = {}): Promise<EventRecord[]> {
  const abort = new AbortController();
  const got: EventRecord[] = [];
  const timer = setTimeout(() => abort.abort(), 20_000);
  try {
    for await (const batch of log.follow({ after, filter, signal: abort.signal })) {
      got.push(...batch);
      if (until(got)) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return got;
}

describe.each(['sqlite', 'postgres', 'mysql'] as const)('event log followers on %s', (kind) => {
  it('give every follower each event once, in order, from the buffer or the store, on every node', async () => {
    const [storeA, storeB] = await pair(kind);
    const logA = new EventLog({ store: storeA, pollMs: 10, bufferSize: 7, sequenceBatch: 5 });
    const logB = new EventLog({ store: storeB, pollMs: 10, bufferSize: 7, sequenceBatch: 5 });
    await logA.start();
    await logB.start();
    cleanup.push(() => logA.stop(), () => logB.stop());

    // Written before anyone follows: 2 tasks with a run each (3 events per task: created, fired, dispatched).
    for (let i = 0; i < 2; i++) await seedDispatchedRun(storeA, await seedTask(storeA, { namespace: 'early' }));
    const writers = (async () => {
      for (let i = 0; i < 10; i++) {
        const store = i % 2 === 0 ? storeA : storeB;
        await seedDispatchedRun(store, await seedTask(store, { namespace: i % 3 === 0 ? 'three' : 'other' }));
      }
    })();
    const total = 12 * 3;
    const [fromStart, onB, fromMiddle, filtered] = await Promise.all([
      collect(logA, 0, (got) => got.length >= total),
      collect(logB, 0, (got) => got.length >= total),
      collect(logA, 4, (got) => got.length >= total - 4),
      collect(logB, 0, (got) => got.length >= 4 * 3, { namespaces: ['three'], clusterEvents: false }),
    ]);
    await writers;
    const seqs = fromStart.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(onB).toEqual(fromStart);
    expect(fromMiddle).toEqual(fromStart.slice(4));
    expect(filtered).toEqual(fromStart.filter((e) => e.namespace === 'three'));
    expect(fromStart.filter((e) => e.type === 'task.created')).toHaveLength(12);
  });
});

describe('event log followers on postgres, woken by NOTIFY', () => {
  it('read what another node numbered without waiting for their own poll', async () => {
    const [storeA, storeB] = await pair('postgres');
    // A numbers every 10 ms; B would poll once an hour: its follower sees A's numbering only
    // through the store's change notice.
    const logA = new EventLog({ store: storeA, pollMs: 10 });
    const logB = new EventLog({ store: storeB, pollMs: 3_600_000 });
    await logA.start();
    await logB.start();
    cleanup.push(() => logA.stop(), () => logB.stop());
    const onB = collect(logB, 0, (got) => got.length >= 2 * 3);
    // Let B's follower start waiting on its (empty) buffer first.
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 2; i++) await seedDispatchedRun(storeA, await seedTask(storeA, { namespace: 'woken' }));
    const got = await onB;
    expect(got.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(got.map((e) => e.type)).toEqual(['task.created', 'run.fired', 'run.dispatched', 'task.created', 'run.fired', 'run.dispatched']);
  });
});
