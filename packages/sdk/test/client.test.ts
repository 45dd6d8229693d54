/** EcronClient against a real ecron server: every call, and the mapping of error answers. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EcronApiError, EcronClient } from '../src/index.ts';
import { startRealServer, type RealServer } from './support/real-server.ts';

let real: RealServer;
let client: EcronClient;

beforeAll(async () => {
  real = await startRealServer();
  client = new EcronClient({ server: real.url, token: real.editor });
});
afterAll(async () => {
  await real?.stop();
});

const manual = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  schedule: { manual: true as const },
  target: { type: 'http' as const, url: 'http://127.0.0.1:1/never' },
  ...extra,
});

/** The URL of a port nothing listens on (any more). */
async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

async function apiError(promise: Promise<unknown>): Promise<EcronApiError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(EcronApiError);
  return error as EcronApiError;
}

describe('EcronClient tasks', () => {
  it('creates, gets, lists, updates, pauses, resumes and deletes a task', async () => {
    const created = await client.tasks.create(manual('crud', { params: { a: 1 } }));
    expect(created).toMatchObject({ namespace: 'default', name: 'crud', revision: 1, state: 'active' });
    expect(await client.tasks.get(created.id)).toMatchObject({ id: created.id, name: 'crud' });

    const page = await client.tasks.list({ name: 'crud' });
    expect(page.items.map((t) => t.id)).toEqual([created.id]);
    expect(page.nextCursor).toBeNull();

    const updated = await client.tasks.update(created.id, manual('crud', { params: { a: 2 } }), { revision: 1 });
    expect(updated.revision).toBe(2);
    expect(updated.spec.params).toEqual({ a: 2 });
    const stale = await apiError(client.tasks.update(created.id, manual('crud'), { revision: 1 }));
    expect([stale.status, stale.code]).toEqual([409, 'TASK_VERSION_CONFLICT']);

    expect((await client.tasks.pause(created.id)).state).toBe('paused');
    expect((await client.tasks.resume(created.id)).state).toBe('active');
    await client.tasks.delete(created.id);
    const gone = await apiError(client.tasks.get(created.id));
    expect([gone.status, gone.code]).toEqual([404, 'TASK_NOT_FOUND']);
  });

  it('upserts: creates a task, then updates the one with the same namespace and name', async () => {
    const first = await client.tasks.upsert(manual('upserted', { namespace: 'team-a', params: { v: 1 } }));
    const second = await client.tasks.upsert(manual('upserted', { namespace: 'team-a', params: { v: 2 } }));
    expect(second.id).toBe(first.id);
    expect(second.revision).toBe(2);
    expect(second.spec.params).toEqual({ v: 2 });
    const elsewhere = await client.tasks.upsert(manual('upserted', { params: { v: 3 } }));
    expect(elsewhere.id).not.toBe(first.id);
    expect(elsewhere.namespace).toBe('default');
  });

  it('triggers a task and reads its runs, the run, its logs, and cancels it', async () => {
    const task = await client.tasks.create(manual('triggered'));
    const run = await client.tasks.trigger(task.id, { day: '2026-01-01' });
    expect(run).toMatchObject({ taskId: task.id, trigger: 'manual', params: { day: '2026-01-01' } });
    const runs = await client.runs.list({ taskId: task.id, limit: 10 });
    expect(runs.items.map((r) => r.id)).toEqual([run.id]);
    expect((await client.runs.get(run.id)).id).toBe(run.id);
    const logs = await client.runs.logs(run.id, { afterSeq: 0 });
    expect(Array.isArray(logs.items)).toBe(true);
    expect(typeof logs.nextSeq).toBe('number');
    const cancelled = await client.runs.cancel(run.id).catch((error: EcronApiError) => error);
    if (cancelled instanceof EcronApiError) expect(cancelled.code).toBe('RUN_ALREADY_FINISHED');
    else expect(['cancelled', 'failed']).toContain(cancelled.status);
    const since = await client.runs.list({ taskId: task.id, from: new Date(Date.now() - 60_000) });
    expect(since.items).toHaveLength(1);
  });

  it('lists executor nodes, all or of one group', async () => {
    const list = await client.executors.list();
    expect(Array.isArray(list.items)).toBe(true);
    expect((await client.executors.list('no-such-group')).items).toEqual([]);
  });
});

