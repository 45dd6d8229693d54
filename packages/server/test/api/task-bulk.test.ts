/**
 * The bulk task API: `tasks:batch` (order, per-item errors, upsert, chunk atomicity, limits, scopes)
 * and `tasks:pause|resume|delete|trigger` (by ids and by selector).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { EcronError } from '../../src/core/errors.ts';
import { CHUNK_SIZE } from '../../src/services/task-batch-service.ts';
import type { Store } from '../../src/store/store.ts';
import { ApiHarness, errorOf, idleTaskSpec } from './api-harness.ts';

let h: ApiHarness;
beforeEach(async () => {
  h = await new ApiHarness().start();
});
afterEach(async () => h.close());

const spec = idleTaskSpec;
type Item = { id?: string; action?: string; error?: { code: string; message: string; details?: any } };
const itemsOf = (res: { json(): any }): Item[] => res.json().items;

describe('POST /api/v1/tasks:batch', () => {
  it('creates, updates and leaves unchanged, answering each item in order, with per-item errors', async () => {
    const existing = await h.createTask({ name: 'existing', schedule: { every: '1m' } });
    const res = await h.call('POST', '/api/v1/tasks:batch', {
      body: {
        items: [
          spec('first', { labels: { team: 'data' } }),
          { name: 'bad', schedule: { cron: 'nope' }, target: { type: 'http', url: 'http://x/run' } },
          { ...spec('existing'), target: existing.spec.target, params: { v: 2 } },
          'not an object',
          spec('last'),
          spec('first'),
        ],
      },
    });
    expect(res.statusCode).toBe(200);
    const items = itemsOf(res);
    expect(items).toHaveLength(6);
    expect(items[0]).toEqual({ id: expect.any(String), action: 'created' });
    expect(items[1]!.error).toMatchObject({ code: 'VALIDATION_FAILED', details: { issues: [expect.objectContaining({ path: 'schedule.cron' })] } });
    expect(items[2]).toEqual({ id: existing.id, action: 'updated' });
    expect(items[3]!.error!.code).toBe('VALIDATION_FAILED');
    expect(items[4]).toEqual({ id: expect.any(String), action: 'created' });
    expect(items[5]!.error).toMatchObject({ code: 'VALIDATION_FAILED', details: { issues: [{ path: 'name', code: 'DUPLICATE_IN_BATCH' }] } });
    // The same error the single create gives for the invalid item.
    const single = await h.call('POST', '/api/v1/tasks', { body: { name: 'bad', schedule: { cron: 'nope' }, target: { type: 'http', url: 'http://x/run' } } });
    expect(errorOf(single).code).toBe(items[1]!.error!.code);
    expect(errorOf(single).message).toBe(items[1]!.error!.message);

    const first = (await h.call('GET', `/api/v1/tasks/${items[0]!.id}`)).json();
    expect(first).toMatchObject({ name: 'first', revision: 1, spec: { labels: { team: 'data' } } });
    expect((await h.call('GET', `/api/v1/tasks/${existing.id}`)).json()).toMatchObject({ revision: 2, spec: { params: { v: 2 } } });
    // Audit as a single create and update write them.
    const audit = (await h.store.listAudit({ limit: 100 })).items.map((e) => [e.action, e.resourceId]);
    expect(audit).toContainEqual(['task.create', items[0]!.id]);
    expect(audit).toContainEqual(['task.update', existing.id]);

    // Sent again: nothing changes.
    const again = await h.call('POST', '/api/v1/tasks:batch', { body: { items: [spec('first', { labels: { team: 'data' } }), spec('last')] } });
    expect(itemsOf(again)).toEqual([{ id: items[0]!.id, action: 'unchanged' }, { id: items[4]!.id, action: 'unchanged' }]);
    expect((await h.store.getTask(items[0]!.id!))?.revision).toBe(1);
  });

  it('hands the new tasks to the scheduler: a task due soon fires', async () => {
    const res = await h.call('POST', '/api/v1/tasks:batch', { body: { items: [{ ...spec('soon', { schedule: { every: '10s' } }), target: { type: 'http', url: `${h.executorUrl}/run` } }] } });
    const [item] = itemsOf(res);
    const fired = h.next('run:ended', (run) => run.taskId === item!.id);
    await h.clock.advance(10_000);
    expect(await fired).toMatchObject({ taskId: item!.id, status: 'succeeded' });
  });

  it('refuses an item whose name a workflow holds, as a single create does', async () => {
    const wf = await h.call('POST', '/api/v1/workflows', { body: { name: 'flow', nodes: [{ id: 'a', target: { type: 'http', url: 'http://127.0.0.1:9000/run' } }] } });
    expect(wf.statusCode).toBe(201);
    const res = await h.call('POST', '/api/v1/tasks:batch', { body: { items: [spec('flow'), spec('other')] } });
    expect(itemsOf(res)[0]!.error!.code).toBe('TASK_NAME_TAKEN');
    expect(errorOf(await h.call('POST', '/api/v1/tasks', { body: spec('flow') })).code).toBe('TASK_NAME_TAKEN');
    expect(itemsOf(res)[1]!.action).toBe('created');
  });

  it('reports items in namespaces the token may not manage as FORBIDDEN, like the single create', async () => {
    const scoped = (await h.token('editor', ['team-a'])).secret;
    const res = await h.call('POST', '/api/v1/tasks:batch', { token: scoped, body: { items: [spec('mine', { namespace: 'team-a' }), spec('theirs', { namespace: 'team-b' })] } });
    expect(itemsOf(res)[0]!.action).toBe('created');
    expect(itemsOf(res)[1]!.error!.code).toBe('FORBIDDEN');
    expect(errorOf(await h.call('POST', '/api/v1/tasks', { token: scoped, body: spec('theirs', { namespace: 'team-b' }) })).code).toBe('FORBIDDEN');
    const viewer = (await h.token('viewer')).secret;
    expect((await h.call('POST', '/api/v1/tasks:batch', { token: viewer, body: { items: [spec('x')] } })).statusCode).toBe(403);
    expect(await h.taskCount()).toBe(1);
  });

  it('takes 1..10,000 items: more is BATCH_TOO_LARGE, none is VALIDATION_FAILED', async () => {
    const tooMany = await h.call('POST', '/api/v1/tasks:batch', { body: { items: Array.from({ length: 10_001 }, (_, i) => spec(`t${i}`)) } });
    expect(tooMany.statusCode).toBe(400);
    expect(errorOf(tooMany).code).toBe('BATCH_TOO_LARGE');
    const none = await h.call('POST', '/api/v1/tasks:batch', { body: { items: [] } });
    expect(none.statusCode).toBe(400);
    expect(errorOf(none).code).toBe('VALIDATION_FAILED');
    expect(await h.taskCount()).toBe(0);
  });

  it('writes 10,000 items in chunks, in order', async () => {
    const res = await h.call('POST', '/api/v1/tasks:batch', { body: { items: Array.from({ length: 10_000 }, (_, i) => spec(`t-${String(i).padStart(5, '0')}`)) } });
    expect(res.statusCode).toBe(200);
    const items = itemsOf(res);
    expect(items.every((item) => item.action === 'created')).toBe(true);
    const stored = await h.store.getScheduledByNames({ keys: [{ namespace: 'default', name: 't-00000' }, { namespace: 'default', name: 't-09999' }] });
    expect(stored.map((t) => t.id).sort()).toEqual([items[0]!.id, items[9999]!.id].sort());
  });

  it('is atomic per chunk: a chunk the store fails to write leaves none of its items, and the other chunks stand', async () => {
    let calls = 0;
    const failing = new Proxy(h.store, {
      get(target, property, receiver) {
        if (property === 'upsertTasks') {
          return (p: Parameters<Store['upsertTasks']>[0]) => (++calls === 2 ? Promise.reject(new EcronError('STORE_UNAVAILABLE', 'the store went away')) : target.upsertTasks(p));
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const app = await buildApp({ store: failing, control: h.scheduler, clock: h.clock, version: '0.0.0-test' });
    const total = CHUNK_SIZE * 2 + 10;
    const res = await app.inject({
      method: 'POST', url: '/api/v1/tasks:batch', headers: { authorization: `Bearer ${h.admin}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ items: Array.from({ length: total }, (_, i) => spec(`c-${String(i).padStart(4, '0')}`)) }),
    });
    await app.close();
    const items = itemsOf(res);
    expect(items.slice(0, CHUNK_SIZE).every((item) => item.action === 'created')).toBe(true);
    expect(items.slice(CHUNK_SIZE, 2 * CHUNK_SIZE).every((item) => item.error?.code === 'STORE_UNAVAILABLE')).toBe(true);
    expect(items.slice(2 * CHUNK_SIZE).every((item) => item.action === 'created')).toBe(true);
    expect(await h.store.getTaskByName('default', `c-${String(CHUNK_SIZE).padStart(4, '0')}`)).toBeNull();
    expect((await h.store.listTasks({ limit: 1000, namespace: 'default' })).items.length).toBe(CHUNK_SIZE + 10);
  });

  it('appears in /openapi.json beside the task routes, which still answer', async () => {
    const paths = Object.keys((await h.call('GET', '/openapi.json')).json().paths);
    expect(paths).toEqual(expect.arrayContaining(['/api/v1/tasks:batch', '/api/v1/tasks:pause', '/api/v1/tasks:resume', '/api/v1/tasks:delete', '/api/v1/tasks:trigger', '/api/v1/tasks/{id}']));
    const task = await h.createTask({ name: 'still-there' });
    expect((await h.call('GET', `/api/v1/tasks/${task.id}`)).statusCode).toBe(200);
    expect((await h.call('POST', `/api/v1/tasks/${task.id}/pause`)).statusCode).toBe(200);
    expect((await h.call('POST', '/api/v1/tasks:nothing', { body: {} })).statusCode).toBe(404);
  });
});

describe('POST /api/v1/tasks:pause|resume|delete|trigger', () => {
  it('pauses and resumes by ids, answering each id in order with TASK_NOT_FOUND for unknown and out-of-scope ids', async () => {
    const a = await h.createTask({ namespace: 'team-a', name: 'a', schedule: { every: '1m' } });
    const b = await h.createTask({ namespace: 'team-b', name: 'b', schedule: { every: '1m' } });
    const scoped = (await h.token('editor', ['team-a'])).secret;
    const paused = await h.call('POST', '/api/v1/tasks:pause', { token: scoped, body: { ids: [a.id, 'no-such-task', b.id] } });
    expect(paused.statusCode).toBe(200);
    expect(itemsOf(paused)).toEqual([
      { id: a.id, ok: true },
      { id: 'no-such-task', error: expect.objectContaining({ code: 'TASK_NOT_FOUND' }) },
      { id: b.id, error: expect.objectContaining({ code: 'TASK_NOT_FOUND' }) },
    ]);
    expect((await h.store.getTask(a.id))?.state).toBe('paused');
    expect((await h.store.getTask(b.id))?.state).toBe('active');
    const resumed = await h.call('POST', '/api/v1/tasks:resume', { token: scoped, body: { ids: [a.id] } });
    expect(itemsOf(resumed)).toEqual([{ id: a.id, ok: true }]);
    expect((await h.store.getTask(a.id))?.state).toBe('active');
    expect((await h.store.listAudit({ limit: 10, action: 'task.pause' })).items.map((e) => e.resourceId)).toEqual([a.id]);
  });

  it('answers an id given twice twice, with one task.paused event per task; a deleted duplicate is TASK_NOT_FOUND', async () => {
    const a = await h.createTask({ name: 'a', schedule: { every: '1m' } });
    const b = await h.createTask({ name: 'b', schedule: { every: '1m' } });
    const since = await h.store.lastEventSeq();
    const paused = await h.call('POST', '/api/v1/tasks:pause', { body: { ids: [a.id, b.id, a.id] } });
    expect(itemsOf(paused)).toEqual([{ id: a.id, ok: true }, { id: b.id, ok: true }, { id: a.id, ok: true }]);
    const events = await h.store.readEvents({ after: since, limit: 100, filter: { types: ['task.*'] } });
    expect(events.map((e) => [e.type, e.taskId])).toEqual([['task.paused', a.id], ['task.paused', b.id]]);
    expect((await h.store.listAudit({ limit: 10, action: 'task.pause' })).items.map((e) => e.resourceId).sort()).toEqual([a.id, a.id, b.id].sort());
    const deleted = await h.call('POST', '/api/v1/tasks:delete', { body: { ids: [b.id, b.id] } });
    expect(itemsOf(deleted)).toEqual([{ id: b.id, ok: true }, { id: b.id, error: { code: 'TASK_NOT_FOUND', message: `no task with id ${JSON.stringify(b.id)}` } }]);
    expect(itemsOf(deleted)[1]!.error).toEqual(errorOf(await h.call('DELETE', `/api/v1/tasks/${b.id}`)));
  });

  it('acts on the tasks a label selector matches, within the token\'s scope and the given namespace', async () => {
    const x = await h.createTask({ namespace: 'ns1', name: 'x', labels: { team: 'data' } });
    const y = await h.createTask({ namespace: 'ns2', name: 'y', labels: { team: 'data', tier: 'gold' } });
    const z = await h.createTask({ namespace: 'ns1', name: 'z', labels: { team: 'web' } });
    const all = await h.call('POST', '/api/v1/tasks:pause', { body: { selector: { labels: { team: 'data' } } } });
    expect(itemsOf(all)).toEqual([{ id: x.id, ok: true }, { id: y.id, ok: true }]);
    expect((await h.store.getTask(z.id))?.state).toBe('active');
    const one = await h.call('POST', '/api/v1/tasks:resume', { body: { selector: { labels: { team: 'data' }, namespace: 'ns2' } } });
    expect(itemsOf(one)).toEqual([{ id: y.id, ok: true }]);
    const scoped = (await h.token('editor', ['ns1'])).secret;
    const deleted = await h.call('POST', '/api/v1/tasks:delete', { token: scoped, body: { selector: { labels: { team: 'data' } } } });
    expect(itemsOf(deleted)).toEqual([{ id: x.id, ok: true }]);
    expect(await h.store.getTask(x.id)).toBeNull();
    expect(await h.store.getTask(y.id)).not.toBeNull();
    // The list route filters by the same labels.
    expect((await h.call('GET', '/api/v1/tasks?label=team=data,tier=gold')).json().items.map((t: { id: string }) => t.id)).toEqual([y.id]);
  });

  it('triggers many tasks, each result naming its run', async () => {
    const a = await h.createTask({ name: 'a' });
    const b = await h.createTask({ name: 'b' });
    const res = await h.call('POST', '/api/v1/tasks:trigger', { body: { ids: [a.id, b.id], params: { why: 'bulk' } } });
    const items = itemsOf(res) as { id: string; ok: boolean; runId: string }[];
    expect(items.map((i) => [i.id, i.ok])).toEqual([[a.id, true], [b.id, true]]);
    for (const item of items) expect(await h.ended(item.runId)).toMatchObject({ taskId: item.id, status: 'succeeded', params: { why: 'bulk' } });
  });

  it('refuses more than 10,000 ids and a body with both or neither of ids and selector', async () => {
    const tooMany = await h.call('POST', '/api/v1/tasks:pause', { body: { ids: Array.from({ length: 10_001 }, (_, i) => `id-${i}`) } });
    expect(errorOf(tooMany).code).toBe('BATCH_TOO_LARGE');
    expect((await h.call('POST', '/api/v1/tasks:pause', { body: {} })).statusCode).toBe(400);
    expect((await h.call('POST', '/api/v1/tasks:pause', { body: { ids: ['a'], selector: { labels: { a: 'b' } } } })).statusCode).toBe(400);
    expect((await h.call('POST', '/api/v1/tasks:pause', { body: { selector: { labels: {} } } })).statusCode).toBe(400);
  });
});
