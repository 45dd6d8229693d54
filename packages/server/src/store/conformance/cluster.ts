/**
 * The cluster verbs: node membership, bucket leases with their compare-and-set and fencing, the
 * bucket filters of the scheduler's reads, and the change feed. Expiry is forced with a TTL of 0
 * (a lease that ends at the store's now is already expired), so nothing here waits on time.
 */
import { describe, expect, it } from 'vitest';
import { BUCKET_COUNT, bucketOf } from '../../core/buckets.ts';
import type { Store, StoreChange } from '../store.ts';
import { audit, fireOf, newRun, seedDispatchedRun, seedTask, T0, taskRecord } from './fixtures.ts';

const node = (id: string, extra: Partial<{ address: string | null; roles: string[]; tzVersion: string | null }> = {}) => ({
  id, address: extra.address === undefined ? `http://${id}:7070` : extra.address, roles: extra.roles ?? ['api', 'scheduler'], version: '0.1.0',
  tzVersion: extra.tzVersion === undefined ? '2026c' : extra.tzVersion, startedAt: T0,
});

/**
 * Subscribes, then returns (wrapped, so that awaiting the subscription does not await it) a promise of the first batch of changes that includes `wanted`
 * (rejected after 5 s). The subscription is closed once it settles.
 */
async function watchFor(store: Store, wanted: StoreChange): Promise<{ seen: Promise<void> }> {
  let settle!: (error?: Error) => void;
  const seen = new Promise<void>((resolve, reject) => { settle = (error) => (error ? reject(error) : resolve()); });
  const timer = setTimeout(() => settle(new Error(`no change ${JSON.stringify(wanted)} within 5 s`)), 5000);
  const subscription = await store.watchChanges((changes) => {
    if (!changes.some((c) => c.kind === wanted.kind && c.id === wanted.id)) return;
    clearTimeout(timer);
    settle();
  });
  return { seen: seen.finally(() => subscription.close()) };
}

