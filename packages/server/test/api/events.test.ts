/**
 * `GET /api/v1/events`: the event log as pages and as a Server-Sent Events stream, against the
 * real API on a local port, the real scheduler on a manual clock, a real HTTP executor and the
 * SQLite store's triggers. Tests wait for events, never sleep.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ApiHarness, errorOf } from './api-harness.ts';
import { openSse, type SseClient } from '../support/sse-client.ts';

let h: ApiHarness;
let base = '';
const clients: SseClient[] = [];

beforeEach(async () => {
  h = await new ApiHarness().start();
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await h?.close();
});

async function stream(query: string, token = h.admin, headers: Record<string, string> = {}): Promise<SseClient> {
  const opened = await openSse(`${base}/api/v1/events${query}`, { accept: 'text/event-stream', authorization: `Bearer ${token}`, ...headers });
  if (!opened.client) throw new Error(`no stream: ${opened.status} ${opened.body}`);
  clients.push(opened.client);
  return opened.client;
}

const parsed = (client: SseClient): Record<string, any>[] => client.events.map((e) => ({ id: Number(e.id), ...JSON.parse(e.data) as Record<string, any> }));

async function triggerAndEnd(taskId: string): Promise<string> {
  const res = await h.call('POST', `/api/v1/tasks/${taskId}/trigger`, { body: {} });
  expect(res.statusCode).toBe(201);
  const runId = res.json().id as string;
  await h.ended(runId);
  return runId;
}

describe('GET /api/v1/events', () => {
  it('pages through the log, each caller in its own namespaces, by type and task', async () => {
    const a = await h.createTask({ namespace: 'team-a', name: 'job' });
    const b = await h.createTask({ namespace: 'team-b', name: 'job' });
    const runA = await triggerAndEnd(a.id);
    await triggerAndEnd(b.id);

    const cluster = (await h.call('GET', '/api/v1/events?limit=1000&type=node.*,lease.*')).json();
    // The node's start: it joined and took every bucket, in no namespace.
    expect(cluster.items[0]).toMatchObject({ type: 'node.joined', namespace: null, seq: 1 });
    expect(cluster.items.slice(1).every((e: any) => e.type === 'lease.moved' && e.namespace === null)).toBe(true);
    const base0 = cluster.items.at(-1).seq as number;
    const all = (await h.call('GET', `/api/v1/events?limit=1000&after=${base0}`)).json();
    const types = (items: any[]) => items.map((e) => `${e.namespace}:${e.type}`);
    expect(types(all.items)).toEqual([
      'team-a:task.created', 'team-b:task.created',
      'team-a:run.fired', 'team-a:run.dispatched', 'team-a:run.succeeded',
      'team-b:run.fired', 'team-b:run.dispatched', 'team-b:run.succeeded',
    ]);
    expect(all.items.map((e: any) => e.seq - base0)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(all.last).toBe(base0 + 8);
    expect(all.items[2]).toMatchObject({ seq: base0 + 3, type: 'run.fired', namespace: 'team-a', taskId: a.id, runId: runA, status: 'dispatched', trigger: 'manual' });
    expect(all.items[2].at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(all.items[2].scheduledAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    const page = (await h.call('GET', `/api/v1/events?after=${base0 + 3}&limit=2`)).json();
    expect(page.items.map((e: any) => e.seq - base0)).toEqual([4, 5]);
    expect(page.last).toBe(base0 + 5);

    const viewer = await h.token('viewer', ['team-a']);
    const scoped = (await h.call('GET', '/api/v1/events', { token: viewer.secret })).json();
    expect(types(scoped.items)).toEqual(['team-a:task.created', 'team-a:run.fired', 'team-a:run.dispatched', 'team-a:run.succeeded']);
    const other = (await h.call('GET', '/api/v1/events?namespace=team-b', { token: viewer.secret })).json();
    expect(other.items).toEqual([]);

    expect((await h.call('GET', '/api/v1/events?namespace=team-a,team-b')).json().items).toHaveLength(8);
    expect(types((await h.call('GET', '/api/v1/events?type=run.succeeded,task.*')).json().items)).toEqual([
      'team-a:task.created', 'team-b:task.created', 'team-a:run.succeeded', 'team-b:run.succeeded',
    ]);
    expect(types((await h.call('GET', `/api/v1/events?taskId=${b.id}&type=run.*`)).json().items)).toEqual([
      'team-b:run.fired', 'team-b:run.dispatched', 'team-b:run.succeeded',
    ]);
    expect((await h.call('GET', `/api/v1/events?runId=${runA}`)).json().items).toHaveLength(3);
  });

  it('refuses a malformed filter with VALIDATION_FAILED, and an unauthenticated caller with 401', async () => {
    const bad = await h.call('GET', '/api/v1/events?type=RUN;drop');
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).code).toBe('VALIDATION_FAILED');
    expect((await h.call('GET', '/api/v1/events?after=-1')).statusCode).toBe(400);
    expect((await h.call('GET', '/api/v1/events?namespace=a,,b')).statusCode).toBe(400);
    expect((await h.call('GET', '/api/v1/events', { token: null })).statusCode).toBe(401);
    const opened = await openSse(`${base}/api/v1/events`, { accept: 'text/event-stream', 'last-event-id': 'x' , authorization: `Bearer ${h.admin}` });
    expect(opened.status).toBe(400);
  });

  it('streams events with the seq as id, and a client that reconnects with Last-Event-ID gets every later event once', async () => {
    const task = await h.createTask({ namespace: 'team-a', name: 'streamed' });
    const start = (await h.call('GET', '/api/v1/events?limit=1000')).json().last as number - 1;
    const first = await stream(`?after=${start}`);
    await first.next((e) => JSON.parse(e.data).type === 'task.created');
    const runId = await triggerAndEnd(task.id);
    await first.next((e) => JSON.parse(e.data).type === 'run.succeeded');
    expect(parsed(first).map((e) => [e.id - start, e.seq - start, e.type])).toEqual([
      [1, 1, 'task.created'], [2, 2, 'run.fired'], [3, 3, 'run.dispatched'], [4, 4, 'run.succeeded'],
    ]);
    expect(parsed(first)[3]).toMatchObject({ runId, taskId: task.id, namespace: 'team-a', status: 'succeeded', attempt: 1 });
    first.disconnect();

    // While no one listens: a pause, a second run, a resume.
    await h.call('POST', `/api/v1/tasks/${task.id}/pause`);
    await triggerAndEnd(task.id);
    await h.call('POST', `/api/v1/tasks/${task.id}/resume`);

    const again = await stream('', h.admin, { 'last-event-id': String(start + 4) });
    await again.next((e) => JSON.parse(e.data).type === 'task.resumed');
    const resumed = parsed(again);
    expect(resumed.map((e) => e.type)).toEqual(['task.paused', 'run.fired', 'run.dispatched', 'run.succeeded', 'task.resumed']);
    expect(resumed.map((e) => e.id - start)).toEqual([5, 6, 7, 8, 9]);

    // A stream with neither after nor Last-Event-ID starts at the log's end.
    const live = await stream('?type=run.*');
    await triggerAndEnd(task.id);
    await live.next((e) => JSON.parse(e.data).type === 'run.succeeded');
    expect(parsed(live).map((e) => [e.id - start, e.type])).toEqual([[10, 'run.fired'], [11, 'run.dispatched'], [12, 'run.succeeded']]);
  });

  it('streams to a scoped caller only its namespaces\' events', async () => {
    const a = await h.createTask({ namespace: 'team-a', name: 'mine' });
    const b = await h.createTask({ namespace: 'team-b', name: 'theirs' });
    const viewer = await h.token('viewer', ['team-a']);
    const client = await stream('?after=0', viewer.secret);
    await triggerAndEnd(b.id);
    await triggerAndEnd(a.id);
    await client.next((e) => JSON.parse(e.data).type === 'run.succeeded');
    expect(parsed(client).map((e) => `${e.namespace}:${e.type}`)).toEqual([
      'team-a:task.created', 'team-a:run.fired', 'team-a:run.dispatched', 'team-a:run.succeeded',
    ]);
  });

  it('serves the same events over a WebSocket upgrade of the route, one JSON event per message', async () => {
    const task = await h.createTask({ namespace: 'team-a', name: 'socketed' });
    const start = (await h.call('GET', '/api/v1/events?limit=1000')).json().last as number;
    const socket = new WebSocket(`${base.replace('http', 'ws')}/api/v1/events?after=${start - 1}&namespace=team-a`, { headers: { authorization: `Bearer ${h.admin}` } });
    const received: Record<string, any>[] = [];
    const done = new Promise<void>((resolve, reject) => {
      socket.on('message', (data) => {
        received.push(JSON.parse(String(data)));
        if (received.at(-1)!.type === 'run.succeeded') resolve();
      });
      socket.on('close', (code, reason) => reject(new Error(`closed ${code} ${String(reason)}`)));
    });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    await triggerAndEnd(task.id);
    await done;
    socket.close();
    expect(received.map((e) => [e.seq - start, e.type])).toEqual([[0, 'task.created'], [1, 'run.fired'], [2, 'run.dispatched'], [3, 'run.succeeded']]);

    const refused = new WebSocket(`${base.replace('http', 'ws')}/api/v1/events`);
    const status = await new Promise<number>((resolve) => refused.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)).once('open', () => resolve(101)));
    expect(status).toBe(401);
  });
  it('tells a reader resuming after events retention deleted: 410 EVENTS_EXPIRED, never a silent gap', async () => {
    const task = await h.createTask({ namespace: 'team-a', name: 'expiring' });
    await triggerAndEnd(task.id);
    const last = (await h.call('GET', '/api/v1/events?limit=1000')).json().last as number;
    // Retention takes the oldest 3 events (everything is older than a minute from now).
    expect(await h.store.deleteEvents({ before: Date.now() + 60_000, limit: 3 })).toBe(3);

    const gone = await h.call('GET', '/api/v1/events?after=1');
    expect(gone.statusCode).toBe(410);
    expect(errorOf(gone)).toMatchObject({ code: 'EVENTS_EXPIRED', details: { after: 1, oldestSeq: 4 } });
    // From the oldest kept, or from the start (after=0: whatever is kept), there is no gap to tell.
    expect((await h.call('GET', '/api/v1/events?after=3')).json().items[0].seq).toBe(4);
    expect((await h.call('GET', '/api/v1/events')).json().items[0].seq).toBe(4);

    const resumed = await openSse(`${base}/api/v1/events`, { accept: 'text/event-stream', 'last-event-id': '2', authorization: `Bearer ${h.admin}` });
    expect(resumed.status).toBe(410);
    expect(JSON.parse(resumed.body ?? '{}').error.code).toBe('EVENTS_EXPIRED');
    const kept = await stream('', h.admin, { 'last-event-id': '3' });
    await kept.next((e) => Number(e.id) === last);

    const socket = new WebSocket(`${base.replace('http', 'ws')}/api/v1/events?after=1`, { headers: { authorization: `Bearer ${h.admin}` } });
    const closed = await new Promise<[number, string]>((resolve) => socket.on('close', (code, reason) => resolve([code, String(reason)])));
    expect(closed[0]).toBe(1008);
    expect(closed[1]).toMatch(/^EVENTS_EXPIRED/);

    const subscription = await h.call('POST', '/api/v1/event-subscriptions', {
      body: { namespace: 'team-a', name: 'late', type: 'webhook', config: { url: 'http://127.0.0.1:9/hook' }, after: 1 },
    });
    expect(subscription.statusCode).toBe(410);
    expect(errorOf(subscription).code).toBe('EVENTS_EXPIRED');
  });
});
