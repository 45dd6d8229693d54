import { describe, expect, it } from 'vitest';
import { OUTPUT_BYTES_CAP, type Store } from '../store.ts';
import { audit, fireOf, MINUTE, newRun, seedDispatchedRun, seedPendingRun, seedTask, T0 } from './fixtures.ts';

export function describeAttempts(ctx: { readonly store: Store }): void {
  describe('attempts and run outcomes', () => {
    it('starts an attempt by compare-and-set on (pending, previous attempt)', async () => {
      const run = await seedPendingRun(ctx.store);
      const item = { runId: run.id, attempt: 1, executor: 'node-a', startedAt: T0 + 1000, deadlineAt: T0 + 31_000 };
      const [started] = await ctx.store.startAttempts([item]);
      expect(started).toEqual({ ...run, status: 'dispatched', attempt: 1, startedAt: T0 + 1000, deadlineAt: T0 + 31_000 });
      expect(await ctx.store.getRun(run.id)).toEqual(started);
      expect(await ctx.store.listAttempts([run.id])).toEqual([
        { runId: run.id, number: 1, status: 'dispatched', executor: 'node-a', startedAt: T0 + 1000, sentAt: null, finishedAt: null, error: null, output: null },
      ]);
      // Starting it again, or at the wrong number, or an unknown run, changes nothing.
      const other = await seedPendingRun(ctx.store);
      const results = await ctx.store.startAttempts([
        item, { ...item, runId: other.id, attempt: 2 }, { ...item, runId: '00000000-0000-7000-8000-000000000009' }, { ...item, runId: other.id },
      ]);
      expect(results.map((result) => result?.id ?? null)).toEqual([null, null, null, other.id]);
      expect(await ctx.store.listAttempts([run.id])).toHaveLength(1);
      expect(await ctx.store.startAttempts([])).toEqual([]);
    });

    it('marks the current attempt running, and nothing else', async () => {
      const run = await seedDispatchedRun(ctx.store);
      expect(await ctx.store.markRunning({ runId: run.id, attempt: 2, at: T0 + 2000 })).toBeNull();
      const running = await ctx.store.markRunning({ runId: run.id, attempt: 1, at: T0 + 2000 });
      expect(running).toEqual({ ...run, status: 'running' });
      expect((await ctx.store.listAttempts([run.id]))[0]!.status).toBe('running');
      await ctx.store.finishAttempts([{ runId: run.id, attempt: 1, attemptStatus: 'succeeded', at: T0 + 3000, outcome: { kind: 'final', status: 'succeeded' } }]);
      expect(await ctx.store.markRunning({ runId: run.id, attempt: 1, at: T0 + 4000 })).toBeNull();
      const pending = await seedPendingRun(ctx.store);
      expect(await ctx.store.markRunning({ runId: pending.id, attempt: 0, at: T0 })).toBeNull();
    });

    it('ends a run with a final outcome and sets the task\'s last run status', async () => {
      const task = await seedTask(ctx.store);
      const run = await seedDispatchedRun(ctx.store, task);
      await ctx.store.markRunning({ runId: run.id, attempt: 1, at: T0 + 1500 });
      const [finished] = await ctx.store.finishAttempts([{
        runId: run.id, attempt: 1, attemptStatus: 'succeeded', at: T0 + 5000, output: { rows: 42 }, outcome: { kind: 'final', status: 'succeeded' },
      }]);
      expect(finished).toEqual({ ...run, status: 'succeeded', output: { rows: 42 }, error: null, finishedAt: T0 + 5000 });
      expect(await ctx.store.getRun(run.id)).toEqual(finished);
      expect(await ctx.store.listAttempts([run.id])).toEqual([
        { runId: run.id, number: 1, status: 'succeeded', executor: 'node-a', startedAt: T0 + 1000, sentAt: null, finishedAt: T0 + 5000, error: null, output: { rows: 42 } },
      ]);
      expect((await ctx.store.getTask(task.id))!.lastRunStatus).toBe('succeeded');
      expect(await ctx.store.listActiveRuns({ limit: 10 })).toEqual([]);
    });

    it('writes text exactly through batch writes: quotes, backslashes, braces, commas, "NULL", empty, non-ASCII', async () => {
      const awkward = 'a "quoted" \\ back\\slash, {braces} NULL \u00e9\u4e2d \n\ttab';
      const task = await seedTask(ctx.store);
      const [fire] = await ctx.store.recordFires([fireOf(task, { runs: [newRun(task, { status: 'dispatched', params: { text: awkward, empty: '' }, attempt: { executor: awkward, startedAt: T0, deadlineAt: null } })] })]);
      const run = fire!.runs[0]!;
      expect((await ctx.store.getRun(run.id))!.params).toEqual({ text: awkward, empty: '' });
      for (const [i, error] of [awkward, 'NULL', ''].entries()) {
        const [ended] = await ctx.store.finishAttempts([{
          runId: run.id, attempt: i + 1, attemptStatus: 'failed', at: T0 + 10 * i + 1, error, output: { text: awkward, error },
          outcome: i < 2 ? { kind: 'retry', nextAttemptAt: T0 + 10 * i + 5 } : { kind: 'final', status: 'failed' },
        }]);
        expect(ended).toMatchObject({ error });
        if (i < 2) await ctx.store.startAttempts([{ runId: run.id, attempt: i + 2, executor: awkward, startedAt: T0 + 10 * i + 5, deadlineAt: null }]);
      }
      expect(await ctx.store.getRun(run.id)).toMatchObject({ status: 'failed', error: '', output: { text: awkward, error: '' } });
      const attempts = await ctx.store.listAttempts([run.id]);
      expect(attempts.map((a) => [a.executor, a.error, a.output])).toEqual([
        [awkward, awkward, { text: awkward, error: awkward }], [awkward, 'NULL', { text: awkward, error: 'NULL' }], [awkward, '', { text: awkward, error: '' }],
      ]);
    });

    it('puts a retried run back to pending, then starts the next attempt', async () => {
      const task = await seedTask(ctx.store);
      const run = await seedDispatchedRun(ctx.store, task);
      const [retried] = await ctx.store.finishAttempts([{
        runId: run.id, attempt: 1, attemptStatus: 'failed', at: T0 + 2000, error: 'HTTP 503', outcome: { kind: 'retry', nextAttemptAt: T0 + 4000 },
      }]);
      expect(retried).toMatchObject({ status: 'pending', attempt: 1, nextAttemptAt: T0 + 4000, error: 'HTTP 503', finishedAt: null, startedAt: T0 + 1000 });
      expect((await ctx.store.getTask(task.id))!.lastRunStatus).toBeNull();
      // The finished attempt cannot be finished again.
      expect(await ctx.store.finishAttempts([{ runId: run.id, attempt: 1, attemptStatus: 'timed_out', at: T0 + 2500, outcome: { kind: 'final', status: 'timed_out' } }]))
        .toEqual([null]);
      const [second] = await ctx.store.startAttempts([{ runId: run.id, attempt: 2, executor: 'node-b', startedAt: T0 + 4000, deadlineAt: T0 + 34_000 }]);
      expect(second).toMatchObject({ status: 'dispatched', attempt: 2, nextAttemptAt: null, startedAt: T0 + 1000, deadlineAt: T0 + 34_000 });
      const [last] = await ctx.store.finishAttempts([{
        runId: run.id, attempt: 2, attemptStatus: 'timed_out', at: T0 + 34_000, error: 'deadline passed', outcome: { kind: 'final', status: 'timed_out' },
      }]);
      expect(last).toMatchObject({ status: 'timed_out', attempt: 2, error: 'deadline passed', finishedAt: T0 + 34_000 });
      expect((await ctx.store.listAttempts([run.id])).map((attempt) => [attempt.number, attempt.status, attempt.executor, attempt.error])).toEqual([
        [1, 'failed', 'node-a', 'HTTP 503'], [2, 'timed_out', 'node-b', 'deadline passed'],
      ]);
      expect((await ctx.store.getTask(task.id))!.lastRunStatus).toBe('timed_out');
    });

    it('ignores stale finishes: wrong attempt, final run, unknown run, pending run', async () => {
      const run = await seedDispatchedRun(ctx.store);
      const final = { kind: 'final', status: 'failed' } as const;
      const pending = await seedPendingRun(ctx.store);
      const results = await ctx.store.finishAttempts([
        { runId: run.id, attempt: 2, attemptStatus: 'failed', at: T0, outcome: final },
        { runId: '00000000-0000-7000-8000-00000000000a', attempt: 1, attemptStatus: 'failed', at: T0, outcome: final },
        { runId: pending.id, attempt: 0, attemptStatus: 'failed', at: T0, outcome: final },
        { runId: run.id, attempt: 1, attemptStatus: 'cancelled', at: T0 + 1, outcome: { kind: 'final', status: 'cancelled' } },
        { runId: run.id, attempt: 1, attemptStatus: 'failed', at: T0 + 2, outcome: final },
      ]);
      expect(results.map((result) => result?.status ?? null)).toEqual([null, null, null, 'cancelled', null]);
      expect(await ctx.store.getRun(run.id)).toMatchObject({ status: 'cancelled', finishedAt: T0 + 1 });
      expect(await ctx.store.getRun(pending.id)).toEqual(pending);
      expect(await ctx.store.finishAttempts([])).toEqual([]);
    });

    it('sets the task\'s next fire on a final outcome only when it has none and is active', async () => {
      const waiting = await seedTask(ctx.store, { nextFireAt: null });
      const scheduled = await seedTask(ctx.store);
      const pausedTask = await seedTask(ctx.store, { nextFireAt: null });
      const retrying = await seedTask(ctx.store, { nextFireAt: null });
      const runs = [];
      for (const task of [waiting, scheduled, pausedTask, retrying]) {
        const run = await ctx.store.createRun({ run: newRun(task, { trigger: 'manual', scheduledAt: T0 }) });
        const [started] = await ctx.store.startAttempts([{ runId: run.id, attempt: 1, executor: null, startedAt: T0, deadlineAt: null }]);
        runs.push(started!);
      }
      await ctx.store.setTaskState({ id: pausedTask.id, state: 'paused', nextFireAt: null, at: T0, audit: audit('task.pause') });
      const next = T0 + 10 * MINUTE;
      const done = { attemptStatus: 'succeeded', at: T0 + 1, outcome: { kind: 'final', status: 'succeeded' }, taskNextFireAt: next } as const;
      await ctx.store.finishAttempts([
        { runId: runs[0]!.id, attempt: 1, ...done },
        { runId: runs[1]!.id, attempt: 1, ...done },
        { runId: runs[2]!.id, attempt: 1, ...done },
        { runId: runs[3]!.id, attempt: 1, ...done, attemptStatus: 'failed', outcome: { kind: 'retry', nextAttemptAt: T0 + 5 } },
      ]);
      expect((await ctx.store.getTask(waiting.id))!.nextFireAt).toBe(next);
      expect((await ctx.store.getTask(scheduled.id))!.nextFireAt).toBe(scheduled.nextFireAt);
      expect((await ctx.store.getTask(pausedTask.id))!.nextFireAt).toBeNull();
      expect((await ctx.store.getTask(retrying.id))!.nextFireAt).toBeNull();
    });

    it('replaces an output larger than the cap with a truncation marker', async () => {
      const run = await seedDispatchedRun(ctx.store);
      const big = { text: 'x'.repeat(OUTPUT_BYTES_CAP) };
      const bytes = Buffer.byteLength(JSON.stringify(big));
      const [finished] = await ctx.store.finishAttempts([{ runId: run.id, attempt: 1, attemptStatus: 'succeeded', at: T0, output: big, outcome: { kind: 'final', status: 'succeeded' } }]);
      expect(finished!.output).toEqual({ truncated: true, bytes });
      expect((await ctx.store.getRun(run.id))!.output).toEqual({ truncated: true, bytes });
      expect((await ctx.store.listAttempts([run.id]))[0]!.output).toEqual({ truncated: true, bytes });
      // Just under the cap is kept as is; so are scalars.
      const fits = 'y'.repeat(OUTPUT_BYTES_CAP - 2);
      const other = await seedDispatchedRun(ctx.store);
      await ctx.store.finishAttempts([{ runId: other.id, attempt: 1, attemptStatus: 'succeeded', at: T0, output: fits, outcome: { kind: 'final', status: 'succeeded' } }]);
      expect((await ctx.store.getRun(other.id))!.output).toBe(fits);
    });

    it('ends a run with no attempt in flight, with an audit entry', async () => {
      const task = await seedTask(ctx.store);
      const run = await seedPendingRun(ctx.store, task);
      const cancelled = await ctx.store.finishRun({ runId: run.id, status: 'cancelled', at: T0 + 7, error: 'cancelled by alice', audit: audit('run.cancel') });
      expect(cancelled).toEqual({ ...run, status: 'cancelled', finishedAt: T0 + 7, error: 'cancelled by alice' });
      expect(await ctx.store.getRun(run.id)).toEqual(cancelled);
      expect((await ctx.store.getTask(task.id))!.lastRunStatus).toBe('cancelled');
      expect((await ctx.store.listAudit({ limit: 10, action: 'run.cancel' })).items).toEqual([expect.objectContaining({ resourceType: 'run', resourceId: run.id, at: T0 + 7 })]);
      // Not again, not on a run in flight, not on an unknown run; no audit then.
      const dispatched = await seedDispatchedRun(ctx.store);
      expect(await ctx.store.finishRun({ runId: run.id, status: 'skipped', at: T0, audit: audit('run.cancel') })).toBeNull();
      expect(await ctx.store.finishRun({ runId: dispatched.id, status: 'lost', at: T0, audit: audit('run.cancel') })).toBeNull();
      expect(await ctx.store.finishRun({ runId: '00000000-0000-7000-8000-00000000000b', status: 'failed', at: T0 })).toBeNull();
      expect(await ctx.store.getRun(dispatched.id)).toEqual(dispatched);
      expect((await ctx.store.listAudit({ limit: 10, action: 'run.cancel' })).items).toHaveLength(1);
      // Ending and auditing are one transaction.
      const other = await seedPendingRun(ctx.store);
      await expect(ctx.store.finishRun({ runId: other.id, status: 'cancelled', at: T0, audit: { actor: 'x', action: 'run.cancel', details: { n: 1n } } })).rejects.toThrow();
      expect(await ctx.store.getRun(other.id)).toEqual(other);
      // A backing-off run (pending after a retry) can be ended.
      await ctx.store.finishAttempts([{ runId: dispatched.id, attempt: 1, attemptStatus: 'failed', at: T0, outcome: { kind: 'retry', nextAttemptAt: T0 + 10 } }]);
      expect(await ctx.store.finishRun({ runId: dispatched.id, status: 'failed', at: T0 + 1 })).toMatchObject({ status: 'failed', nextAttemptAt: null, finishedAt: T0 + 1 });
    });

    it('lists runs not yet final, oldest first, optionally of one task', async () => {
      const a = await seedTask(ctx.store);
      const b = await seedTask(ctx.store);
      const pendingA = await seedPendingRun(ctx.store, a);
      const dispatchedB = await seedDispatchedRun(ctx.store, b);
      const runningA = await seedPendingRun(ctx.store, a, { scheduledAt: T0 + 99 * MINUTE });
      await ctx.store.startAttempts([{ runId: runningA.id, attempt: 1, executor: null, startedAt: T0, deadlineAt: null }]);
      await ctx.store.markRunning({ runId: runningA.id, attempt: 1, at: T0 });
      const doneB = await seedPendingRun(ctx.store, b, { scheduledAt: T0 + 98 * MINUTE });
      await ctx.store.finishRun({ runId: doneB.id, status: 'skipped', at: T0 });
      expect((await ctx.store.listActiveRuns({ limit: 10 })).map((run) => [run.id, run.status])).toEqual([
        [pendingA.id, 'pending'], [dispatchedB.id, 'dispatched'], [runningA.id, 'running'],
      ]);
      expect((await ctx.store.listActiveRuns({ limit: 2 })).map((run) => run.id)).toEqual([pendingA.id, dispatchedB.id]);
      expect((await ctx.store.listActiveRuns({ taskId: a.id, limit: 10 })).map((run) => run.id)).toEqual([pendingA.id, runningA.id]);
      expect(await ctx.store.listActiveRuns({ taskId: b.id, limit: 10 })).toEqual([dispatchedB]);
    });

    it('lists attempts of several runs by run, then number', async () => {
      const first = await seedDispatchedRun(ctx.store);
      const second = await seedDispatchedRun(ctx.store);
      await ctx.store.finishAttempts([{ runId: first.id, attempt: 1, attemptStatus: 'failed', at: T0, outcome: { kind: 'retry', nextAttemptAt: T0 } }]);
      await ctx.store.startAttempts([{ runId: first.id, attempt: 2, executor: null, startedAt: T0, deadlineAt: null }]);
      const attempts = await ctx.store.listAttempts([second.id, first.id, '00000000-0000-7000-8000-00000000000c']);
      const [low, high] = [first.id, second.id].sort();
      expect(attempts.map((attempt) => [attempt.runId, attempt.number])).toEqual(
        low === first.id ? [[first.id, 1], [first.id, 2], [second.id, 1]] : [[second.id, 1], [first.id, 1], [first.id, 2]],
      );
      expect(high).toBeDefined();
      expect(await ctx.store.listAttempts([])).toEqual([]);
    });
  });
}
