/**
 * Finding F3 replayed: an editor's task `every: "1ms"` fired 486 times a second. Each namespace has
 * a minimum interval between fires (default 1 s) that only an admin changes; every writer of
 * tasks and workflows (create, update, clone, tasks:batch, workflows) refuses a schedule that
 * fires more often, with the issue INTERVAL_TOO_SHORT at `schedule.every` or `schedule.cron`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiHarness, errorOf, idleTaskSpec, issuesOf } from './api-harness.ts';

let h: ApiHarness;
let editor: string;
beforeEach(async () => {
  h = await new ApiHarness().start();
  editor = (await h.token('editor')).secret;
});
afterEach(async () => h.close());

const withSchedule = (name: string, schedule: Record<string, unknown>, extra: Record<string, unknown> = {}) => idleTaskSpec(name, { schedule, ...extra });
const createAsEditor = (body: unknown) => h.call('POST', '/api/v1/tasks', { token: editor, body });
const setMinimum = async (namespace: string, minIntervalMs: number | string) => {
  const res = await h.call('PUT', `/api/v1/namespaces/${namespace}`, { body: { quotas: { minIntervalMs } } });
  expect([200, 201], res.body).toContain(res.statusCode);
};

function expectTooShort(res: Awaited<ReturnType<ApiHarness['call']>>, path: 'schedule.every' | 'schedule.cron'): string {
  expect(res.statusCode, res.body).toBe(400);
  expect(errorOf(res).code).toBe('VALIDATION_FAILED');
  const issue = issuesOf(res).find((i) => i.code === 'INTERVAL_TOO_SHORT');
  expect(issue?.path).toBe(path);
  return issue!.message;
}

describe('the minimum interval of a namespace (F3)', () => {
  it('refuses an editor\'s every: "1ms" at the default minimum (1 s), storing nothing, and says how to lower it', async () => {
    const message = expectTooShort(await createAsEditor(withSchedule('hammer', { every: '1ms' })), 'schedule.every');
    expect(message).toContain('every 1ms');
    expect(message).toContain('namespace "default"');
    expect(message).toContain('at least 1s');
    expect(message).toContain('PUT /api/v1/namespaces/default');
    expect(message).toContain('minIntervalMs');
    expect(await h.taskCount()).toBe(0);
    expect((await createAsEditor(withSchedule('every-second', { every: '1s' }))).statusCode).toBe(201);
    expectTooShort(await createAsEditor(withSchedule('delay', { every: '999ms', mode: 'fixed-delay' })), 'schedule.every');
  });

  it('takes a lower minimum set by an admin at once: every 100ms passes, 50ms still does not', async () => {
    // An editor cannot lower it.
    expect((await h.call('PUT', '/api/v1/namespaces/default', { token: editor, body: { quotas: { minIntervalMs: 1 } } })).statusCode).toBe(403);
    await setMinimum('default', 100);
    expect((await createAsEditor(withSchedule('fast', { every: '100ms' }))).statusCode).toBe(201);
    expectTooShort(await createAsEditor(withSchedule('faster', { every: '50ms' })), 'schedule.every');
    // Another namespace keeps the default.
    expectTooShort(await createAsEditor(withSchedule('fast', { every: '100ms' }, { namespace: 'other' })), 'schedule.every');
    // Back to the default: the next write of the fast task must keep to it.
    expect((await h.call('PUT', '/api/v1/namespaces/default', { body: { quotas: { minIntervalMs: null } } })).json().quotas.minIntervalMs).toBe(1000);
    const fast = (await h.store.getTaskByName('default', 'fast'))!;
    const update = await h.call('PUT', `/api/v1/tasks/${fast.id}`, { token: editor, body: withSchedule('fast', { every: '100ms' }, { description: 'x' }) });
    expectTooShort(update, 'schedule.every');
    expect((await h.store.getTask(fast.id))!.revision).toBe(1);
  });

  it('measures cron by its next fires: every second passes at the default and not at 5 s; a short gap after a long one is found', async () => {
    expect((await createAsEditor(withSchedule('cron-1s', { cron: '*/1 * * * * *' }))).statusCode).toBe(201);
    await setMinimum('slow', '5s');
    const message = expectTooShort(await createAsEditor(withSchedule('cron-1s', { cron: '*/1 * * * * *' }, { namespace: 'slow' })), 'schedule.cron');
    expect(message).toContain('1s apart');
    expect((await createAsEditor(withSchedule('cron-5s', { cron: '*/5 * * * * *' }, { namespace: 'slow' }))).statusCode).toBe(201);
    // Minutes 0 and 1 of each hour: from 00:00:00 the first gap is 59 min, the next one 1 min.
    await setMinimum('hourly', '2m');
    expectTooShort(await createAsEditor(withSchedule('pair', { cron: '0 0,1 * * * *' }, { namespace: 'hourly' })), 'schedule.cron');
    expectTooShort(await createAsEditor(withSchedule('minutely', { cron: '* * * * *' }, { namespace: 'hourly' })), 'schedule.cron');
    expect((await createAsEditor(withSchedule('five', { cron: '*/5 * * * *' }, { namespace: 'hourly' }))).statusCode).toBe(201);
  });

  it('never refuses a one-shot or a manual schedule', async () => {
    await setMinimum('strict', '1d');
    expect((await createAsEditor(withSchedule('once', { at: '2026-06-01T00:00:00Z' }, { namespace: 'strict' }))).statusCode).toBe(201);
    expect((await createAsEditor(withSchedule('by-hand', { manual: true }, { namespace: 'strict' }))).statusCode).toBe(201);
    expectTooShort(await createAsEditor(withSchedule('hourly', { every: '1h' }, { namespace: 'strict' })), 'schedule.every');
  });

  it('applies to tasks:batch item by item, to clones and to workflows', async () => {
    await setMinimum('slow', '5s');
    const batch = await h.call('POST', '/api/v1/tasks:batch', {
      token: editor,
      body: {
        items: [
          withSchedule('b-hammer', { every: '1ms' }),
          withSchedule('b-fine', { every: '1s' }),
          withSchedule('b-cron', { cron: '* * * * * *' }, { namespace: 'slow' }),
          withSchedule('b-slow', { every: '5s' }, { namespace: 'slow' }),
        ],
      },
    });
    expect(batch.statusCode, batch.body).toBe(200);
    const items = batch.json().items;
    expect(items[0].error).toMatchObject({ code: 'VALIDATION_FAILED', details: { issues: [{ path: 'schedule.every', code: 'INTERVAL_TOO_SHORT' }] } });
    expect(items[1]).toEqual({ id: expect.any(String), action: 'created' });
    expect(items[2].error).toMatchObject({ code: 'VALIDATION_FAILED', details: { issues: [{ path: 'schedule.cron', code: 'INTERVAL_TOO_SHORT' }] } });
    expect(items[3]).toEqual({ id: expect.any(String), action: 'created' });
    // The item's error is the single create's.
    expect(items[0].error.message).toBe(errorOf(await createAsEditor(withSchedule('b-hammer', { every: '1ms' }))).message);
    expect((await h.store.listTasks({ limit: 10 })).items.map((t) => t.name).sort()).toEqual(['b-fine', 'b-slow']);

    const clone = await h.call('POST', `/api/v1/tasks/${items[1].id}/clone`, { token: editor, body: { name: 'b-copy', namespace: 'slow' } });
    expectTooShort(clone, 'schedule.every');

    const workflow = { name: 'wf', schedule: { every: '10ms' }, nodes: [{ id: 'a', target: { type: 'http', url: 'http://127.0.0.1:9000/run' } }] };
    expectTooShort(await h.call('POST', '/api/v1/workflows', { token: editor, body: workflow }), 'schedule.every');
    const created = await h.call('POST', '/api/v1/workflows', { token: editor, body: { ...workflow, schedule: { every: '1s' } } });
    expect(created.statusCode, created.body).toBe(201);
    expectTooShort(await h.call('PUT', `/api/v1/workflows/${created.json().id}`, { token: editor, body: workflow }), 'schedule.every');
    expect((await h.store.getWorkflow(created.json().id))!.revision).toBe(1);
  });
});

