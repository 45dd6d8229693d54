/**
 * Conformance of namespace storage: stored settings changed by partial specs (compare-and-set on
 * existence, concurrent changes composed), listing in byte order, deletes refused while tasks or
 * workflows name the namespace, and the usage counts.
 */
import { describe, expect, it } from 'vitest';
import { NamespaceSpecSchema, WorkflowSpecSchema, type NamespaceSpecInput } from '@ecron/contracts';
import { newId } from '../../core/ids.ts';
import type { Store } from '../store.ts';
import { audit, errorCode, MINUTE, newRun, seedTask, T0, taskRecord } from './fixtures.ts';

const spec = (input: NamespaceSpecInput) => NamespaceSpecSchema.parse(input);

async function seedWorkflow(store: Store, namespace: string): Promise<void> {
  const name = `wf-${newId().slice(-8)}`;
  await store.createTask({
    task: {
      id: newId(), kind: 'workflow', namespace, name, revision: 1, state: 'active',
      spec: WorkflowSpecSchema.parse({ namespace, name, nodes: [{ id: 'a', target: { type: 'http', url: 'http://127.0.0.1:9000/run' } }] }),
      nextFireAt: null, lastFireAt: null, lastRunStatus: null, skippedFires: 0, anchorAt: T0, createdAt: T0, updatedAt: T0,
    },
    audit: audit('workflow.create'),
  });
}

