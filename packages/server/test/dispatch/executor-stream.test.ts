/**
 * The server's end of the executor stream, through the real route (`GET
 * /api/v1/executors/{id}/stream` on a listening app over SQLite) and a raw WebSocket client that
 * plays the executor frame by frame.
 */
import { randomBytes } from 'node:crypto';
import type { RunRequest } from '@ecron/contracts';
import {
  decodeFrame, encodeFrame, peekFrame, STREAM_CLOSE_NOT_REGISTERED, STREAM_CLOSE_REFUSED, STREAM_NONCE_HEADER, STREAM_SUBPROTOCOL, STREAM_SUBPROTOCOL_TIMED,
  type ServerFrame, type StreamRun,
} from '@ecron/contracts/executor-stream';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp } from '../../src/api/app.ts';
import { systemClock } from '../../src/core/clock.ts';
import type { DispatchResult } from '../../src/dispatch/http-dispatcher.ts';
import { ExecutorDirectory } from '../../src/dispatch/executor-directory.ts';
import { PullHub } from '../../src/dispatch/pull-hub.ts';
import { SYSTEM_CALLER } from '../../src/services/access.ts';
import { createTokenService } from '../../src/services/tokens.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { UNUSED_RUN_CONTROL } from '../api/api-harness.ts';

const NODE = 'stream-node-1';

let store: Store;
let app: FastifyInstance;
let hub: PullHub;
let base = '';
let token = '';
let secret = '';
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await app?.close();
  await store?.close();
});

async function start(): Promise<void> {
  store = createSqliteStore({ path: ':memory:' });
  await store.open();
  hub = new PullHub();
  app = await buildApp({ store, control: UNUSED_RUN_CONTROL, clock: systemClock, version: '0.0.0-test', pull: hub });
  token = (await createTokenService({ store, clock: systemClock }).create(SYSTEM_CALLER, { name: 'executor', role: 'editor' })).secret;
  base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  const beat = await app.inject({ method: 'PUT', url: `/api/v1/executors/${NODE}`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify({ group: 'g', mode: 'pull' }) });
  expect(beat.statusCode).toBe(200);
  secret = beat.json().secret;
}

/** A client playing the executor: it verifies every server frame and signs its own. */
class Peer {
  readonly frames: ServerFrame[] = [];
  readonly nonce = randomBytes(18).toString('base64url');
  conn = '';
  seq = 0;
  closed: Promise<{ code: number; reason: string }>;
  readonly socket: WebSocket;
  #waiters: (() => void)[] = [];

