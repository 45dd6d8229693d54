/**
 * Conformance of the batch task verbs (`getScheduledByNames`, `upsertTasks`, `listTasks` by labels)
 * and of idempotency keys: a chunk is written whole or not at all, and of concurrent claims of one
 * key exactly one wins.
 */
import { describe, expect, it } from 'vitest';
import { WorkflowSpecSchema } from '@ecron/contracts';
import { newId } from '../../core/ids.ts';
import type { TaskRecord } from '../../core/model.ts';
import type { Store, StoreChange, TaskUpsert } from '../store.ts';
import { audit, MINUTE, seedTask, T0, taskRecord, taskSpec } from './fixtures.ts';

const create = (task: TaskRecord): TaskUpsert => ({ op: 'create', task, audit: audit('task.create', { namespace: task.namespace, name: task.name }) });

function update(task: TaskRecord, extra: Record<string, unknown>, at = T0 + MINUTE): TaskUpsert {
  return {
    op: 'update',
    update: {
      id: task.id, expectedRevision: task.revision, spec: taskSpec(task.name, task.namespace, extra), nextFireAt: at + MINUTE, anchorAt: at,
      state: 'active', at, audit: audit('task.update', { fromRevision: task.revision }),
    },
  };
}

/** Every change the store publishes from now on, until `stop`. */
async function collectChanges(store: Store): Promise<{ ids: Set<string>; stop: () => Promise<void> }> {
  const ids = new Set<string>();
  const subscription = await store.watchChanges((changes: StoreChange[]) => {
    for (const change of changes) if (change.kind === 'task') ids.add(change.id);
  });
  return { ids, stop: () => subscription.close() };
}

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function describeTaskBatch(ctx: { readonly store: Store }): void {
  describe('tasks in batches', () => {
    it('creates and updates in one call, in item order, with revisions, audit entries and change notices', async () => {
      const existing = await seedTask(ctx.store, { name: 'kept', namespace: 'ns' });
      const fresh = taskRecord({ name: 'fresh', namespace: 'ns' });
      const watch = await collectChanges(ctx.store);
      const result = await ctx.store.upsertTasks({ items: [create(fresh), update(existing, { params: { v: 2 } })] });
      expect(result.conflicts).toEqual([]);
      expect(result.tasks.map((t) => [t.id, t.revision])).toEqual([[fresh.id, 1], [existing.id, 2]]);
      expect(result.tasks[0]).toEqual(fresh);
      expect(result.tasks[1]).toMatchObject({ spec: { params: { v: 2 } }, nextFireAt: T0 + 2 * MINUTE, anchorAt: T0 + MINUTE, updatedAt: T0 + MINUTE });
      expect(await ctx.store.getTask(existing.id)).toEqual(result.tasks[1]);
      expect((await ctx.store.listTaskRevisions(existing.id)).map((r) => r.revision)).toEqual([1, 2]);
      expect((await ctx.store.listTaskRevisions(fresh.id)).map((r) => [r.revision, r.actor])).toEqual([[1, 'tester']]);
      const entries = (await ctx.store.listAudit({ limit: 10, resourceId: existing.id })).items;
      expect(entries.map((e) => [e.action, e.resourceType, e.details])).toEqual([['task.update', 'task', { fromRevision: 1 }], ['task.create', 'task', null]]);
      expect((await ctx.store.listAudit({ limit: 10, resourceId: fresh.id })).items).toMatchObject([{ action: 'task.create', details: { namespace: 'ns', name: 'fresh' } }]);
      await waitFor(() => watch.ids.has(fresh.id) && watch.ids.has(existing.id));
      await watch.stop();
    });

    it('writes nothing of a chunk when one item conflicts, and names each conflicting item', async () => {
      const taken = await seedTask(ctx.store, { name: 'taken' });
      const moved = await seedTask(ctx.store, { name: 'moved' });
      await ctx.store.updateTask({ id: moved.id, spec: taskSpec('moved', 'default', { params: { v: 9 } }), nextFireAt: null, anchorAt: T0, state: 'active', at: T0, audit: audit('task.update') });
      const gone = await seedTask(ctx.store, { name: 'gone' });
      await ctx.store.deleteTask({ id: gone.id, at: T0, audit: audit('task.delete') });
      const fresh = taskRecord({ name: 'would-be-new' });
      const auditBefore = (await ctx.store.listAudit({ limit: 100 })).items.length;
      const result = await ctx.store.upsertTasks({
        items: [create(fresh), create(taskRecord({ name: 'taken' })), update(moved, { params: { v: 3 } }), update(gone, {})],
      });
      expect(result).toEqual({ tasks: [], conflicts: [{ index: 1, code: 'TASK_NAME_TAKEN' }, { index: 2, code: 'TASK_VERSION_CONFLICT' }, { index: 3, code: 'TASK_NOT_FOUND' }] });
      expect(await ctx.store.getTask(fresh.id)).toBeNull();
      expect(await ctx.store.getTaskByName('default', 'would-be-new')).toBeNull();
      expect(await ctx.store.getTask(moved.id)).toMatchObject({ revision: 2, spec: { params: { v: 9 } } });
      expect(await ctx.store.getTask(taken.id)).toEqual(taken);
      expect((await ctx.store.listAudit({ limit: 100 })).items).toHaveLength(auditBefore);
    });

    it('treats a workflow of the same name as taken, and finds tasks and workflows by name', async () => {
      const spec = WorkflowSpecSchema.parse({ name: 'flow', nodes: [{ id: 'a', target: { type: 'http', url: 'http://127.0.0.1:9000/run' } }] });
      const workflow = await ctx.store.createTask({
        task: { id: newId(), kind: 'workflow', namespace: 'default', name: 'flow', revision: 1, state: 'active', spec, nextFireAt: null, lastFireAt: null, lastRunStatus: null, skippedFires: 0, anchorAt: T0, createdAt: T0, updatedAt: T0 },
        audit: audit('workflow.create'),
      });
      const task = await seedTask(ctx.store, { name: 'plain' });
      const found = await ctx.store.getScheduledByNames({ keys: [{ namespace: 'default', name: 'flow' }, { namespace: 'default', name: 'plain' }, { namespace: 'x', name: 'plain' }] });
      expect(found.map((f) => [f.id, f.kind]).sort()).toEqual([[workflow.id, 'workflow'], [task.id, 'task']].sort());
      const asTask = { ...task, id: workflow.id, name: 'flow' };
      expect((await ctx.store.upsertTasks({ items: [create(taskRecord({ name: 'flow' }))] })).conflicts).toEqual([{ index: 0, code: 'TASK_NAME_TAKEN' }]);
      expect((await ctx.store.upsertTasks({ items: [update(asTask, {})] })).conflicts).toEqual([{ index: 0, code: 'TASK_NOT_FOUND' }]);
      expect(await ctx.store.getWorkflow(workflow.id)).toEqual(workflow);
    });

    it('writes a chunk of a thousand tasks in one call', async () => {
      const tasks = Array.from({ length: 1000 }, (_, i) => taskRecord({ name: `bulk-${String(i).padStart(4, '0')}`, namespace: 'bulk' }));
      const result = await ctx.store.upsertTasks({ items: tasks.map(create) });
      expect(result.conflicts).toEqual([]);
      expect(result.tasks.map((t) => t.id)).toEqual(tasks.map((t) => t.id));
      const page = await ctx.store.listTasks({ namespace: 'bulk', limit: 1000 });
      expect(page.items).toHaveLength(1000);
      const again = await ctx.store.upsertTasks({ items: result.tasks.map((t) => update(t, { params: { round: 2 } })) });
      expect(again.tasks.every((t) => t.revision === 2 && t.spec.params.round === 2)).toBe(true);
    });

    it('lists tasks by labels: every pair given must match', async () => {
      const a = await seedTask(ctx.store, { name: 'a', spec: taskSpec('a', 'default', { labels: { team: 'data', tier: 'gold' } }) });
      const b = await seedTask(ctx.store, { name: 'b', spec: taskSpec('b', 'default', { labels: { team: 'data' } }) });
      await seedTask(ctx.store, { name: 'c', spec: taskSpec('c', 'default', { labels: { team: 'web', 'app.kubernetes.io/name': 'x' } }) });
      await seedTask(ctx.store, { name: 'd' });
      const names = async (labels: Record<string, string>) => (await ctx.store.listTasks({ labels, limit: 100 })).items.map((t) => t.name);
      expect(await names({ team: 'data' })).toEqual([a.name, b.name]);
      expect(await names({ team: 'data', tier: 'gold' })).toEqual([a.name]);
      expect(await names({ team: 'DATA' })).toEqual([]);
      expect(await names({ 'app.kubernetes.io/name': 'x' })).toEqual(['c']);
      expect(await names({ missing: 'x' })).toEqual([]);
    });

    it('lists tasks by labels whose values hold quotes, backslashes, JSON escapes and non-ASCII, exactly', async () => {
      const values = ['a "quoted" value', 'back\\slash', String.raw`\u0041 and \u0000 as text`, 'tab\there', 'été 日本', '', 'x,y=z'];
      for (const [i, value] of values.entries()) {
        await seedTask(ctx.store, { name: `v${i}`, spec: taskSpec(`v${i}`, 'default', { labels: { k: value, 'other.key/x': `${value}!` } }) });
      }
      const names = async (labels: Record<string, string>) => (await ctx.store.listTasks({ labels, limit: 100 })).items.map((t) => t.name);
      for (const [i, value] of values.entries()) {
        expect(await names({ k: value })).toEqual([`v${i}`]);
        expect(await names({ k: value, 'other.key/x': `${value}!` })).toEqual([`v${i}`]);
        expect(await names({ k: `${value}!` })).toEqual([]);
      }
      expect(await names({ k: String.raw`A and \u0000 as text` })).toEqual([]);
    });
  });

  describe('idempotency keys', () => {
    const base = { scope: 'token:1', key: 'k-1', fingerprint: 'f1', at: T0, expiresAt: T0 + 86_400_000, staleBefore: T0 - MINUTE };

    it('claims a key once, keeps the first answer, and lets it go when released', async () => {
      expect(await ctx.store.claimIdempotencyKey(base)).toBeNull();
      expect(await ctx.store.claimIdempotencyKey({ ...base, fingerprint: 'f2', at: T0 + 1 })).toMatchObject({ fingerprint: 'f1', status: null, body: null, createdAt: T0 });
      await ctx.store.completeIdempotencyKey({ scope: base.scope, key: base.key, fingerprint: 'f1', status: 201, body: '{"id":"x"}' });
      expect(await ctx.store.claimIdempotencyKey({ ...base, at: T0 + 2 })).toEqual({
        scope: 'token:1', key: 'k-1', fingerprint: 'f1', status: 201, body: '{"id":"x"}', createdAt: T0, expiresAt: base.expiresAt,
      });
      // Another caller's key of the same name is another key.
      expect(await ctx.store.claimIdempotencyKey({ ...base, scope: 'token:2' })).toBeNull();
      await ctx.store.releaseIdempotencyKey({ scope: 'token:2', key: 'k-1', fingerprint: 'f1' });
      expect(await ctx.store.claimIdempotencyKey({ ...base, scope: 'token:2', fingerprint: 'f3' })).toBeNull();
      // A completed key is not released.
      await ctx.store.releaseIdempotencyKey({ scope: 'token:1', key: 'k-1', fingerprint: 'f1' });
      expect(await ctx.store.claimIdempotencyKey({ ...base, at: T0 + 3 })).toMatchObject({ status: 201 });
    });

    it('takes over an expired key and an abandoned claim', async () => {
      expect(await ctx.store.claimIdempotencyKey({ ...base, expiresAt: T0 + 10 })).toBeNull();
      await ctx.store.completeIdempotencyKey({ scope: base.scope, key: base.key, fingerprint: 'f1', status: 200, body: '{}' });
      expect(await ctx.store.claimIdempotencyKey({ ...base, fingerprint: 'f2', at: T0 + 10, expiresAt: T0 + 1000 })).toBeNull();
      // In progress since T0 + 10: abandoned once staleBefore passes it.
      expect(await ctx.store.claimIdempotencyKey({ ...base, fingerprint: 'f3', at: T0 + 20, staleBefore: T0 })).toMatchObject({ fingerprint: 'f2' });
      expect(await ctx.store.claimIdempotencyKey({ ...base, fingerprint: 'f3', at: T0 + 20, staleBefore: T0 + 11 })).toBeNull();
    });

    it('gives a key to exactly one of many concurrent claims', async () => {
      const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => ctx.store.claimIdempotencyKey({ ...base, key: 'race', fingerprint: `f${i}` })));
      expect(claims.filter((c) => c === null)).toHaveLength(1);
      const winner = claims.findIndex((c) => c === null);
      expect(claims.filter((c) => c !== null).every((c) => c!.fingerprint === `f${winner}`)).toBe(true);
    });

    it('deletes expired keys, oldest first, up to the limit', async () => {
      for (let i = 0; i < 5; i++) await ctx.store.claimIdempotencyKey({ ...base, key: `e${i}`, expiresAt: T0 + i });
      await ctx.store.claimIdempotencyKey({ ...base, key: 'live', expiresAt: T0 + 1000 });
      expect(await ctx.store.deleteExpiredIdempotencyKeys({ before: T0 + 100, limit: 3 })).toBe(3);
      expect(await ctx.store.deleteExpiredIdempotencyKeys({ before: T0 + 100, limit: 10 })).toBe(2);
      expect(await ctx.store.claimIdempotencyKey({ ...base, key: 'live', at: T0 + 1 })).not.toBeNull();
      expect(await ctx.store.claimIdempotencyKey({ ...base, key: 'e0', at: T0 + 1 })).toBeNull();
    });
  });
}
