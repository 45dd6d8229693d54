/**
 * Nodes on another tz database than the cluster's take no buckets. Bucket leases of several nodes
 * in one process, on the manual clock (ticks happen only when the test calls them) and a real
 * store: SQLite in memory and a scratch PostgreSQL schema. Leases last a minute of the store's
 * real clock, far longer than a test.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUCKET_COUNT } from '../../src/core/buckets.ts';
import { clusterTzVersion, followsClusterTz } from '../../src/core/cluster-tz-version.ts';
import { listNodes } from '../../src/api/routes/nodes.ts';
import { nodeTable } from '../../src/cli/resource-views.ts';
import { BucketLeases } from '../../src/scheduler/bucket-leases.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';
import { postgresTestStore } from '../store/sql-test-stores.ts';

const T0 = Date.UTC(2026, 0, 1);

describe('clusterTzVersion', () => {
  const voter = (id: string, tzVersion: string | null, startedAt: number) => ({ id, tzVersion, startedAt });

  it('is the version most live nodes report', () => {
    expect(clusterTzVersion([voter('a', '2026c', T0), voter('b', '2025c', T0 + 1), voter('c', '2025c', T0 + 2)])).toBe('2025c');
  });

  it('breaks a tie by the oldest node (earliest start, then smallest id)', () => {
    expect(clusterTzVersion([voter('a', '2026c', T0 + 5), voter('b', '2025c', T0 + 1)])).toBe('2025c');
    expect(clusterTzVersion([voter('b', '2025c', T0 + 1), voter('a', '2026c', T0 + 5)])).toBe('2025c');
    expect(clusterTzVersion([voter('b', '2025c', T0), voter('a', '2026c', T0)])).toBe('2026c');
    // The oldest node of each side counts, not the first one seen.
    expect(clusterTzVersion([voter('x', '2026c', T0 + 9), voter('y', '2025c', T0 + 3), voter('z', '2026c', T0 + 1), voter('w', '2025c', T0 + 8)])).toBe('2026c');
  });

  it('leaves out nodes that report none, which follow any version', () => {
    expect(clusterTzVersion([voter('a', null, T0), voter('b', null, T0 + 1), voter('c', '2025c', T0 + 2)])).toBe('2025c');
    expect(clusterTzVersion([voter('a', null, T0)])).toBeNull();
    expect(clusterTzVersion([])).toBeNull();
    expect(followsClusterTz(null, '2026c')).toBe(true);
    expect(followsClusterTz('2025c', null)).toBe(true);
    expect(followsClusterTz('2025c', '2026c')).toBe(false);
    expect(followsClusterTz('2026c', '2026c')).toBe(true);
  });
});

const STORES: [string, () => Promise<Store>][] = [
  ['sqlite', async () => createSqliteStore({ path: ':memory:' })],
  ['postgres', postgresTestStore],
];

describe.each(STORES)('bucket leases and tz versions (%s store)', (_name, createStore) => {
  let store: Store;
  const clock = new ManualClock(T0);
  const nodes: BucketLeases[] = [];
  const logs = new Map<string, { level: string; message: string; fields?: Record<string, unknown> }[]>();

  beforeEach(async () => {
    store = await createStore();
    await store.open();
  });
  afterEach(async () => {
    for (const node of nodes.splice(0)) node.halt();
    logs.clear();
    await store.close();
  });

  /** A cluster node (not exclusive) that started `startedAt` and reports `tzVersion`. */
  function node(id: string, tzVersion: string | null, startedAt: number): BucketLeases {
    const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
    logs.set(id, lines);
    const leases = new BucketLeases({
      store, clock, nodeId: id, tzVersion, ttlMs: 60_000, renewIntervalMs: 1000, safetyMarginMs: 1000,
      node: { address: () => `http://${id}:7070`, roles: ['api', 'scheduler'], version: '0.1.0', startedAt },
      log: (level, message, fields) => lines.push({ level, message, ...(fields ? { fields } : {}) }),
    });
    nodes.push(leases);
    return leases;
  }

  /** Ticks every node in turn, `rounds` times: enough for releases to be seen and taken. */
  async function settle(members: BucketLeases[], rounds = 3): Promise<void> {
    for (let round = 0; round < rounds; round++) for (const member of members) await member.tick();
  }

  /** Live leases per owner, as the store has them. */
  async function leasesByOwner(): Promise<Record<string, number>> {
    const now = await store.now();
    const counts: Record<string, number> = {};
    for (const lease of await store.listBucketLeases()) if (lease.expiresAt > now) counts[lease.owner] = (counts[lease.owner] ?? 0) + 1;
    return counts;
  }

  const tzWarnings = (id: string) => (logs.get(id) ?? []).filter((line) => line.level === 'warn' && line.message.includes('tz database'));

  it('a node on another tz version than the cluster\'s (a tie: the older node\'s) takes no bucket, and says why once', async () => {
    const a = node('node-a', '2026c', T0);
    const b = node('node-b', '2025c', T0 + 1000);
    await a.start();
    await b.start();
    await settle([a, b], 3);
    expect(await leasesByOwner()).toEqual({ 'node-a': BUCKET_COUNT });
    expect(a.heldBuckets()).toBeUndefined(); // every bucket
    expect(b.heldBuckets()).toEqual([]);
    expect(a.followsClusterTz()).toBe(true);
    expect(b.followsClusterTz()).toBe(false);
    expect(b.clusterTzVersion()).toBe('2026c');
    expect(b.liveNodeIds().sort()).toEqual(['node-a', 'node-b']); // still a member
    expect(tzWarnings('node-b')).toEqual([{
      level: 'warn', message: expect.stringContaining('this node\'s tz database (2025c) differs from the cluster\'s (2026c): it takes no buckets'),
      fields: { tzVersion: '2025c', clusterTzVersion: '2026c', liveNodes: 2 },
    }]);
    expect(tzWarnings('node-a')).toEqual([]);

    // What the API and `ecron node list` show.
    const list = await listNodes(store);
    expect(list.clusterTzVersion).toBe('2026c');
    expect(list.items.map((n) => [n.id, n.tzVersion, n.buckets.length])).toEqual([['node-a', '2026c', BUCKET_COUNT], ['node-b', '2025c', 0]]);
    const table = nodeTable(list).split('\n');
    expect(table[0]).toMatch(/^ID +ADDRESS +ALIVE +TZ +BUCKETS +/);
    expect(table[1]).toMatch(/^node-a +http:\/\/node-a:7070 +yes +2026c +256 +/);
    expect(table[2]).toMatch(/^node-b +http:\/\/node-b:7070 +yes +2025c\* +0 +/);
    expect(table).toContain('* tz database differs from the cluster\'s (2026c): the node takes no buckets until it runs the same one');
  });

  it('the majority\'s version wins: the buckets move to it, and back to the oldest node\'s at a tie', async () => {
    const a = node('node-a', '2026c', T0);
    await a.start();
    await settle([a], 1);
    expect(await leasesByOwner()).toEqual({ 'node-a': BUCKET_COUNT });

    // A younger node on 2025c: a tie, which the older node-a wins; node-b waits.
    const b = node('node-b', '2025c', T0 + 1000);
    await b.start();
    await settle([a, b], 2);
    expect(await leasesByOwner()).toEqual({ 'node-a': BUCKET_COUNT });
    expect(tzWarnings('node-b')).toHaveLength(1);

    // A second one: 2025c is the majority. node-a gives up its buckets; node-b and node-c share them.
    const c = node('node-c', '2025c', T0 + 2000);
    await c.start();
    await settle([a, b, c], 3);
    expect(await leasesByOwner()).toEqual({ 'node-b': BUCKET_COUNT / 2, 'node-c': BUCKET_COUNT / 2 });
    expect(a.heldBuckets()).toEqual([]);
    expect(a.clusterTzVersion()).toBe('2025c');
    expect(tzWarnings('node-a')).toHaveLength(1);
    expect(tzWarnings('node-b')).toHaveLength(1);
    expect(tzWarnings('node-c')).toEqual([]);
    expect(logs.get('node-b')!.filter((line) => line.level === 'info' && line.message.includes('is the cluster\'s again'))).toHaveLength(1);

    // node-b leaves: one node each, and the older, node-a, decides. node-c stops firing.
    await b.stop();
    nodes.splice(nodes.indexOf(b), 1);
    await settle([a, c], 3);
    expect(await leasesByOwner()).toEqual({ 'node-a': BUCKET_COUNT });
    expect(c.heldBuckets()).toEqual([]);
    expect(tzWarnings('node-c')).toEqual([expect.objectContaining({ message: expect.stringContaining('(2025c) differs from the cluster\'s (2026c)') })]);
    expect(logs.get('node-a')!.filter((line) => line.level === 'info' && line.message.includes('is the cluster\'s again'))).toHaveLength(1);
  });

  it('a node that reports no tz version (an older release) neither votes nor is left out', async () => {
    const a = node('node-a', null, T0);
    const b = node('node-b', '2025c', T0 + 1000);
    await a.start();
    await b.start();
    await settle([a, b], 3);
    expect(await leasesByOwner()).toEqual({ 'node-a': BUCKET_COUNT / 2, 'node-b': BUCKET_COUNT / 2 });
    expect(a.clusterTzVersion()).toBe('2025c');
    expect(tzWarnings('node-a')).toEqual([]);
    expect((await listNodes(store)).items.map((n) => n.tzVersion)).toEqual([null, '2025c']);
  });

  it('defaults to the tz version of the running Node.js', () => {
    const leases = new BucketLeases({
      store, clock, nodeId: 'node-d', node: { address: () => null, roles: ['scheduler'], version: '0.1.0', startedAt: T0 },
    });
    expect(leases.tzVersion).toBe(process.versions.tz);
    expect(process.versions.tz).toMatch(/^\d{4}[a-z]$/);
  });
});
