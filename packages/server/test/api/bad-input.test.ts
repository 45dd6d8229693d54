/**
 * Bad input gets a clear, coded error and stores nothing: after each refused request the number
 * of tasks (read from the store, not the API) is unchanged.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiHarness, errorOf, issuesOf } from './api-harness.ts';

let h: ApiHarness;
let existing: Record<string, any>;
beforeEach(async () => {
  h = await new ApiHarness().start();
  existing = await h.createTask({ name: 'existing', schedule: { every: '1h' } });
});
afterEach(async () => h.close());

const valid = { name: 'new-task', schedule: { cron: '0 * * * *' }, target: { type: 'http', url: 'http://127.0.0.1:9000/run' } };

/** Asserts the answer and that the store still holds exactly the one seeded task, unchanged. */
async function expectRefused(res: { statusCode: number; json(): any }, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  const body = res.json();
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(5);
  expect(await h.taskCount()).toBe(1);
  expect((await h.store.getTask(existing.id))?.revision).toBe(1);
}

describe('invalid task specs', () => {
  it('an invalid cron expression names the field', async () => {
    const res = await h.call('POST', '/api/v1/tasks', { body: { ...valid, schedule: { cron: '0 25 * * *' } } });
    await expectRefused(res, 400, 'VALIDATION_FAILED');
    expect(issuesOf(res)).toEqual([{ path: 'schedule.cron', code: 'INVALID_CRON', message: expect.stringContaining('hour') }]);
    expect(errorOf(res).message).toContain('schedule.cron');
  });

  it('a cron expression with the wrong number of fields', async () => {
    const res = await h.call('POST', '/api/v1/tasks', { body: { ...valid, schedule: { cron: '* * *' } } });
    await expectRefused(res, 400, 'VALIDATION_FAILED');
    expect(issuesOf(res)[0]).toMatchObject({ path: 'schedule.cron', code: 'INVALID_CRON', message: expect.stringContaining('got 3') });
  });

  it('an unknown time zone', async () => {
    const res = await h.call('POST', '/api/v1/tasks', { body: { ...valid, schedule: { cron: '0 * * * *', timezone: 'Mars/Olympus_Mons' } } });
    await expectRefused(res, 400, 'VALIDATION_FAILED');
    expect(issuesOf(res)).toEqual([{ path: 'schedule.timezone', code: 'UNKNOWN_TIMEZONE', message: expect.stringContaining('Mars/Olympus_Mons') }]);
  });

  it('wrong types, each named by its path', async () => {
    const res = await h.call('POST', '/api/v1/tasks', {
      body: { ...valid, name: 42, timeoutMs: true, retry: { maxAttempts: 'three' }, params: [] },
    });
    await expectRefused(res, 400, 'VALIDATION_FAILED');
    const byPath = Object.fromEntries(issuesOf(res).map((i) => [i.path, i.code]));
    expect(byPath).toMatchObject({ name: 'INVALID_TYPE', 'retry.maxAttempts': 'INVALID_TYPE', params: 'INVALID_TYPE' });
    expect(byPath.timeoutMs).toBeDefined();
  });

  it('an unknown field, at the top and nested', async () => {
    const res = await h.call('POST', '/api/v1/tasks', { body: { ...valid, shedule: { cron: '* * * * *' }, target: { ...valid.target, verb: 'POST' } } });
    await expectRefused(res, 400, 'VALIDATION_FAILED');
    expect(issuesOf(res)).toEqual(expect.arrayContaining([
      { path: 'shedule', code: 'UNKNOWN_FIELD', message: 'unknown field "shedule"' },
      { path: 'target.verb', code: 'UNKNOWN_FIELD', message: 'unknown field "verb"' },
    ]));
  });

  it('missing required fields', async () => {
    const res = await h.call('POST', '/api/v1/tasks', { body: { schedule: { every: '1m' } } });
    await expectRefused(res, 400, 'VALIDATION_FAILED');
    expect(issuesOf(res).map((i) => [i.path, i.code])).toEqual(expect.arrayContaining([['name', 'REQUIRED'], ['target', expect.any(String)]]));
  });

  it('an executor target without its group, or with an impossible sharding', async () => {
    const res = await h.call('POST', '/api/v1/tasks', { body: { ...valid, target: { type: 'executor', handler: 'report', routing: { sharding: { total: 0 } } } } });
    await expectRefused(res, 400, 'VALIDATION_FAILED');
    expect(issuesOf(res).map((i) => i.path)).toEqual(expect.arrayContaining(['target.group', 'target.routing.sharding.total']));
  });

  it('an invalid update leaves the task as it was', async () => {
    const res = await h.call('PUT', `/api/v1/tasks/${existing.id}`, { body: { ...valid, name: 'existing', schedule: { every: 'often' } } });
    await expectRefused(res, 400, 'VALIDATION_FAILED');
    expect(issuesOf(res)[0]).toMatchObject({ path: 'schedule.every', code: 'INVALID_DURATION' });
    expect((await h.store.getTask(existing.id))?.spec.schedule).toEqual({ every: 3_600_000, mode: 'fixed-rate' });
  });
});