describe('EcronClient errors', () => {
  it('maps validation errors with their details', async () => {
    const error = await apiError(client.tasks.create({ name: 'bad name!', schedule: { cron: 'not cron' }, target: { type: 'http', url: 'x' } } as never));
    expect(error.status).toBe(400);
    expect(error.code).toBe('VALIDATION_FAILED');
    const issues = (error.details as { issues: { path: string; message: string }[] }).issues;
    expect(issues.map((issue) => issue.path)).toContain('name');
    expect(error.retryable).toBe(false);
  });

  it('maps 401 and 403', async () => {
    const anonymous = new EcronClient({ server: real.url, token: 'not-a-token' });
    const unauthenticated = await apiError(anonymous.tasks.list());
    expect([unauthenticated.status, unauthenticated.code]).toEqual([401, 'UNAUTHENTICATED']);
    const viewer = new EcronClient({ server: real.url, token: real.viewer });
    const forbidden = await apiError(viewer.tasks.create(manual('nope')));
    expect([forbidden.status, forbidden.code]).toEqual([403, 'FORBIDDEN']);
  });

  it('maps a name taken and a missing run', async () => {
    await client.tasks.create(manual('taken'));
    const taken = await apiError(client.tasks.create(manual('taken')));
    expect([taken.status, taken.code]).toEqual([409, 'TASK_NAME_TAKEN']);
    const missing = await apiError(client.runs.get('no-such-run'));
    expect([missing.status, missing.code]).toEqual([404, 'RUN_NOT_FOUND']);
  });

  it('says SERVER_UNREACHABLE (status 0) when nothing answers, and UNEXPECTED_RESPONSE for non-API answers', async () => {
    const nowhere = new EcronClient({ server: await closedPort(), token: 't' });
    const unreachable = await apiError(nowhere.tasks.list());
    expect([unreachable.status, unreachable.code, unreachable.retryable]).toEqual([0, 'SERVER_UNREACHABLE', true]);
    expect(unreachable.message).toMatch(/connection refused/);
    const notApi = new EcronClient({ server: `${real.url}/healthz-prefix`, token: real.editor });
    const unexpected = await apiError(notApi.tasks.list());
    expect(unexpected.code).toBe('UNEXPECTED_RESPONSE'); // the console's HTML, not the API's JSON
    expect(() => new EcronClient({ server: 'not a url', token: 't' })).toThrow(/not a URL/);
  });
});

/** A manual task of namespace `bulk`. */
const bulkSpec = (name: string, extra: Record<string, unknown> = {}) => ({
  namespace: 'bulk', name, schedule: { manual: true as const }, target: { type: 'http' as const, url: 'http://127.0.0.1:1/never' }, ...extra,
});

describe('EcronClient bulk task calls', () => {
  it('upserts many specs in chunks, answering each in order', async () => {
    const specs = Array.from({ length: 25 }, (_, i) => bulkSpec(`m-${String(i).padStart(2, '0')}`, { labels: { batch: 'one' } }));
    const created = await client.tasks.upsertMany(specs, { chunkSize: 10 });
    expect(created).toHaveLength(25);
    expect(created.every((r) => 'action' in r && r.action === 'created')).toBe(true);
    const again = await client.tasks.upsertMany([{ ...specs[0]!, params: { v: 2 } }, specs[1]!, { name: 'broken' } as never]);
    expect(again[0]).toEqual({ id: (created[0] as { id: string }).id, action: 'updated' });
    expect(again[1]).toEqual({ id: (created[1] as { id: string }).id, action: 'unchanged' });
    expect(again[2]).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    const listed = await client.tasks.list({ labels: { batch: 'one' }, limit: 100 });
    expect(listed.items).toHaveLength(25);
    await expect(client.tasks.upsertMany(specs, { chunkSize: 0 })).rejects.toThrow(RangeError);
  });

  it('pauses, resumes, triggers and deletes by ids and by selector', async () => {
    const [a, b] = (await client.tasks.upsertMany([bulkSpec('a', { labels: { team: 'x' } }), bulkSpec('b', { labels: { team: 'x' } })])) as { id: string }[];
    expect(await client.tasks.pauseMany({ ids: [a!.id, 'missing'] })).toEqual([
      { id: a!.id, ok: true }, { id: 'missing', error: expect.objectContaining({ code: 'TASK_NOT_FOUND' }) },
    ]);
    expect((await client.tasks.get(a!.id)).state).toBe('paused');
    expect(await client.tasks.resumeMany({ selector: { labels: { team: 'x' }, namespace: 'bulk' } })).toEqual([{ id: a!.id, ok: true }, { id: b!.id, ok: true }]);
    const triggered = await client.tasks.triggerMany({ ids: [b!.id] }, { n: 1 });
    expect(triggered).toEqual([{ id: b!.id, ok: true, runId: expect.any(String) }]);
    expect(await client.tasks.deleteMany({ selector: { labels: { team: 'x' } } })).toHaveLength(2);
    const error = await client.tasks.get(a!.id).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(EcronApiError);
    expect((error as EcronApiError).code).toBe('TASK_NOT_FOUND');
  });

  it('throws the API error of a request refused whole', async () => {
    const viewer = new EcronClient({ server: real.url, token: real.viewer });
    const error = await viewer.tasks.upsertMany([bulkSpec('v')]).then(() => null, (e: unknown) => e);
    expect((error as EcronApiError).code).toBe('FORBIDDEN');
  });
});
