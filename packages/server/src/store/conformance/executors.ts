/**
 * The executor registry (`heartbeatExecutor`, `removeExecutor`, `listExecutors`) and the run
 * status `no_executor`: a run waiting for a live executor node, not final, with no attempt in
 * flight. Death and forgetting are forced with TTLs of 0 and below (a node whose expiry is the
 * store's now is already dead), so nothing here waits on time.
 */
import { describe, expect, it } from 'vitest';
import { bucketOf } from '../../core/buckets.ts';
import type { ExecutorNodeRecord, Store } from '../store.ts';
import { audit, fireOf, newRun, seedDispatchedRun, seedTask, T0 } from './fixtures.ts';

type ExecutorNode = Omit<ExecutorNodeRecord, 'startedAt' | 'heartbeatAt' | 'expiresAt'>;

const HOUR = 3_600_000;

const executor = (id: string, extra: Partial<ExecutorNode> = {}): ExecutorNode => ({
  id, namespace: 'default', group: 'billing', mode: 'push', transport: 'http', address: `http://${id}:9000/ecron`, labels: { zone: 'a' }, weight: 1,
  handlers: ['report'], version: '1.0.0', inflight: 0, owner: 'token:exec', ...extra,
});

export function describeExecutors(ctx: { readonly store: Store }): void {
  describe('executor registry', () => {
    it('registers a node on the store clock, and a heartbeat keeps its startedAt and moves its expiry', async () => {
      const before = await ctx.store.now();
      const first = await ctx.store.heartbeatExecutor({ node: executor('exec-1'), ttlMs: 4000 });
      expect(first).toMatchObject(executor('exec-1'));
      expect(first.heartbeatAt).toBeGreaterThanOrEqual(before);
      expect(first.startedAt).toBe(first.heartbeatAt);
      expect(first.expiresAt).toBe(first.heartbeatAt + 4000);
      const again = await ctx.store.heartbeatExecutor({ node: executor('exec-1', { inflight: 3, weight: 5, version: '1.0.1' }), ttlMs: 9000 });
      expect(again).toMatchObject({ inflight: 3, weight: 5, version: '1.0.1', startedAt: first.startedAt });
      expect(again.heartbeatAt).toBeGreaterThanOrEqual(first.heartbeatAt);
      expect(again.expiresAt).toBe(again.heartbeatAt + 9000);
      expect(again.heartbeatAt).toBeLessThanOrEqual(await ctx.store.now());
      expect(await ctx.store.listExecutors()).toEqual([again]);
    });

    it('keeps a live node\'s registration from another owner or namespace, and lets it be taken once it expired', async () => {
      const mine = await ctx.store.heartbeatExecutor({ node: executor('exec-own', { owner: 'token:a', namespace: 'team-a' }), ttlMs: 60_000 });
      const stolen = await ctx.store.heartbeatExecutor({ node: executor('exec-own', { owner: 'token:b', namespace: 'team-a', address: 'http://evil:1/' }), ttlMs: 60_000 });
      expect(stolen).toEqual(mine);
      const moved = await ctx.store.heartbeatExecutor({ node: executor('exec-own', { owner: 'token:a', namespace: 'team-b' }), ttlMs: 60_000 });
      expect(moved).toMatchObject({ namespace: 'team-a', owner: 'token:a' });
      expect((await ctx.store.heartbeatExecutor({ node: executor('exec-own', { owner: 'token:a', namespace: 'team-a', inflight: 2 }), ttlMs: 60_000 })).inflight).toBe(2);
      // Dead (a TTL of -1 leaves it expired): its id may be taken.
      await ctx.store.heartbeatExecutor({ node: executor('exec-own', { owner: 'token:a', namespace: 'team-a' }), ttlMs: -1 });
      expect(await ctx.store.heartbeatExecutor({ node: executor('exec-own', { owner: 'token:b', namespace: 'team-b' }), ttlMs: 60_000 }))
        .toMatchObject({ owner: 'token:b', namespace: 'team-b' });
    });

    it('round-trips labels, handlers and a pull-mode node without an address', async () => {
      const labels = { 'topology.kubernetes.io/zone': 'cn-north-1a', env: 'prod', 'a.b_c-d': '灰度 ✓', empty: '' };
      const handlers = ['report', 'sync.orders', 'shell', 'a'.repeat(128)];
      const pull = executor('puller@host-1:7', { mode: 'pull', transport: 'grpc', address: null, labels, handlers, weight: 1000, inflight: 1_000_000 });
      const stored = await ctx.store.heartbeatExecutor({ node: pull, ttlMs: 4000 });
      expect(stored).toMatchObject(pull);
      const [listed] = await ctx.store.listExecutors();
      expect(listed).toEqual(stored);
      expect(Object.keys(listed!.labels)).toEqual(Object.keys(labels));
      const bare = executor('puller@host-1:7', { address: 'http://10.0.0.7:9000/ecron', labels: {}, handlers: [] });
      expect(await ctx.store.heartbeatExecutor({ node: bare, ttlMs: 4000 })).toMatchObject(bare);
    });

    it('lists by group then id, or one group by id', async () => {
      for (const [id, group] of [['b-2', 'billing'], ['o-1', 'ops'], ['b-1', 'billing'], ['a-9', 'analytics'], ['B-3', 'billing']] as const) {
        await ctx.store.heartbeatExecutor({ node: executor(id, { group }), ttlMs: 4000 });
      }
      expect((await ctx.store.listExecutors()).map((n) => `${n.group}/${n.id}`)).toEqual(['analytics/a-9', 'billing/B-3', 'billing/b-1', 'billing/b-2', 'ops/o-1']);
      expect((await ctx.store.listExecutors({ group: 'billing' })).map((n) => n.id)).toEqual(['B-3', 'b-1', 'b-2']);
      expect(await ctx.store.listExecutors({ group: 'Billing' })).toEqual([]);
      // A node that heartbeats with another group moves to it.
      await ctx.store.heartbeatExecutor({ node: executor('b-1', { group: 'ops' }), ttlMs: 4000 });
      expect((await ctx.store.listExecutors({ group: 'ops' })).map((n) => n.id)).toEqual(['b-1', 'o-1']);
    });

    it('removes a node at once, and says whether it was registered', async () => {
      await ctx.store.heartbeatExecutor({ node: executor('exec-1'), ttlMs: 4000 });
      await ctx.store.heartbeatExecutor({ node: executor('exec-2'), ttlMs: 4000 });
      expect(await ctx.store.removeExecutor({ id: 'exec-1' })).toBe(true);
      expect(await ctx.store.removeExecutor({ id: 'exec-1' })).toBe(false);
      expect(await ctx.store.removeExecutor({ id: 'never-seen' })).toBe(false);
      expect((await ctx.store.listExecutors()).map((n) => n.id)).toEqual(['exec-2']);
    });

    it('lists dead nodes with their expiry in the past, and forgets those dead for more than an hour', async () => {
      const dead = await ctx.store.heartbeatExecutor({ node: executor('dead'), ttlMs: 0 });
      const recent = await ctx.store.heartbeatExecutor({ node: executor('recently-dead'), ttlMs: -(HOUR - 60_000) });
      // A node is never forgotten by its own heartbeat.
      const longDead = await ctx.store.heartbeatExecutor({ node: executor('long-dead'), ttlMs: -(HOUR + 60_000) });
      expect((await ctx.store.listExecutors()).map((n) => n.id)).toEqual(['dead', 'long-dead', 'recently-dead']);
      const now = await ctx.store.now();
      expect(dead.expiresAt).toBeLessThanOrEqual(now);
      expect(recent.expiresAt).toBeLessThan(now);
      expect(longDead.expiresAt).toBeLessThan(now - HOUR);
      // Any heartbeat forgets nodes dead for more than an hour.
      await ctx.store.heartbeatExecutor({ node: executor('live', { group: 'ops' }), ttlMs: 4000 });
      expect((await ctx.store.listExecutors()).map((n) => n.id)).toEqual(['dead', 'recently-dead', 'live']);
    });
  });

  describe('runs waiting for an executor (no_executor)', () => {
    it('records fires and manual runs as no_executor, without an attempt, and lists them as active', async () => {
      const task = await seedTask(ctx.store);
      const [fired] = await ctx.store.recordFires([fireOf(task, { runs: [newRun(task, { status: 'no_executor', error: 'no live executor in group billing' })] })]);
      const run = fired!.runs[0]!;
      expect(run).toMatchObject({ status: 'no_executor', attempt: 0, finishedAt: null, nextAttemptAt: null, error: 'no live executor in group billing' });
      expect(await ctx.store.getRun(run.id)).toEqual(run);
      expect(await ctx.store.listAttempts([run.id])).toEqual([]);
      const manual = await ctx.store.createRun({ run: newRun(task, { trigger: 'manual', scheduledAt: T0, status: 'no_executor' }), audit: audit('task.trigger') });
      expect(manual).toMatchObject({ status: 'no_executor', attempt: 0, finishedAt: null });
      expect((await ctx.store.listActiveRuns({ limit: 10 })).map((r) => r.id)).toEqual([run.id, manual.id]);
      expect((await ctx.store.listActiveRuns({ taskId: task.id, limit: 10 })).map((r) => r.id)).toEqual([run.id, manual.id]);
      expect((await ctx.store.listRuns({ limit: 10, status: 'no_executor' })).items.map((r) => r.id).sort()).toEqual([run.id, manual.id].sort());
      expect((await ctx.store.getTask(task.id))!.lastRunStatus).toBeNull();
    });

    it('ends an attempt no executor took: the run waits as no_executor, then starts again from there', async () => {
      const task = await seedTask(ctx.store);
      const run = await seedDispatchedRun(ctx.store, task);
      const [waiting] = await ctx.store.finishAttempts([{
        runId: run.id, attempt: 1, attemptStatus: 'failed', at: T0 + 2000, error: 'no live executor in group billing', outcome: { kind: 'no_executor' },
      }]);
      expect(waiting).toEqual({ ...run, status: 'no_executor', error: 'no live executor in group billing', nextAttemptAt: null, deadlineAt: null });
      expect(await ctx.store.getRun(run.id)).toEqual(waiting);
      expect((await ctx.store.listAttempts([run.id])).map((a) => [a.number, a.status, a.finishedAt, a.error])).toEqual([
        [1, 'failed', T0 + 2000, 'no live executor in group billing'],
      ]);
      expect((await ctx.store.getTask(task.id))!.lastRunStatus).toBeNull();
      expect((await ctx.store.listActiveRuns({ limit: 10 })).map((r) => r.id)).toEqual([run.id]);
      // No attempt is in flight: finishing, marking or reporting on attempt 1 again is stale.
      expect(await ctx.store.finishAttempts([{ runId: run.id, attempt: 1, attemptStatus: 'failed', at: T0 + 2500, outcome: { kind: 'final', status: 'failed' } }]))
        .toEqual([null]);
      expect(await ctx.store.markRunning({ runId: run.id, attempt: 1, at: T0 + 2500 })).toBeNull();
      expect(await ctx.store.acceptReport({ runId: run.id, attempt: 1, seq: 5 })).toBe('superseded');
      // Only the next attempt starts it.
      const next = { runId: run.id, attempt: 2, executor: 'exec-2', startedAt: T0 + 3000, deadlineAt: T0 + 33_000 };
      expect(await ctx.store.startAttempts([{ ...next, attempt: 1 }])).toEqual([null]);
      const [started] = await ctx.store.startAttempts([next]);
      expect(started).toMatchObject({ status: 'dispatched', attempt: 2, nextAttemptAt: null, deadlineAt: T0 + 33_000, startedAt: T0 + 1000 });
      const [done] = await ctx.store.finishAttempts([{ runId: run.id, attempt: 2, attemptStatus: 'succeeded', at: T0 + 4000, outcome: { kind: 'final', status: 'succeeded' } }]);
      expect(done).toMatchObject({ status: 'succeeded', finishedAt: T0 + 4000 });
    });

    it('starts the first attempt of a run recorded as no_executor', async () => {
      const task = await seedTask(ctx.store);
      const [fired] = await ctx.store.recordFires([fireOf(task, { runs: [newRun(task, { status: 'no_executor' })] })]);
      const run = fired!.runs[0]!;
      const [started] = await ctx.store.startAttempts([{ runId: run.id, attempt: 1, executor: 'exec-1', startedAt: T0 + 500, deadlineAt: null }]);
      expect(started).toEqual({ ...run, status: 'dispatched', attempt: 1, startedAt: T0 + 500 });
      expect(await ctx.store.listAttempts([run.id])).toMatchObject([{ number: 1, status: 'dispatched', executor: 'exec-1' }]);
    });

    it('ends a no_executor run with finishRun, once', async () => {
      const task = await seedTask(ctx.store);
      const run = await ctx.store.createRun({ run: newRun(task, { trigger: 'manual', scheduledAt: T0, status: 'no_executor' }) });
      const cancelled = await ctx.store.finishRun({ runId: run.id, status: 'cancelled', at: T0 + 100, error: 'cancelled by tester', audit: audit('run.cancel') });
      expect(cancelled).toEqual({ ...run, status: 'cancelled', error: 'cancelled by tester', finishedAt: T0 + 100 });
      expect((await ctx.store.getTask(task.id))!.lastRunStatus).toBe('cancelled');
      expect(await ctx.store.finishRun({ runId: run.id, status: 'skipped', at: T0 + 200 })).toBeNull();
      expect((await ctx.store.listAudit({ limit: 10, action: 'run.cancel' })).items.map((a) => a.resourceId)).toEqual([run.id]);
      expect(await ctx.store.listActiveRuns({ limit: 10 })).toEqual([]);
    });

    it('lets a node adopt orphaned no_executor runs of its buckets', async () => {
      const task = await seedTask(ctx.store);
      const [fired] = await ctx.store.recordFires([fireOf(task, { runs: [newRun(task, { status: 'no_executor', owner: 'gone-node' })] })]);
      const run = fired!.runs[0]!;
      const adopted = await ctx.store.adoptRuns({ nodeId: 'node-a', buckets: [bucketOf(task.id)], liveNodeIds: ['node-a'], limit: 10 });
      expect(adopted).toEqual([{ ...run, owner: 'node-a' }]);
    });
  });
}
