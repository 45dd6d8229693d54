/**
 * Executor group discovery in the directory (dispatch/group-discovery.ts): a real SQLite store, a
 * real `node:dns/promises` Resolver asking a real DNS server on 127.0.0.1 (test/support/dns-server.ts),
 * and a manual clock: static lists are nodes at once; DNS names (A and AAAA, SRV) are resolved at
 * once, again after `refreshMs` of the manual clock, and the nodes follow the answer; a failing name
 * keeps its last good answer for `staleMs`, then loses it; a registered node at a discovered address
 * is that node only. Nothing sleeps: each step waits for the resolution it started.
 */
import { ExecutorGroupSpecSchema, type ExecutorGroupSpecInput } from '@ecron/contracts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExecutorDirectory } from '../../src/dispatch/executor-directory.ts';
import { systemDnsLookup } from '../../src/dispatch/group-discovery.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';
import { TestDnsServer } from '../support/dns-server.ts';

let dnsServer: TestDnsServer;
let dnsAddress: string;
let store: Store;
let clock: ManualClock;
let directory: ExecutorDirectory;
const warnings: string[] = [];

beforeAll(async () => {
  dnsServer = new TestDnsServer();
  dnsAddress = await dnsServer.start();
});
afterAll(async () => dnsServer?.close());

beforeEach(async () => {
  dnsServer.zone.clear();
  dnsServer.failing = false;
  store = createSqliteStore({ path: ':memory:' });
  await store.open();
  clock = new ManualClock(Date.UTC(2026, 0, 1));
  directory = new ExecutorDirectory({
    store, clock, dns: systemDnsLookup([dnsAddress]), log: (_level, message, fields) => warnings.push(`${message} ${JSON.stringify(fields)}`),
  });
});
afterEach(async () => {
  directory.stop();
  await directory.discoverySettled();
  await store.close();
});

async function put(group: string, input: ExecutorGroupSpecInput, namespace = 'default'): Promise<void> {
  await store.putExecutorGroup({ group: { namespace, group, ...ExecutorGroupSpecSchema.parse(input) }, at: clock.now(), audit: { actor: 'test', action: 'put' } });
}

/** Reads the registry and groups, and waits for the DNS resolutions that started. */
async function refresh(): Promise<void> {
  await directory.refresh();
  await directory.discoverySettled();
}

const addresses = (group: string, namespace = 'default') => directory.live({ namespace, group }).map((n) => n.address);

