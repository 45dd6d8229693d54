/**
 * The outbound policy (issue 17, F2): a task pointed at an internal address is refused before any
 * connection, in every spelling of the address, through names that resolve to it, and with the
 * same answer whether anything listens there or not.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunRequest } from '@ecron/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.ts';
import { OutboundPolicy } from '../../src/dispatch/outbound-policy.ts';
import { HttpDispatcher } from '../../src/dispatch/http-dispatcher.ts';

const LOOPBACK_DENIED = new OutboundPolicy({ deny: ['127.0.0.0/8', '::1/128'] });

describe('OutboundPolicy', () => {
  it('denies link-local and cloud metadata addresses and hosts by default, in every spelling', () => {
    const policy = new OutboundPolicy();
    for (const url of ['http://169.254.169.254/latest/meta-data', 'http://[::ffff:169.254.169.254]/', 'http://[::ffff:a9fe:a9fe]/',
      'http://2852039166/', 'http://0xa9fea9fe/', 'http://169.254.43518/', 'http://[fe80::1]/', 'http://metadata.google.internal/', 'http://[fd00:ec2::254]/']) {
      expect(() => policy.assertUrl(url), url).toThrow(/OUTBOUND_DENIED|denied/);
    }
    expect(policy.checkHost('127.0.0.1')).toBeNull();
    expect(policy.checkHost('example.com')).toBeNull();
  });

  it('denies what a deny rule names, in every spelling of the address', () => {
    for (const host of ['127.0.0.1', '127.1', '2130706433', '0x7f000001', '0177.0.0.1', '127.0.0.2', '[::ffff:127.0.0.1]', '[::1]']) {
      expect(() => LOOPBACK_DENIED.assertUrl(`http://${host}:8080/x`), host).toThrow(/denied by the outbound policy/);
    }
    expect(LOOPBACK_DENIED.checkAddress('10.1.2.3')).toBeNull();
  });

  it('with allow rules, permits only what they name; an allow rule can open a default-denied address', () => {
    const policy = new OutboundPolicy({ allow: ['10.0.0.0/8', '*.example.com', '169.254.10.0/24'] });
    expect(policy.checkAddress('10.9.9.9')).toBeNull();
    expect(policy.checkAddress('192.168.1.1')).toMatch(/not allowed/);
    expect(policy.checkAddress('93.184.216.34', 'api.example.com')).toBeNull();
    expect(policy.checkAddress('169.254.10.5')).toBeNull();
    expect(policy.checkAddress('169.254.169.254')).toMatch(/link-local/);
  });

  it('refuses rules that are neither a CIDR nor a host name, naming the rule', () => {
    expect(() => new OutboundPolicy({ deny: ['10.0.0.0/33'] })).toThrow(/"10.0.0.0\/33"/);
    expect(() => new OutboundPolicy({ allow: ['http://x'] })).toThrow(/"http:\/\/x"/);
  });
});

describe('HttpDispatcher behind the policy', () => {
  let server: Server | null = null;
  let dispatcher: HttpDispatcher | null = null;
  afterEach(async () => {
    await dispatcher?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(null)));
    server = null;
  });

  const envelope = { runId: 'r', attempt: 1 } as unknown as RunRequest;

  it('refuses a denied target before connecting, with the same answer for an open and a closed port', async () => {
    let received = 0;
    server = createServer((_req, res) => { received += 1; res.end('{"leaked":true}'); });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const open = (server.address() as AddressInfo).port;
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    dispatcher = new HttpDispatcher({ clock: systemClock, signingKey: 'k', outbound: LOOPBACK_DENIED });
    const answers = [];
    for (const url of [`http://127.1:${open}/run`, `http://2130706433:${open}/run`, `http://localhost:${open}/run`, `http://127.0.0.1:${closed}/run`]) {
      const result = await dispatcher.dispatch({ type: 'http', url }, envelope, new AbortController().signal);
      expect(result, url).toMatchObject({ kind: 'failed', error: expect.stringContaining('OUTBOUND_DENIED') });
      expect(result).not.toHaveProperty('unreachable');
      answers.push((result as { error: string }).error.replace(/:\d+/g, ':PORT').replace(/localhost/g, '127.0.0.1'));
    }
    expect(received).toBe(0);
    // The open port and the closed one read the same: the refusal does not tell which is which.
    expect(answers[0]).toBe(answers[3]);
  });

  it('lets through what the policy allows', async () => {
    server = createServer((_req, res) => { res.setHeader('content-type', 'application/json'); res.end('{"ok":true}'); });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    dispatcher = new HttpDispatcher({ clock: systemClock, signingKey: 'k', outbound: new OutboundPolicy({ deny: ['10.0.0.0/8'] }) });
    expect(await dispatcher.dispatch({ type: 'http', url: `http://localhost:${port}/run` }, envelope, new AbortController().signal))
      .toEqual({ kind: 'succeeded', output: { ok: true } });
  });
});

describe('GrpcTransport behind the policy', () => {
  it('refuses a denied address, and a name that resolves to one, before any call', async () => {
    const { GrpcTransport } = await import('../../src/dispatch/grpc-transport.ts');
    const grpc = new GrpcTransport({ clock: systemClock, directory: { secret: async () => 's' }, signingKey: 'k', outbound: LOOPBACK_DENIED });
    try {
      for (const address of ['127.0.0.1:50051', 'localhost:50051', '[::1]:50051']) {
        const result = await grpc.dispatch(address, 's', { runId: 'r', attempt: 1, deadline: null } as unknown as RunRequest, new AbortController().signal);
        expect(result, address).toMatchObject({ kind: 'failed', error: expect.stringContaining('OUTBOUND_DENIED') });
      }
      expect(grpc.channelCount).toBe(0);
    } finally {
      grpc.close();
    }
  });
});

describe('the server with an outbound policy', () => {
  it('fails a task aimed at a denied address with OUTBOUND_DENIED, and refuses a bad rule at start', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { pino } = await import('pino');
    const { startServer } = await import('../../src/server.ts');
    const dir = mkdtempSync(join(tmpdir(), 'ecron-outbound-'));
    const admin = 'ecr_outbound_policy_admin_token_0123456789';
    const base = { port: 0, host: '127.0.0.1', roles: ['api', 'scheduler'] as const, logger: pino({ level: 'silent' }), env: { ECRON_ADMIN_TOKEN: admin }, consoleDir: join(dir, 'none') };
    await expect(startServer({ ...base, roles: [...base.roles], dataDir: join(dir, 'bad'), outbound: { deny: ['10.0.0.0/99'] } })).rejects.toThrow(/10\.0\.0\.0\/99/);
    let received = 0;
    const target = createServer((_req, res) => { received += 1; res.end('{}'); });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const server = await startServer({ ...base, roles: [...base.roles], dataDir: join(dir, 'ok'), outbound: { deny: ['127.0.0.0/8', '::1/128'] } });
    try {
      const api = (path: string, body?: unknown) => fetch(`${server.url}/api/v1${path}`, {
        method: body === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }).then((r) => r.json() as Promise<Record<string, unknown>>);
      const { port } = target.address() as AddressInfo;
      const task = await api('/tasks', { name: 'internal', schedule: { manual: true }, target: { type: 'http', url: `http://127.1:${port}/admin` }, retry: { maxAttempts: 1 } });
      const run = await api(`/tasks/${String(task.id)}/trigger`, {});
      let ended: Record<string, unknown> = run;
      for (let i = 0; i < 200 && !['failed', 'succeeded'].includes(String(ended.status)); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        ended = await api(`/runs/${String(run.id)}`);
      }
      expect(ended).toMatchObject({ status: 'failed', error: expect.stringContaining('OUTBOUND_DENIED') });
      expect(received).toBe(0);
    } finally {
      await server.stop();
      await new Promise((resolve) => target.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a namespace\'s outbound rules', () => {
  it('hold for its tasks from the moment an admin PUTs them, beneath the server\'s, and leave other namespaces alone', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { pino } = await import('pino');
    const { startServer } = await import('../../src/server.ts');
    const dir = mkdtempSync(join(tmpdir(), 'ecron-ns-outbound-'));
    const admin = 'ecr_namespace_outbound_admin_token_0123456789';
    let received = 0;
    const target = createServer((_req, res) => { received += 1; res.setHeader('content-type', 'application/json'); res.end('{}'); });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const server = await startServer({
      port: 0, host: '127.0.0.1', roles: ['api', 'scheduler'], logger: pino({ level: 'silent' }), env: { ECRON_ADMIN_TOKEN: admin },
      consoleDir: join(dir, 'none'), dataDir: join(dir, 'data'), outbound: { deny: ['169.254.0.0/16'] },
    });
    try {
      const api = (method: string, path: string, body?: unknown) => fetch(`${server.url}/api/v1${path}`, {
        method, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }).then(async (r) => ({ status: r.status, body: await r.json() as Record<string, unknown> }));
      const runToEnd = async (namespace: string) => {
        const { port } = target.address() as AddressInfo;
        const task = (await api('POST', '/tasks', { namespace, name: `t-${received}-${Date.now()}`, schedule: { manual: true }, target: { type: 'http', url: `http://127.0.0.1:${port}/x` }, retry: { maxAttempts: 1 } })).body;
        let run = (await api('POST', `/tasks/${String(task.id)}/trigger`, {})).body;
        for (let i = 0; i < 200 && !['failed', 'succeeded'].includes(String(run.status)); i++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          run = (await api('GET', `/runs/${String(run.id)}`)).body;
        }
        return run;
      };
      expect(await runToEnd('team-x')).toMatchObject({ status: 'succeeded' });
      expect((await api('PUT', '/namespaces/team-x', { outbound: { deny: ['127.0.0.0/8'] } })).status).toBe(201);
      const before = received;
      expect(await runToEnd('team-x')).toMatchObject({ status: 'failed', error: expect.stringContaining('OUTBOUND_DENIED') });
      expect(received).toBe(before);
      expect(await runToEnd('default')).toMatchObject({ status: 'succeeded' });
      // Lifted again: its tasks reach the address once more.
      expect((await api('PUT', '/namespaces/team-x', { outbound: { deny: [] } })).status).toBe(200);
      expect(await runToEnd('team-x')).toMatchObject({ status: 'succeeded' });
    } finally {
      await server.stop();
      await new Promise((resolve) => target.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
