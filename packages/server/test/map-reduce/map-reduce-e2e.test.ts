/**
 * Map/reduce end to end: a real `ecron start` process and two real SDK executor processes
 * (fixtures/map-node.ts) in one group. Every wait is on the API or on the executors' events.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ECRON, NODE, ServerProcess, tempDataDir } from '../support/server-process.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures/map-node.ts');

interface NodeEvent { node: string; event: string; runId?: string; index?: number; tries?: number }

/** The executor processes; every line they print is an event. */
class MapNodes extends EventEmitter<{ event: [NodeEvent] }> {
  readonly events: NodeEvent[] = [];
  readonly #children = new Map<string, ChildProcess>();

  async start(server: string, token: string, nodeId: string): Promise<void> {
    const child = spawn(NODE, [FIXTURE], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ECRON_SERVER: server, ECRON_TOKEN: token, NODE_ID: nodeId, GROUP: 'g' } });
    this.#children.set(nodeId, child);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const event = JSON.parse(line) as NodeEvent;
        this.events.push(event);
        this.emit('event', event);
      } catch { /* not an event line */ }
    });
    await this.next((e) => e.node === nodeId && e.event === 'ready', 20_000);
  }

  next(predicate: (e: NodeEvent) => boolean, timeoutMs = 20_000): Promise<NodeEvent> {
    const seen = this.events.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.off('event', listener); reject(new Error('no matching executor event')); }, timeoutMs);
      const listener = (e: NodeEvent): void => {
        if (!predicate(e)) return;
        clearTimeout(timer);
        this.off('event', listener);
        resolve(e);
      };
      this.on('event', listener);
    });
  }

  async kill(nodeId: string): Promise<void> {
    const child = this.#children.get(nodeId);
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.#children.delete(nodeId);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#children.keys()].map((id) => this.kill(id)));
  }
}

let server: ServerProcess;
let nodes: MapNodes;
let taskSeq = 0;

