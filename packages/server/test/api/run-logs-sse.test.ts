/**
 * `GET /api/v1/runs/{id}/logs?follow=1`: the live log as Server-Sent Events, against the real API
 * listening on a local port, the real scheduler on a manual clock, and a real HTTP executor whose
 * runs report their lines through the callback route. Nothing here sleeps: tests wait for events,
 * and time moves only when the manual clock is advanced.
 */
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runLogAppends } from '../../src/core/run-log-signal.ts';
import { formatEvent, openEventStream } from '../../src/api/sse.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';
import { RUN_LOG_POLL_MS } from '../../src/services/run-log-follow.ts';
import { ApiHarness, T0 } from './api-harness.ts';
import { openSse, type SseClient } from '../support/sse-client.ts';

let h: ApiHarness;
let base = '';
/** Every `listRunLogs` the API has made. */
let logReads = 0;
/** What the log followers of this process did, in order. */
let followerLog: { what: 'waiting' | 'stopped'; runId: string; afterSeq?: number }[] = [];
const logged = new EventEmitter<{ entry: [] }>();
const onWaiting = (runId: string, afterSeq: number) => { followerLog.push({ what: 'waiting', runId, afterSeq }); logged.emit('entry'); };
const onStopped = (runId: string) => { followerLog.push({ what: 'stopped', runId }); logged.emit('entry'); };

beforeEach(async () => {
  h = await new ApiHarness().start();
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  logReads = 0;
  followerLog = [];
  runLogAppends.followers.on('waiting', onWaiting).on('stopped', onStopped);
  const listRunLogs = h.store.listRunLogs.bind(h.store);
  h.store.listRunLogs = (p) => {
    logReads += 1;
    return listRunLogs(p);
  };
});
afterEach(async () => {
  runLogAppends.followers.off('waiting', onWaiting).off('stopped', onStopped);
  await h?.close();
});

/** Resolves once the follower log has an entry from index `from` on that matches (never rejects: for races). */
function followerDid(match: (entry: (typeof followerLog)[number]) => boolean, from = 0): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (!followerLog.slice(from).some(match)) return;
      logged.off('entry', check);
      resolve();
    };
    logged.on('entry', check);
    check();
  });
}

/** A follower of `runId` has sent every line up to `afterSeq` and waits (its poll timer armed). */
const waitingAt = (runId: string, afterSeq: number, from = 0) => followerDid((e) => e.what === 'waiting' && e.runId === runId && e.afterSeq === afterSeq, from);

/**
 * Takes a stream whose run is final to its end: whenever the follower waits after `lastSeq`, the
 * clock moves on by one poll (a final status written without a line brings no in-process notice).
 */
async function pollToEnd(client: SseClient, runId: string, lastSeq: number): Promise<void> {
  let from = 0;
  for (;;) {
    const state = await Promise.race([client.ended.then(() => 'ended' as const), waitingAt(runId, lastSeq, from).then(() => 'waiting' as const)]);
    if (state === 'ended') return;
    from = followerLog.length;
    await h.clock.advance(RUN_LOG_POLL_MS);
  }
}

const logsUrl = (runId: string, query = 'follow=1') => `${base}/api/v1/runs/${runId}/logs?${query}`;
const auth = (token = h.admin) => ({ authorization: `Bearer ${token}` });

/** A run whose executor answered 202: it goes on until reported otherwise. */
async function asyncRun(spec: Record<string, unknown> = {}) {
  h.executor.behaviours.set('/async', () => ({ status: 202 }));
  const task = await h.createTask({ name: `async-${Math.random().toString(36).slice(2, 8)}`, target: { type: 'http', url: `${h.executorUrl}/async` }, ...spec });
  const run = (await h.call('POST', `/api/v1/tasks/${task.id}/trigger`)).json();
  const received = await h.executor.next((r) => r.body.runId === run.id);
  let seq = 0;
  const report = async (body: Record<string, unknown>) => {
    const res = await h.call('POST', `/api/v1/runs/${run.id}/report`, { token: received.body.callback.token, body: { attempt: 1, seq: seq++, ...body } });
    expect(res.statusCode, res.body).toBe(200);
  };
  return { run: run as { id: string; namespace: string }, report };
}

async function connect(runId: string, headers: Record<string, string> = {}, query?: string): Promise<SseClient> {
  const opened = await openSse(logsUrl(runId, query), { ...auth(), ...headers });
  expect(opened.status, opened.body).toBe(200);
  return opened.client!;
}

