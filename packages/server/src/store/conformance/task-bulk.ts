/**
 * Conformance of the bulk task verbs (`getTasks`, `setTaskStates`, `deleteTasks`): many tasks in one
 * call, each item as the single verb (`setTaskState`, `deleteTask`) writes it, with its audit entry,
 * change notice and event; a missing task answers in its place and the others go on; an id given
 * twice is acted on twice, in order.
 */
import { describe, expect, it } from 'vitest';
import { WorkflowSpecSchema } from '@ecron/contracts';
import { newId } from '../../core/ids.ts';
import type { TaskRecord } from '../../core/model.ts';
import type { EventRecord, StateParams, Store, StoreChange } from '../store.ts';
import { audit, MINUTE, seedTask, T0, taskRecord } from './fixtures.ts';

const AT = T0 + 5 * MINUTE;

const pause = (id: string, at = AT): StateParams => ({ id, state: 'paused', nextFireAt: null, at, audit: audit('task.pause', { id }) });
const resume = (id: string, at = AT): StateParams => ({ id, state: 'active', nextFireAt: at + MINUTE, at, audit: audit('task.resume', { id }) });

/** The task events committed after `after` (the SQL stores number them first). */
async function taskEvents(store: Store, after: number): Promise<EventRecord[]> {
  while (await store.sequenceEvents({ limit: 1000 }) > 0) { /* number everything committed */ }
  return store.readEvents({ after, limit: 10_000, filter: { types: ['task.*'] } });
}

async function mark(store: Store): Promise<number> {
  while (await store.sequenceEvents({ limit: 1000 }) > 0) { /* number everything committed */ }
  return store.lastEventSeq();
}

/** The task ids the store publishes from now on, until `stop`. */
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

async function seedWorkflowRecord(store: Store): Promise<string> {
  const spec = WorkflowSpecSchema.parse({ name: 'flow', nodes: [{ id: 'a', target: { type: 'http', url: 'http://127.0.0.1:9000/run' } }] });
  const workflow = await store.createTask({
    task: { id: newId(), kind: 'workflow', namespace: 'default', name: 'flow', revision: 1, state: 'active', spec, nextFireAt: T0 + MINUTE, lastFireAt: null, lastRunStatus: null, skippedFires: 0, anchorAt: T0, createdAt: T0, updatedAt: T0 },
    audit: audit('workflow.create'),
  });
  return workflow.id;
}

