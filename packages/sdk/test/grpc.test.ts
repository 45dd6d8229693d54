/**
 * The executor protocol over gRPC, end to end: a real ecron server (startServer, SQLite) sends
 * executor-target runs to an SDK executor in grpc mode, and grpc-target runs to a bare grpc-js
 * executor; bad signatures are refused before any handler runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, loadPackageDefinition, Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { SIGNATURE_HEADER, type ExecutorHeartbeatReply, type RunRequest } from '@ecron/contracts';
import { EXECUTOR_PROTO_LOADER_OPTIONS } from '@ecron/contracts/executor-grpc';
import { EXECUTOR_PROTO_PATH, PROTO_ROOT } from '@ecron/contracts/proto-path';
import { signBody } from '@ecron/contracts/signature';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/src/server.ts';
import { GrpcTestExecutor } from '../../server/test/support/grpc-test-executor.ts';
import { Executor } from '../src/index.ts';
import { resolveExecutorOptions } from '../src/options.ts';
import { deferred, nextEvent } from './support/helpers.ts';

const ADMIN = 'grpc-test-admin-token-0123456789';
const SIGNING_KEY = 'grpc-test-signing-key-0123456789';

type Reply = Record<string, any>;
type RawCall = (request: Record<string, unknown>, metadata: Metadata, callback: (error: ServiceError | null, reply?: Reply) => void) => void;
type RawClient = Client & Record<'Run' | 'Cancel' | 'Status', RawCall>;

/** A bare client of the Executor service, to send requests the server never would. */
function rawClient(address: string): RawClient {
  const definition = loadSync(EXECUTOR_PROTO_PATH, { ...EXECUTOR_PROTO_LOADER_OPTIONS, includeDirs: [PROTO_ROOT] });
  const Ctor = (loadPackageDefinition(definition) as any).ecron.executor.v1.Executor;
  return new Ctor(address, credentials.createInsecure()) as RawClient;
}

function call(client: RawClient, method: 'Run' | 'Cancel' | 'Status', body: string, signature: string | null): Promise<{ error: ServiceError | null; reply?: Reply }> {
  const metadata = new Metadata();
  if (signature !== null) metadata.set(SIGNATURE_HEADER, signature);
  return new Promise((resolve) => client[method]({ body_json: body }, metadata, (error, reply) => resolve({ error, reply })));
}

