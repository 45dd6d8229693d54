/**
 * Executor group discovery end to end: a real `ecron start` process (SQLite) asking a real DNS
 * server on 127.0.0.1 (`ECRON_DNS_SERVERS`), and SDK executors that do not register
 * (`register: false`, with the group's secret from the PUT's answer).
 *
 * - A static list of two executors: a round-robin task's runs go to both, each attempt naming
 *   the node `static:URL` it went to.
 * - A DNS name: its runs go to the address the name resolves to; when the answer changes, the
 *   server resolves it again (`refreshMs` 1 s) and the runs move to the new address.
 *
 * Nothing sleeps a fixed time: each step polls the API until what it waits for is there.
 */
import { Executor } from '@ecron/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDnsServer } from '../support/dns-server.ts';
import { ServerProcess, tempDataDir } from '../support/server-process.ts';

interface Run { id: string; status: string; output: any; error: string | null; attempts: { executor: string | null; status: string }[] }

let dns: TestDnsServer;
let server: ServerProcess;
const executors: Executor[] = [];
let taskSeq = 0;

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not met in time`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** An SDK executor that does not register, answering `who` with its name. */
async function startExecutor(name: string, secret: string, group: string, host = '127.0.0.1', port = 0): Promise<Executor> {
  const executor = new Executor({ register: false, secret, group, listen: { host, port }, shutdownGraceMs: 500 });
  executor.handle('who', () => ({ node: name }));
  await executor.start();
  executors.push(executor);
  return executor;
}

async function putGroup(group: string, body: unknown): Promise<{ group: any; secret: string }> {
  const res = await server.api('PUT', `/api/v1/executor-groups/default/${group}`, body);
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  return res.body;
}

async function createTask(group: string): Promise<string> {
  const res = await server.api('POST', '/api/v1/tasks', {
    name: `discovered-${++taskSeq}`, schedule: { manual: true }, target: { type: 'executor', group, handler: 'who', routing: { strategy: 'round-robin' } },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

async function runOnce(taskId: string): Promise<Run> {
  const triggered = await server.api('POST', `/api/v1/tasks/${taskId}/trigger`, {});
  expect(triggered.status, JSON.stringify(triggered.body)).toBeLessThan(300);
  return until(`run ${triggered.body.id}`, async () => {
    const res = await server.api<Run>('GET', `/api/v1/runs/${triggered.body.id}`);
    return ['succeeded', 'failed', 'timed_out', 'cancelled', 'lost'].includes(res.body.status) ? res.body : null;
  });
}

/** Waits until the server's discovery of `group` names exactly `addresses`. */
async function discovered(group: string, addresses: string[]): Promise<void> {
  await until(`group ${group} discovered at ${addresses.join(', ')}`, async () => {
    const res = await server.api('GET', `/api/v1/executor-groups/default/${group}`);
    const found = (res.body.status?.nodes ?? []).map((n: { address: string }) => n.address).sort();
    return JSON.stringify(found) === JSON.stringify([...addresses].sort());
  });
}

beforeAll(async () => {
  dns = new TestDnsServer();
  const dnsAddress = await dns.start();
  server = new ServerProcess(tempDataDir());
  await server.start([], { ECRON_DNS_SERVERS: dnsAddress });
}, 60_000);

afterAll(async () => {
  await Promise.all(executors.map((e) => e.stop()));
  await server?.kill('SIGTERM');
  await dns?.close();
});

describe('executor groups found by discovery', () => {
  it('runs a task on the executors of a static list, on both of them', async () => {
    // The group's secret comes with any PUT; the executors are started with it, then listed.
    const { secret } = await putGroup('static-g', { discovery: { static: ['http://127.0.0.1:9/placeholder'] } });
    const a = await startExecutor('a', secret, 'static-g');
    const b = await startExecutor('b', secret, 'static-g');
    const written = await putGroup('static-g', { discovery: { static: [a.address!, b.address!] } });
    expect(written.secret).toBe(secret);
    await discovered('static-g', [a.address!, b.address!]);

    const task = await createTask('static-g');
    const runs = [await runOnce(task), await runOnce(task), await runOnce(task), await runOnce(task)];
    for (const run of runs) expect(run.status, run.error ?? '').toBe('succeeded');
    expect(new Set(runs.map((r) => r.output.node))).toEqual(new Set(['a', 'b']));
    const executorsOf = new Set(runs.map((r) => r.attempts[0]!.executor));
    expect(executorsOf).toEqual(new Set([`static:${a.address}`, `static:${b.address}`]));
  }, 60_000);

  it('follows a DNS name: when its answer changes, the runs move to the new address', async () => {
    const { secret } = await putGroup('dns-g', { discovery: { dns: { name: 'workers.ecron.test', port: 9, refreshMs: 1000 } } });
    // Two executors on one port of two loopback addresses: the name's A record picks one.
    const first = await startExecutor('first', secret, 'dns-g', '127.0.0.2');
    const port = Number(new URL(first.address!).port);
    await startExecutor('second', secret, 'dns-g', '127.0.0.3', port);
    dns.zone.set('workers.ecron.test', { a: ['127.0.0.2'] });
    await putGroup('dns-g', { discovery: { dns: { name: 'workers.ecron.test', port, refreshMs: 1000 } } });
    await discovered('dns-g', [`http://127.0.0.2:${port}`]);

    const task = await createTask('dns-g');
    const before = await runOnce(task);
    expect(before.status, before.error ?? '').toBe('succeeded');
    expect(before.output.node).toBe('first');
    expect(before.attempts[0]!.executor).toBe(`dns:http://127.0.0.2:${port}`);

    dns.zone.set('workers.ecron.test', { a: ['127.0.0.3'] });
    await discovered('dns-g', [`http://127.0.0.3:${port}`]);
    const after = [await runOnce(task), await runOnce(task)];
    for (const run of after) {
      expect(run.status, run.error ?? '').toBe('succeeded');
      expect(run.output.node).toBe('second');
      expect(run.attempts[0]!.executor).toBe(`dns:http://127.0.0.3:${port}`);
    }
    const listed = await server.api('GET', '/api/v1/executor-groups');
    expect(listed.body.items.map((g: { group: string }) => g.group)).toEqual(['dns-g', 'static-g']);
  }, 60_000);
});