export function describeNamespaces(ctx: { readonly store: Store }): void {
  describe('namespaces', () => {
    const put = (name: string, input: NamespaceSpecInput, exists: boolean, at = T0) => ctx.store.putNamespace({
      name, spec: spec(input), exists, at, audit: audit(exists ? 'namespace.update' : 'namespace.create', { name }),
    });

    it('creates a namespace with what its spec gives and defaults for the rest, then changes only the fields given', async () => {
      const created = await put('team-a', { description: 'team A', quotas: { maxConcurrentRuns: 5, minIntervalMs: '100ms' } }, false);
      expect(created).toEqual({
        name: 'team-a', description: 'team A', labels: {}, quotas: { maxConcurrentRuns: 5, minIntervalMs: 100 },
        outbound: { allow: [], deny: [] }, createdAt: T0, updatedAt: T0,
      });
      expect(await ctx.store.getNamespace('team-a')).toEqual(created);
      expect(await ctx.store.getNamespace('team-b')).toBeNull();

      const changed = await put('team-a', { labels: { tier: 'gold' }, quotas: { minIntervalMs: 5000, maxConcurrentRuns: null }, outbound: { deny: ['10.0.0.0/8'] } }, true, T0 + 10);
      expect(changed).toEqual({
        name: 'team-a', description: 'team A', labels: { tier: 'gold' }, quotas: { minIntervalMs: 5000 },
        outbound: { allow: [], deny: ['10.0.0.0/8'] }, createdAt: T0, updatedAt: T0 + 10,
      });
      const again = await put('team-a', { outbound: { allow: ['*.example.com'] }, labels: {} }, true, T0 + 20);
      expect(again).toMatchObject({ labels: {}, outbound: { allow: ['*.example.com'], deny: ['10.0.0.0/8'] }, quotas: { minIntervalMs: 5000 } });
      expect(await ctx.store.getNamespace('team-a')).toEqual(again);

      const entries = (await ctx.store.listAudit({ limit: 10, resourceId: 'team-a' })).items;
      expect(entries.map((e) => [e.action, e.resourceType, e.at])).toEqual([
        ['namespace.update', 'namespace', T0 + 20], ['namespace.update', 'namespace', T0 + 10], ['namespace.create', 'namespace', T0],
      ]);
    });

    it('writes nothing when the namespace exists, or does not, other than the caller saw', async () => {
      expect(await put('ghost', { description: 'x' }, true)).toBeNull();
      expect(await ctx.store.getNamespace('ghost')).toBeNull();
      await put('real', { description: 'first' }, false);
      expect(await put('real', { description: 'second' }, false)).toBeNull();
      expect((await ctx.store.getNamespace('real'))?.description).toBe('first');
      expect((await ctx.store.listAudit({ limit: 10, resourceId: 'ghost' })).items).toEqual([]);
      expect((await ctx.store.listAudit({ limit: 10, resourceId: 'real' })).items).toHaveLength(1);
    });

    it('of two creates of one name at once, stores one and answers null to the other; concurrent changes both take effect', async () => {
      await Promise.all(Array.from({ length: 4 }, () => ctx.store.listNamespaces()));
      for (let round = 1; round <= 4; round++) {
        const name = `race-${round}`;
        const outcomes = await Promise.all([put(name, { description: 'one' }, false), put(name, { description: 'two' }, false)]);
        expect(outcomes.filter((o) => o === null), `round ${round}`).toHaveLength(1);
        expect((await ctx.store.getNamespace(name))?.description).toBe(outcomes.find((o) => o !== null)!.description);
      }
      await Promise.all([
        put('race-1', { quotas: { maxTasks: 10 } }, true, T0 + 1),
        put('race-1', { quotas: { maxWorkflows: 3 } }, true, T0 + 1),
        put('race-1', { labels: { a: 'b' } }, true, T0 + 1),
      ]);
      expect(await ctx.store.getNamespace('race-1')).toMatchObject({ quotas: { maxTasks: 10, maxWorkflows: 3 }, labels: { a: 'b' } });
    });

    it('writes a change only together with its audit entry', async () => {
      const unserialisable = { actor: 'tester', action: 'namespace.any', details: { n: 1n } };
      await expect(ctx.store.putNamespace({ name: 'atomic', spec: spec({}), exists: false, at: T0, audit: unserialisable })).rejects.toThrow();
      expect(await ctx.store.getNamespace('atomic')).toBeNull();
      await put('atomic', { description: 'kept' }, false);
      await expect(ctx.store.putNamespace({ name: 'atomic', spec: spec({ description: 'lost' }), exists: true, at: T0, audit: unserialisable })).rejects.toThrow();
      expect((await ctx.store.getNamespace('atomic'))?.description).toBe('kept');
    });

    it('holds maxTasks and maxWorkflows exactly: a create, a move and a batch past them are refused, concurrent creates included', async () => {
      await put('capped', { quotas: { maxTasks: 3, maxWorkflows: 1 } }, false);
      // Five creates at once for three places: exactly three are stored.
      const outcomes = await Promise.allSettled([1, 2, 3, 4, 5].map((i) => seedTask(ctx.store, { namespace: 'capped', name: `t${i}` })));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
      for (const o of outcomes) if (o.status === 'rejected') expect((o.reason as { code?: string }).code).toBe('QUOTA_EXCEEDED');
      expect((await ctx.store.getNamespaceUsage({ namespace: 'capped', since: T0 })).tasks).toBe(3);
      // Workflows count on their own.
      await seedWorkflow(ctx.store, 'capped');
      expect(await errorCode(seedWorkflow(ctx.store, 'capped'))).toBe('QUOTA_EXCEEDED');
      // Moving a task into the full namespace is refused; its place stays where it was.
      const outside = await seedTask(ctx.store, { namespace: 'elsewhere', name: 'mover' });
      expect(await errorCode(ctx.store.updateTask({
        id: outside.id, spec: { ...outside.spec, namespace: 'capped' }, state: 'active', nextFireAt: null, anchorAt: T0, at: T0 + 1, audit: audit('task.update'),
      }))).toBe('QUOTA_EXCEEDED');
      // A batch: every create past the quota is named, and nothing of the chunk is written.
      await put('capped-batch', { quotas: { maxTasks: 1 } }, false);
      const result = await ctx.store.upsertTasks({ items: ['b1', 'b2', 'b3'].map((name) => ({
        op: 'create' as const, task: taskRecord({ namespace: 'capped-batch', name }), audit: audit('task.create'),
      })) });
      expect(result).toEqual({ tasks: [], conflicts: [{ index: 1, code: 'QUOTA_EXCEEDED' }, { index: 2, code: 'QUOTA_EXCEEDED' }] });
      expect((await ctx.store.getNamespaceUsage({ namespace: 'capped-batch', since: T0 })).tasks).toBe(0);
      // Without a quota nothing is counted.
      await seedTask(ctx.store, { namespace: 'uncapped', name: 'x1' });
      await seedTask(ctx.store, { namespace: 'uncapped', name: 'x2' });
    });

    it('lists the stored namespaces in byte order, all or only those named', async () => {
      expect(await ctx.store.listNamespaces()).toEqual([]);
      for (const name of ['beta', 'Zeta', 'alpha', 'a-b']) await put(name, {}, false);
      expect((await ctx.store.listNamespaces()).map((ns) => ns.name)).toEqual(['Zeta', 'a-b', 'alpha', 'beta']);
      expect((await ctx.store.listNamespaces({ names: null })).map((ns) => ns.name)).toEqual(['Zeta', 'a-b', 'alpha', 'beta']);
      expect((await ctx.store.listNamespaces({ names: ['beta', 'alpha', 'missing'] })).map((ns) => ns.name)).toEqual(['alpha', 'beta']);
      expect(await ctx.store.listNamespaces({ names: [] })).toEqual([]);
    });

    it('refuses to delete a namespace while tasks or workflows name it, row or not, and deletes it once empty', async () => {
      await put('busy', { description: 'x' }, false);
      const task = await seedTask(ctx.store, { namespace: 'busy' });
      await seedWorkflow(ctx.store, 'busy');
      const deleteBusy = () => ctx.store.deleteNamespace({ name: 'busy', at: T0 + 5, audit: audit('namespace.delete') });
      await expect(deleteBusy()).rejects.toMatchObject({ code: 'NAMESPACE_NOT_EMPTY', details: { name: 'busy', tasks: 1, workflows: 1 } });
      await seedTask(ctx.store, { namespace: 'implicit' });
      expect(await errorCode(ctx.store.deleteNamespace({ name: 'implicit', at: T0, audit: audit('namespace.delete') }))).toBe('NAMESPACE_NOT_EMPTY');
      expect(await ctx.store.getNamespace('busy')).not.toBeNull();

      await ctx.store.deleteTask({ id: task.id, at: T0 + 1, audit: audit('task.delete') });
      const { items: workflows } = await ctx.store.listWorkflows({ namespace: 'busy', limit: 10 });
      await ctx.store.deleteWorkflow({ id: workflows[0]!.id, at: T0 + 1, audit: audit('workflow.delete') });
      expect(await deleteBusy()).toBe(true);
      expect(await ctx.store.getNamespace('busy')).toBeNull();
      expect(await deleteBusy()).toBe(false);
      expect((await ctx.store.listAudit({ limit: 10, action: 'namespace.delete' })).items).toEqual([
        expect.objectContaining({ resourceType: 'namespace', resourceId: 'busy', at: T0 + 5 }),
      ]);
    });

    it('counts what a namespace holds: tasks, workflows, runs not finished and runs created since an instant', async () => {
      expect(await ctx.store.getNamespaceUsage({ namespace: 'counted', since: T0 })).toEqual({ tasks: 0, workflows: 0, activeRuns: 0, throttledRuns: 0, runsSince: 0 });
      const first = await seedTask(ctx.store, { namespace: 'counted' });
      await seedTask(ctx.store, { namespace: 'counted' });
      await seedWorkflow(ctx.store, 'counted');
      const other = await seedTask(ctx.store, { namespace: 'other' });
      // Runs of `counted` created at T0 − 1 min (finished), T0 and T0 + 30 s (not finished); one of `other`.
      const old = await ctx.store.createRun({ run: newRun(first, { trigger: 'manual', scheduledAt: T0 - MINUTE, createdAt: T0 - MINUTE }) });
      await ctx.store.finishRun({ runId: old.id, status: 'cancelled', at: T0 - MINUTE + 1 });
      await ctx.store.createRun({ run: newRun(first, { trigger: 'manual', scheduledAt: T0, createdAt: T0 }) });
      await ctx.store.createRun({ run: newRun(first, { trigger: 'manual', scheduledAt: T0 + 30_000, createdAt: T0 + 30_000 }) });
      await ctx.store.createRun({ run: newRun(other, { trigger: 'manual', createdAt: T0 }) });

      expect(await ctx.store.getNamespaceUsage({ namespace: 'counted', since: T0 })).toEqual({ tasks: 2, workflows: 1, activeRuns: 2, throttledRuns: 0, runsSince: 2 });
      expect(await ctx.store.getNamespaceUsage({ namespace: 'counted', since: T0 + 1 })).toMatchObject({ runsSince: 1 });
      expect(await ctx.store.getNamespaceUsage({ namespace: 'counted', since: T0 - MINUTE })).toMatchObject({ runsSince: 3 });
      expect(await ctx.store.getNamespaceUsage({ namespace: 'other', since: T0 })).toEqual({ tasks: 1, workflows: 0, activeRuns: 1, throttledRuns: 0, runsSince: 1 });
      // A stored namespace counts the same as an implicit one.
      await put('counted', {}, false);
      expect(await ctx.store.getNamespaceUsage({ namespace: 'counted', since: T0 })).toMatchObject({ tasks: 2, workflows: 1 });
    });
  });
}