async function api(server: RunningServer, method: string, path: string, body?: unknown): Promise<Reply> {
  const response = await fetch(`${server.url}${path}`, {
    method, headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json() as Reply;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** Resolves when a run of the task has ended (the scheduler's event). */
function runEnded(server: RunningServer, taskId: string, timeoutMs = 15_000): Promise<void> {
  const events = server.scheduler!.events;
  return new Promise((resolve, reject) => {
    const listener = (run: { taskId: string }): void => {
      if (run.taskId !== taskId) return;
      clearTimeout(timer);
      events.off('run:ended', listener);
      resolve();
    };
    const timer = setTimeout(() => {
      events.off('run:ended', listener);
      reject(new Error(`no run of ${taskId} ended within ${timeoutMs} ms`));
    }, timeoutMs);
    events.on('run:ended', listener);
  });
}

/** Creates a manual task, triggers it and resolves with the run once it has ended. */
async function runTask(server: RunningServer, spec: Record<string, unknown>, params: Record<string, unknown> = {}): Promise<Reply> {
  const task = await api(server, 'POST', '/api/v1/tasks', { schedule: { manual: true }, ...spec });
  const ended = runEnded(server, task.id);
  const run = await api(server, 'POST', `/api/v1/tasks/${task.id}/trigger`, { params });
  await ended;
  return api(server, 'GET', `/api/v1/runs/${run.id}`);
}

describe('gRPC executors with a real server', () => {
  let dataDir: string;
  let server: RunningServer;
  let executor: Executor;
  let secret: string;
  let client: RawClient;
  const calls: string[] = [];
  /** The `hang` handler: started, and the reason its signal was aborted with. */
  let hang = { started: deferred(), aborted: deferred<string>() };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ecron-grpc-'));
    server = await startServer({
      dataDir, port: 0, host: '127.0.0.1', roles: ['api', 'scheduler'], logger: pino({ level: 'silent' }),
      env: { ECRON_ADMIN_TOKEN: ADMIN, ECRON_SIGNING_KEY: SIGNING_KEY },
    });
    executor = new Executor({ server: server.url, token: ADMIN, group: 'billing', id: 'grpc-node-1', transport: 'grpc', shutdownGraceMs: 500 })
      .handle('report', (ctx) => {
        calls.push(ctx.runId);
        ctx.log(`report for ${String(ctx.params.day)}`);
        return { rows: 42, day: ctx.params.day, shard: ctx.shard };
      })
      .handle('slow', async (ctx) => {
        calls.push(ctx.runId);
        const run = ctx.detach();
        setTimeout(() => void run.succeed({ later: true }), 50);
      })
      .handle('hang', (ctx) => new Promise((_resolve, reject) => {
        hang.started.resolve();
        ctx.signal.addEventListener('abort', () => {
          hang.aborted.resolve(String(ctx.signal.reason));
          reject(new Error('aborted'));
        });
      }));
    const registered = nextEvent(executor, 'registered');
    await executor.start();
    secret = ((await registered)[0] as ExecutorHeartbeatReply).secret;
    client = rawClient(executor.address!);
  }, 30_000);

  afterAll(async () => {
    client?.close();
    await executor?.stop();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('registers transport grpc with a host:port address', async () => {
    expect(executor.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const { items } = await api(server, 'GET', '/api/v1/executors');
    expect(items.find((n: Reply) => n.id === 'grpc-node-1')).toMatchObject({ transport: 'grpc', mode: 'push', address: executor.address, alive: true });
  });

  it('runs an executor-target task end to end: output kept, log lines through the callback', async () => {
    const run = await runTask(server, { name: 'grpc-report', target: { type: 'executor', group: 'billing', handler: 'report' } }, { day: '2026-01-02' });
    expect(run.status).toBe('succeeded');
    expect(calls).toContain(run.id);
    expect(run.output).toEqual({ rows: 42, day: '2026-01-02', shard: { index: 0, total: 1 } });
    const logs = await api(server, 'GET', `/api/v1/runs/${run.id}/logs`);
    expect(JSON.stringify(logs)).toContain('report for 2026-01-02');
  });

  it('a detached handler answers ACCEPTED; the run finishes through its callback', async () => {
    const run = await runTask(server, { name: 'grpc-slow', target: { type: 'executor', group: 'billing', handler: 'slow' } });
    expect(run.status).toBe('succeeded');
    expect(run.output).toEqual({ later: true });
  });

  it('refuses unsigned, tampered, wrongly keyed and replayed calls with UNAUTHENTICATED; the handler never runs', async () => {
    const before = calls.length;
    const request: RunRequest = {
      runId: 'forged-run', taskId: 't', namespace: 'default', task: 'x', scheduledAt: new Date().toISOString(), attempt: 1,
      params: {}, shard: { index: 0, total: 1 }, deadline: null, callback: { url: `${server.url}/api/v1/runs/forged-run/report`, token: 'x' },
      group: 'billing', handler: 'report',
    };
    const body = JSON.stringify(request);
    const codes: string[] = [];
    executor.on('refused', ({ code, status: http }) => codes.push(`${code}/${http}`));

    const unsigned = await call(client, 'Run', body, null);
    expect(unsigned.error?.code).toBe(status.UNAUTHENTICATED);
    expect(unsigned.error?.details).toMatch(/^SIGNATURE_MISSING: /);

    const tampered = await call(client, 'Run', JSON.stringify({ ...request, params: { amount: 1e6 } }), signBody(secret, body, Date.now()));
    expect(tampered.error?.code).toBe(status.UNAUTHENTICATED);
    expect(tampered.error?.details).toMatch(/^SIGNATURE_MISMATCH: /);

    const wrongKey = await call(client, 'Run', body, signBody(SIGNING_KEY, body, Date.now()));
    expect(wrongKey.error?.details).toMatch(/^SIGNATURE_MISMATCH: /);

    const stale = await call(client, 'Run', body, signBody(secret, body, Date.now() - 10 * 60_000));
    expect(stale.error?.details).toMatch(/^SIGNATURE_STALE: /);
    expect(calls.length).toBe(before);

    // A valid call runs once; the same signed call again is a replay.
    const signature = signBody(secret, body, Date.now());
    const first = await call(client, 'Run', body, signature);
    expect(first.error).toBeNull();
    expect(first.reply).toMatchObject({ status: 'SUCCEEDED' });
    expect(JSON.parse(first.reply!.output_json)).toEqual({ rows: 42, shard: { index: 0, total: 1 } });
    const replayed = await call(client, 'Run', body, signature);
    expect(replayed.error?.code).toBe(status.UNAUTHENTICATED);
    expect(replayed.error?.details).toMatch(/^SIGNATURE_REPLAYED: /);
    expect(calls.filter((id) => id === 'forged-run')).toHaveLength(1);
    expect(codes).toEqual(['SIGNATURE_MISSING/401', 'SIGNATURE_MISMATCH/401', 'SIGNATURE_MISMATCH/401', 'SIGNATURE_STALE/401', 'SIGNATURE_REPLAYED/401']);
    executor.removeAllListeners('refused');
  });

  it('binds a signed body to its method, and answers Status and Cancel', async () => {
    const runBody = JSON.stringify({ runId: 'forged-run', attempt: 1 });
    const asCancel = await call(client, 'Cancel', runBody, signBody(secret, runBody, Date.now()));
    expect(asCancel.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(asCancel.error?.details).toMatch(/^UNKNOWN_EVENT: /);

    const statusBody = JSON.stringify({ event: 'status', runId: 'forged-run', attempt: 1 });
    const asRun = await call(client, 'Run', statusBody, signBody(secret, statusBody, Date.now()));
    expect(asRun.error?.code).toBe(status.INVALID_ARGUMENT);
    const known = await call(client, 'Status', statusBody, signBody(secret, statusBody, Date.now()));
    expect(known.reply).toMatchObject({ status: 'SUCCEEDED', error: '' });
    expect(JSON.parse(known.reply!.output_json)).toMatchObject({ rows: 42 });

    const neverBody = JSON.stringify({ event: 'status', runId: 'never-sent', attempt: 1 });
    expect((await call(client, 'Status', neverBody, signBody(secret, neverBody, Date.now()))).reply).toMatchObject({ status: 'UNKNOWN' });

    const cancelBody = JSON.stringify({ event: 'cancel', runId: 'never-sent', attempt: 1, reason: 'user' });
    expect((await call(client, 'Cancel', cancelBody, signBody(secret, cancelBody, Date.now()))).reply).toEqual({ cancelled: 0 });

    const noHandlerBody = JSON.stringify({ runId: 'r2', taskId: 't', namespace: 'default', task: 'x', scheduledAt: new Date().toISOString(), attempt: 1, handler: 'nope' });
    const noHandler = await call(client, 'Run', noHandlerBody, signBody(secret, noHandlerBody, Date.now()));
    expect(noHandler.error?.code).toBe(status.NOT_FOUND);
  });

  it('the run deadline aborts the handler (timed_out)', async () => {
    hang = { started: deferred(), aborted: deferred<string>() };
    const run = await runTask(server, { name: 'grpc-hang', timeoutMs: 400, target: { type: 'executor', group: 'billing', handler: 'hang' } });
    await hang.started.promise;
    expect(run.status).toBe('timed_out');
    expect(await hang.aborted.promise).toMatch(/^(deadline|connection-closed|cancelled)$/);
  });

  it('a user\'s cancel ends the call and the handler is aborted (cancelled)', async () => {
    hang = { started: deferred(), aborted: deferred<string>() };
    const task = await api(server, 'POST', '/api/v1/tasks', { name: 'grpc-hang-cancel', schedule: { manual: true }, target: { type: 'executor', group: 'billing', handler: 'hang' } });
    const run = await api(server, 'POST', `/api/v1/tasks/${task.id}/trigger`, {});
    await hang.started.promise;
    await api(server, 'POST', `/api/v1/runs/${run.id}/cancel`, {});
    // Whichever reaches the executor first: the cancelled Run call, or the Cancel call.
    expect(await hang.aborted.promise).toMatch(/^(connection-closed|cancelled)$/);
    expect((await api(server, 'GET', `/api/v1/runs/${run.id}`)).status).toBe('cancelled');
  });

  it('a node stopping with a run in flight hands it back (HANDED_BACK); another node runs it', async () => {
    const release = deferred();
    const startedOn: string[] = [];
    const node = (id: string) => new Executor({ server: server.url, token: ADMIN, group: 'handback', id, transport: 'grpc', shutdownGraceMs: 100 })
      .handle('hold', async (ctx) => {
        startedOn.push(id);
        if (id === 'grpc-a') await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        else await release.promise;
        return { ranOn: id };
      });
    const a = node('grpc-a');
    const b = node('grpc-b');
    try {
      await a.start();
      const task = await api(server, 'POST', '/api/v1/tasks', { name: 'grpc-handback', schedule: { manual: true }, target: { type: 'executor', group: 'handback', handler: 'hold' } });
      const ended = runEnded(server, task.id);
      const run = await api(server, 'POST', `/api/v1/tasks/${task.id}/trigger`, {});
      const handedBack = nextEvent(a, 'run-handed-back');
      await nextEvent(a, 'run-started');
      await b.start();
      await a.stop();
      await handedBack;
      await nextEvent(b, 'run-started');
      release.resolve();
      await ended;
      const final = await api(server, 'GET', `/api/v1/runs/${run.id}`);
      expect(final.status).toBe('succeeded');
      expect(final.output).toEqual({ ranOn: 'grpc-b' });
      expect(startedOn).toEqual(['grpc-a', 'grpc-b']);
    } finally {
      release.resolve();
      await a.stop();
      await b.stop();
    }
  });

  describe('grpc task targets', () => {
    let target: GrpcTestExecutor;

    beforeAll(async () => {
      target = new GrpcTestExecutor(SIGNING_KEY);
      await target.start();
    });

    afterAll(() => target.stop());

    it('runs against a bare grpc-js executor, signed with the server signing key', async () => {
      target.run = (received) => ({ status: 'SUCCEEDED', output_json: JSON.stringify({ echoed: received.body.params }) });
      const run = await runTask(server, { name: 'grpc-target', target: { type: 'grpc', url: target.address } }, { n: 7 });
      expect(run.status).toBe('succeeded');
      const [received] = target.of('Run');
      expect(received!.signatureOk).toBe(true);
      expect(received!.body).toMatchObject({ runId: run.id, task: 'grpc-target', attempt: 1, params: { n: 7 }, shard: { index: 0, total: 1 } });
      expect(received!.body.callback.url).toBe(`${server.url}/api/v1/runs/${run.id}/report`);
    });

    it('FAILED is a failed attempt with its error; the deadline cancels the call and sends Cancel', async () => {
      target.run = () => ({ status: 'FAILED', error: 'upstream said no' });
      const failed = await runTask(server, { name: 'grpc-target-fails', target: { type: 'grpc', url: target.address } });
      expect(failed.status).toBe('failed');
      expect(failed.error).toContain('upstream said no');

      target.run = (_received, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ status: 'SUCCEEDED' })));
      const cancelled = target.next('Cancel');
      const callCancelled = new Promise((resolve) => target.once('cancelled', resolve));
      const timedOut = await runTask(server, { name: 'grpc-target-hangs', timeoutMs: 300, target: { type: 'grpc', url: `grpc://${target.address}` } });
      expect(timedOut.status).toBe('timed_out');
      const cancel = await cancelled;
      expect(cancel.signatureOk).toBe(true);
      expect(cancel.body).toMatchObject({ event: 'cancel', runId: timedOut.id, reason: 'deadline' });
      await callCancelled;
    });
  });
});

describe('transport option', () => {
  const base = { server: 'http://127.0.0.1:7070', token: 't', group: 'billing' };

  it('defaults to http; grpc takes a host:port advertiseUrl and refuses pull mode', () => {
    expect(resolveExecutorOptions(base).transport).toBe('http');
    expect(resolveExecutorOptions({ ...base, transport: 'grpc', advertiseUrl: '10.0.0.8:50051' })).toMatchObject({ transport: 'grpc', advertiseUrl: '10.0.0.8:50051' });
    expect(() => resolveExecutorOptions({ ...base, transport: 'grpc', advertiseUrl: 'http://10.0.0.8:50051/' })).toThrow(/host:port/);
    expect(() => resolveExecutorOptions({ ...base, transport: 'grpc', mode: 'pull' })).toThrow(/push mode/);
    expect(() => resolveExecutorOptions({ ...base, transport: 'tcp' as 'http' })).toThrow(/transport must be/);
  });
});
