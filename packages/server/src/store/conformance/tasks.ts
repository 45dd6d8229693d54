import { describe, expect, it } from 'vitest';
import { audit, errorCode, MINUTE, seedPendingRun, seedTask, T0, taskRecord, taskSpec } from './fixtures.ts';
import type { Store } from '../store.ts';

export function describeTasks(ctx: { readonly store: Store }): void {
  describe('tasks', () => {
    it('creates a task and reads it back by id and by name', async () => {
      const task = taskRecord({ name: 'nightly-report', namespace: 'reports' });
      const created = await ctx.store.createTask({ task, audit: audit('task.create') });
      expect(created).toEqual(task);
      expect(await ctx.store.getTask(task.id)).toEqual(task);
      expect(await ctx.store.getTaskByName('reports', 'nightly-report')).toEqual(task);
      expect(await ctx.store.getTask('00000000-0000-7000-8000-000000000000')).toBeNull();
      expect(await ctx.store.getTaskByName('reports', 'missing')).toBeNull();
      expect(await ctx.store.getTaskByName('other', 'nightly-report')).toBeNull();
    });

    it('writes revision 1 and an audit entry with the task', async () => {
      const task = await ctx.store.createTask({ task: taskRecord(), audit: { actor: 'alice', action: 'task.create', details: { via: 'api' } } });
      expect(await ctx.store.listTaskRevisions(task.id)).toEqual([{ taskId: task.id, revision: 1, spec: task.spec, createdAt: T0, actor: 'alice' }]);
      const { items } = await ctx.store.listAudit({ limit: 10, resourceId: task.id });
      expect(items).toEqual([{ id: expect.any(String), at: T0, actor: 'alice', action: 'task.create', resourceType: 'task', resourceId: task.id, details: { via: 'api' } }]);
    });

    it('writes the audit entry in the operation\'s transaction: no audit, no change', async () => {
      // details that cannot be serialised make the audit insert fail inside the transaction.
      const unserialisable = { actor: 'tester', action: 'task.any', details: { n: 1n } };
      const task = taskRecord();
      await expect(ctx.store.createTask({ task, audit: unserialisable })).rejects.toThrow();
      expect(await ctx.store.getTask(task.id)).toBeNull();
      expect(await ctx.store.listTaskRevisions(task.id)).toEqual([]);
      const kept = await seedTask(ctx.store);
      const spec = taskSpec(kept.name, kept.namespace, { params: { v: 2 } });
      await expect(ctx.store.updateTask({ id: kept.id, spec, nextFireAt: null, anchorAt: T0, state: 'active', at: T0 + 1, audit: unserialisable })).rejects.toThrow();
      await expect(ctx.store.setTaskState({ id: kept.id, state: 'paused', nextFireAt: null, at: T0 + 1, audit: unserialisable })).rejects.toThrow();
      await expect(ctx.store.deleteTask({ id: kept.id, at: T0 + 1, audit: unserialisable })).rejects.toThrow();
      expect(await ctx.store.getTask(kept.id)).toEqual(kept);
      expect(await ctx.store.listTaskRevisions(kept.id)).toHaveLength(1);
      expect((await ctx.store.listAudit({ limit: 10 })).items).toHaveLength(1);
    });

    it('refuses a taken (namespace, name) and writes nothing', async () => {
      await seedTask(ctx.store, { name: 'dup', namespace: 'ns' });
      const again = taskRecord({ name: 'dup', namespace: 'ns' });
      expect(await errorCode(ctx.store.createTask({ task: again, audit: audit('task.create') }))).toBe('TASK_NAME_TAKEN');
      expect(await ctx.store.getTask(again.id)).toBeNull();
      expect(await ctx.store.listTaskRevisions(again.id)).toEqual([]);
      expect((await ctx.store.listAudit({ limit: 10, resourceId: again.id })).items).toEqual([]);
      // The same name in another namespace is another task.
      await expect(seedTask(ctx.store, { name: 'dup', namespace: 'other' })).resolves.toMatchObject({ name: 'dup', namespace: 'other' });
    });

    it('updates the spec, bumps the revision and writes a revision row and an audit entry', async () => {
      const task = await seedTask(ctx.store, { name: 'job', lastFireAt: T0, skippedFires: 2 });
      const spec = taskSpec('job', 'default', { params: { v: 2 }, timeoutMs: 5000 });
      const at = T0 + 5 * MINUTE;
      const updated = await ctx.store.updateTask({
        id: task.id, expectedRevision: 1, spec, nextFireAt: at + MINUTE, anchorAt: at, state: 'active', at, audit: { actor: 'bob', action: 'task.update' },
      });
      expect(updated).toEqual({ ...task, revision: 2, spec, nextFireAt: at + MINUTE, anchorAt: at, updatedAt: at });
      expect(await ctx.store.getTask(task.id)).toEqual(updated);
      expect(await ctx.store.listTaskRevisions(task.id)).toEqual([
        { taskId: task.id, revision: 1, spec: task.spec, createdAt: T0, actor: 'tester' },
        { taskId: task.id, revision: 2, spec, createdAt: at, actor: 'bob' },
      ]);
      const { items } = await ctx.store.listAudit({ limit: 10, resourceId: task.id });
      expect(items.map((entry) => [entry.action, entry.actor, entry.at])).toEqual([['task.update', 'bob', at], ['task.create', 'tester', T0]]);
      // Without expectedRevision the update applies to whatever revision is current.
      const third = await ctx.store.updateTask({ id: task.id, spec, nextFireAt: null, anchorAt: at, state: 'paused', at: at + 1, audit: audit('task.update') });
      expect(third).toMatchObject({ revision: 3, state: 'paused', nextFireAt: null, updatedAt: at + 1 });
    });

    it('refuses an update at a stale revision and changes nothing', async () => {
      const task = await seedTask(ctx.store);
      const spec = taskSpec(task.name, task.namespace, { params: { v: 2 } });
      await ctx.store.updateTask({ id: task.id, expectedRevision: 1, spec, nextFireAt: null, anchorAt: T0, state: 'active', at: T0 + 1, audit: audit('task.update') });
      const stale = ctx.store.updateTask({ id: task.id, expectedRevision: 1, spec: task.spec, nextFireAt: null, anchorAt: T0, state: 'active', at: T0 + 2, audit: audit('task.update') });
      expect(await errorCode(stale)).toBe('TASK_VERSION_CONFLICT');
      expect(await ctx.store.getTask(task.id)).toMatchObject({ revision: 2, spec, updatedAt: T0 + 1 });
      expect(await ctx.store.listTaskRevisions(task.id)).toHaveLength(2);
      expect((await ctx.store.listAudit({ limit: 10, resourceId: task.id })).items).toHaveLength(2);
    });

    it('renames a task through its spec, refusing a name another task holds', async () => {
      const task = await seedTask(ctx.store, { name: 'first' });
      await seedTask(ctx.store, { name: 'second' });
      const taken = ctx.store.updateTask({ id: task.id, spec: taskSpec('second'), nextFireAt: null, anchorAt: T0, state: 'active', at: T0, audit: audit('task.update') });
      expect(await errorCode(taken)).toBe('TASK_NAME_TAKEN');
      expect(await ctx.store.getTask(task.id)).toMatchObject({ name: 'first', revision: 1 });
      const renamed = await ctx.store.updateTask({ id: task.id, spec: taskSpec('third', 'elsewhere'), nextFireAt: null, anchorAt: T0, state: 'active', at: T0, audit: audit('task.update') });
      expect(renamed).toMatchObject({ id: task.id, name: 'third', namespace: 'elsewhere', revision: 2 });
      expect(await ctx.store.getTaskByName('elsewhere', 'third')).toEqual(renamed);
      expect(await ctx.store.getTaskByName('default', 'first')).toBeNull();
      // Keeping its own name is not a conflict.
      await expect(ctx.store.updateTask({ id: task.id, spec: taskSpec('third', 'elsewhere'), nextFireAt: null, anchorAt: T0, state: 'active', at: T0, audit: audit('task.update') }))
        .resolves.toMatchObject({ revision: 3 });
    });

    it('throws TASK_NOT_FOUND for an unknown task', async () => {
      const id = '00000000-0000-7000-8000-000000000001';
      const spec = taskSpec('ghost');
      expect(await errorCode(ctx.store.updateTask({ id, spec, nextFireAt: null, anchorAt: T0, state: 'active', at: T0, audit: audit('task.update') }))).toBe('TASK_NOT_FOUND');
      expect(await errorCode(ctx.store.setTaskState({ id, state: 'paused', nextFireAt: null, at: T0, audit: audit('task.pause') }))).toBe('TASK_NOT_FOUND');
      expect(await errorCode(ctx.store.deleteTask({ id, at: T0, audit: audit('task.delete') }))).toBe('TASK_NOT_FOUND');
      expect((await ctx.store.listAudit({ limit: 10 })).items).toEqual([]);
    });

    it('pauses and resumes without a new revision, auditing each', async () => {
      const task = await seedTask(ctx.store);
      const paused = await ctx.store.setTaskState({ id: task.id, state: 'paused', nextFireAt: null, at: T0 + 10, audit: audit('task.pause') });
      expect(paused).toEqual({ ...task, state: 'paused', nextFireAt: null, updatedAt: T0 + 10 });
      expect(await ctx.store.getTask(task.id)).toEqual(paused);
      const resumed = await ctx.store.setTaskState({ id: task.id, state: 'active', nextFireAt: T0 + 2 * MINUTE, at: T0 + 20, audit: audit('task.resume') });
      expect(resumed).toEqual({ ...task, nextFireAt: T0 + 2 * MINUTE, updatedAt: T0 + 20 });
      const completed = await ctx.store.setTaskState({ id: task.id, state: 'completed', nextFireAt: null, at: T0 + 30, audit: audit('task.complete') });
      expect(completed.state).toBe('completed');
      expect(await ctx.store.listTaskRevisions(task.id)).toHaveLength(1);
      const actions = (await ctx.store.listAudit({ limit: 10, resourceId: task.id })).items.map((entry) => entry.action);
      expect(actions).toEqual(['task.complete', 'task.resume', 'task.pause', 'task.create']);
    });

    it('deletes a task with its revisions, keeping its runs and audit trail', async () => {
      const task = await seedTask(ctx.store, { name: 'doomed' });
      const run = await seedPendingRun(ctx.store, task);
      await ctx.store.deleteTask({ id: task.id, at: T0 + 99, audit: audit('task.delete', { reason: 'test' }) });
      expect(await ctx.store.getTask(task.id)).toBeNull();
      expect(await ctx.store.getTaskByName('default', 'doomed')).toBeNull();
      expect(await ctx.store.listTaskRevisions(task.id)).toEqual([]);
      expect(await ctx.store.getRun(run.id)).toEqual(run);
      const { items } = await ctx.store.listAudit({ limit: 10, resourceId: task.id });
      expect(items[0]).toMatchObject({ action: 'task.delete', at: T0 + 99, resourceType: 'task', details: { reason: 'test' } });
      expect(await errorCode(ctx.store.deleteTask({ id: task.id, at: T0, audit: audit('task.delete') }))).toBe('TASK_NOT_FOUND');
      // The name is free again.
      await expect(seedTask(ctx.store, { name: 'doomed' })).resolves.toMatchObject({ name: 'doomed' });
    });
  });
}