const summary = (client: SseClient) => client.events.map((e) => (e.event === 'log' ? `${e.id}:${JSON.parse(e.data).message}` : `${e.event}:${e.data}`));

describe('GET /runs/{id}/logs?follow=1', () => {
  it('streams the lines written before and after connecting, in order with their ids, then end once the run finished', async () => {
    const { run, report } = await asyncRun();
    await report({ status: 'running', logs: [{ message: 'starting' }, { level: 'warn', message: 'slow disk' }] });

    const opened = await openSse(logsUrl(run.id), auth());
    expect(opened.status).toBe(200);
    expect(opened.headers['content-type']).toBe('text/event-stream');
    expect(opened.headers['cache-control']).toBe('no-cache');
    const client = opened.client!;
    const [first, second] = await client.count(2);
    expect(first).toEqual({ event: 'log', id: '1', data: JSON.stringify({ seq: 1, attempt: 1, at: new Date(T0).toISOString(), level: 'info', message: 'starting' }) });
    expect(second).toMatchObject({ event: 'log', id: '2' });
    expect(JSON.parse(second!.data)).toMatchObject({ seq: 2, level: 'warn', message: 'slow disk' });

    // The clock never moves: these arrive through the in-process notice, not the poll.
    await report({ logs: [{ message: 'halfway' }] });
    expect((await client.next((e) => e.id === '3')).data).toContain('halfway');
    await report({ logs: [{ message: 'almost' }, { message: 'there' }] });
    await client.count(5);
    await report({ status: 'succeeded', logs: [{ message: 'finished' }] });
    await pollToEnd(client, run.id, 6);
    expect(summary(client)).toEqual(['1:starting', '2:slow disk', '3:halfway', '4:almost', '5:there', '6:finished', 'end:{"status":"succeeded","error":null}']);
    expect(client.events.at(-1)!.id).toBeUndefined();
    expect(runLogAppends.listenerCount(run.id)).toBe(0);
  });

  it('also streams for Accept: text/event-stream, and sends a finished run whole, then end, at once', async () => {
    const { run, report } = await asyncRun();
    await report({ status: 'running', logs: [{ message: 'one' }, { message: 'two' }] });
    await report({ status: 'succeeded', logs: [{ message: 'three' }] });
    const client = await connect(run.id, { accept: 'text/event-stream' }, '');
    await client.closed();
    expect(summary(client)).toEqual(['1:one', '2:two', '3:three', 'end:{"status":"succeeded","error":null}']);
    // follow=0 keeps the JSON page even for an event-stream Accept.
    const page = await fetch(logsUrl(run.id, 'follow=0'), { headers: { ...auth(), accept: 'text/event-stream' } });
    expect(page.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await page.json()) as { items: unknown[] }).items).toHaveLength(3);
  });

  it('finds lines another node wrote by polling the store every 500 ms', async () => {
    const { run, report } = await asyncRun();
    await report({ status: 'running', logs: [{ message: 'here' }] });
    const client = await connect(run.id);
    await client.count(1);
    await waitingAt(run.id, 1);
    // Written straight to the store, as an API node elsewhere in the cluster would: no notice here.
    await h.store.appendRunLogs([{ runId: run.id, attempt: 1, at: T0, level: 'info', message: 'from elsewhere' }]);
    const reads = logReads;
    await h.clock.advance(RUN_LOG_POLL_MS - 1);
    expect(logReads).toBe(reads);
    await h.clock.advance(1);
    expect((await client.next((e) => e.id === '2')).data).toContain('from elsewhere');
    client.disconnect();
  });

  it('ends after the last line of a failed run, the scheduler\'s closing line included', async () => {
    const { run, report } = await asyncRun({ retry: { maxAttempts: 1 } });
    await report({ status: 'running', logs: [{ message: 'connecting' }] });
    const client = await connect(run.id);
    await client.count(1);
    await report({ status: 'failed', error: 'database unreachable', logs: [{ level: 'error', message: 'ECONNREFUSED' }] });
    // The scheduler's own closing line comes just after the run ended; the stream waits one poll for it.
    await pollToEnd(client, run.id, 3);
    expect(summary(client)).toEqual([
      '1:connecting', '2:ECONNREFUSED', '3:attempt 1 failed: database unreachable', 'end:{"status":"failed","error":"database unreachable"}',
    ]);
  });

  it('resumes after Last-Event-ID (or afterSeq) without repeating a line', async () => {
    const { run, report } = await asyncRun();
    await report({ status: 'running', logs: ['a', 'b', 'c', 'd'].map((message) => ({ message })) });
    const first = await connect(run.id);
    await first.count(2);
    const lastId = first.events[1]!.id!;
    first.disconnect();
    await report({ logs: [{ message: 'e' }] });

    const resumed = await connect(run.id, { 'last-event-id': lastId });
    await resumed.count(3);
    expect(summary(resumed)).toEqual(['3:c', '4:d', '5:e']);
    // The header wins over afterSeq: it is what a reconnecting EventSource sends.
    const both = await connect(run.id, { 'last-event-id': '4' }, 'follow=1&afterSeq=1');
    await both.count(1);
    const byQuery = await connect(run.id, {}, 'follow=1&afterSeq=3');
    await byQuery.count(2);
    await report({ status: 'succeeded' });
    for (const client of [resumed, both, byQuery]) await pollToEnd(client, run.id, 5);
    expect(summary(resumed)).toEqual(['3:c', '4:d', '5:e', 'end:{"status":"succeeded","error":null}']);
    expect(summary(both)).toEqual(['5:e', 'end:{"status":"succeeded","error":null}']);
    expect(summary(byQuery)).toEqual(['4:d', '5:e', 'end:{"status":"succeeded","error":null}']);
  });

  it('answers RUN_NOT_FOUND, 401 and a bad Last-Event-ID as JSON errors before any stream', async () => {
    const { run, report } = await asyncRun({ namespace: 'team-a' });
    await report({ status: 'running', logs: [{ message: 'secret' }] });

    const missing = await openSse(logsUrl('no-such-run'), auth());
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(missing.body!).error.code).toBe('RUN_NOT_FOUND');

    const anonymous = await openSse(logsUrl(run.id), { accept: 'text/event-stream' });
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body!).error.code).toBe('UNAUTHENTICATED');
    const revoked = await openSse(logsUrl(run.id), auth('ecr_not_a_token'));
    expect(JSON.parse(revoked.body!).error.code).toBe('UNAUTHENTICATED');

    // A viewer of another namespace does not see the run at all; a viewer of its own does.
    const outsider = await h.token('viewer', ['team-b']);
    const hidden = await openSse(logsUrl(run.id), auth(outsider.secret));
    expect(hidden.status).toBe(404);
    expect(JSON.parse(hidden.body!).error.code).toBe('RUN_NOT_FOUND');
    const insider = await h.token('viewer', ['team-a'], 'team-a-viewer');
    const seen = await openSse(logsUrl(run.id), auth(insider.secret));
    expect(seen.status).toBe(200);
    await seen.client!.count(1);
    seen.client!.disconnect();

    const badId = await openSse(logsUrl(run.id), { ...auth(), 'last-event-id': 'yesterday' });
    expect(badId.status).toBe(400);
    expect(JSON.parse(badId.body!).error.details.issues[0].path).toBe('headers.last-event-id');
    const badFollow = await openSse(logsUrl(run.id, 'follow=maybe'), auth());
    expect(JSON.parse(badFollow.body!).error.details.issues[0].path).toBe('query.follow');
    // HEAD never opens a stream.
    const head = await fetch(logsUrl(run.id), { method: 'HEAD', headers: auth() });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('stops reading the store and clears its timers at once when the client goes away', async () => {
    const { run, report } = await asyncRun();
    await report({ status: 'running', logs: [{ message: 'only line' }] });
    const timersBefore = h.clock.pendingTimers;
    const client = await connect(run.id);
    await client.count(1);
    await waitingAt(run.id, 1);
    // Waiting: one poll timer, one keep-alive timer, one listener of the in-process notice.
    expect(h.clock.pendingTimers).toBe(timersBefore + 2);
    expect(runLogAppends.listenerCount(run.id)).toBe(1);

    const stopped = followerDid((e) => e.what === 'stopped' && e.runId === run.id);
    client.disconnect();
    await stopped;
    expect(runLogAppends.listenerCount(run.id)).toBe(0);
    expect(h.clock.pendingTimers).toBe(timersBefore);

    const readsAtClose = logReads;
    await report({ logs: [{ message: 'nobody listens' }] });
    await h.clock.advance(60_000);
    expect(logReads).toBe(readsAtClose);
  });

  it('sends a keep-alive comment every 15 s while nothing is written', async () => {
    const { run, report } = await asyncRun();
    await report({ status: 'running' });
    const client = await connect(run.id);
    await waitingAt(run.id, 0);
    const comment = client.nextComment();
    await h.clock.advance(15_000);
    expect((await comment).trim()).toBe('keep-alive');
    const again = client.nextComment();
    await h.clock.advance(15_000);
    await again;
    expect(client.events).toEqual([]);
    client.disconnect();
  });

  it('closes open streams when the server shuts down', async () => {
    const { run, report } = await asyncRun();
    await report({ status: 'running', logs: [{ message: 'still going' }] });
    const client = await connect(run.id);
    await client.count(1);
    await h.app.close();
    await client.closed();
    expect(summary(client)).toEqual(['1:still going']);
  });

  it('is documented in OpenAPI as producing text/event-stream', async () => {
    const doc = (await h.call('GET', '/openapi.json', { token: null })).json();
    const route = doc.paths['/api/v1/runs/{id}/logs'].get;
    expect(route.summary).toMatch(/Server-Sent Events/);
    expect(Object.keys(route.responses['200'].content).sort()).toEqual(['application/json', 'text/event-stream']);
    // Errors come before any stream: JSON only.
    expect(Object.keys(route.responses['4XX'].content)).toEqual(['application/json']);
    expect(route.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['follow', 'afterSeq', 'last-event-id']));
  });
});

