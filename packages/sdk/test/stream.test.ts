/**
 * Stream mode against a fake of the server's side of the stream (test/support/fake-stream.ts):
 * hello and credit, batches both ways, cancels, the refusal of bad frames, reconnection, and
 * hand-back at stop.
 */
import { STREAM_CLOSE_REFUSED, STREAM_MAX_START_IN_MS, STREAM_SUBPROTOCOL, STREAM_SUBPROTOCOL_TIMED, type ServerFrame } from '@ecron/contracts/executor-stream';
import { describe, expect, it } from 'vitest';
import type { Executor, ExecutorOptions, HandlerContext } from '../src/index.ts';
import { FakeEcron } from './support/fake-ecron.ts';
import { FakeStream, type FakeSession } from './support/fake-stream.ts';
import { deferred, makeExecutor, nextEvent, runRequest, useCleanup } from './support/helpers.ts';

const cleanup = useCleanup();

async function startStream(): Promise<{ fake: FakeEcron; stream: FakeStream }> {
  const fake = await new FakeEcron().start();
  const stream = new FakeStream(fake);
  cleanup(async () => {
    stream.stop();
    await fake.stop();
  });
  return { fake, stream };
}

/** Starts the executor and waits for its first stream's initial credit. */
async function open(executor: Executor, stream: FakeStream, credit = executor.options.maxConcurrency): Promise<FakeSession> {
  await executor.start();
  await stream.until(() => stream.sessions.length > 0);
  const session = stream.last;
  await session.until(() => session.granted === credit);
  return session;
}

function streamExecutor(fake: FakeEcron, options: Partial<ExecutorOptions> = {}): Executor {
  return makeExecutor(fake, cleanup, { mode: 'stream', ...options });
}

/** Rejects a run when its signal aborts, with the abort's reason. */
function untilAborted(ctx: HandlerContext): Promise<never> {
  return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error(`stopped: ${String(ctx.signal.reason)}`))));
}

