/**
 * `Idempotency-Key` on task create, `tasks:batch` and trigger: the first answer again, without the
 * work done twice; IDEMPOTENCY_KEY_REUSED for another request; one execution among concurrent ones.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiHarness, errorOf, idleTaskSpec } from './api-harness.ts';

let h: ApiHarness;
beforeEach(async () => {
  h = await new ApiHarness().start();
});
afterEach(async () => h.close());

const spec = idleTaskSpec;
const key = (value: string) => ({ 'idempotency-key': value });

describe('Idempotency-Key', () => {
  it('answers a repeated create with the first answer, without creating again', async () => {
    const first = await h.call('POST', '/api/v1/tasks', { body: spec('once'), headers: key('k-1') });
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    await h.clock.advance(60_000);
    const again = await h.call('POST', '/api/v1/tasks', { body: spec('once'), headers: key('k-1') });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(await h.taskCount()).toBe(1);
    // Without the key the second create is a real one, and fails as such.
    expect(errorOf(await h.call('POST', '/api/v1/tasks', { body: spec('once') })).code).toBe('TASK_NAME_TAKEN');
  });

  it('refuses the key with another body or another route (IDEMPOTENCY_KEY_REUSED), and keys are per token', async () => {
    await h.call('POST', '/api/v1/tasks', { body: spec('a'), headers: key('k-2') });
    const other = await h.call('POST', '/api/v1/tasks', { body: spec('b'), headers: key('k-2') });
    expect(other.statusCode).toBe(422);
    expect(errorOf(other).code).toBe('IDEMPOTENCY_KEY_REUSED');
    const otherRoute = await h.call('POST', '/api/v1/tasks:batch', { body: { items: [spec('a')] }, headers: key('k-2') });
    expect(errorOf(otherRoute).code).toBe('IDEMPOTENCY_KEY_REUSED');
    const another = (await h.token('editor')).secret;
    const theirs = await h.call('POST', '/api/v1/tasks', { token: another, body: spec('b'), headers: key('k-2') });
    expect(theirs.statusCode).toBe(201);
    expect(await h.taskCount()).toBe(2);
  });

  it('repeats an answer of the service\'s errors; a body the schema refuses is refused again, never stored', async () => {
    const taken = await h.createTask({ name: 'dup' });
    const first = await h.call('POST', '/api/v1/tasks', { body: spec('dup'), headers: key('k-3') });
    expect(errorOf(first).code).toBe('TASK_NAME_TAKEN');
    expect((await h.call('DELETE', `/api/v1/tasks/${taken.id}`)).statusCode).toBe(204);
    const again = await h.call('POST', '/api/v1/tasks', { body: spec('dup'), headers: key('k-3') });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual(first.json());
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await h.taskCount()).toBe(0);
    const bad = await h.call('POST', '/api/v1/tasks', { body: spec('bad', { schedule: { cron: 'nope' } }), headers: key('k-6') });
    expect(errorOf(bad).code).toBe('VALIDATION_FAILED');
    expect((await h.call('POST', '/api/v1/tasks', { body: spec('good'), headers: key('k-6') })).statusCode).toBe(201);
    const invalid = await h.call('POST', '/api/v1/tasks', { body: spec('x'), headers: key('a'.repeat(256)) });
    expect(errorOf(invalid).code).toBe('VALIDATION_FAILED');
  });

  it('keeps a key for 24 hours', async () => {
    await h.call('POST', '/api/v1/tasks', { body: spec('day'), headers: key('k-4') });
    await h.clock.advance(24 * 3_600_000 - 1);
    expect((await h.call('POST', '/api/v1/tasks', { body: spec('day'), headers: key('k-4') })).headers['idempotent-replayed']).toBe('true');
    await h.clock.advance(1);
    // Expired: the request runs again (and the name is taken now).
    const rerun = await h.call('POST', '/api/v1/tasks', { body: spec('day'), headers: key('k-4') });
    expect(rerun.json()).toMatchObject({ error: { code: 'TASK_NAME_TAKEN' } });
  });

  it('runs one of many concurrent requests with the same key', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => h.call('POST', '/api/v1/tasks:batch', {
      body: { items: [spec('raced-1'), spec('raced-2')] }, headers: key('k-5'),
    })));
    expect(await h.taskCount()).toBe(2);
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    const fresh = answers.filter((a) => a.statusCode === 200 && a.headers['idempotent-replayed'] === undefined);
    expect(fresh).toHaveLength(1);
    expect(fresh[0]!.json().items.map((i: { action: string }) => i.action)).toEqual(['created', 'created']);
    for (const busy of answers.filter((a) => a.statusCode === 409)) expect(errorOf(busy).code).toBe('IDEMPOTENCY_KEY_IN_PROGRESS');
    const later = await h.call('POST', '/api/v1/tasks:batch', { body: { items: [spec('raced-1'), spec('raced-2')] }, headers: key('k-5') });
    expect(later.json()).toEqual(fresh[0]!.json());
  });

  it('triggers once per key', async () => {
    const task = await h.createTask({ name: 'trig' });
    const first = await h.call('POST', `/api/v1/tasks/${task.id}/trigger`, { body: { params: { n: 1 } }, headers: key('t-1') });
    expect(first.statusCode).toBe(201);
    await h.ended(first.json().id);
    const again = await h.call('POST', `/api/v1/tasks/${task.id}/trigger`, { body: { params: { n: 1 } }, headers: key('t-1') });
    expect(again.statusCode).toBe(201);
    expect(again.json().id).toBe(first.json().id);
    expect((await h.store.listRuns({ limit: 10, taskId: task.id })).items).toHaveLength(1);
    const otherParams = await h.call('POST', `/api/v1/tasks/${task.id}/trigger`, { body: { params: { n: 2 } }, headers: key('t-1') });
    expect(errorOf(otherParams).code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('deletes expired keys as keys are used', async () => {
    await h.call('POST', '/api/v1/tasks', { body: spec('old'), headers: key('old-key') });
    await h.clock.advance(25 * 3_600_000);
    await h.call('POST', '/api/v1/tasks', { body: spec('new'), headers: key('new-key') });
    await new Promise((resolve) => setImmediate(resolve));
    expect(await h.store.deleteExpiredIdempotencyKeys({ before: h.clock.now(), limit: 10 })).toBe(0);
  });
});