describe('event framing', () => {
  it('writes event, id and one data line per line of data', () => {
    expect(formatEvent({ event: 'log', id: 7, data: '{"a":1}' })).toBe('event: log\nid: 7\ndata: {"a":1}\n\n');
    expect(formatEvent({ data: 'two\nlines' })).toBe('data: two\ndata: lines\n\n');
    expect(formatEvent({ event: 'bad\nname', data: '' })).toBe('event: bad name\ndata: \n\n');
  });

  it('keeps a line of the largest size accepted intact', async () => {
    const { run, report } = await asyncRun();
    const big = 'x'.repeat(16_384);
    await report({ status: 'running', logs: [{ message: big }, { message: 'after\nnewline' }] });
    const client = await connect(run.id);
    const [line1, line2] = await client.count(2);
    expect(JSON.parse(line1!.data).message).toBe(big);
    expect(JSON.parse(line2!.data).message).toBe('after\nnewline');
    client.disconnect();
  });
});

/**
 * The socket at the edge of the process, as `reply.raw` sees it: it takes one chunk at a time and
 * acknowledges it only when the test says so, as a client that does not read would.
 */
class SlowSocket extends Writable {
  readonly chunks: string[] = [];
  readonly #waiting: (() => void)[] = [];
  head: { status: number; headers: Record<string, string> } | null = null;
  constructor() {
    super({ highWaterMark: 1024, decodeStrings: false });
  }
  override _write(chunk: string, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(chunk);
    this.#waiting.push(callback);
  }
  /** The client reads everything written so far. */
  readAll(): void {
    for (const callback of this.#waiting.splice(0)) callback();
  }
  writeHead(status: number, headers: Record<string, string>): this {
    this.head = { status, headers };
    return this;
  }
  flushHeaders(): void {}
}

describe('event stream back-pressure', () => {
  it('waits for the socket to drain before a send resolves, and gives up when the client goes away', async () => {
    const socket = new SlowSocket();
    const clock = new ManualClock(T0);
    let hijacked = false;
    const reply = { hijack: () => { hijacked = true; }, raw: socket } as unknown as FastifyReply;
    const stream = openEventStream(reply, { clock });
    expect(hijacked).toBe(true);
    expect(socket.head).toEqual({ status: 200, headers: expect.objectContaining({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }) });

    let first: boolean | undefined;
    void stream.send({ event: 'log', id: 1, data: 'x'.repeat(4096) }).then((ok) => { first = ok; });
    // Nothing but the client reading can resolve it: let every pending callback run, and look.
    await new Promise((resolve) => setImmediate(resolve));
    expect(first).toBeUndefined();
    socket.readAll();
    await new Promise((resolve) => setImmediate(resolve));
    expect(first).toBe(true);

    // The keep-alive comment is not sent into a full buffer.
    let second: boolean | undefined;
    void stream.send({ event: 'log', id: 2, data: 'y'.repeat(4096) }).then((ok) => { second = ok; });
    const written = socket.chunks.length;
    await clock.advance(15_000);
    expect(socket.chunks).toHaveLength(written);
    // The client goes away with the send still waiting: it resolves false, and the timers stop.
    socket.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(second).toBe(false);
    expect(stream.signal.aborted).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    expect(await stream.send({ data: 'late' })).toBe(false);
  });
});
