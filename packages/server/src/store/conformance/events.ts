import { describe, expect, it } from 'vitest';
import type { EventFilter, EventRecord, Store } from '../store.ts';
import { audit, errorCode, seedDispatchedRun, seedTask, T0, taskRecord } from './fixtures.ts';
import { end, inline, seedWorkflow, startRun } from './workflows.ts';

/** Numbers what is committed (SQL stores), then reads the log after `after`. */
async function logAfter(store: Store, after: number, filter?: EventFilter): Promise<EventRecord[]> {
  while (await store.sequenceEvents({ limit: 1000 }) > 0) { /* number everything committed */ }
  return store.readEvents({ after, limit: 1000, ...(filter ? { filter } : {}) });
}

/** The log's end once everything committed so far is numbered. */
async function mark(store: Store): Promise<number> {
  while (await store.sequenceEvents({ limit: 1000 }) > 0) { /* number everything committed */ }
  return store.lastEventSeq();
}

export function describeEvents(ctx: { readonly store: Store }): void {
  describe('event log', () => {
    it('writes a run\'s fire, each change of status and attempt, and its progress, in order', async () => {
      const start = await mark(ctx.store);
      const task = await seedTask(ctx.store, { namespace: 'team-a' });
      const run = await seedDispatchedRun(ctx.store, task);
      await ctx.store.markRunning({ runId: run.id, attempt: 1, at: T0 + 1500 });
      await ctx.store.acceptReport({ runId: run.id, attempt: 1, seq: 0, progress: 0.5 });
      const [retried] = await ctx.store.finishAttempts([{
        runId: run.id, attempt: 1, attemptStatus: 'failed', at: T0 + 2000, error: 'boom', outcome: { kind: 'retry', nextAttemptAt: T0 + 3000 },
      }]);
      expect(retried?.status).toBe('pending');
      await ctx.store.startAttempts([{ runId: run.id, attempt: 2, executor: 'node-b', startedAt: T0 + 3000, deadlineAt: null }]);
      await ctx.store.finishAttempts([{ runId: run.id, attempt: 2, attemptStatus: 'succeeded', at: T0 + 4000, outcome: { kind: 'final', status: 'succeeded' } }]);

      const events = await logAfter(ctx.store, start);
      expect(events.map((e) => e.type)).toEqual([
        'task.created', 'run.fired', 'run.dispatched', 'run.started', 'run.progress', 'run.pending', 'run.dispatched', 'run.succeeded',
      ]);
      const seqs = events.map((e) => e.seq);
      expect(seqs).toEqual(seqs.map((_, i) => start + i + 1));
      expect(await ctx.store.lastEventSeq()).toBe(start + events.length);
      for (const event of events.slice(1)) expect(event).toMatchObject({ namespace: 'team-a', taskId: task.id, runId: run.id, workflowRunId: null });
      expect(events[0]).toMatchObject({ type: 'task.created', namespace: 'team-a', taskId: task.id, runId: null, data: { name: task.name, revision: 1, state: 'active' } });
      expect(events[1]!.data).toMatchObject({ status: 'pending', attempt: 0, trigger: 'schedule', scheduledAt: run.scheduledAt });
      expect(events[4]!.data).toMatchObject({ progress: 0.5, attempt: 1 });
      expect(events[5]!.data).toMatchObject({ status: 'pending', previousStatus: 'running', attempt: 1, error: 'boom' });
      expect(events[6]!.data).toMatchObject({ status: 'dispatched', attempt: 2 });
      expect(events[7]!.data).toMatchObject({ status: 'succeeded', previousStatus: 'dispatched', attempt: 2, finishedAt: T0 + 4000 });
      for (const event of events) expect(event.data).not.toHaveProperty('workflowRunId');
      for (const event of events) expect(event.at).toBeGreaterThan(Date.now() - 60_000);
    });

    it('writes a workflow\'s runs as workflow events and its nodes\' changes, in its namespace and under its id', async () => {
      const start = await mark(ctx.store);
      const workflow = await seedWorkflow(ctx.store, [inline('a'), inline('b', ['a'])]);
      const { driver, roots } = await startRun(ctx.store, workflow);
      await end(ctx.store, roots[0]!, 'succeeded');
      const events = await logAfter(ctx.store, start, { types: ['workflow.*'] });
      expect(events.map((e) => e.type)).toEqual([
        'workflow.created', 'workflow.fired', 'workflow.dispatched', 'workflow.node.running', 'workflow.started', 'workflow.node.succeeded',
        'workflow.node.running',
      ]);
      for (const event of events) expect(event).toMatchObject({ namespace: 'default', taskId: workflow.id });
      expect(events[1]).toMatchObject({ runId: driver.id, workflowRunId: driver.id });
      expect(events[3]).toMatchObject({ runId: roots[0]!.id, workflowRunId: driver.id, data: { nodeId: 'a', status: 'running' } });
      const nodeRuns = await logAfter(ctx.store, start, { workflowRunId: driver.id, types: ['run.*'] });
      expect(nodeRuns.map((e) => [e.type, e.data.nodeId])).toEqual([
        ['run.fired', 'a'], ['run.dispatched', 'a'], ['run.succeeded', 'a'], ['run.fired', 'b'],
      ]);
    });

    it('writes task updates, pauses, resumes and deletion, and nothing for a change that was refused', async () => {
      const task = await seedTask(ctx.store);
      const start = await mark(ctx.store);
      expect(await errorCode(ctx.store.createTask({ task: taskRecord({ name: task.name }), audit: audit('task.create') }))).toBe('TASK_NAME_TAKEN');
      await ctx.store.updateTask({ id: task.id, spec: { ...task.spec, description: 'v2' }, nextFireAt: task.nextFireAt, anchorAt: T0, state: 'active', at: T0 + 1, audit: audit('task.update') });
      await ctx.store.setTaskState({ id: task.id, state: 'paused', nextFireAt: null, at: T0 + 2, audit: audit('task.pause') });
      await ctx.store.setTaskState({ id: task.id, state: 'active', nextFireAt: T0 + 60_000, at: T0 + 3, audit: audit('task.resume') });
      await ctx.store.deleteTask({ id: task.id, at: T0 + 4, audit: audit('task.delete') });
      const events = await logAfter(ctx.store, start);
      expect(events.map((e) => [e.type, e.data.revision])).toEqual([
        ['task.updated', 2], ['task.paused', 2], ['task.resumed', 2], ['task.deleted', 2],
      ]);
    });

    it('writes executor nodes joining, suspected (once), recovered and leaving, scheduler nodes joining and leaving, and lease moves, with no namespace for cluster events', async () => {
      const start = await mark(ctx.store);
      const executor = {
        id: 'exec-ev', group: 'billing', mode: 'push' as const, transport: 'http' as const, address: 'http://127.0.0.1:9', labels: {}, weight: 1,
        handlers: [], version: '1.0.0', inflight: 0, namespace: 'team-b', owner: null,
      };
      await ctx.store.heartbeatExecutor({ node: executor, ttlMs: 60_000 });
      await ctx.store.heartbeatExecutor({ node: executor, ttlMs: 60_000 });
      expect(await ctx.store.markSuspectedExecutors()).toBe(0);
      // Its heartbeats stop (its lease is over): marked once, by whichever node looks first.
      await ctx.store.heartbeatExecutor({ node: executor, ttlMs: -1 });
      expect((await Promise.all([ctx.store.markSuspectedExecutors(), ctx.store.markSuspectedExecutors()])).sort()).toEqual([0, 1]);
      expect(await ctx.store.markSuspectedExecutors()).toBe(0);
      await ctx.store.heartbeatExecutor({ node: executor, ttlMs: 60_000 });
      expect(await ctx.store.markSuspectedExecutors()).toBe(0);
      expect(await ctx.store.removeExecutor({ id: 'exec-ev' })).toBe(true);
      const node = { id: 'node-ev', address: 'http://node-ev:7070', roles: ['api', 'scheduler'], version: '0.1.0', tzVersion: null, startedAt: T0 };
      await ctx.store.heartbeatNode({ node, ttlMs: 5000 });
      await ctx.store.acquireBuckets({ nodeId: 'node-ev', buckets: [3], ttlMs: 5000 });
      await ctx.store.removeNode({ nodeId: 'node-ev' });
      const events = await logAfter(ctx.store, start);
      expect(events.map((e) => [e.type, e.namespace])).toEqual([
        ['executor.joined', 'team-b'], ['executor.suspected', 'team-b'], ['executor.recovered', 'team-b'], ['executor.left', 'team-b'],
        ['node.joined', null], ['lease.moved', null], ['node.left', null],
      ]);
      expect(events[0]!.data).toMatchObject({ executorId: 'exec-ev', group: 'billing', mode: 'push', transport: 'http' });
      expect(events[1]!.data).toMatchObject({ executorId: 'exec-ev', group: 'billing' });
      expect(typeof events[1]!.data.lastHeartbeatAt).toBe('number');
      expect(events[5]!.data).toMatchObject({ bucket: 3, to: 'node-ev' });
      expect(events[5]!.data).not.toHaveProperty('from');
    });

    it('filters by namespace, cluster events, type (exact or prefix), task and run, and reads up to `through`', async () => {
      const start = await mark(ctx.store);
      const a = await seedTask(ctx.store, { namespace: 'ns-a' });
      const b = await seedTask(ctx.store, { namespace: 'ns-b' });
      const runA = await seedDispatchedRun(ctx.store, a);
      await seedDispatchedRun(ctx.store, b);
      await ctx.store.heartbeatNode({ node: { id: 'node-f', address: null, roles: ['scheduler'], version: '0.1.0', tzVersion: null, startedAt: T0 }, ttlMs: 5000 });
      const types = async (filter: EventFilter) => (await logAfter(ctx.store, start, filter)).map((e) => `${e.namespace ?? '-'}:${e.type}`);
      expect(await types({ namespaces: ['ns-a'], clusterEvents: false })).toEqual(['ns-a:task.created', 'ns-a:run.fired', 'ns-a:run.dispatched']);
      expect(await types({ namespaces: ['ns-b'] })).toEqual(['ns-b:task.created', 'ns-b:run.fired', 'ns-b:run.dispatched', '-:node.joined']);
      expect(await types({ namespaces: [], clusterEvents: true })).toEqual(['-:node.joined']);
      expect(await types({ namespaces: [], clusterEvents: false })).toEqual([]);
      expect(await types({ clusterEvents: false, types: ['run.*'] })).toEqual(['ns-a:run.fired', 'ns-a:run.dispatched', 'ns-b:run.fired', 'ns-b:run.dispatched']);
      expect(await types({ types: ['task.created', 'node.*'] })).toEqual(['ns-a:task.created', 'ns-b:task.created', '-:node.joined']);
      expect(await types({ types: ['run_*'] })).toEqual([]);
      expect(await types({ taskId: a.id })).toEqual(['ns-a:task.created', 'ns-a:run.fired', 'ns-a:run.dispatched']);
      expect(await types({ runId: runA.id, types: ['run.dispatched'] })).toEqual(['ns-a:run.dispatched']);
      const all = await logAfter(ctx.store, start);
      expect(await ctx.store.readEvents({ after: start, through: all[2]!.seq, limit: 100 })).toEqual(all.slice(0, 3));
      expect(await ctx.store.readEvents({ after: all[2]!.seq, limit: 2 })).toEqual(all.slice(3, 5));
    });

    it('numbers each event once when numbering callers race, with no gap', async () => {
      const start = await mark(ctx.store);
      await Promise.all(Array.from({ length: 8 }, async () => seedDispatchedRun(ctx.store, await seedTask(ctx.store))));
      const counts = await Promise.all(Array.from({ length: 4 }, () => ctx.store.sequenceEvents({ limit: 7 })));
      const events = await logAfter(ctx.store, start);
      expect(events.length).toBeGreaterThan(20);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => start + i + 1));
      expect(counts.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(events.length);
    });

    it('deletes events written before a time, lowest seq first, and never gives a number twice', async () => {
      await seedTask(ctx.store);
      await seedTask(ctx.store);
      const before = await logAfter(ctx.store, 0);
      const last = await ctx.store.lastEventSeq();
      expect(await ctx.store.oldestEventSeq()).toBe(before[0]!.seq);
      expect(await ctx.store.deleteEvents({ before: Date.now() + 60_000, limit: 1 })).toBe(1);
      expect(await ctx.store.oldestEventSeq()).toBe(before[1]!.seq);
      expect((await ctx.store.readEvents({ after: 0, limit: 1000 })).map((e) => e.seq)).toEqual(before.slice(1).map((e) => e.seq));
      expect(await ctx.store.deleteEvents({ before: Date.now() + 60_000, limit: 1000 })).toBe(before.length - 1);
      expect(await ctx.store.deleteEvents({ before: 0, limit: 1000 })).toBe(0);
      expect(await ctx.store.lastEventSeq()).toBe(last);
      expect(await ctx.store.oldestEventSeq()).toBeNull();
      await seedTask(ctx.store);
      const [next] = await logAfter(ctx.store, 0);
      expect(next!.seq).toBe(last + 1);
      expect(await ctx.store.oldestEventSeq()).toBe(last + 1);
    });
  });
}