  constructor(id = NODE, headers: Record<string, string> = {}, protocols: string[] = [STREAM_SUBPROTOCOL]) {
    this.socket = new WebSocket(`${base}/api/v1/executors/${id}/stream`, protocols, {
      headers: { authorization: `Bearer ${token}`, [STREAM_NONCE_HEADER]: this.nonce, ...headers },
    });
    sockets.push(this.socket);
    this.socket.on('message', (data) => {
      const text = data.toString();
      if (this.frames.length === 0) this.conn = (peekFrame(text)!.value as ServerFrame).hello!.conn;
      const decoded = decodeFrame(secret, this.conn, 'server', text, this.frames.length, Date.now());
      if (!decoded.ok) throw new Error(`server frame refused: ${decoded.code}`);
      this.frames.push(decoded.frame as unknown as ServerFrame);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => this.socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  async until(check: () => boolean): Promise<void> {
    while (!check()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  send(body: Record<string, unknown>): void {
    this.socket.send(encodeFrame(secret, this.conn, 'executor', { seq: this.seq++, t: Date.now(), ...body }));
  }

  get runs(): StreamRun[] {
    return this.frames.flatMap((f) => f.runs ?? []);
  }
}

function request(n: number): RunRequest {
  return {
    runId: `run-${n}`, taskId: 't', namespace: 'default', task: 'task', scheduledAt: new Date(0).toISOString(), attempt: 1, params: { n },
    shard: { index: 0, total: 1 }, deadline: null, callback: { url: 'http://127.0.0.1:1/cb', token: 'x' }, handler: 'h', group: 'g',
  };
}

function deliver(n: number, signal = new AbortController().signal): Promise<DispatchResult> {
  return hub.send(NODE, request(n), signal);
}

async function connected(protocols?: string[]): Promise<Peer> {
  const peer = new Peer(NODE, {}, protocols);
  await peer.until(() => peer.frames.length === 1);
  return peer;
}

describe('the executor stream (server side)', () => {
  it('opens with a hello whose connection id begins with the executor\'s nonce, signed with the group\'s secret', async () => {
    await start();
    const peer = await connected();
    expect(peer.socket.protocol).toBe(STREAM_SUBPROTOCOL);
    expect(peer.frames[0]).toMatchObject({ seq: 0, hello: { maxBatch: 1000 } });
    expect(peer.conn.startsWith(`${peer.nonce}.`)).toBe(true);
  });

  it('on the timed subprotocol, sends a run handed in before its instant at once, with its startInMs', async () => {
    await start();
    const peer = await connected([STREAM_SUBPROTOCOL_TIMED, STREAM_SUBPROTOCOL]);
    expect(peer.socket.protocol).toBe(STREAM_SUBPROTOCOL_TIMED);
    expect(hub.timed(NODE)).toBe(true);
    peer.send({ credit: 2 });
    const instant = Date.now() + 5000;
    void hub.send(NODE, request(1), new AbortController().signal, undefined, instant);
    void deliver(2);
    await peer.until(() => peer.runs.length === 2);
    const [early, due] = peer.runs;
    expect(early!.request.runId).toBe('run-1');
    expect(early!.startInMs).toBeGreaterThan(4000);
    expect(early!.startInMs).toBeLessThanOrEqual(5000);
    expect(due).not.toHaveProperty('startInMs');
  });

  it('on v1, sends a run handed in before its instant only once its instant has come', async () => {
    await start();
    const peer = await connected();
    expect(hub.timed(NODE)).toBe(false);
    peer.send({ credit: 2 });
    const instant = Date.now() + 300;
    void hub.send(NODE, request(1), new AbortController().signal, undefined, instant);
    void deliver(2);
    await peer.until(() => peer.runs.length === 1);
    expect(peer.runs[0]!.request.runId).toBe('run-2');
    await peer.until(() => peer.runs.length === 2);
    expect(Date.now()).toBeGreaterThanOrEqual(instant);
    expect(peer.runs[1]).toEqual({ id: expect.any(String), request: request(1) });
  });

  it('sends no more runs than the credit granted, and sends the rest as results give credit back', async () => {
    await start();
    const peer = await connected();
    const replies = [1, 2, 3].map((n) => deliver(n));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(peer.runs).toEqual([]);
    peer.send({ credit: 2 });
    await peer.until(() => peer.runs.length === 2);
    expect(peer.frames).toHaveLength(2); // both in one frame
    expect(peer.runs.map((r) => r.request.runId)).toEqual(['run-1', 'run-2']);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(peer.runs).toHaveLength(2);
    peer.send({ credit: 1, results: [{ id: peer.runs[0]!.id, status: 'succeeded', output: { ok: 1 } }, { id: peer.runs[1]!.id, status: 'failed', error: 'bad' }] });
    await peer.until(() => peer.runs.length === 3);
    peer.send({ results: [{ id: peer.runs[2]!.id, status: 'handed_back', error: 'stopping' }] });
    expect(await Promise.all(replies)).toEqual([
      { kind: 'succeeded', output: { ok: 1 } },
      { kind: 'failed', error: 'bad' },
      { kind: 'handed_back', error: 'stopping' },
    ]);
  });

  it('batches: 2,500 deliveries with room for all go out in frames of at most 1,000 runs', async () => {
    await start();
    const peer = await connected();
    peer.send({ credit: 5000 });
    const replies = Array.from({ length: 2500 }, (_, n) => deliver(n));
    await peer.until(() => peer.runs.length === 2500);
    const sizes = peer.frames.slice(1).map((f) => f.runs?.length ?? 0);
    expect(Math.max(...sizes)).toBe(1000);
    expect(sizes.length).toBeLessThanOrEqual(4);
    for (let i = 0; i < 2500; i += 1000) peer.send({ results: peer.runs.slice(i, i + 1000).map((r) => ({ id: r.id, status: 'succeeded' })) });
    expect((await Promise.all(replies)).every((r) => r.kind === 'succeeded')).toBe(true);
  });

  it('tells a cancel on the stream for a delivery it sent', async () => {
    await start();
    const peer = await connected();
    peer.send({ credit: 1 });
    const abort = new AbortController();
    const reply = deliver(1, abort.signal);
    await peer.until(() => peer.runs.length === 1);
    abort.abort();
    expect(await reply).toEqual({ kind: 'aborted' });
    await peer.until(() => peer.frames.some((f) => f.cancels));
    expect(peer.frames.at(-1)!.cancels).toEqual([{ id: peer.runs[0]!.id, reason: 'user' }]);
  });

  it('when the stream closes, the deliveries sent on it and not answered resolve as unreachable; those not sent wait for the next', async () => {
    await start();
    const peer = await connected();
    peer.send({ credit: 1 });
    const sent = deliver(1);
    const waiting = deliver(2);
    await peer.until(() => peer.runs.length === 1);
    peer.socket.close();
    expect(await sent).toMatchObject({ kind: 'failed', unreachable: true, error: `the stream of executor ${NODE} closed` });
    const next = await connected();
    next.send({ credit: 1 });
    await next.until(() => next.runs.length === 1);
    expect(next.runs[0]!.request.runId).toBe('run-2');
    next.send({ results: [{ id: next.runs[0]!.id, status: 'succeeded' }] });
    expect(await waiting).toMatchObject({ kind: 'succeeded' });
  });

  const refusals: [string, (peer: Peer, result: Record<string, unknown>) => string, string][] = [
    ['a tampered frame', (p, body) => encodeFrame(secret, p.conn, 'executor', { seq: 1, t: Date.now(), ...body }).replace('"succeeded"', '"failed"'), 'FRAME_SIGNATURE_MISMATCH'],
    ['an unsigned frame', (_p, body) => JSON.stringify({ seq: 1, t: Date.now(), ...body }), 'FRAME_MALFORMED'],
    ['a replayed frame (seq seen)', (p, body) => encodeFrame(secret, p.conn, 'executor', { seq: 0, t: Date.now(), ...body }), 'FRAME_REPLAYED'],
    ['a frame that skips a seq', (p, body) => encodeFrame(secret, p.conn, 'executor', { seq: 2, t: Date.now(), ...body }), 'FRAME_REPLAYED'],
    ['a stale frame', (p, body) => encodeFrame(secret, p.conn, 'executor', { seq: 1, t: Date.now() - 6 * 60_000, ...body }), 'FRAME_STALE'],
    ['a frame signed for the other direction', (p, body) => encodeFrame(secret, p.conn, 'server', { seq: 1, t: Date.now(), ...body }), 'FRAME_SIGNATURE_MISMATCH'],
    ['a frame of another connection', (p, body) => encodeFrame(secret, `${p.nonce}.other`, 'executor', { seq: 1, t: Date.now(), ...body }), 'FRAME_SIGNATURE_MISMATCH'],
    ['a frame signed with another key', (p, body) => encodeFrame('not-the-secret', p.conn, 'executor', { seq: 1, t: Date.now(), ...body }), 'FRAME_SIGNATURE_MISMATCH'],
    ['a frame with an unknown field', (p, body) => encodeFrame(secret, p.conn, 'executor', { seq: 1, t: Date.now(), ...body, extra: 1 }), 'FRAME_MALFORMED'],
  ];
  for (const [what, forge, code] of refusals) {
    it(`refuses ${what} (${code}): the stream closes and nothing in the frame is applied`, async () => {
      await start();
      const peer = await connected();
      peer.send({ credit: 1 });
      let settled = false;
      const reply = deliver(1).then((r) => { settled = true; return r; });
      await peer.until(() => peer.runs.length === 1);
      peer.socket.send(forge(peer, { results: [{ id: peer.runs[0]!.id, status: 'succeeded', output: { forged: true } }] }));
      expect(await peer.closed).toEqual({ code: STREAM_CLOSE_REFUSED, reason: code });
      expect(await reply).toMatchObject({ kind: 'failed', unreachable: true });
      expect(settled).toBe(true);
    });
  }

  it('closes the streams of a node that left the registry (4004 EXECUTOR_NOT_FOUND); its open deliveries go out again', async () => {
    await start();
    await app.close();
    const directory = new ExecutorDirectory({ store, clock: systemClock, log: () => {} });
    app = await buildApp({ store, control: UNUSED_RUN_CONTROL, clock: systemClock, version: '0.0.0-test', pull: hub, directory });
    base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
    await directory.refresh();
    const peer = await connected();
    peer.send({ credit: 1 });
    const reply = deliver(1);
    await peer.until(() => peer.runs.length === 1);
    const left = await app.inject({ method: 'DELETE', url: `/api/v1/executors/${NODE}`, headers: { authorization: `Bearer ${token}` } });
    expect(left.statusCode).toBe(204);
    await directory.refresh();
    expect(await peer.closed).toEqual({ code: STREAM_CLOSE_NOT_REGISTERED, reason: 'EXECUTOR_NOT_FOUND' });
    expect(await reply).toMatchObject({ kind: 'failed', unreachable: true });
  });

  it('refuses a node that is not registered, a missing nonce, and a caller without a token', async () => {
    await start();
    expect(await new Peer('not-registered').closed).toEqual({ code: STREAM_CLOSE_NOT_REGISTERED, reason: 'EXECUTOR_NOT_FOUND' });
    expect(await new Peer(NODE, { [STREAM_NONCE_HEADER]: 'short' }).closed).toEqual({ code: STREAM_CLOSE_NOT_REGISTERED, reason: 'STREAM_NONCE_INVALID' });
    const anonymous = new WebSocket(`${base}/api/v1/executors/${NODE}/stream`, STREAM_SUBPROTOCOL);
    sockets.push(anonymous);
    const status = await new Promise<number>((resolve) => {
      anonymous.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      anonymous.on('error', () => {});
    });
    expect(status).toBe(401);
  });
});