async function until<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function mapRun(params: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await server.api('POST', '/api/v1/tasks', {
    name: `map${++taskSeq}`, schedule: { manual: true }, target: { type: 'executor', group: 'g', handler: 'mapper' }, ...extra,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const run = await server.api('POST', `/api/v1/tasks/${created.body.id}/trigger`, { params });
  expect(run.status, JSON.stringify(run.body)).toBeLessThan(300);
  return run.body.id;
}

async function finished(runId: string, timeoutMs?: number): Promise<any> {
  return until(async () => {
    const res = await server.api('GET', `/api/v1/runs/${runId}`);
    return res.body.finishedAt ? res.body : null;
  }, timeoutMs);
}

async function subtasks(runId: string, query = ''): Promise<any[]> {
  const items: any[] = [];
  let cursor = '';
  for (;;) {
    const res = await server.api('GET', `/api/v1/runs/${runId}/subtasks?limit=1000${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    items.push(...res.body.items);
    if (!res.body.nextCursor) return items;
    cursor = res.body.nextCursor;
  }
}

const reduces = (runId: string): NodeEvent[] => nodes.events.filter((e) => e.event === 'reduce' && e.runId === runId);

beforeAll(async () => {
  server = new ServerProcess(tempDataDir('ecron-map-'));
  await server.start();
  nodes = new MapNodes();
  await nodes.start(server.url, server.adminToken, 'node-a');
  await nodes.start(server.url, server.adminToken, 'node-b');
}, 60_000);

afterAll(async () => {
  await nodes?.stopAll();
  await server?.kill('SIGTERM');
});

describe('map/reduce with two executor processes', () => {
  it('spreads 2,000 subtasks over both nodes and reduces their results once', async () => {
    const runId = await mapRun({ n: 2000 });
    const run = await finished(runId);
    expect(run.status, run.error ?? '').toBe('succeeded');
    expect(run.output).toMatchObject({ sum: (2000 * 1999) / 2, count: 2000, failed: [], summary: { total: 2000, succeeded: 2000, failed: 0 } });
    expect(Object.keys(run.output.nodes).sort()).toEqual(['node-a', 'node-b']);
    expect(run.output.nodes['node-a']).toBeGreaterThan(0);
    expect(run.output.nodes['node-b']).toBeGreaterThan(0);
    expect(run.map).toMatchObject({ state: 'succeeded', total: 2000, pending: 0, running: 0, succeeded: 2000, failed: 0, reduce: 'sum' });
    expect(reduces(runId)).toHaveLength(1);
    const listed = await subtasks(runId);
    expect(listed).toHaveLength(2001);
    expect(listed[0]).toMatchObject({ index: -1, kind: 'reduce', state: 'succeeded' });
    expect(listed.slice(1).map((s) => s.index)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect((await subtasks(runId, '&state=succeeded')).length).toBe(2001);
    // The map attempt ended as one attempt; the subtasks' log lines went to the run's log.
    expect(run.attempts).toHaveLength(1);
    const logs = await server.api('GET', `/api/v1/runs/${runId}/logs?limit=10`);
    expect(logs.body.items[0].message).toMatch(/^\[subtask \d+\] item \d+ on node-[ab]$/);
    // The CLI shows the map and lists the subtasks.
    const cli = (...args: string[]) => promisify(execFile)(NODE, [ECRON, ...args], { env: { ...process.env, ECRON_SERVER: server.url, ECRON_TOKEN: server.adminToken } });
    expect((await cli('run', 'get', runId)).stdout).toMatch(/map: +\[#{20}\] succeeded, 2000 of 2000 ended \(2000 succeeded, 0 failed\); 0 running, 0 pending; attempt 1; reduce sum/);
    const listing = (await cli('run', 'subtasks', runId, '--state', 'succeeded', '--limit', '3')).stdout;
    expect(listing.split('\n')[0]).toMatch(/^INDEX +KIND +STATE +TRIES +EXECUTORS/);
    expect(listing).toMatch(/^-1 +reduce +succeeded +1\/1 +node-[ab]/m);
    expect(listing).toMatch(/^1 +map +succeeded/m);
  }, 120_000);

  it('retries a subtask that failed once, on the other node, and succeeds', async () => {
    const runId = await mapRun({ n: 10, failOnce: [3], options: { reduce: 'sum', maxAttempts: 2 } },
      { retry: { maxAttempts: 1, backoff: { type: 'fixed', initialMs: 100 } } });
    const run = await finished(runId);
    expect(run.status, run.error ?? '').toBe('succeeded');
    expect(run.output).toMatchObject({ sum: 45, count: 10, failed: [] });
    const [third] = (await subtasks(runId)).filter((s) => s.index === 3);
    expect(third).toMatchObject({ state: 'succeeded', tries: 2, maxAttempts: 2 });
    expect(third.executors).toHaveLength(2);
    expect(third.executors[0]).not.toBe(third.executors[1]);
  }, 60_000);

  it('fails the run at the first subtask that failed for good with fail-run, and cancels the rest', async () => {
    const runId = await mapRun({ n: 50, handler: 'boom', options: { reduce: 'sum', onSubtaskFailure: 'fail-run' } });
    const run = await finished(runId);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^subtask \d+ failed after 1 tries: item \d+ is bad$/);
    expect(run.map.state).toBe('failed');
    expect(run.map.pending + run.map.running).toBe(0);
    expect(run.map.failed).toBeGreaterThanOrEqual(1);
    expect(run.map.failed + run.map.cancelled + run.map.succeeded).toBe(50);
    expect(reduces(runId)).toHaveLength(0);
  }, 60_000);

  it('reduces the failures too with continue, and cancels a map with its run', async () => {
    const runId = await mapRun({ n: 5, handler: 'boom', options: { reduce: 'sum', onSubtaskFailure: 'continue' } });
    const run = await finished(runId);
    expect(run.status, run.error ?? '').toBe('succeeded');
    expect(run.output).toMatchObject({ sum: 0, count: 5, failed: [0, 1, 2, 3, 4] });
    const slow = await mapRun({ n: 200, handler: 'slow', ms: 1000, options: {} });
    await nodes.next((e) => e.event === 'subtask' && e.runId === slow);
    const cancelled = await server.api('POST', `/api/v1/runs/${slow}/cancel`);
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    const after = await finished(slow);
    expect(after.status).toBe('cancelled');
    await until(async () => {
      const res = await server.api('GET', `/api/v1/runs/${slow}`);
      return res.body.map.state === 'cancelled' && res.body.map.pending === 0 && res.body.map.running === 0;
    }, 20_000);
  }, 60_000);

  it('gives the subtasks of a node killed mid-map to the other, which finishes, and reduces once', async () => {
    const runId = await mapRun({ n: 300, handler: 'slow', ms: 100, options: { reduce: 'sum' } });
    await until(async () => nodes.events.filter((e) => e.event === 'subtask' && e.runId === runId && e.node === 'node-a').length >= 5);
    await nodes.kill('node-a');
    // Node A's leases expire (30 s) and node B takes its subtasks.
    const run = await finished(runId, 150_000);
    expect(run.status, run.error ?? '').toBe('succeeded');
    expect(run.output).toMatchObject({ sum: (300 * 299) / 2, count: 300, failed: [] });
    expect(run.output.nodes['node-b']).toBeGreaterThan(0);
    expect(reduces(runId)).toHaveLength(1);
    expect(reduces(runId)[0]!.node).toBe('node-b');
    const retaken = (await subtasks(runId)).filter((s) => s.executors.length > 1);
    expect(retaken.length).toBeGreaterThan(0);
    for (const subtask of retaken) expect(subtask.executors.at(-1)).toBe('node-b');
  }, 180_000);
});