describe('the target types a namespace allows', () => {
  it('refuses a task or an inline workflow node of another type, on every writer, and stores nothing', async () => {
    const put = await h.call('PUT', '/api/v1/namespaces/default', { body: { quotas: { allowedTargetTypes: ['executor', 'shell'] } } });
    expect([200, 201]).toContain(put.statusCode);
    const http = idleTaskSpec('outbound-http');
    const refused = await createAsEditor(http);
    expect(refused.statusCode, refused.body).toBe(400);
    expect(issuesOf(refused)).toEqual([expect.objectContaining({ path: 'target.type', code: 'TARGET_TYPE_NOT_ALLOWED' })]);
    expect((await h.call('GET', '/api/v1/tasks')).json().items).toEqual([]);
    const executor = await createAsEditor({ ...http, name: 'via-executor', target: { type: 'executor', group: 'g', handler: 'h' } });
    expect(executor.statusCode, executor.body).toBe(201);
    const batch = await h.call('POST', '/api/v1/tasks:batch', { token: editor, body: { items: [http, { ...http, name: 'ok', target: { type: 'shell', group: 'g', command: 'true' } }] } });
    const [first, second] = batch.json().items;
    expect(first.error.details.issues).toEqual([expect.objectContaining({ code: 'TARGET_TYPE_NOT_ALLOWED' })]);
    expect(second).toHaveProperty('id');
    const workflow = await h.call('POST', '/api/v1/workflows', { token: editor, body: {
      name: 'wf', schedule: { manual: true }, nodes: [{ id: 'a', target: { type: 'http', url: 'http://127.0.0.1:1/x' } }],
    } });
    expect(workflow.statusCode, workflow.body).toBe(400);
    expect(issuesOf(workflow)).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'nodes[0].target.type', code: 'TARGET_TYPE_NOT_ALLOWED' })]));
  });
});

describe('maxTasks', () => {
  it('refuses the task past the quota with 409 QUOTA_EXCEEDED, and a batch item by item', async () => {
    expect((await h.call('PUT', '/api/v1/namespaces/small', { body: { quotas: { maxTasks: 2 } } })).statusCode).toBe(201);
    const inSmall = (name: string) => idleTaskSpec(name, { namespace: 'small' });
    expect((await createAsEditor(inSmall('one'))).statusCode).toBe(201);
    const batch = await h.call('POST', '/api/v1/tasks:batch', { token: editor, body: { items: [inSmall('two'), inSmall('three')] } });
    const [two, three] = batch.json().items;
    expect(two).toHaveProperty('id');
    expect(three.error.code).toBe('QUOTA_EXCEEDED');
    const past = await createAsEditor(inSmall('four'));
    expect(past.statusCode, past.body).toBe(409);
    expect(errorOf(past)).toMatchObject({ code: 'QUOTA_EXCEEDED', details: { namespace: 'small', quota: 'maxTasks', limit: 2, count: 2 } });
    expect((await h.call('GET', '/api/v1/namespaces/small')).json().usage.tasks).toBe(2);
  });
});
