import { describe, expect, it } from 'vitest';
import type { Store } from '../store.ts';
import { audit, FAR_FUTURE, fireOf, MINUTE, newRun, seedTask, T0 } from './fixtures.ts';

export function describeFires(ctx: { readonly store: Store }): void {
  describe('due tasks and fires', () => {
    it('lists active due tasks, earliest first, up to the limit', async () => {
      const late = await seedTask(ctx.store, { nextFireAt: T0 + 3000 });
      const early = await seedTask(ctx.store, { nextFireAt: T0 + 1000 });
      const middle = await seedTask(ctx.store, { nextFireAt: T0 + 2000 });
      await seedTask(ctx.store, { nextFireAt: T0 + 2001 });
      await seedTask(ctx.store, { nextFireAt: null });
      await seedTask(ctx.store, { nextFireAt: T0, state: 'paused' });
      await seedTask(ctx.store, { nextFireAt: T0, state: 'completed' });
      const ids = async (until: number, limit: number) => (await ctx.store.listDueTasks({ until, limit })).map((task) => task.id);
      expect(await ids(T0 + 3000, 10)).toEqual([early.id, middle.id, expect.any(String), late.id]);
      expect(await ids(T0 + 2000, 10)).toEqual([early.id, middle.id]);
      expect(await ids(T0 + 999, 10)).toEqual([]);
      expect(await ids(FAR_FUTURE, 2)).toEqual([early.id, middle.id]);
      expect((await ctx.store.listDueTasks({ until: T0 + 1000, limit: 1 }))[0]).toEqual(early);
      const slice = async (after: number, until: number) => (await ctx.store.listDueTasks({ after, until, limit: 10 })).map((task) => task.id);
      expect(await slice(T0 + 1000, T0 + 3000)).toEqual([middle.id, expect.any(String), late.id]);
      expect(await slice(T0 + 2000, T0 + 3000)).toEqual([expect.any(String), late.id]);
      expect(await slice(T0 + 999, T0 + 1000)).toEqual([early.id]);
      expect(await slice(T0 + 3000, FAR_FUTURE)).toEqual([]);
    });

    it('records a fire: advances the task by compare-and-set and inserts its run', async () => {
      const task = await seedTask(ctx.store, { skippedFires: 1 });
      const fire = fireOf(task, { skippedDelta: 2 });
      const [result] = await ctx.store.recordFires([fire]);
      const run = fire.runs[0]!;
      expect(result).toEqual({
        taskId: task.id, recorded: true, runs: [{
          id: run.id, taskId: task.id, namespace: task.namespace, taskName: task.name, taskRevision: 1, trigger: 'schedule',
          workflowRunId: null, nodeId: null, backfillId: null, scheduledAt: task.nextFireAt, status: 'pending', attempt: 0, params: { source: 'test' }, progress: null, output: null, error: null,
          nextAttemptAt: null, deadlineAt: null, reportSeq: -1, owner: null, createdAt: task.nextFireAt, startedAt: null, finishedAt: null,
        }],
      });
      expect(await ctx.store.getRun(run.id)).toEqual(result!.runs[0]);
      expect(await ctx.store.getTask(task.id)).toEqual({ ...task, nextFireAt: task.nextFireAt! + MINUTE, lastFireAt: task.nextFireAt, skippedFires: 3 });
    });

    it('records nothing when the compare-and-set fails', async () => {
      const task = await seedTask(ctx.store);
      const [stale] = await ctx.store.recordFires([fireOf(task, { expectedNextFireAt: task.nextFireAt! - 1 })]);
      expect(stale).toEqual({ taskId: task.id, recorded: false, runs: [] });
      expect(await ctx.store.getTask(task.id)).toEqual(task);
      expect((await ctx.store.listRuns({ limit: 10, taskId: task.id })).items).toEqual([]);

      const paused = await seedTask(ctx.store);
      await ctx.store.setTaskState({ id: paused.id, state: 'paused', nextFireAt: paused.nextFireAt, at: T0, audit: audit('task.pause') });
      const deleted = await seedTask(ctx.store);
      await ctx.store.deleteTask({ id: deleted.id, at: T0, audit: audit('task.delete') });
      const results = await ctx.store.recordFires([fireOf(paused), fireOf(deleted)]);
      expect(results.map((result) => result.recorded)).toEqual([false, false]);
      expect((await ctx.store.listRuns({ limit: 10 })).items).toEqual([]);
      expect(await ctx.store.getTask(paused.id)).toMatchObject({ lastFireAt: null, nextFireAt: paused.nextFireAt });
    });

    it('treats an already recorded fire as a no-op while the compare-and-set still applies', async () => {
      const task = await seedTask(ctx.store);
      const first = fireOf(task);
      await ctx.store.recordFires([first]);
      // The task is moved back to the same instant (say, an update), and the fire is recorded again.
      await ctx.store.setTaskState({ id: task.id, state: 'active', nextFireAt: task.nextFireAt, at: T0, audit: audit('task.resume') });
      const again = fireOf(task, { nextFireAt: task.nextFireAt! + 5 * MINUTE });
      const [result] = await ctx.store.recordFires([again]);
      expect(result).toEqual({ taskId: task.id, recorded: true, runs: [] });
      expect((await ctx.store.getTask(task.id))!.nextFireAt).toBe(task.nextFireAt! + 5 * MINUTE);
      const { items } = await ctx.store.listRuns({ limit: 10, taskId: task.id });
      expect(items.map((run) => run.id)).toEqual([first.runs[0]!.id]);
    });

    it('records a catch-up of several runs and counts skipped fires in one record', async () => {
      const task = await seedTask(ctx.store, { nextFireAt: T0 });
      const times = [T0, T0 + MINUTE, T0 + 2 * MINUTE];
      const runs = times.map((at) => newRun(task, { scheduledAt: at, createdAt: T0 + 2 * MINUTE + 5 }));
      const [result] = await ctx.store.recordFires([{
        taskId: task.id, expectedNextFireAt: T0, nextFireAt: T0 + 3 * MINUTE, lastFireAt: T0 + 2 * MINUTE, skippedDelta: 4, runs,
      }]);
      expect(result!.runs.map((run) => run.scheduledAt)).toEqual(times);
      expect(await ctx.store.getTask(task.id)).toMatchObject({ nextFireAt: T0 + 3 * MINUTE, lastFireAt: T0 + 2 * MINUTE, skippedFires: 4 });
      const stored = await ctx.store.listRuns({ limit: 10, taskId: task.id });
      expect(stored.items.map((run) => run.scheduledAt).sort((x, y) => x - y)).toEqual(times);
    });

    it('records skipped runs as finished, and only-skipped fires with lastFireAt null', async () => {
      const task = await seedTask(ctx.store, { lastFireAt: T0 - MINUTE });
      const skipped = newRun(task, { status: 'skipped', error: 'overlap: the previous run is still running' });
      const [result] = await ctx.store.recordFires([fireOf(task, { runs: [skipped], lastFireAt: null, skippedDelta: 1 })]);
      expect(result!.runs[0]).toMatchObject({ status: 'skipped', finishedAt: skipped.createdAt, error: 'overlap: the previous run is still running', attempt: 0 });
      expect(await ctx.store.getRun(skipped.id)).toEqual(result!.runs[0]);
      // A null lastFireAt leaves the task's last fire as it was.
      expect(await ctx.store.getTask(task.id)).toMatchObject({ lastFireAt: T0 - MINUTE, skippedFires: 1, lastRunStatus: 'skipped' });
      expect(await ctx.store.listActiveRuns({ limit: 10 })).toEqual([]);
    });

    it('starts the first attempt of a run created dispatched', async () => {
      const task = await seedTask(ctx.store);
      const run = newRun(task, { status: 'dispatched', attempt: { executor: 'node-a', startedAt: T0 + 5, deadlineAt: T0 + 30_005 } });
      const [result] = await ctx.store.recordFires([fireOf(task, { runs: [run] })]);
      expect(result!.runs[0]).toMatchObject({ status: 'dispatched', attempt: 1, startedAt: T0 + 5, deadlineAt: T0 + 30_005, reportSeq: -1 });
      expect(await ctx.store.getRun(run.id)).toEqual(result!.runs[0]);
      expect(await ctx.store.listAttempts([run.id])).toEqual([
        { runId: run.id, number: 1, status: 'dispatched', executor: 'node-a', startedAt: T0 + 5, sentAt: null, finishedAt: null, error: null, output: null },
      ]);
    });

    it('completes a task with no fire left', async () => {
      const task = await seedTask(ctx.store);
      const [result] = await ctx.store.recordFires([fireOf(task, { nextFireAt: null, complete: true })]);
      expect(result!.recorded).toBe(true);
      expect(await ctx.store.getTask(task.id)).toMatchObject({ state: 'completed', nextFireAt: null, lastFireAt: task.nextFireAt });
      expect(await ctx.store.listDueTasks({ until: FAR_FUTURE, limit: 10 })).toEqual([]);
    });

    it('answers a batch in input order, each fire on its own compare-and-set', async () => {
      const a = await seedTask(ctx.store);
      const b = await seedTask(ctx.store);
      const c = await seedTask(ctx.store);
      const results = await ctx.store.recordFires([fireOf(a), fireOf(b, { expectedNextFireAt: 1 }), fireOf(c)]);
      expect(results.map((result) => [result.taskId, result.recorded, result.runs.length])).toEqual([[a.id, true, 1], [b.id, false, 0], [c.id, true, 1]]);
      expect(await ctx.store.recordFires([])).toEqual([]);
    });

    it('applies two fires of one task in one batch in order', async () => {
      const task = await seedTask(ctx.store);
      const first = fireOf(task);
      const next = { ...task, nextFireAt: first.nextFireAt };
      const results = await ctx.store.recordFires([first, fireOf(next), fireOf(task)]);
      expect(results.map((result) => result.recorded)).toEqual([true, true, false]);
      expect((await ctx.store.getTask(task.id))!.nextFireAt).toBe(task.nextFireAt! + 2 * MINUTE);
      expect((await ctx.store.listRuns({ limit: 10, taskId: task.id })).items).toHaveLength(2);
    });

    it('records exactly one run when two schedulers race for the same fire', async () => {
      const task = await seedTask(ctx.store);
      const results = await Promise.all([ctx.store.recordFires([fireOf(task)]), ctx.store.recordFires([fireOf(task)]), ctx.store.recordFires([fireOf(task)])]);
      expect(results.flat().filter((result) => result.recorded)).toHaveLength(1);
      expect(results.flat().flatMap((result) => result.runs)).toHaveLength(1);
      expect((await ctx.store.listRuns({ limit: 10, taskId: task.id })).items).toHaveLength(1);
      expect((await ctx.store.getTask(task.id))!.nextFireAt).toBe(task.nextFireAt! + MINUTE);
    });

    it('inserts manual runs without the fire constraint, with an audit entry', async () => {
      const task = await seedTask(ctx.store);
      const [fire] = await ctx.store.recordFires([fireOf(task)]);
      const at = task.nextFireAt!;
      const manual = newRun(task, { trigger: 'manual', scheduledAt: at, params: { by: 'hand' } });
      const created = await ctx.store.createRun({ run: manual, audit: { actor: 'carol', action: 'task.trigger' } });
      expect(created).toMatchObject({ id: manual.id, trigger: 'manual', scheduledAt: at, status: 'pending', attempt: 0, params: { by: 'hand' } });
      expect(await ctx.store.getRun(manual.id)).toEqual(created);
      const again = await ctx.store.createRun({ run: newRun(task, { trigger: 'manual', scheduledAt: at }) });
      expect(again.id).not.toBe(manual.id);
      expect((await ctx.store.listRuns({ limit: 10, taskId: task.id })).items).toHaveLength(3);
      const { items } = await ctx.store.listAudit({ limit: 10, action: 'task.trigger' });
      expect(items).toEqual([expect.objectContaining({ actor: 'carol', resourceType: 'run', resourceId: manual.id, at: manual.createdAt })]);
      // A scheduled run for a fire already recorded is not inserted twice: the existing run is returned.
      const duplicate = await ctx.store.createRun({ run: newRun(task, { scheduledAt: at }), audit: audit('task.backfill') });
      expect(duplicate).toEqual(fire!.runs[0]);
      expect((await ctx.store.listAudit({ limit: 10, action: 'task.backfill' })).items).toEqual([]);
    });

    it('inserts a manual run only together with its audit entry', async () => {
      const task = await seedTask(ctx.store);
      const run = newRun(task, { trigger: 'manual' });
      await expect(ctx.store.createRun({ run, audit: { actor: 'x', action: 'task.trigger', details: { n: 1n } } })).rejects.toThrow();
      expect(await ctx.store.getRun(run.id)).toBeNull();
    });

    it('creates a manual run already dispatched with its first attempt', async () => {
      const task = await seedTask(ctx.store);
      const run = newRun(task, { trigger: 'manual', status: 'dispatched', attempt: { executor: null, startedAt: T0 + 1, deadlineAt: null } });
      expect(await ctx.store.createRun({ run })).toMatchObject({ status: 'dispatched', attempt: 1, startedAt: T0 + 1, deadlineAt: null });
      expect(await ctx.store.listAttempts([run.id])).toHaveLength(1);
    });
  });
}