export function describeTaskBulk(ctx: { readonly store: Store }): void {
  describe('tasks in bulk', () => {
    it('reads many tasks by id, leaving out unknown ids and workflows', async () => {
      const a = await seedTask(ctx.store, { name: 'a' });
      const b = await seedTask(ctx.store, { name: 'b', namespace: 'other' });
      const flow = await seedWorkflowRecord(ctx.store);
      const found = await ctx.store.getTasks({ ids: [b.id, 'no-such-task', a.id, flow, a.id] });
      expect(found.sort((x, y) => x.name.localeCompare(y.name))).toEqual([a, b]);
      expect(await ctx.store.getTasks({ ids: [] })).toEqual([]);
    });

    it('sets many states in one call, each as setTaskState would, answering null for a missing task in its place', async () => {
      const a = await seedTask(ctx.store, { name: 'a' });
      const b = await seedTask(ctx.store, { name: 'b', namespace: 'team-b' });
      const flow = await seedWorkflowRecord(ctx.store);
      const start = await mark(ctx.store);
      const watch = await collectChanges(ctx.store);
      const result = await ctx.store.setTaskStates({ items: [pause(a.id), pause('no-such-task'), pause(flow), pause(b.id), pause(a.id)] });
      const paused = (task: TaskRecord) => ({ ...task, state: 'paused', nextFireAt: null, updatedAt: AT });
      expect(result).toEqual([paused(a), null, null, paused(b), paused(a)]);
      expect(await ctx.store.getTask(a.id)).toEqual(paused(a));
      expect(await ctx.store.getTask(b.id)).toEqual(paused(b));
      expect(await ctx.store.getWorkflow(flow)).toMatchObject({ state: 'active', nextFireAt: T0 + MINUTE });
      // One audit entry per item that changed a task (twice for the id given twice), none for the others.
      const entries = (await ctx.store.listAudit({ limit: 100, action: 'task.pause' })).items;
      expect(entries.map((e) => [e.resourceType, e.resourceId, e.at, e.actor]).sort()).toEqual(
        [['task', a.id, AT, 'tester'], ['task', a.id, AT, 'tester'], ['task', b.id, AT, 'tester']].sort(),
      );
      expect(entries.find((e) => e.resourceId === b.id)?.details).toEqual({ id: b.id });
      // One event per task whose state changed: the second pause of `a` changed nothing.
      const events = await taskEvents(ctx.store, start);
      expect(events.map((e) => [e.type, e.taskId, e.namespace]).sort()).toEqual([['task.paused', a.id, 'default'], ['task.paused', b.id, 'team-b']].sort());
      await waitFor(() => watch.ids.has(a.id) && watch.ids.has(b.id));
      await watch.stop();
      expect(await ctx.store.setTaskStates({ items: [] })).toEqual([]);
      expect(await ctx.store.setTaskStates({ items: [pause('gone-1'), pause('gone-2')] })).toEqual([null, null]);
    });

    it('applies the items of one id in order, each an event of its own', async () => {
      const a = await seedTask(ctx.store, { name: 'a' });
      const b = await seedTask(ctx.store, { name: 'b' });
      const start = await mark(ctx.store);
      const result = await ctx.store.setTaskStates({ items: [pause(a.id), pause(b.id), resume(a.id, AT + 1)] });
      expect(result.map((t) => [t?.id, t?.state])).toEqual([[a.id, 'active'], [b.id, 'paused'], [a.id, 'active']]);
      expect(await ctx.store.getTask(a.id)).toMatchObject({ state: 'active', nextFireAt: AT + 1 + MINUTE, updatedAt: AT + 1 });
      const events = await taskEvents(ctx.store, start);
      expect(events.filter((e) => e.taskId === a.id).map((e) => e.type)).toEqual(['task.paused', 'task.resumed']);
      expect(events.filter((e) => e.taskId === b.id).map((e) => e.type)).toEqual(['task.paused']);
    });

    it('deletes many tasks in one call: false for a task missing, a workflow, or one an earlier item deleted', async () => {
      const a = await seedTask(ctx.store, { name: 'a' });
      const b = await seedTask(ctx.store, { name: 'b', namespace: 'team-b' });
      const kept = await seedTask(ctx.store, { name: 'kept' });
      const flow = await seedWorkflowRecord(ctx.store);
      const start = await mark(ctx.store);
      const watch = await collectChanges(ctx.store);
      const del = (id: string) => ({ id, at: AT, audit: audit('task.delete', { id }) });
      expect(await ctx.store.deleteTasks({ items: [del(a.id), del('no-such-task'), del(b.id), del(a.id), del(flow)] })).toEqual([true, false, true, false, false]);
      expect(await ctx.store.getTasks({ ids: [a.id, b.id, kept.id] })).toEqual([kept]);
      expect(await ctx.store.listTaskRevisions(a.id)).toEqual([]);
      expect(await ctx.store.getWorkflow(flow)).not.toBeNull();
      const entries = (await ctx.store.listAudit({ limit: 100, action: 'task.delete' })).items;
      expect(entries.map((e) => e.resourceId).sort()).toEqual([a.id, b.id].sort());
      const events = await taskEvents(ctx.store, start);
      expect(events.map((e) => [e.type, e.taskId]).sort()).toEqual([['task.deleted', a.id], ['task.deleted', b.id]].sort());
      await waitFor(() => watch.ids.has(a.id) && watch.ids.has(b.id));
      await watch.stop();
      expect(await ctx.store.deleteTasks({ items: [] })).toEqual([]);
    });

    it('pauses, resumes and deletes a chunk of five hundred tasks', async () => {
      const tasks = Array.from({ length: 500 }, (_, i) => taskRecord({ name: `bulk-${String(i).padStart(3, '0')}`, namespace: 'bulk' }));
      expect((await ctx.store.upsertTasks({ items: tasks.map((task) => ({ op: 'create', task, audit: audit('task.create') })) })).conflicts).toEqual([]);
      const ids = tasks.map((t) => t.id);
      const start = await mark(ctx.store);
      const paused = await ctx.store.setTaskStates({ items: ids.map((id) => pause(id)) });
      expect(paused.map((t) => [t?.id, t?.state])).toEqual(ids.map((id) => [id, 'paused']));
      expect(await ctx.store.listDueTasks({ until: AT + 10 * MINUTE, limit: 1000 })).toEqual([]);
      const resumed = await ctx.store.setTaskStates({ items: ids.map((id) => resume(id)) });
      expect(resumed.every((t) => t?.state === 'active' && t.nextFireAt === AT + MINUTE)).toBe(true);
      expect(await ctx.store.deleteTasks({ items: ids.map((id) => ({ id, at: AT, audit: audit('task.delete') })) })).toEqual(ids.map(() => true));
      const events = await taskEvents(ctx.store, start);
      for (const type of ['task.paused', 'task.resumed', 'task.deleted']) expect(events.filter((e) => e.type === type)).toHaveLength(500);
      expect((await ctx.store.listAudit({ limit: 1000, action: 'task.resume' })).items).toHaveLength(500);
    });
  });
}
