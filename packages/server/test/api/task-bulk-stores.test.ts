/**
 * Bulk pause, resume and delete (`TaskBulkService` over `TaskService.changeMany`) on each store:
 * SQLite in memory, and a scratch PostgreSQL schema and MariaDB database of their own. The real
 * scheduler runs on a manual clock beside them, so a paused task is seen not to fire. Per id, in
 * order, each answer is what the single route answers; audit entries and events are those of the
 * single verbs.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EcronError } from '../../src/core/errors.ts';
import { HttpDispatcher } from '../../src/dispatch/http-dispatcher.ts';
import { Scheduler } from '../../src/scheduler/scheduler.ts';
import type { Caller } from '../../src/services/access.ts';
import { CHUNK_SIZE, createTaskBatchService, itemError } from '../../src/services/task-batch-service.ts';
import { createTaskBulkService, type TaskBulkService } from '../../src/services/task-bulk-service.ts';
import { createTaskService, type TaskService } from '../../src/services/task-service.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { EventRecord, Store } from '../../src/store/store.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';
import { mysqlTestStore, postgresTestStore } from '../store/sql-test-stores.ts';
import { nextEvent } from '../support/events.ts';
import { ADMIN, CALLBACK_KEY, SIGNING_KEY } from '../support/scheduler-harness.ts';
import { TestExecutor } from '../support/test-executor.ts';

const T0 = Date.parse('2026-03-01T00:00:00.000Z');

const STORES: [string, () => Promise<Store>][] = [
  ['sqlite', async () => createSqliteStore({ path: ':memory:' })],
  ['postgres', postgresTestStore],
  ['mysql', mysqlTestStore],
];

/** An operator in team-a that may only look at team-v, and sees nothing else. */
const OPERATOR: Caller = { actor: 'token:ops', grants: [{ role: 'operator', namespaces: ['team-a'] }, { role: 'viewer', namespaces: ['team-v'] }] };

