/**
 * The scheduler's handling of the store's change notices (`scheduler/changed-tasks.ts`): the tasks
 * of the buckets it holds are read back in chunks, what is gone is left out, and notices of other
 * kinds go where they belong. Over a real SQLite store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunRecord, ScheduledRecord, TaskRecord } from '../../src/core/model.ts';
import { reloadChangedTasks, routeStoreChanges } from '../../src/scheduler/changed-tasks.ts';
import { seedDispatchedRun, seedTask } from '../../src/store/conformance/fixtures.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';

let store: ReturnType<typeof createSqliteStore>;
beforeEach(async () => {
  store = createSqliteStore({ path: ':memory:' });
  await store.open();
});
afterEach(async () => store.close());

describe('change notices', () => {
  it('read back the changed tasks in chunks, as they stand, leaving out those deleted', async () => {
    const tasks: TaskRecord[] = [];
    for (let i = 0; i < 1203; i++) tasks.push(await seedTask(store, { name: `t-${i}` }));
    await store.deleteTask({ id: tasks[7]!.id, at: Date.now(), audit: { actor: 'test', action: 'task.delete' } });
    await store.setTaskState({ id: tasks[8]!.id, state: 'paused', nextFireAt: null, at: Date.now(), audit: { actor: 'test', action: 'task.pause' } });
    const seen: ScheduledRecord[] = [];
    const ids = [...tasks.map((t) => t.id), 'no-such-task'];
    await reloadChangedTasks(store, ids, (task) => seen.push(task));
    expect(seen).toHaveLength(1202);
    expect(new Set(seen.map((t) => t.id))).toEqual(new Set(ids.filter((id) => id !== tasks[7]!.id && id !== 'no-such-task')));
    expect(seen.find((t) => t.id === tasks[8]!.id)?.state).toBe('paused');
  });

  it('route each notice: tasks of the buckets held together, runs tracked and workflow runs read back, event notices ignored', async () => {
    const task = await seedTask(store);
    const run = await seedDispatchedRun(store, task);
    const batches: string[][] = [];
    const reconciled: RunRecord[] = [];
    const workflows: RunRecord[] = [];
    let done!: () => void;
    const both = new Promise<void>((resolve) => {
      done = resolve;
    });
    routeStoreChanges([
      { kind: 'task', id: 'held-1' }, { kind: 'task', id: 'not-held' }, { kind: 'events', id: '42' }, { kind: 'task', id: 'held-2' },
      { kind: 'run', id: run.id }, { kind: 'run', id: 'untracked' }, { kind: 'workflow', id: run.id },
    ], {
      store, log: () => {}, holds: (id) => id.startsWith('held'), tasksChanged: (ids) => batches.push(ids),
      tracked: (id) => id === run.id,
      runChanged: (r) => { reconciled.push(r); if (workflows.length > 0) done(); },
      workflowChanged: (r) => { workflows.push(r); if (reconciled.length > 0) done(); },
    });
    expect(batches).toEqual([['held-1', 'held-2']]);
    await both;
    expect(reconciled.map((r) => r.id)).toEqual([run.id]);
    expect(workflows.map((r) => r.id)).toEqual([run.id]);
  });
});
