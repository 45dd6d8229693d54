import { once } from 'node:events';
import { createServer } from 'node:net';
import { status } from '@grpc/grpc-js';
import type { RunRequest } from '@ecron/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LookupAddress } from 'node:dns';
import { GrpcTransport, targetAddress } from '../../src/dispatch/grpc-transport.ts';
import { OutboundPolicy } from '../../src/dispatch/outbound-policy.ts';
import type { ExecutorNodeRecord } from '../../src/store/store.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';
import { GrpcTestExecutor } from '../support/grpc-test-executor.ts';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const GROUP_SECRET = 'group-secret-billing-0123456789';
const SIGNING_KEY = 'server-signing-key-0123456789';

const request = (extra: Partial<RunRequest> = {}): RunRequest => ({
  runId: 'run-1', taskId: 'task-1', namespace: 'default', task: 'report', scheduledAt: new Date(T0).toISOString(), attempt: 1,
  params: { day: '2026-01-01', n: 3 }, shard: { index: 0, total: 1 }, deadline: null,
  callback: { url: 'http://127.0.0.1:7070/api/v1/runs/run-1/report', token: 'tok' }, group: 'billing', handler: 'report', ...extra,
});

const node = (address: string | null, extra: Partial<ExecutorNodeRecord> = {}): ExecutorNodeRecord => ({
  id: 'node-1', namespace: 'default', owner: null, group: 'billing', mode: 'push', transport: 'grpc', address, labels: {}, weight: 1, handlers: ['report'],
  version: '', inflight: 0, startedAt: T0, heartbeatAt: T0, expiresAt: T0 + 4000, ...extra,
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

describe('GrpcTransport', () => {
  let clock: ManualClock;
  let executor: GrpcTestExecutor;
  let transport: GrpcTransport;
  const secretsAsked: string[] = [];

  beforeEach(async () => {
    clock = new ManualClock(T0);
    executor = new GrpcTestExecutor(GROUP_SECRET);
    await executor.start();
    secretsAsked.length = 0;
    transport = new GrpcTransport({
      clock, signingKey: SIGNING_KEY,
      directory: { secret: async ({ group }) => { secretsAsked.push(group); return GROUP_SECRET; } },
    });
  });

  afterEach(async () => {
    await transport.close();
    await executor.stop();
  });

  it('sends the run envelope as signed body_json, verified with the group secret; SUCCEEDED is success with its output', async () => {
    executor.run = () => ({ status: 'SUCCEEDED', output_json: JSON.stringify({ rows: 42 }) });
    const sent = request();
    const result = await transport.send(node(executor.address), sent, new AbortController().signal);
    expect(result).toEqual({ kind: 'succeeded', output: { rows: 42 } });
    expect(secretsAsked).toEqual(['billing']);
    const [received] = executor.of('Run');
    expect(received!.signatureOk).toBe(true);
    // The exact JSON the HTTP protocol would POST, and nothing in the unsigned typed fields.
    expect(received!.raw).toBe(JSON.stringify(sent));
    expect(received!.body).toEqual(sent);
    expect(received!.typed).toMatchObject({ run_id: '', params_json: '', attempt: 0 });
    // Signed on the injected clock.
    expect(received!.signature).toMatch(new RegExp(`^t=${T0},n=[0-9a-f]{24},v1=[0-9a-f]{64}$`));
    expect(received!.deadline).toBeNull();
  });

  it('maps FAILED, ACCEPTED and HANDED_BACK; an empty output is null', async () => {
    const answers = [
      { status: 'FAILED', error: 'disk full', output_json: JSON.stringify({ code: 28 }) },
      { status: 'FAILED', error: '', output_json: '' },
      { status: 'ACCEPTED' },
      { status: 'HANDED_BACK', error: 'handed back at shutdown' },
      { status: 'SUCCEEDED', output_json: '' },
      { status: 'STATUS_UNSPECIFIED' },
    ] as const;
    const results = [];
    for (const answer of answers) {
      executor.run = () => answer;
      results.push(await transport.send(node(executor.address), request(), new AbortController().signal));
    }
    expect(results).toEqual([
      { kind: 'failed', error: 'disk full', output: { code: 28 } },
      { kind: 'failed', error: 'the executor answered FAILED' },
      { kind: 'accepted' },
      { kind: 'handed_back', error: 'handed back at shutdown' },
      { kind: 'succeeded', output: null },
      { kind: 'failed', error: 'the executor answered status STATUS_UNSPECIFIED' },
    ]);
    expect(executor.of('Run').every((r) => r.signatureOk)).toBe(true);
  });

  it('an address nothing listens on is unreachable; so is an executor answering UNAVAILABLE', async () => {
    const nowhere = await transport.send(node(`127.0.0.1:${await closedPort()}`), request(), new AbortController().signal);
    expect(nowhere).toMatchObject({ kind: 'failed', unreachable: true, error: expect.stringContaining('UNAVAILABLE') });

    executor.run = () => ({ code: status.UNAVAILABLE, details: 'EXECUTOR_STOPPING: the executor is shutting down' });
    const stopping = await transport.send(node(executor.address), request(), new AbortController().signal);
    expect(stopping).toMatchObject({ kind: 'failed', unreachable: true, error: expect.stringContaining('EXECUTOR_STOPPING') });

    const noAddress = await transport.send(node(null), request(), new AbortController().signal);
    expect(noAddress).toMatchObject({ kind: 'failed', unreachable: true });
  });

  it('other gRPC errors are failed attempts, not unreachable nodes', async () => {
    executor.run = () => ({ code: status.UNAUTHENTICATED, details: 'SIGNATURE_MISMATCH: the signature does not match the body' });
    const refused = await transport.send(node(executor.address), request(), new AbortController().signal);
    expect(refused).toEqual({ kind: 'failed', error: 'executor answered gRPC UNAUTHENTICATED: SIGNATURE_MISMATCH: the signature does not match the body' });

    executor.run = () => ({ code: status.NOT_FOUND, details: 'HANDLER_NOT_FOUND: no handler "report"' });
    expect(await transport.send(node(executor.address), request(), new AbortController().signal)).toEqual({ kind: 'failed', error: 'executor answered gRPC NOT_FOUND: HANDLER_NOT_FOUND: no handler "report"' });
  });

  it('aborting the signal cancels the call: the executor sees it cancelled, the send resolves aborted', async () => {
    executor.run = (_received, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ status: 'SUCCEEDED' })));
    const controller = new AbortController();
    const arrived = executor.next('Run');
    const sending = transport.send(node(executor.address), request(), controller.signal);
    await arrived;
    const cancelled = once(executor, 'cancelled');
    controller.abort();
    expect(await sending).toEqual({ kind: 'aborted' });
    await cancelled;
    expect(await transport.send(node(executor.address), request(), controller.signal)).toEqual({ kind: 'aborted' });
  });

  it('the run deadline (on the injected clock) becomes the call deadline plus the margin; passing it fails the attempt', async () => {
    executor.run = () => ({ status: 'SUCCEEDED' });
    const before = Date.now();
    await transport.send(node(executor.address), request({ deadline: new Date(T0 + 60_000).toISOString() }), new AbortController().signal);
    const { deadline } = executor.of('Run')[0]!;
    expect(deadline).toBeGreaterThanOrEqual(before + 61_000 - 50);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 61_000 + 50);

    const tight = new GrpcTransport({ clock, signingKey: SIGNING_KEY, directory: { secret: async () => GROUP_SECRET }, deadlineMarginMs: 0 });
    try {
      executor.run = (_received, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ status: 'SUCCEEDED' })));
      const result = await tight.send(node(executor.address), request({ deadline: new Date(T0 + 300).toISOString() }), new AbortController().signal);
      expect(result).toEqual({ kind: 'failed', error: 'deadline exceeded (gRPC)' });
    } finally {
      await tight.close();
    }
  });

  it('grpc task targets are signed with the server signing key', async () => {
    const target = new GrpcTestExecutor(SIGNING_KEY);
    await target.start();
    try {
      const result = await transport.dispatchTarget({ type: 'grpc', url: `grpc://${target.address}` }, request({ group: undefined, handler: undefined }), new AbortController().signal);
      expect(result).toEqual({ kind: 'succeeded', output: { ok: true } });
      expect(target.of('Run')[0]!.signatureOk).toBe(true);
      expect(secretsAsked).toEqual([]);

      const cancelled = target.next('Cancel');
      transport.cancelTarget({ type: 'grpc', url: target.address }, { event: 'cancel', runId: 'run-1', attempt: 1, reason: 'deadline' });
      const cancel = await cancelled;
      expect(cancel.signatureOk).toBe(true);
      expect(cancel.body).toEqual({ event: 'cancel', runId: 'run-1', attempt: 1, reason: 'deadline' });

      target.status = () => ({ status: 'RUNNING' });
      expect(await transport.statusTarget({ type: 'grpc', url: target.address }, { event: 'status', runId: 'run-1', attempt: 1 })).toEqual({ status: 'running' });
      expect(target.of('Status')[0]!.signatureOk).toBe(true);
    } finally {
      await target.stop();
    }
  });

  it('cancel goes to the node signed with its group secret', async () => {
    const cancelled = executor.next('Cancel');
    transport.cancel(node(executor.address), { event: 'cancel', runId: 'run-1', attempt: 2, reason: 'user', shard: 3 });
    const received = await cancelled;
    expect(received.signatureOk).toBe(true);
    expect(received.body).toEqual({ event: 'cancel', runId: 'run-1', attempt: 2, reason: 'user', shard: 3 });
    expect(await transport.cancelAt(executor.address, GROUP_SECRET, { event: 'cancel', runId: 'run-1', attempt: 2, reason: 'user' })).toEqual({ ok: true, cancelled: 1 });
    const nowhere = await transport.cancelAt(`127.0.0.1:${await closedPort()}`, GROUP_SECRET, { event: 'cancel', runId: 'run-1', attempt: 2, reason: 'user' });
    expect(nowhere).toMatchObject({ ok: false, error: expect.stringContaining('UNAVAILABLE') });
  });

  it('status answers map to the HTTP protocol\'s; errors are no-answer', async () => {
    const ask = () => transport.status(executor.address, GROUP_SECRET, { event: 'status', runId: 'run-1', attempt: 1 });
    executor.status = () => ({ status: 'SUCCEEDED', output_json: '{"rows":1}' });
    expect(await ask()).toEqual({ status: 'succeeded', output: { rows: 1 } });
    executor.status = () => ({ status: 'FAILED', error: 'boom' });
    expect(await ask()).toEqual({ status: 'failed', error: 'boom' });
    executor.status = () => ({ status: 'RUNNING' });
    expect(await ask()).toEqual({ status: 'running' });
    executor.status = () => ({ status: 'UNKNOWN' });
    expect(await ask()).toEqual({ status: 'unknown' });
    executor.status = () => ({ code: status.UNIMPLEMENTED, details: 'no' });
    expect(await ask()).toEqual({ status: 'no-answer' });
    const [first] = executor.of('Status');
    expect(first!.signatureOk).toBe(true);
    expect(first!.body).toEqual({ event: 'status', runId: 'run-1', attempt: 1 });
  });

  it('reuses one channel per address, and refuses to send once closed', async () => {
    await Promise.all([1, 2, 3].map(() => transport.send(node(executor.address), request(), new AbortController().signal)));
    expect(transport.channelCount).toBe(1);
    // One connection: every call came from the same client port.
    expect(new Set(executor.of('Run').map((r) => r.peer)).size).toBe(1);
    await transport.close();
    expect(transport.channelCount).toBe(0);
    expect(await transport.send(node(executor.address), request(), new AbortController().signal)).toMatchObject({ kind: 'failed', unreachable: true });
  });

  it('connects to the address the policy checked, not to a second resolution of the name (no DNS rebinding)', async () => {
    // Only the policy's own lookup knows this name: a channel that resolved it again would find nothing.
    const port = executor.address.slice(executor.address.lastIndexOf(':') + 1);
    const looked: string[] = [];
    class CheckedOnce extends OutboundPolicy {
      override readonly lookup = (hostname: string, _options: object, callback: (error: NodeJS.ErrnoException | null, address: LookupAddress[]) => void): void => {
        looked.push(hostname);
        callback(null, [{ address: '127.0.0.1', family: 4 }]);
      };
    }
    const pinned = new GrpcTransport({ clock, signingKey: SIGNING_KEY, directory: { secret: async () => GROUP_SECRET }, outbound: new CheckedOnce() });
    try {
      executor.run = () => ({ status: 'SUCCEEDED', output_json: '1' });
      const result = await pinned.send(node(`only-the-policy-knows.invalid:${port}`), request(), new AbortController().signal);
      expect(result).toEqual({ kind: 'succeeded', output: 1 });
      expect(looked).toEqual(['only-the-policy-knows.invalid']);
      // Control calls are pinned as well, under the task's namespace policy.
      executor.status = () => ({ status: 'RUNNING', output_json: '' });
      expect(await pinned.statusTarget({ type: 'grpc', url: `only-the-policy-knows.invalid:${port}` }, { event: 'status', runId: 'r', attempt: 1 }, 'team-a'))
        .toEqual({ status: 'running' });
    } finally {
      await pinned.close();
    }
  });

  it('targetAddress drops a grpc:// scheme', () => {
    expect(targetAddress('grpc://10.0.0.1:50051')).toBe('10.0.0.1:50051');
    expect(targetAddress('10.0.0.1:50051')).toBe('10.0.0.1:50051');
    expect(targetAddress('dns:///executors.internal:50051')).toBe('dns:///executors.internal:50051');
  });
});