describe('stream mode', () => {
  it('registers as a pull node, opens a stream with its token and a nonce, and grants maxConcurrency after the hello', async () => {
    const { fake, stream } = await startStream();
    const executor = streamExecutor(fake, { maxConcurrency: 5 }).handle('report', () => 'ok');
    const opened = nextEvent(executor, 'stream-opened');
    const session = await open(executor, stream);
    expect(fake.heartbeats[0]!.body).toMatchObject({ mode: 'pull', address: null, transport: 'http' });
    expect(session.id).toBe(executor.id);
    expect(session.protocol).toBe(STREAM_SUBPROTOCOL_TIMED);
    expect(session.nonce).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(session.frames[0]).toEqual({ seq: 0, t: expect.any(Number), credit: 5 });
    expect((await opened)[0]).toEqual({ node: fake.url });
  });

  it('starts a batch of runs and sends their results back in one frame with the credit they free', async () => {
    const { fake, stream } = await startStream();
    stream.maxBatch = 3;
    // A linger longer than the test: only a full batch sends results.
    const executor = streamExecutor(fake, { maxConcurrency: 8, streamLingerMs: 600_000 })
      .handle('report', (ctx) => ({ doubled: (ctx.params as { n: number }).n * 2 }))
      .handle('fails', () => { throw new Error('no ledger'); });
    const session = await open(executor, stream);
    session.send({ runs: [
      { id: 'd-1', request: runRequest(fake, { params: { n: 4 } }) },
      { id: 'd-2', request: runRequest(fake, { handler: 'fails' }) },
      { id: 'd-3', request: runRequest(fake, { handler: 'missing' }) },
    ] });
    await session.until(() => session.results.length === 3);
    expect(session.frames).toHaveLength(2);
    const { results, credit } = session.frames[1]!;
    expect(credit).toBe(3);
    const byId = Object.fromEntries(results!.map((r) => [r.id, r]));
    expect(byId['d-1']).toEqual({ id: 'd-1', status: 'succeeded', output: { doubled: 8 } });
    expect(byId['d-2']).toEqual({ id: 'd-2', status: 'failed', error: 'no ledger' });
    expect(byId['d-3']).toMatchObject({ id: 'd-3', status: 'failed', error: expect.stringMatching(/no handler "missing"/) });
  });

  it('grants a slot back only when its run ends, and refuses a frame of more runs than granted', async () => {
    const { fake, stream } = await startStream();
    const releases: (() => void)[] = [];
    const executor = streamExecutor(fake, { maxConcurrency: 2 }).handle('report', () => new Promise((resolve) => releases.push(() => resolve('ok'))));
    let started = 0;
    executor.on('run-started', () => started++);
    const session = await open(executor, stream);
    session.send({ runs: [{ id: 'd-1', request: runRequest(fake) }, { id: 'd-2', request: runRequest(fake) }] });
    await nextEvent(executor, 'run-started', () => started === 2);
    releases.shift()!();
    await session.until(() => session.results.length === 1);
    expect(session.frames.at(-1)).toMatchObject({ credit: 1, results: [{ id: 'd-1', status: 'succeeded', output: 'ok' }] });
    expect(session.granted).toBe(3);

    const refused = nextEvent(executor, 'refused');
    session.send({ runs: [{ id: 'd-3', request: runRequest(fake) }, { id: 'd-4', request: runRequest(fake) }] });
    await session.until(() => session.closed !== null);
    expect(session.closed).toEqual({ code: STREAM_CLOSE_REFUSED, reason: 'FRAME_CREDIT_EXCEEDED' });
    expect((await refused)[0]).toEqual({ code: 'FRAME_CREDIT_EXCEEDED', status: 0 });
    expect(started).toBe(2);
    for (const release of releases.splice(0)) release();
  });

  it('aborts a run the server cancels and sends its result', async () => {
    const { fake, stream } = await startStream();
    const running = deferred<HandlerContext>();
    const executor = streamExecutor(fake).handle('report', (ctx) => {
      running.resolve(ctx);
      return untilAborted(ctx);
    });
    const session = await open(executor, stream);
    session.send({ runs: [{ id: 'd-long', request: runRequest(fake) }] });
    const ctx = await running.promise;
    session.send({ cancels: [{ id: 'd-long', reason: 'user' }] });
    await session.until(() => session.results.length === 1);
    expect(session.results).toEqual([{ id: 'd-long', status: 'failed', error: 'stopped: cancelled' }]);
    expect(ctx.signal.reason).toBe('cancelled');
  });

  const badFrames: [string, string, (session: FakeSession, body: Omit<ServerFrame, 'seq' | 't'>) => string][] = [
    ['a tampered frame', 'FRAME_SIGNATURE_MISMATCH', (s, body) => s.encode(body).replace('"d-bad"', '"d-evil"')],
    ['a replayed seq', 'FRAME_REPLAYED', (s, body) => s.encode(body, { seq: 0 })],
    ['a skipped seq', 'FRAME_REPLAYED', (s, body) => s.encode(body, { seq: 2 })],
    ['a stale frame', 'FRAME_STALE', (s, body) => s.encode(body, { t: Date.now() - 6 * 60_000 })],
    ['a frame of another connection', 'FRAME_SIGNATURE_MISMATCH', (s, body) => s.encode(body, { conn: `${s.nonce}.other` })],
    ['a frame signed with another secret', 'FRAME_SIGNATURE_MISMATCH', (s, body) => s.encode(body, { secret: 'not-the-group-secret' })],
    ['an unsigned frame', 'FRAME_MALFORMED', (s, body) => JSON.stringify({ seq: 1, t: Date.now(), ...body })],
  ];

  it.each(badFrames)('refuses %s: closes with STREAM_CLOSE_REFUSED and runs nothing from it', async (_name, code, make) => {
    const { fake, stream } = await startStream();
    const executor = streamExecutor(fake).handle('report', () => 'ok');
    let started = 0;
    executor.on('run-started', () => started++);
    const session = await open(executor, stream);
    const refused = nextEvent(executor, 'refused');
    const closed = nextEvent(executor, 'stream-closed');
    session.socket.send(make(session, { runs: [{ id: 'd-bad', request: runRequest(fake) }] }));
    await session.until(() => session.closed !== null);
    expect(session.closed).toEqual({ code: STREAM_CLOSE_REFUSED, reason: code });
    expect((await refused)[0]).toEqual({ code, status: 0 });
    expect((await closed)[0]).toMatchObject({ node: fake.url, code: STREAM_CLOSE_REFUSED, refused: code });
    expect(started).toBe(0);
    expect(session.results).toEqual([]);
  });

  it('refuses a hello whose connection id does not start with its nonce', async () => {
    const { fake, stream } = await startStream();
    stream.conn = () => 'someone-elses-nonce-0123.server-part';
    const executor = streamExecutor(fake).handle('report', () => 'ok');
    const refused = nextEvent(executor, 'refused');
    await executor.start();
    await stream.until(() => stream.sessions.length > 0);
    const session = stream.last;
    await session.until(() => session.closed !== null);
    expect(session.closed).toEqual({ code: STREAM_CLOSE_REFUSED, reason: 'FRAME_REPLAYED' });
    expect((await refused)[0].code).toBe('FRAME_REPLAYED');
    expect(session.frames).toEqual([]);
  });

  it('opens the stream again after the server closes it, and stops the runs of the closed one', async () => {
    const { fake, stream } = await startStream();
    const running = deferred<HandlerContext>();
    const executor = streamExecutor(fake, { maxConcurrency: 3 }).handle('report', (ctx) => {
      if ((ctx.params as { wait?: boolean }).wait) {
        running.resolve(ctx);
        return untilAborted(ctx);
      }
      return 'ok';
    });
    const first = await open(executor, stream);
    first.send({ runs: [{ id: 'd-old', request: runRequest(fake, { params: { wait: true } }) }] });
    const ctx = await running.promise;
    first.socket.close(1001, 'server going away');
    await stream.until(() => stream.sessions.length === 2);
    const second = stream.last;
    expect(second.nonce).not.toBe(first.nonce);
    // The aborted run's slot comes back once it answered.
    await second.until(() => second.granted === 3);
    expect(ctx.signal.reason).toBe('connection-closed');
    second.send({ runs: [{ id: 'd-new', request: runRequest(fake) }] });
    await second.until(() => second.results.length === 1);
    expect(second.results).toEqual([{ id: 'd-new', status: 'succeeded', output: 'ok' }]);
    expect(first.results).toEqual([]);
  });

  it('at stop: grants no more, sends the results of short runs, hands back the rest as handed_back, closes, then leaves', async () => {
    const { fake, stream } = await startStream();
    const releaseShort = deferred();
    const executor = streamExecutor(fake, { maxConcurrency: 4, shutdownGraceMs: 300 })
      .handle('short', async () => {
        await releaseShort.promise;
        return 'short done';
      })
      .handle('long', (ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve('ignored'))));
    const session = await open(executor, stream);
    session.send({ runs: [{ id: 'd-short', request: runRequest(fake, { handler: 'short' }) }, { id: 'd-long', request: runRequest(fake, { handler: 'long' }) }] });
    await nextEvent(executor, 'run-started', () => executor.inflight === 2);
    fake.on('deleted', () => session.log.push('deleted'));
    const sessions = stream.sessions.length;
    const stopped = executor.stop();
    releaseShort.resolve();
    await stopped;
    expect(session.results).toEqual([
      { id: 'd-short', status: 'succeeded', output: 'short done' },
      { id: 'd-long', status: 'handed_back' },
    ]);
    expect(session.log.filter((entry) => entry !== 'frame')).toEqual(['result d-short', 'result d-long', 'closed 1000 executor stopping', 'deleted']);
    expect(session.granted).toBe(4);
    expect(stream.sessions).toHaveLength(sessions);
  });

  it('starts a run that came before its instant at it, never earlier, holding its slot meanwhile', async () => {
    const { fake, stream } = await startStream();
    const starts: { id: string; at: number }[] = [];
    const executor = streamExecutor(fake, { maxConcurrency: 3 }).handle('report', (ctx) => {
      starts.push({ id: ctx.runId, at: Date.now() });
      return 'ok';
    });
    const session = await open(executor, stream);
    const sentAt = Date.now();
    session.send({ runs: [
      { id: 'd-late', request: runRequest(fake, { runId: 'r-late' }), startInMs: 300 },
      { id: 'd-soon', request: runRequest(fake, { runId: 'r-soon' }), startInMs: 150 },
      { id: 'd-now', request: runRequest(fake, { runId: 'r-now' }) },
    ] });
    await session.until(() => session.results.length === 3);
    expect(starts.map((s) => s.id)).toEqual(['r-now', 'r-soon', 'r-late']);
    expect(starts[1]!.at - sentAt).toBeGreaterThanOrEqual(150);
    expect(starts[2]!.at - sentAt).toBeGreaterThanOrEqual(300);
    // No slot came back before its run ended: 3 granted at first, then one per result.
    expect(session.granted).toBe(6);
  });

  it('drops a held run the server cancels before its instant, and hands back held runs at stop', async () => {
    const { fake, stream } = await startStream();
    let started = 0;
    const executor = streamExecutor(fake, { maxConcurrency: 4 }).handle('report', () => {
      started += 1;
      return 'ok';
    });
    const session = await open(executor, stream);
    session.send({ runs: [
      { id: 'd-cancelled', request: runRequest(fake, { runId: 'r-1' }), startInMs: 30_000 },
      { id: 'd-kept', request: runRequest(fake, { runId: 'r-2' }), startInMs: 30_000 },
    ] });
    session.send({ cancels: [{ id: 'd-cancelled', reason: 'user' }] });
    await session.until(() => session.results.length === 1);
    expect(session.results).toEqual([{ id: 'd-cancelled', status: 'failed', error: 'cancelled (user) before it started' }]);
    await executor.stop();
    expect(session.results.at(-1)).toEqual({ id: 'd-kept', status: 'handed_back' });
    expect(session.closed).toEqual({ code: 1000, reason: 'executor stopping' });
    expect(started).toBe(0);
  });

  it.each([
    ['a negative startInMs', -1],
    ['a fractional startInMs', 1.5],
    ['a startInMs beyond the limit', STREAM_MAX_START_IN_MS + 1],
    ['a startInMs that is not a number', '100'],
  ])('refuses %s as FRAME_MALFORMED', async (_name, startInMs) => {
    const { fake, stream } = await startStream();
    let started = 0;
    const executor = streamExecutor(fake).handle('report', () => { started += 1; return 'ok'; });
    const session = await open(executor, stream);
    session.send({ runs: [{ id: 'd-bad', request: runRequest(fake), startInMs: startInMs as number }] });
    await session.until(() => session.closed !== null);
    expect(session.closed).toEqual({ code: STREAM_CLOSE_REFUSED, reason: 'FRAME_MALFORMED' });
    expect(started).toBe(0);
  });

  it('on a server that chooses v1, refuses a run with a startInMs (v1 has none)', async () => {
    const { fake, stream } = await startStream();
    stream.timed = false;
    const executor = streamExecutor(fake).handle('report', () => 'ok');
    const session = await open(executor, stream);
    expect(session.protocol).toBe(STREAM_SUBPROTOCOL);
    session.send({ runs: [{ id: 'd-early', request: runRequest(fake), startInMs: 100 }] });
    await session.until(() => session.closed !== null);
    expect(session.closed).toEqual({ code: STREAM_CLOSE_REFUSED, reason: 'FRAME_MALFORMED' });
  });

  it('opens one stream per live API node and shares maxConcurrency between them', async () => {
    const a = await startStream();
    const b = await startStream();
    a.fake.nodes = [{ id: 'node-a', address: a.fake.url, alive: true }, { id: 'node-b', address: `${b.fake.url}/`, alive: true }];
    const executor = streamExecutor(a.fake, { maxConcurrency: 6 }).handle('report', (ctx) => ctx.runId);
    await executor.start();
    await a.stream.until(() => a.stream.sessions[0]?.granted === 3);
    await b.stream.until(() => b.stream.sessions[0]?.granted === 3);
    const fromB = runRequest(b.fake);
    const session = b.stream.last;
    session.send({ runs: [{ id: 'b-1', request: fromB }] });
    await session.until(() => session.results.length === 1);
    expect(session.results).toEqual([{ id: 'b-1', status: 'succeeded', output: fromB.runId }]);
    expect(a.stream.last.granted).toBe(3);
  });
});