describe.each(STORES)('bulk pause, resume and delete (%s store)', (_name, createStore) => {
  let clock: ManualClock;
  let store: Store;
  let executor: TestExecutor;
  let dispatcher: HttpDispatcher;
  let scheduler: Scheduler;
  let tasks: TaskService;
  let bulk: TaskBulkService;
  let executorUrl: string;

  beforeEach(async () => {
    clock = new ManualClock(T0);
    store = await createStore();
    await store.open();
    executor = new TestExecutor(SIGNING_KEY);
    executorUrl = await executor.start();
    dispatcher = new HttpDispatcher({ clock, signingKey: SIGNING_KEY });
    scheduler = new Scheduler({
      store, clock, random: () => 0.5, dispatcher, callbackKey: CALLBACK_KEY, publicUrl: 'http://127.0.0.1:1', shutdownGraceMs: 1000, lookAheadMs: 2000,
    });
    tasks = createTaskService({ store, control: scheduler, clock });
    bulk = createTaskBulkService({ tasks });
    await scheduler.start();
  });

  afterEach(async () => {
    let stopped = false;
    const stopping = scheduler.stop().finally(() => { stopped = true; });
    while (!stopped) {
      await clock.advance(100);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await stopping;
    await dispatcher.close();
    await executor.stop();
    await store.close();
  });

  const create = (namespace: string, name: string, extra: Record<string, unknown> = {}) => tasks.create(ADMIN, {
    namespace, name, schedule: { every: '1s' }, target: { type: 'http', url: `${executorUrl}/run` }, ...extra,
  });

  async function eventsAfter(after: number): Promise<EventRecord[]> {
    while (await store.sequenceEvents({ limit: 1000 }) > 0) { /* number everything committed */ }
    return store.readEvents({ after, limit: 10_000, filter: { types: ['task.*'] } });
  }
  async function mark(): Promise<number> {
    while (await store.sequenceEvents({ limit: 1000 }) > 0) { /* number everything committed */ }
    return store.lastEventSeq();
  }

  /** The answer of the single verb for `id`, as a bulk item. */
  async function single(action: 'pause' | 'delete', id: string) {
    try {
      await (action === 'pause' ? tasks.pause(OPERATOR, id) : tasks.delete(ADMIN, id));
      return { id, ok: true };
    } catch (error) {
      return { id, error: itemError(error) };
    }
  }

  it('answers each id in order as the single route would, with an audit entry per item done and one event per task', async () => {
    const a1 = await create('team-a', 'a1');
    const a2 = await create('team-a', 'a2');
    const b = await create('team-b', 'b');
    const v = await create('team-v', 'v');
    const start = await mark();
    const ids = [a1.id, 'no-such-task', b.id, v.id, a2.id, a1.id];
    const results = await bulk.act(OPERATOR, 'pause', { ids });
    expect(results).toEqual([
      { id: a1.id, ok: true },
      { id: 'no-such-task', error: { code: 'TASK_NOT_FOUND', message: 'no task with id "no-such-task"' } },
      { id: b.id, error: { code: 'TASK_NOT_FOUND', message: `no task with id ${JSON.stringify(b.id)}` } },
      { id: v.id, error: expect.objectContaining({ code: 'FORBIDDEN' }) },
      { id: a2.id, ok: true },
      { id: a1.id, ok: true },
    ]);
    // The errors are the single route's, word for word.
    for (const [i, id] of [[1, 'no-such-task'], [2, b.id], [3, v.id]] as const) expect(await single('pause', id)).toEqual(results[i]);
    expect((await store.getTasks({ ids: [a1.id, a2.id, b.id, v.id] })).map((t) => [t.name, t.state, t.nextFireAt]).sort()).toEqual([
      ['a1', 'paused', null], ['a2', 'paused', null], ['b', 'active', T0 + 1000], ['v', 'active', T0 + 1000],
    ]);
    const audit = (await store.listAudit({ limit: 100, action: 'task.pause' })).items;
    expect(audit.map((e) => [e.resourceId, e.actor, e.details]).sort()).toEqual([
      [a1.id, 'token:ops', { namespace: 'team-a', name: 'a1' }], [a1.id, 'token:ops', { namespace: 'team-a', name: 'a1' }],
      [a2.id, 'token:ops', { namespace: 'team-a', name: 'a2' }],
    ].sort());
    const events = await eventsAfter(start);
    expect(events.map((e) => [e.type, e.taskId]).sort()).toEqual([['task.paused', a1.id], ['task.paused', a2.id]].sort());

    const resumed = await bulk.act(OPERATOR, 'resume', { ids: [a2.id, b.id] });
    expect(resumed).toEqual([{ id: a2.id, ok: true }, { id: b.id, error: expect.objectContaining({ code: 'TASK_NOT_FOUND' }) }]);
    expect(await store.getTask(a2.id)).toMatchObject({ state: 'active', nextFireAt: T0 + 1000 });
    expect((await eventsAfter(start)).filter((e) => e.type === 'task.resumed').map((e) => e.taskId)).toEqual([a2.id]);
  });

  it('stops the scheduler firing the tasks it pauses, and fires them again once resumed', async () => {
    const paused = await create('team-a', 'paused', { labels: { group: 'g' } });
    const other = await create('team-a', 'other');
    const fired: string[] = [];
    const conflicts: string[] = [];
    scheduler.events.on('fire', (fire) => fired.push(fire.taskId));
    scheduler.events.on('fire:conflict', (fire) => conflicts.push(fire.taskId));
    const tick = async () => {
      const otherFired = nextEvent(scheduler.events, 'fire', (fire) => fire.taskId === other.id);
      await clock.advance(1000);
      await otherFired;
    };
    await tick();
    expect(fired.filter((id) => id === paused.id)).toHaveLength(1);
    expect(await bulk.act(OPERATOR, 'pause', { ids: [paused.id] })).toEqual([{ id: paused.id, ok: true }]);
    for (let i = 0; i < 3; i++) await tick();
    expect(fired.filter((id) => id === other.id)).toHaveLength(4);
    expect(fired.filter((id) => id === paused.id)).toHaveLength(1);
    expect((await store.listRuns({ taskId: paused.id, limit: 100 })).items).toHaveLength(1);
    // The change notice took it out of the scheduler's queue: it was not even tried (and refused by the store).
    expect(conflicts).toEqual([]);

    // The notice of the resume queues it at once, before any poll (the manual clock stands still).
    const queued = nextEvent(scheduler.events, 'task:queued', (e) => e.taskId === paused.id);
    expect(await bulk.act(OPERATOR, 'resume', { selector: { labels: { group: 'g' } } })).toEqual([{ id: paused.id, ok: true }]);
    expect(await queued).toMatchObject({ at: clock.now() + 1000 });
    const again = nextEvent(scheduler.events, 'fire', (fire) => fire.taskId === paused.id);
    await clock.advance(1000);
    expect(await again).toMatchObject({ taskId: paused.id, scheduledAt: clock.now() });
  });

  it('works through many ids in chunks, in order, a duplicate deleted once', async () => {
    const specs = Array.from({ length: 2 * CHUNK_SIZE + 100 }, (_, i) => ({
      namespace: 'team-a', name: `t-${String(i).padStart(4, '0')}`, schedule: { manual: true }, target: { type: 'http', url: `${executorUrl}/run` },
    }));
    const created = await createTaskBatchService({ store, control: scheduler, clock }).upsertMany(ADMIN, specs);
    const ids = created.map((item) => (item as { id: string }).id);
    const start = await mark();
    // t-0001 twice in the first chunk; t-0000 again in the last chunk, after the first deleted it.
    const request = [ids[0]!, ids[1]!, ids[1]!, ...ids.slice(2), 'missing', ids[0]!];
    const results = await bulk.act(ADMIN, 'delete', { ids: request });
    expect(results.map((r) => r.id)).toEqual(request);
    const failed = results.flatMap((r, i) => ('error' in r ? [[i, r.error.code]] : []));
    expect(failed).toEqual([[2, 'TASK_NOT_FOUND'], [request.length - 2, 'TASK_NOT_FOUND'], [request.length - 1, 'TASK_NOT_FOUND']]);
    expect(results[2]).toEqual(await single('delete', ids[1]!));
    expect((await store.listTasks({ namespace: 'team-a', limit: 10 })).items).toEqual([]);
    const events = await eventsAfter(start);
    expect(events.filter((e) => e.type === 'task.deleted')).toHaveLength(ids.length);
    expect(new Set(events.map((e) => e.taskId)).size).toBe(ids.length);
    const first = await store.listAudit({ limit: 1000, action: 'task.delete' });
    const rest = await store.listAudit({ limit: 1000, action: 'task.delete', cursor: first.nextCursor });
    expect(new Set([...first.items, ...rest.items].map((e) => e.resourceId))).toEqual(new Set(ids));
    expect(first.items.length + rest.items.length).toBe(ids.length);
  });

  it('answers a store failure for each item of the chunk it hit, and the other chunks stand', async () => {
    const specs = Array.from({ length: CHUNK_SIZE + 10 }, (_, i) => ({ namespace: 'team-a', name: `f-${i}`, schedule: { manual: true }, target: { type: 'http', url: 'http://127.0.0.1:9/x' } }));
    const ids = (await createTaskBatchService({ store, control: scheduler, clock }).upsertMany(ADMIN, specs)).map((item) => (item as { id: string }).id);
    let calls = 0;
    const failing = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'setTaskStates') {
          return (p: Parameters<Store['setTaskStates']>[0]) => (++calls === 1 ? Promise.reject(new EcronError('STORE_UNAVAILABLE', 'the store went away')) : target.setTaskStates(p));
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const results = await createTaskBulkService({ tasks: createTaskService({ store: failing, control: scheduler, clock }) }).act(ADMIN, 'pause', { ids });
    expect(results.slice(0, CHUNK_SIZE).every((r) => 'error' in r && r.error.code === 'STORE_UNAVAILABLE')).toBe(true);
    expect(results.slice(CHUNK_SIZE)).toEqual(ids.slice(CHUNK_SIZE).map((id) => ({ id, ok: true })));
    const states = new Map((await store.getTasks({ ids })).map((t) => [t.id, t.state]));
    expect(ids.map((id) => states.get(id))).toEqual(ids.map((_, i) => (i < CHUNK_SIZE ? 'active' : 'paused')));
  });
});