describe('executor group discovery', () => {
  it('makes each address of a static list a node, with the group\'s labels and weight, serving any handler', async () => {
    await put('billing', { discovery: { static: ['http://10.0.0.6:9000', 'http://10.0.0.5:9000/run'] }, labels: { zone: 'a' }, weight: 3 }, 'team');
    await refresh();
    const nodes = directory.live({ namespace: 'team', group: 'billing' }, 'any-handler');
    expect(nodes.map((n) => [n.id, n.address, n.mode, n.transport, n.labels, n.weight])).toEqual([
      ['static:http://10.0.0.5:9000/run', 'http://10.0.0.5:9000/run', 'push', 'http', { zone: 'a' }, 3],
      ['static:http://10.0.0.6:9000', 'http://10.0.0.6:9000', 'push', 'http', { zone: 'a' }, 3],
    ]);
    expect(directory.live({ namespace: 'default', group: 'billing' })).toEqual([]);
    expect(directory.discoveryStatus({ namespace: 'team', group: 'billing' })).toMatchObject({ error: null, stale: false, resolvedAt: clock.now() });
    expect(directory.liveCounts()).toEqual([{ namespace: 'team', group: 'billing', live: 2 }]);

    // A suspected address leaves routing for a moment, as a registered node's would.
    directory.suspect(nodes[0]!);
    expect(addresses('billing', 'team')).toEqual(['http://10.0.0.6:9000']);
    await clock.advance(3000);
    expect(addresses('billing', 'team')).toHaveLength(2);

    await store.deleteExecutorGroup({ namespace: 'team', group: 'billing', at: clock.now(), audit: { actor: 'test', action: 'delete' } });
    const gone: string[] = [];
    directory.events.on('node:gone', (id) => gone.push(id));
    await refresh();
    expect(addresses('billing', 'team')).toEqual([]);
    expect(gone.sort()).toEqual(['static:http://10.0.0.5:9000/run', 'static:http://10.0.0.6:9000']);
    expect(directory.discoveryStatus({ namespace: 'team', group: 'billing' })).toBeNull();
  });

  it('resolves a DNS name\'s A and AAAA records at once, and again after refreshMs, following the answer', async () => {
    dnsServer.zone.set('workers.test', { a: ['10.0.0.7', '10.0.0.8'], aaaa: ['fd00::7'] });
    await put('dns', { discovery: { dns: { name: 'workers.test', port: 9000, refreshMs: '30s' } } });
    const alive: string[] = [];
    directory.events.on('group:alive', (group) => alive.push(group));
    await refresh();
    expect(addresses('dns')).toEqual(['http://10.0.0.7:9000', 'http://10.0.0.8:9000', 'http://[fd00::7]:9000']);
    expect(directory.live({ namespace: 'default', group: 'dns' })[0]!.id).toBe('dns:http://10.0.0.7:9000');
    expect(alive).toEqual(['executor-group:dns']);

    dnsServer.zone.set('workers.test', { a: ['10.0.0.9'] });
    const asked = dnsServer.queries;
    await clock.advance(29_000);
    await refresh();
    expect(dnsServer.queries, 'not resolved again before refreshMs').toBe(asked);
    expect(addresses('dns')).toHaveLength(3);
    await clock.advance(1000);
    await refresh();
    expect(addresses('dns')).toEqual(['http://10.0.0.9:9000']);

    // A name with no records is a good answer: no nodes.
    dnsServer.zone.delete('workers.test');
    await clock.advance(30_000);
    await refresh();
    expect(addresses('dns')).toEqual([]);
    expect(directory.discoveryStatus({ namespace: 'default', group: 'dns' })).toMatchObject({ error: null, stale: false, nodes: [] });
  });

  it('reads SRV records: each target\'s addresses at the port the record gives, with the scheme and path', async () => {
    dnsServer.zone.set('_exec._tcp.workers.test', { srv: [{ target: 'a.workers.test', port: 9001 }, { target: 'b.workers.test', port: 9002 }] });
    dnsServer.zone.set('a.workers.test', { a: ['10.0.1.1'] });
    dnsServer.zone.set('b.workers.test', { a: ['10.0.1.2', '10.0.1.3'] });
    await put('srv', { discovery: { dns: { name: '_exec._tcp.workers.test', srv: true, scheme: 'https', path: '/ecron' } } });
    await refresh();
    expect(addresses('srv')).toEqual(['https://10.0.1.1:9001/ecron', 'https://10.0.1.2:9002/ecron', 'https://10.0.1.3:9002/ecron']);
  });

  it('keeps the last good answer for staleMs while resolving fails, then drops it', async () => {
    dnsServer.zone.set('flaky.test', { a: ['10.0.2.1'] });
    await put('flaky', { discovery: { dns: { name: 'flaky.test', port: 80, refreshMs: '10s', staleMs: '30s' } } });
    await refresh();
    expect(addresses('flaky')).toEqual(['http://10.0.2.1:80']);

    dnsServer.failing = true;
    await clock.advance(10_000);
    await refresh();
    expect(addresses('flaky')).toEqual(['http://10.0.2.1:80']);
    const status = directory.discoveryStatus({ namespace: 'default', group: 'flaky' })!;
    expect(status).toMatchObject({ stale: true, resolvedAt: clock.now() - 10_000 });
    expect(status.error).toMatch(/flaky\.test failed: .*SERVFAIL/i);
    expect(warnings.some((w) => w.includes('executor group discovery failed'))).toBe(true);

    // Tried again every min(refreshMs, 5 s); past staleMs after the last good answer, the nodes go.
    await clock.advance(5000);
    await refresh();
    expect(addresses('flaky')).toHaveLength(1);
    await clock.advance(16_000);
    await refresh();
    expect(addresses('flaky')).toEqual([]);
    expect(directory.discoveryStatus({ namespace: 'default', group: 'flaky' })).toMatchObject({ stale: false, nodes: [] });

    dnsServer.failing = false;
    await clock.advance(5000);
    await refresh();
    expect(addresses('flaky')).toEqual(['http://10.0.2.1:80']);
    expect(directory.discoveryStatus({ namespace: 'default', group: 'flaky' })).toMatchObject({ error: null, stale: false });
  });

  it('starts over when the discovery changes, and leaves an address a registered node has to that node', async () => {
    await put('mixed', { discovery: { static: ['http://127.0.0.1:7001', 'http://127.0.0.1:7002'] } });
    await store.heartbeatExecutor({
      node: {
        id: 'registered-1', namespace: 'default', group: 'mixed', mode: 'push', transport: 'http', address: 'http://127.0.0.1:7001',
        labels: {}, weight: 1, handlers: ['report'], version: '', inflight: 0, owner: null,
      },
      ttlMs: 60_000,
    });
    await refresh();
    expect(directory.live({ namespace: 'default', group: 'mixed' }).map((n) => n.id)).toEqual(['registered-1', 'static:http://127.0.0.1:7002']);

    dnsServer.zone.set('mixed.test', { a: ['127.0.0.1'] });
    await put('mixed', { discovery: { dns: { name: 'mixed.test', port: 7003 } } });
    await refresh();
    expect(directory.live({ namespace: 'default', group: 'mixed' }).map((n) => n.id)).toEqual(['dns:http://127.0.0.1:7003', 'registered-1']);
  });
});
