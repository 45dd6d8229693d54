/**
 * Namespace run quotas (`maxConcurrentRuns`, `maxFiresPerMinute`), admitted by the store in the
 * transaction that gives a run its first attempt (`store/quota-admission.ts`): a run refused is
 * stored `throttled`, without an attempt, and a later `startAttempts` admits it once there is room.
 */
import { describe, expect, it } from 'vitest';
import { NamespaceSpecSchema, type NamespaceSpecInput } from '@ecron/contracts';
import type { RunRecord, TaskRecord } from '../../core/model.ts';
import type { NewRun, Store } from '../store.ts';
import { audit, fireOf, MINUTE, newRun, seedTask, T0 } from './fixtures.ts';

const dispatched = (task: TaskRecord, at: number, overrides: Partial<NewRun> = {}): NewRun => newRun(task, {
  scheduledAt: at, createdAt: at, status: 'dispatched', attempt: { executor: null, startedAt: at, deadlineAt: null }, ...overrides,
});

export function describeQuotas(ctx: { readonly store: Store }): void {
  describe('namespace run quotas', () => {
    const limit = (name: string, quotas: NamespaceSpecInput['quotas']) => ctx.store.putNamespace({
      name, spec: NamespaceSpecSchema.parse({ quotas }), exists: false, at: T0, audit: audit('namespace.create', { name }),
    });
    /** Records one fire at `at` for each task, each with a dispatched run, in one batch. */
    const fireAll = async (tasks: TaskRecord[], at: number): Promise<RunRecord[]> => {
      const results = await ctx.store.recordFires(tasks.map((task) => fireOf(task, { expectedNextFireAt: task.nextFireAt!, runs: [dispatched(task, at)] })));
      return results.flatMap((result) => result.runs);
    };
    const tasksIn = async (namespace: string, n: number) => Promise.all(Array.from({ length: n }, (_, i) => seedTask(ctx.store, { name: `q-${namespace}-${i}`, namespace })));
    const end = (run: RunRecord, at: number) => ctx.store.finishAttempts([{ runId: run.id, attempt: run.attempt, attemptStatus: 'succeeded', at, outcome: { kind: 'final', status: 'succeeded' } }]);
    const start = (run: RunRecord, at: number) => ctx.store.startAttempts([{ runId: run.id, attempt: run.attempt + 1, executor: null, startedAt: at, deadlineAt: null }]);

    it('admits fires up to maxConcurrentRuns and stores the rest throttled, without an attempt; a run that ends makes room', async () => {
      await limit('q-conc', { maxConcurrentRuns: 2 });
      const runs = await fireAll(await tasksIn('q-conc', 3), T0 + MINUTE);
      expect(runs.map((run) => run.status)).toEqual(['dispatched', 'dispatched', 'throttled']);
      const waiting = runs[2]!;
      expect(await ctx.store.getRun(waiting.id)).toMatchObject({ status: 'throttled', attempt: 0, startedAt: null, finishedAt: null });
      expect(await ctx.store.listAttempts([waiting.id])).toEqual([]);
      expect((await ctx.store.listRuns({ limit: 10, status: 'throttled' })).items.map((run) => run.id)).toEqual([waiting.id]);
      expect((await ctx.store.listActiveRuns({ limit: 10 })).map((run) => run.id)).toContain(waiting.id);
      expect(await ctx.store.getNamespaceUsage({ namespace: 'q-conc', since: T0 })).toMatchObject({ activeRuns: 2, throttledRuns: 1, runsSince: 2 });

      // Still no room: asked again, it stays throttled (returned as such, not null).
      expect(await start(waiting, T0 + MINUTE + 10)).toEqual([expect.objectContaining({ id: waiting.id, status: 'throttled', attempt: 0 })]);
      await end(runs[0]!, T0 + MINUTE + 20);
      const [admitted] = await start(waiting, T0 + MINUTE + 30);
      expect(admitted).toMatchObject({ id: waiting.id, status: 'dispatched', attempt: 1, startedAt: T0 + MINUTE + 30 });
      expect(await ctx.store.listAttempts([waiting.id])).toHaveLength(1);
    });

    it('holds a slot through retries: a run waiting for its next attempt still counts, and its retry needs no admission', async () => {
      await limit('q-retry', { maxConcurrentRuns: 1 });
      const [first, second] = await fireAll(await tasksIn('q-retry', 2), T0 + MINUTE);
      expect([first!.status, second!.status]).toEqual(['dispatched', 'throttled']);
      const [retrying] = await ctx.store.finishAttempts([{
        runId: first!.id, attempt: 1, attemptStatus: 'failed', at: T0 + MINUTE + 5, outcome: { kind: 'retry', nextAttemptAt: T0 + MINUTE + 1000 },
      }]);
      expect(retrying).toMatchObject({ status: 'pending', attempt: 1 });
      expect(await start(second!, T0 + MINUTE + 10)).toEqual([expect.objectContaining({ status: 'throttled' })]);
      expect(await start(retrying!, T0 + MINUTE + 1000)).toEqual([expect.objectContaining({ status: 'dispatched', attempt: 2 })]);
    });

    it('admits at most maxFiresPerMinute in any minute, ended runs included, then admits again once the minute has passed', async () => {
      await limit('q-rate', { maxFiresPerMinute: 2 });
      const at = T0 + MINUTE;
      const runs = await fireAll(await tasksIn('q-rate', 3), at);
      expect(runs.map((run) => run.status)).toEqual(['dispatched', 'dispatched', 'throttled']);
      await end(runs[0]!, at + 1);
      await end(runs[1]!, at + 2);
      expect(await start(runs[2]!, at + MINUTE - 1)).toEqual([expect.objectContaining({ status: 'throttled' })]);
      expect(await start(runs[2]!, at + MINUTE)).toEqual([expect.objectContaining({ status: 'dispatched', attempt: 1 })]);
    });

    it('applies to manual runs and to queued runs started later, and a throttled run can be cancelled', async () => {
      await limit('q-manual', { maxConcurrentRuns: 1 });
      const [task, other] = await tasksIn('q-manual', 2);
      const at = T0 + 5000;
      const first = await ctx.store.createRun({ run: dispatched(task!, at, { trigger: 'manual' }), audit: audit('task.trigger') });
      const second = await ctx.store.createRun({ run: dispatched(task!, at, { trigger: 'manual' }), audit: audit('task.trigger') });
      expect([first.status, second.status]).toEqual(['dispatched', 'throttled']);
      const [queued] = (await ctx.store.recordFires([fireOf(other!)]))[0]!.runs;
      expect(queued).toMatchObject({ status: 'pending', attempt: 0 });
      expect(await start(queued!, at + 10)).toEqual([expect.objectContaining({ id: queued!.id, status: 'throttled', attempt: 0 })]);
      const cancelled = await ctx.store.finishRun({ runId: second.id, status: 'cancelled', at: at + 20, error: 'cancelled (user)' });
      expect(cancelled).toMatchObject({ status: 'cancelled', finishedAt: at + 20 });
    });

    it('limits the runs of each named executor group at once, and only the groups named', async () => {
      await limit('q-group', { groupMaxConcurrentRuns: { billing: 1 } });
      const tasks = await tasksIn('q-group', 4);
      const at = T0 + MINUTE;
      const groups = ['billing', 'billing', 'reports', 'reports'];
      const runs = (await ctx.store.recordFires(tasks.map((task, i) => fireOf(task, { runs: [dispatched(task, at, { executorGroup: groups[i]! })] }))))
        .flatMap((result) => result.runs);
      expect(runs.map((run) => run.status)).toEqual(['dispatched', 'throttled', 'dispatched', 'dispatched']);
      // The namespace itself is not limited: its fires are counted as created.
      expect(await ctx.store.getNamespaceUsage({ namespace: 'q-group', since: T0 })).toMatchObject({ activeRuns: 3, throttledRuns: 1, runsSince: 3 });
      const retry = { runId: runs[1]!.id, attempt: 1, executor: null, startedAt: at + 10, deadlineAt: null, executorGroup: 'billing' };
      expect(await ctx.store.startAttempts([retry])).toEqual([expect.objectContaining({ status: 'throttled' })]);
      await end(runs[0]!, at + 20);
      expect(await ctx.store.startAttempts([{ ...retry, startedAt: at + 30 }])).toEqual([expect.objectContaining({ status: 'dispatched', attempt: 1 })]);
    });

    it('admits a run only when both its namespace and its group have room', async () => {
      await limit('q-both', { maxConcurrentRuns: 2, groupMaxConcurrentRuns: { billing: 1 } });
      const tasks = await tasksIn('q-both', 3);
      const groups = ['billing', 'billing', 'reports'];
      const runs = (await ctx.store.recordFires(tasks.map((task, i) => fireOf(task, { runs: [dispatched(task, T0 + MINUTE, { executorGroup: groups[i]! })] }))))
        .flatMap((result) => result.runs);
      expect(runs.map((run) => run.status)).toEqual(['dispatched', 'throttled', 'dispatched']);
    });

    it('leaves namespaces without run quotas alone, and counts each namespace apart', async () => {
      await limit('q-one', { maxConcurrentRuns: 1 });
      await limit('q-free', { minIntervalMs: '1s' });
      const runs = await fireAll([...await tasksIn('q-one', 2), ...await tasksIn('q-free', 3), ...await tasksIn('q-none', 3)], T0 + MINUTE);
      expect(runs.map((run) => `${run.namespace}:${run.status}`)).toEqual([
        'q-one:dispatched', 'q-one:throttled', 'q-free:dispatched', 'q-free:dispatched', 'q-free:dispatched',
        'q-none:dispatched', 'q-none:dispatched', 'q-none:dispatched',
      ]);
    });
  });
}