export function describeCluster(ctx: { readonly store: Store }): void {
  describe('cluster: nodes', () => {
    it('registers a node, refreshes its heartbeat on the store clock, lists and removes it', async () => {
      const before = await ctx.store.now();
      const first = await ctx.store.heartbeatNode({ node: node('node-b'), ttlMs: 5000 });
      expect(first).toMatchObject({ ...node('node-b') });
      expect(first.heartbeatAt).toBeGreaterThanOrEqual(before);
      expect(first.expiresAt).toBe(first.heartbeatAt + 5000);
      await ctx.store.heartbeatNode({ node: node('node-a', { address: null, roles: ['scheduler'] }), ttlMs: 5000 });
      const again = await ctx.store.heartbeatNode({ node: node('node-b'), ttlMs: 9000 });
      expect(again.heartbeatAt).toBeGreaterThanOrEqual(first.heartbeatAt);
      expect(again.expiresAt).toBe(again.heartbeatAt + 9000);
      const nodes = await ctx.store.listNodes();
      expect(nodes.map((n) => n.id)).toEqual(['node-a', 'node-b']);
      expect(nodes[0]).toMatchObject({ address: null, roles: ['scheduler'] });
      await ctx.store.removeNode({ nodeId: 'node-b' });
      expect((await ctx.store.listNodes()).map((n) => n.id)).toEqual(['node-a']);
    });

    it('stores each node\'s tz version, replaced by every heartbeat; null for a node that reports none', async () => {
      expect(await ctx.store.heartbeatNode({ node: node('node-a', { tzVersion: '2025c' }), ttlMs: 5000 })).toMatchObject({ id: 'node-a', tzVersion: '2025c' });
      await ctx.store.heartbeatNode({ node: node('node-b', { tzVersion: null }), ttlMs: 5000 });
      expect((await ctx.store.listNodes()).map((n) => [n.id, n.tzVersion])).toEqual([['node-a', '2025c'], ['node-b', null]]);
      // A node restarted on another Node.js build under the same id reports its new version.
      const again = await ctx.store.heartbeatNode({ node: { ...node('node-a', { tzVersion: '2026c' }), startedAt: T0 + 1000 }, ttlMs: 5000 });
      expect(again).toMatchObject({ tzVersion: '2026c', startedAt: T0 });
      const b = await ctx.store.heartbeatNode({ node: node('node-b', { tzVersion: '2026c' }), ttlMs: 5000 });
      expect(b.tzVersion).toBe('2026c');
      expect((await ctx.store.listNodes()).map((n) => [n.id, n.tzVersion])).toEqual([['node-a', '2026c'], ['node-b', '2026c']]);
    });

    it('removing a node ends its leases at once, so another node takes them over', async () => {
      await ctx.store.acquireBuckets({ nodeId: 'node-a', buckets: [1, 2], ttlMs: 60_000 });
      await ctx.store.acquireBuckets({ nodeId: 'node-c', buckets: [3], ttlMs: 60_000 });
      await ctx.store.removeNode({ nodeId: 'node-a' });
      const taken = await ctx.store.acquireBuckets({ nodeId: 'node-b', buckets: [1, 2, 3], ttlMs: 60_000 });
      expect(taken.map((l) => [l.bucket, l.epoch, l.takenOver])).toEqual([[1, 2, true], [2, 2, true]]);
    });
  });

  describe('cluster: bucket leases', () => {
    it('leases free buckets with a new term, keeps its own without one, and leaves live leases of others alone', async () => {
      const now = await ctx.store.now();
      const first = await ctx.store.acquireBuckets({ nodeId: 'node-a', buckets: [5, 3, 3], ttlMs: 10_000 });
      expect(first.map((l) => [l.bucket, l.owner, l.epoch, l.takenOver])).toEqual([[3, 'node-a', 1, true], [5, 'node-a', 1, true]]);
      expect(first[0]!.expiresAt).toBeGreaterThanOrEqual(now + 10_000);
      const other = await ctx.store.acquireBuckets({ nodeId: 'node-b', buckets: [3, 4], ttlMs: 10_000 });
      expect(other.map((l) => [l.bucket, l.owner, l.epoch, l.takenOver])).toEqual([[4, 'node-b', 1, true]]);
      const kept = await ctx.store.acquireBuckets({ nodeId: 'node-a', buckets: [3], ttlMs: 10_000 });
      expect(kept.map((l) => [l.bucket, l.epoch, l.takenOver])).toEqual([[3, 1, false]]);
      expect((await ctx.store.listBucketLeases()).map((l) => [l.bucket, l.owner, l.epoch])).toEqual([[3, 'node-a', 1], [4, 'node-b', 1], [5, 'node-a', 1]]);
    });

    it('an expired lease goes to the next node in a new term, and its old holder can no longer renew it', async () => {
      const [lapsed] = await ctx.store.acquireBuckets({ nodeId: 'node-a', buckets: [7], ttlMs: 0 });
      const [taken] = await ctx.store.acquireBuckets({ nodeId: 'node-b', buckets: [7], ttlMs: 10_000 });
      expect(taken).toMatchObject({ bucket: 7, owner: 'node-b', epoch: lapsed!.epoch + 1, takenOver: true });
      expect(await ctx.store.renewBuckets({ nodeId: 'node-a', terms: [{ bucket: 7, epoch: lapsed!.epoch }], ttlMs: 10_000 })).toEqual([]);
      const [again] = await ctx.store.acquireBuckets({ nodeId: 'node-b', buckets: [7], ttlMs: 0 });
      const [retaken] = await ctx.store.acquireBuckets({ nodeId: 'node-b', buckets: [7], ttlMs: 10_000 });
      expect(retaken).toMatchObject({ epoch: again!.epoch + 1, takenOver: true });
    });

    it('renews only the exact terms still held, and release ends a term at once', async () => {
      const leases = await ctx.store.acquireBuckets({ nodeId: 'node-a', buckets: [1, 2, 3], ttlMs: 10_000 });
      const before = await ctx.store.now();
      const renewed = await ctx.store.renewBuckets({
        nodeId: 'node-a', ttlMs: 20_000, terms: [{ bucket: 1, epoch: 1 }, { bucket: 2, epoch: 9 }, { bucket: 3, epoch: 1 }, { bucket: 4, epoch: 1 }],
      });
      expect(renewed.map((l) => [l.bucket, l.epoch])).toEqual([[1, 1], [3, 1]]);
      expect(renewed[0]!.expiresAt).toBeGreaterThanOrEqual(before + 20_000);
      expect(await ctx.store.renewBuckets({ nodeId: 'node-b', terms: [{ bucket: 1, epoch: 1 }], ttlMs: 20_000 })).toEqual([]);
      await ctx.store.releaseBuckets({ nodeId: 'node-b', terms: [{ bucket: 1, epoch: 1 }] });
      await ctx.store.releaseBuckets({ nodeId: 'node-a', terms: [{ bucket: 2, epoch: 1 }, { bucket: 3, epoch: 7 }] });
      const taken = await ctx.store.acquireBuckets({ nodeId: 'node-b', buckets: [1, 2, 3], ttlMs: 10_000 });
      expect(taken.map((l) => [l.bucket, l.epoch, l.takenOver])).toEqual([[2, 2, true]]);
      expect(leases).toHaveLength(3);
    });

    it('of nodes racing for the same buckets, each bucket goes to exactly one', async () => {
      const buckets = Array.from({ length: 32 }, (_, i) => i);
      const results = await Promise.all(['n1', 'n2', 'n3', 'n4'].map((id) => ctx.store.acquireBuckets({ nodeId: id, buckets, ttlMs: 60_000 })));
      const won = results.flat().map((l) => l.bucket).sort((a, b) => a - b);
      expect(won).toEqual(buckets);
      const leases = await ctx.store.listBucketLeases();
      for (const [i, list] of results.entries()) for (const lease of list) expect(leases[lease.bucket]).toMatchObject({ owner: `n${i + 1}`, epoch: 1 });
    });
  });

  describe('cluster: fencing and bucket filters', () => {
    it('records a fire only under the current, unexpired term of its bucket', async () => {
      const task = await seedTask(ctx.store);
      const bucket = bucketOf(task.id);
      const [lease] = await ctx.store.acquireBuckets({ nodeId: 'node-a', buckets: [bucket], ttlMs: 60_000 });
      const stale = await ctx.store.recordFires([fireOf(task)], { owner: 'node-a', terms: [{ bucket, epoch: lease!.epoch + 1 }] });
      expect(stale).toEqual([{ taskId: task.id, recorded: false, fenced: true, runs: [] }]);
      const stranger = await ctx.store.recordFires([fireOf(task)], { owner: 'node-b', terms: [{ bucket, epoch: lease!.epoch }] });
      expect(stranger[0]).toMatchObject({ recorded: false, fenced: true });
      const missing = await ctx.store.recordFires([fireOf(task)], { owner: 'node-a', terms: [] });
      expect(missing[0]).toMatchObject({ recorded: false, fenced: true });
      expect(await ctx.store.getTask(task.id)).toEqual(task);
      expect((await ctx.store.listRuns({ limit: 10, taskId: task.id })).items).toEqual([]);

      const [fired] = await ctx.store.recordFires([fireOf(task)], { owner: 'node-a', terms: [{ bucket, epoch: lease!.epoch }] });
      expect(fired).toMatchObject({ recorded: true, runs: [expect.objectContaining({ taskId: task.id })] });
      expect(fired!.fenced).toBeFalsy();
    });

    it('refuses a fire once the lease has expired, even under the right term', async () => {
      const task = await seedTask(ctx.store);
      const bucket = bucketOf(task.id);
      const [lease] = await ctx.store.acquireBuckets({ nodeId: 'node-a', buckets: [bucket], ttlMs: 0 });
      const [result] = await ctx.store.recordFires([fireOf(task)], { owner: 'node-a', terms: [{ bucket, epoch: lease!.epoch }] });
      expect(result).toMatchObject({ recorded: false, fenced: true });
      expect(await ctx.store.getTask(task.id)).toEqual(task);
    });

    it('lists due tasks and active runs of the given buckets only', async () => {
      const tasks = [];
      for (let i = 0; i < 12; i += 1) tasks.push(await seedTask(ctx.store, { nextFireAt: T0 + i }));
      const buckets = [...new Set(tasks.slice(0, 6).map((t) => bucketOf(t.id)))];
      const expected = tasks.filter((t) => buckets.includes(bucketOf(t.id))).map((t) => t.id);
      expect((await ctx.store.listDueTasks({ until: T0 + 100, limit: 100, buckets })).map((t) => t.id)).toEqual(expected);
      expect((await ctx.store.listDueTasks({ until: T0 + 100, after: T0 + 2, limit: 100, buckets })).map((t) => t.id))
        .toEqual(tasks.slice(3).filter((t) => buckets.includes(bucketOf(t.id))).map((t) => t.id));
      expect(await ctx.store.listDueTasks({ until: T0 + 100, limit: 100, buckets: [] })).toEqual([]);

      const runs = [];
      for (const task of tasks.slice(0, 8)) runs.push(await seedDispatchedRun(ctx.store, task));
      // Runs of a deleted task still belong to its bucket.
      await ctx.store.deleteTask({ id: tasks[0]!.id, at: T0, audit: audit('task.delete') });
      const inBuckets = runs.filter((r) => buckets.includes(bucketOf(r.taskId))).map((r) => r.id);
      expect((await ctx.store.listActiveRuns({ limit: 100, buckets })).map((r) => r.id)).toEqual(inBuckets);
      expect((await ctx.store.listActiveRuns({ limit: 1, buckets })).map((r) => r.id)).toEqual(inBuckets.slice(0, 1));
      const other = [...Array(BUCKET_COUNT).keys()].filter((b) => !buckets.includes(b));
      expect((await ctx.store.listActiveRuns({ limit: 100, buckets: other })).map((r) => r.id)).toEqual(runs.filter((r) => !inBuckets.includes(r.id)).map((r) => r.id));
    });
  });

  describe('cluster: run ownership', () => {
    it('keeps the owner a run is recorded with, and adopts only active runs whose owner is not live', async () => {
      const all = [...Array(BUCKET_COUNT).keys()];
      const ownedBy = async (owner: string | null) => {
        const task = await seedTask(ctx.store);
        const [result] = await ctx.store.recordFires([fireOf(task, { runs: [newRun(task, { owner })] })]);
        return result!.runs[0]!;
      };
      const dead = await ownedBy('node-a');
      expect(dead.owner).toBe('node-a');
      expect((await ctx.store.getRun(dead.id))!.owner).toBe('node-a');
      const live = await ownedBy('node-b');
      const none = await ownedBy(null);
      const ended = await ownedBy('node-a');
      await ctx.store.finishRun({ runId: ended.id, status: 'cancelled', at: T0 });

      const adopted = await ctx.store.adoptRuns({ nodeId: 'node-c', buckets: all, liveNodeIds: ['node-b', 'node-c'], limit: 100 });
      expect(adopted.map((r) => [r.id, r.owner])).toEqual([[dead.id, 'node-c'], [none.id, 'node-c']]);
      expect((await ctx.store.getRun(dead.id))!.owner).toBe('node-c');
      expect((await ctx.store.getRun(live.id))!.owner).toBe('node-b');
      expect((await ctx.store.getRun(ended.id))!.owner).toBe('node-a');
      expect(await ctx.store.adoptRuns({ nodeId: 'node-c', buckets: all, liveNodeIds: ['node-b', 'node-c'], limit: 100 })).toEqual([]);
      const elsewhere = all.filter((b) => b !== bucketOf(live.taskId));
      expect(await ctx.store.adoptRuns({ nodeId: 'node-d', buckets: elsewhere, liveNodeIds: ['node-d'], limit: 100 }))
        .toEqual(expect.not.arrayContaining([expect.objectContaining({ id: live.id })]));
    });

    it('gives each orphaned run to one of two nodes adopting at once', async () => {
      const all = [...Array(BUCKET_COUNT).keys()];
      const ids: string[] = [];
      for (let i = 0; i < 20; i += 1) {
        const task = await seedTask(ctx.store);
        const [result] = await ctx.store.recordFires([fireOf(task, { runs: [newRun(task, { owner: 'gone' })] })]);
        ids.push(result!.runs[0]!.id);
      }
      const [a, b] = await Promise.all(['x', 'y'].map((nodeId) => ctx.store.adoptRuns({ nodeId, buckets: all, liveNodeIds: ['x', 'y'], limit: 100 })));
      expect([...a!, ...b!].map((r) => r.id).sort()).toEqual([...ids].sort());
      for (const run of a!) expect((await ctx.store.getRun(run.id))!.owner).toBe('x');
      for (const run of b!) expect((await ctx.store.getRun(run.id))!.owner).toBe('y');
    });
  });

  describe('cluster: sent attempts', () => {
    it('marks attempts sent once, and leaves unknown and other attempts alone', async () => {
      const run = await seedDispatchedRun(ctx.store);
      const other = await seedDispatchedRun(ctx.store);
      expect((await ctx.store.listAttempts([run.id]))[0]!.sentAt).toBeNull();
      await ctx.store.markSent([{ runId: run.id, attempt: 1, at: T0 + 1001 }, { runId: 'no-such-run', attempt: 1, at: T0 }, { runId: other.id, attempt: 2, at: T0 }]);
      await ctx.store.markSent([{ runId: run.id, attempt: 1, at: T0 + 9999 }]);
      expect((await ctx.store.listAttempts([run.id]))[0]!.sentAt).toBe(T0 + 1001);
      expect((await ctx.store.listAttempts([other.id]))[0]!.sentAt).toBeNull();
      await ctx.store.markSent([]);
      // The node an executor-target attempt went to replaces the recorded executor; sentAt stays the first.
      const before = (await ctx.store.listAttempts([other.id]))[0]!.executor;
      await ctx.store.markSent([{ runId: other.id, attempt: 1, at: T0 + 5, executor: 'node-7' }]);
      await ctx.store.markSent([{ runId: other.id, attempt: 1, at: T0 + 6 }]);
      const marked = (await ctx.store.listAttempts([other.id]))[0]!;
      expect([before, marked.executor, marked.sentAt]).toEqual([before, 'node-7', T0 + 5]);
    });
  });

  describe('cluster: shared secrets', () => {
    it('keeps the first value stored under a name, whoever asks after', async () => {
      expect(await ctx.store.ensureSecret({ name: 'signing', candidate: 'first-value-0123456789' })).toBe('first-value-0123456789');
      expect(await ctx.store.ensureSecret({ name: 'signing', candidate: 'second-value-0123456789' })).toBe('first-value-0123456789');
      const raced = await Promise.all(['a', 'b', 'c'].map((c) => ctx.store.ensureSecret({ name: 'callback', candidate: `candidate-${c}` })));
      expect(new Set(raced).size).toBe(1);
      expect(['candidate-a', 'candidate-b', 'candidate-c']).toContain(raced[0]);
    });
  });

  describe('cluster: change feed', () => {
    it('tells watchers of task changes and of published run changes', async () => {
      const task = await seedTask(ctx.store);
      const paused = await watchFor(ctx.store, { kind: 'task', id: task.id });
      await ctx.store.setTaskState({ id: task.id, state: 'paused', nextFireAt: null, at: T0, audit: audit('task.pause') });
      await paused.seen;

      const run = await watchFor(ctx.store, { kind: 'run', id: 'run-1' });
      await ctx.store.publishChanges([{ kind: 'run', id: 'run-1' }]);
      await run.seen;

      const deleted = await watchFor(ctx.store, { kind: 'task', id: task.id });
      await ctx.store.deleteTask({ id: task.id, at: T0, audit: audit('task.delete') });
      await deleted.seen;

      const next = taskRecord();
      const created = await watchFor(ctx.store, { kind: 'task', id: next.id });
      await ctx.store.createTask({ task: next, audit: audit('task.create') });
      await created.seen;
    });
  });
}