describe('malformed requests', () => {
  it('an empty body, with and without a content type', async () => {
    await expectRefused(await h.call('POST', '/api/v1/tasks'), 400, 'BODY_EMPTY');
    await expectRefused(await h.call('POST', '/api/v1/tasks', { body: '', headers: { 'content-type': 'application/json' } }), 400, 'BODY_EMPTY');
    await expectRefused(await h.call('PUT', `/api/v1/tasks/${existing.id}`, { body: '   ', headers: { 'content-type': 'application/json' } }), 400, 'BODY_EMPTY');
  });

  it('a body that is not JSON', async () => {
    const res = await h.call('POST', '/api/v1/tasks', { body: '{"name": "x", ', headers: { 'content-type': 'application/json' } });
    await expectRefused(res, 400, 'INVALID_JSON');
    expect(errorOf(res).message).toContain('not valid JSON');
  });

  it('a JSON body that tries prototype pollution', async () => {
    const res = await h.call('POST', '/api/v1/tasks', { body: '{"__proto__": {"admin": true}, "name": "x"}', headers: { 'content-type': 'application/json' } });
    await expectRefused(res, 400, 'INVALID_JSON');
  });

  it('a JSON body that is not an object', async () => {
    const res = await h.call('POST', '/api/v1/tasks', { body: '[1, 2]', headers: { 'content-type': 'application/json' } });
    await expectRefused(res, 400, 'VALIDATION_FAILED');
  });

  it('a 5 MB body', async () => {
    const huge = JSON.stringify({ ...valid, params: { blob: 'x'.repeat(5 * 1024 * 1024) } });
    const res = await h.call('POST', '/api/v1/tasks', { body: huge });
    await expectRefused(res, 413, 'BODY_TOO_LARGE');
  });

  it('params over 64 KiB inside an accepted body', async () => {
    const res = await h.call('POST', '/api/v1/tasks', { body: { ...valid, params: { blob: 'x'.repeat(70_000) } } });
    await expectRefused(res, 400, 'VALIDATION_FAILED');
    expect(issuesOf(res)[0]).toMatchObject({ path: 'params', code: 'PARAMS_TOO_LARGE' });
  });

  it('a body that is not JSON by content type', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const res = await h.call('POST', '/api/v1/tasks', { body: 'name=x', headers: { 'content-type': type } });
      await expectRefused(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('accepts application/json with a charset', async () => {
    const res = await h.call('POST', '/api/v1/tasks', { body: JSON.stringify(valid), headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(res.statusCode).toBe(201);
    expect(await h.taskCount()).toBe(2);
  });

  it('unknown query parameters and bad query values', async () => {
    const res = await h.call('GET', '/api/v1/tasks?state=sleeping&colour=red');
    expect(res.statusCode).toBe(400);
    expect(issuesOf(res).map((i) => i.path).sort()).toEqual(['query.colour', 'query.state']);
    const revision = await h.call('PUT', `/api/v1/tasks/${existing.id}?revision=abc`, { body: { ...valid, name: 'existing' } });
    await expectRefused(revision, 400, 'VALIDATION_FAILED');
    expect(issuesOf(revision)[0]?.path).toBe('query.revision');
  });

  it('an unknown route', async () => {
    const res = await h.call('GET', '/api/v1/taskz');
    expect(res.statusCode).toBe(404);
    expect(errorOf(res)).toEqual({ code: 'ROUTE_NOT_FOUND', message: 'no route GET /api/v1/taskz' });
    const unauthenticated = await h.call('POST', '/api/v2/tasks', { token: null, body: valid });
    expect(unauthenticated.statusCode).toBe(404);
    expect(await h.taskCount()).toBe(1);
  });

  it('an unknown task or run id', async () => {
    const task = await h.call('GET', '/api/v1/tasks/01900000-0000-7000-8000-000000000000');
    expect(task.statusCode).toBe(404);
    expect(errorOf(task).code).toBe('TASK_NOT_FOUND');
    const run = await h.call('GET', '/api/v1/runs/nope');
    expect(run.statusCode).toBe(404);
    expect(errorOf(run).code).toBe('RUN_NOT_FOUND');
  });
});
