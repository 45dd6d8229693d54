/** Registration, heartbeats, start failures, graceful stop and signal handling. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EcronApiError, Executor, ExecutorError, HANDED_BACK_HEADER, SDK_VERSION, type HandlerContext } from '../src/index.ts';
import { FAKE_TOKEN } from './support/fake-ecron.ts';
import { deferred, makeExecutor, nextEvent, runRequest, signedPost, startFake, useCleanup } from './support/helpers.ts';

const cleanup = useCleanup();

describe('registration and heartbeats', () => {
  it('registers with its handlers and address, then heartbeats at the interval the server names', async () => {
    const fake = await startFake(cleanup);
    fake.heartbeatMs = 50;
    const executor = makeExecutor(fake, cleanup, { labels: { zone: 'eu-1' }, weight: 3, id: 'billing-node-1' })
      .handle('report', () => 'ok')
      .handle('invoice', () => 'ok');
    const registered = nextEvent(executor, 'registered');
    await executor.start();
    expect((await registered)[0].secret).toBe(fake.secret);
    expect(executor.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(fake.heartbeats[0]).toEqual({
      id: 'billing-node-1',
      body: {
        namespace: 'default', group: 'billing', mode: 'push', transport: 'http', address: executor.address, labels: { zone: 'eu-1' }, weight: 3,
        handlers: ['report', 'invoice'], version: SDK_VERSION, inflight: 0,
      },
    });
    for (let i = 0; i < 3; i++) await nextEvent(executor, 'heartbeat');
    expect(fake.heartbeats.length).toBeGreaterThanOrEqual(4);
    expect(fake.heartbeats.every((h) => h.id === 'billing-node-1')).toBe(true);
  });

  it('reports runs in flight in its heartbeats', async () => {
    const fake = await startFake(cleanup);
    fake.heartbeatMs = 50;
    const release = deferred();
    const executor = makeExecutor(fake, cleanup).handle('report', () => release.promise);
    await executor.start();
    const answer = signedPost(executor.address!, runRequest(fake));
    await nextEvent(fake, 'heartbeat', (_id, body) => body.inflight === 1);
    release.resolve();
    await answer;
    await nextEvent(fake, 'heartbeat', (_id, body) => body.inflight === 0);
  });

  it('logs a failed heartbeat and keeps beating', async () => {
    const fake = await startFake(cleanup);
    fake.heartbeatMs = 50;
    const warnings: string[] = [];
    const executor = makeExecutor(fake, cleanup, { log: (level, message) => { if (level === 'warn') warnings.push(message); } });
    executor.handle('report', () => 'ok');
    await executor.start();
    fake.registryFailure = { status: 503, code: 'STORE_UNAVAILABLE', count: 2 };
    const [failure] = await nextEvent(executor, 'heartbeat-failed');
    expect(failure).toBeInstanceOf(EcronApiError);
    expect((failure as EcronApiError).code).toBe('STORE_UNAVAILABLE');
    await nextEvent(executor, 'heartbeat');
    expect(warnings).toContain('heartbeat failed; trying again');
    // The server down altogether: still no crash, and the beats resume when it is back.
    await fake.stop();
    await nextEvent(executor, 'heartbeat-failed', (error) => (error as EcronApiError).code === 'SERVER_UNREACHABLE');
    expect(executor.state).toBe('running');
  });

  it.each([
    [401, 'UNAUTHENTICATED'],
    [403, 'FORBIDDEN'],
    [400, 'VALIDATION_FAILED'],
  ])('fails start() with a clear error when registration answers %i', async (status, code) => {
    const fake = await startFake(cleanup);
    fake.registryFailure = { status, code, count: 1 };
    const executor = makeExecutor(fake, cleanup).handle('report', () => 'ok');
    const error = await executor.start().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutorError);
    expect((error as ExecutorError).code).toBe('EXECUTOR_REGISTRATION_FAILED');
    expect((error as Error).message).toContain(`HTTP ${status} ${code}`);
    expect((error as Error).message).toContain(fake.url);
    if (status === 400) expect((error as Error).message).toContain('group: fake detail');
    expect((error as { cause?: unknown }).cause).toBeInstanceOf(EcronApiError);
    expect(executor.address).toBeNull();
    expect(executor.state).toBe('stopped');
  });

  it('fails start() when the server cannot be reached, and closes its listener', async () => {
    const fake = await startFake(cleanup);
    const url = fake.url;
    await fake.stop();
    const executor = new Executor({ server: url, token: FAKE_TOKEN, group: 'billing', listen: { port: 0 } }).handle('report', () => 'ok');
    await expect(executor.start()).rejects.toThrow(/EXECUTOR_REGISTRATION_FAILED: .*SERVER_UNREACHABLE: .*connection refused/);
  });

  it('refuses bad options and handler names with coded errors', () => {
    const base = { server: 'http://127.0.0.1:1', token: 't', group: 'billing' };
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return (error as ExecutorError).code;
      }
      return null;
    };
    expect(code(() => new Executor({ ...base, group: 'no spaces' }))).toBe('EXECUTOR_CONFIG_INVALID');
    expect(code(() => new Executor({ ...base, server: 'ftp://x' }))).toBe('EXECUTOR_CONFIG_INVALID');
    expect(code(() => new Executor({ ...base, token: '' }))).toBe('EXECUTOR_CONFIG_INVALID');
    expect(code(() => new Executor({ ...base, weight: 0 }))).toBe('EXECUTOR_CONFIG_INVALID');
    expect(code(() => new Executor({ ...base, id: 'has space' }))).toBe('EXECUTOR_CONFIG_INVALID');
    expect(code(() => new Executor({ ...base, mode: 'carrier-pigeon' as 'push' }))).toBe('EXECUTOR_CONFIG_INVALID');
    expect(code(() => new Executor({ ...base, mode: 'stream', transport: 'grpc' }))).toBe('EXECUTOR_CONFIG_INVALID');
    expect(code(() => new Executor({ ...base, mode: 'stream', streamLingerMs: -1 }))).toBe('EXECUTOR_CONFIG_INVALID');
    expect(new Executor({ ...base, mode: 'stream' }).options).toMatchObject({ mode: 'stream', streamLingerMs: 2, maxConcurrency: 64 });
    const executor = new Executor(base).handle('report', () => 1);
    expect(code(() => executor.handle('report', () => 2))).toBe('HANDLER_INVALID');
    expect(code(() => executor.handle('', () => 2))).toBe('HANDLER_INVALID');
    expect(executor.id).toMatch(new RegExp(`-${process.pid}$`));
  });
});

describe('stop()', () => {
  it('leaves the registry, refuses new runs, finishes a short run and hands back a long one', async () => {
    const fake = await startFake(cleanup);
    fake.heartbeatMs = 50;
    const releaseShort = deferred();
    const longReason = deferred<unknown>();
    const executor = makeExecutor(fake, cleanup, { shutdownGraceMs: 600 })
      .handle('short', async () => {
        await releaseShort.promise;
        return 'short done';
      })
      .handle('long', (ctx: HandlerContext) => new Promise((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          longReason.resolve(ctx.signal.reason);
          reject(new Error('interrupted'));
        });
      }));
    await executor.start();
    const address = executor.address!;
    const shortRun = signedPost(executor.address!, runRequest(fake, { handler: 'short' }));
    const longRequest = runRequest(fake, { handler: 'long' });
    const longRun = signedPost(executor.address!, longRequest);
    await nextEvent(executor, 'run-started', () => executor.inflight === 2);

    const deleted = nextEvent(fake, 'deleted');
    const stopped = executor.stop();
    expect(executor.stop()).toBe(stopped);
    expect((await deleted)[0]).toBe(executor.id);
    const beatsAtDelete = fake.heartbeats.length;

    const refused = await signedPost(executor.address!, runRequest(fake, { handler: 'short' }));
    expect([refused.status, refused.body.error.code]).toEqual([503, 'EXECUTOR_STOPPING']);
    // Cancel and status requests are still served while runs drain.
    const status = await signedPost(executor.address!, { event: 'status', runId: longRequest.runId, attempt: 1 }, { event: 'status' });
    expect(status.body).toEqual({ status: 'running' });

    releaseShort.resolve();
    const short = await shortRun;
    expect([short.status, short.body]).toEqual([200, 'short done']);

    const long = await longRun;
    expect(long.status).toBe(503);
    expect(long.headers.get(HANDED_BACK_HEADER)).toBe('1');
    expect(long.body).toEqual({ error: 'handed back at shutdown' });
    expect(await longReason.promise).toBe('shutdown');
    await stopped;
    expect(executor.state).toBe('stopped');
    expect(fake.heartbeats.length).toBe(beatsAtDelete);
    await expect(fetch(address)).rejects.toThrow();
  });

  it('reports a detached run still going after the grace period as failed', async () => {
    const fake = await startFake(cleanup);
    const aborted = deferred<unknown>();
    const executor = makeExecutor(fake, cleanup, { shutdownGraceMs: 100 }).handle('report', (ctx) => {
      ctx.detach();
      ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason));
    });
    await executor.start();
    const request = runRequest(fake);
    expect((await signedPost(executor.address!, request)).status).toBe(202);
    await executor.stop();
    expect(await aborted.promise).toBe('shutdown');
    expect(fake.reportsOf(request.runId).at(-1)).toMatchObject({ status: 'failed', error: 'the executor stopped before the run finished' });
  });

  it('stops at once when idle, and refuses a second start', async () => {
    const fake = await startFake(cleanup);
    const executor = makeExecutor(fake, cleanup).handle('report', () => 'ok');
    await executor.start();
    const address = executor.address!;
    await executor.stop();
    expect(fake.deletes).toEqual([executor.id]);
    expect(executor.address).toBeNull();
    await expect(fetch(address)).rejects.toThrow();
    await expect(executor.start()).rejects.toThrow(/EXECUTOR_STATE_INVALID/);
    await new Executor({ server: fake.url, token: FAKE_TOKEN, group: 'billing' }).stop();
  });

  it.each(['push', 'pull'] as const)('a stop() during start() (%s) waits for it, then stops cleanly', async (mode) => {
    const fake = await startFake(cleanup);
    fake.heartbeatMs = 20;
    const executor = makeExecutor(fake, cleanup, { mode, pollWaitMs: 5000 }).handle('report', () => 'ok');
    const starting = executor.start();
    const stopping = executor.stop();
    await starting;
    await stopping;
    expect(executor.state).toBe('stopped');
    expect(fake.deletes).toEqual([executor.id]);
    const beats = fake.heartbeats.length;
    let polls = 0;
    fake.on('poll', () => polls++);
    await new Promise((resolve) => setTimeout(resolve, 100)); // five heartbeat intervals: none may come
    expect([fake.heartbeats.length, polls]).toEqual([beats, 0]);
  });

  it('installSignalHandlers: SIGTERM stops the executor gracefully, then the process exits', async () => {
    const fake = await startFake(cleanup);
    const child = spawn(process.execPath, [join(import.meta.dirname, 'support/signal-child.ts')], {
      env: { ...process.env, ECRON_TEST_SERVER: fake.url },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanup(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let stdout = '';
    const address = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /ready (\S+)/.exec(stdout);
        if (match) resolve(match[1]!);
      });
      child.once('exit', () => reject(new Error(`child exited early: ${stdout}`)));
    });
    const run = signedPost(address, runRequest(fake));
    await nextEvent(fake, 'heartbeat', (_id, body) => body.inflight === 1);
    child.kill('SIGTERM');
    const answer = await run;
    expect(answer.status).toBe(503);
    expect(answer.headers.get(HANDED_BACK_HEADER)).toBe('1');
    expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(stdout).toContain('stopped');
    expect(fake.deletes).toEqual(['signal-child']);
  });
});
