import { afterEach, describe, expect, it } from 'vitest';
import { ExecutorDirectory } from '../../src/dispatch/executor-directory.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';

describe('executor directory: nodes that did not answer', () => {
  let store: Store;
  afterEach(async () => store?.close());

  async function setUp(): Promise<{ directory: ExecutorDirectory; clock: ManualClock; register: (address: string) => Promise<void> }> {
    store = createSqliteStore({ path: ':memory:' });
    await store.open();
    const clock = new ManualClock();
    const directory = new ExecutorDirectory({ store, clock, log: () => {} });
    const register = async (address: string): Promise<void> => {
      await store.heartbeatExecutor({
        node: { id: 'node-b', namespace: 'default', owner: null, group: 'g', mode: 'push', transport: 'http', address, labels: {}, weight: 1, handlers: [], version: '', inflight: 0 },
        ttlMs: 60_000,
      });
    };
    return { directory, clock, register };
  }

  it('leaves a node out of routing for suspectMs after a request to it went unanswered', async () => {
    const { directory, clock, register } = await setUp();
    await register('http://127.0.0.1:9001/');
    await directory.refresh();
    const [node] = directory.live({ namespace: 'default', group: 'g' });
    directory.suspect(node!);
    expect(directory.live({ namespace: 'default', group: 'g' })).toEqual([]);
    await directory.refresh();
    expect(directory.live({ namespace: 'default', group: 'g' })).toEqual([]);
    await clock.advance(3000);
    expect(directory.live({ namespace: 'default', group: 'g' }).map((n) => n.id)).toEqual(['node-b']);
  });

  it('does not hold a failure at a dead process\'s address against the process that registered after it', async () => {
    const { directory, register } = await setUp();
    await register('http://127.0.0.1:9001/');
    await directory.refresh();
    const [old] = directory.live({ namespace: 'default', group: 'g' });
    // The node restarts at another port, the registry read brings the new address in, and only
    // then does a request sent earlier to the old address fail.
    await register('http://127.0.0.1:9002/');
    await directory.refresh();
    directory.suspect(old!);
    expect(directory.live({ namespace: 'default', group: 'g' }).map((n) => n.address)).toEqual(['http://127.0.0.1:9002/']);
  });
});
