/**
 * Real processes: an `ecron start` server killed with SIGKILL while runs are in flight, then
 * restarted on the same data dir; and a SIGTERM drain. The executor is a real HTTP server in this
 * test process.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { ServerProcess, tempDataDir } from '../support/server-process.ts';
import { TestExecutor } from '../support/test-executor.ts';

let server: ServerProcess | null = null;
let executor: TestExecutor | null = null;
afterEach(async () => {
  if (server?.child) await server.kill('SIGKILL');
  await executor?.stop();
  server = null;
  executor = null;
});

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('kill -9 and restart', () => {
  it('records no fire twice, resolves in-flight runs, and applies each misfire policy', async () => {
    const dataDir = tempDataDir();
    server = new ServerProcess(dataDir);
    await server.start();
    executor = new TestExecutor(server.signingKey);
    const url = await executor.start();
    // /slow answers after 1.5 s, so that runs are in flight when the server dies.
    executor.behaviours.set('/slow', () => new Promise((resolve) => setTimeout(() => resolve({ status: 200, body: { slow: true } }), 1500)));

    // Fires every 500 ms: below the default minimum interval (1 s), so an admin lowers it first.
    const lowered = await server.api('PUT', '/api/v1/namespaces/default', { quotas: { minIntervalMs: 500 } });
    expect(lowered.status).toBe(201);
    const create = async (name: string, misfire: unknown, path = '/fast') => {
      const res = await server!.api('POST', '/api/v1/tasks', {
        name, schedule: { every: '500ms' }, target: { type: 'http', url: `${url}${path}` }, misfire,
        retry: { maxAttempts: 2, backoff: { type: 'fixed', initialMs: 100 } },
      });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    const catchUp = await create('catch-up', { policy: 'catch-up', windowMs: '1h', maxCatchUp: 1000 });
    const skip = await create('skip', { policy: 'skip' });
    const fireOnce = await create('fire-once', { policy: 'fire-once' });
    const slow = await create('slow', { policy: 'skip' }, '/slow');

    await executor.next((r) => r.path === '/slow' && r.event === 'run');
    await wait(2000);
    const killedAt = Date.now();
    expect(await server.kill('SIGKILL')).toBe(null);
    await wait(6500); // longer than the 5 s misfire threshold
    const restartedAt = Date.now();
    await server.start();
    await wait(3000);
    await server.kill('SIGTERM');

    // Read the outcome straight from the store file: a restarted server would fire again.
    const store = createSqliteStore({ path: join(dataDir, 'ecron.db') });
    await store.open();
    const runsOf: Record<string, any[]> = {};
    for (const id of [catchUp, skip, fireOnce, slow]) {
      const runs = (await store.listRuns({ taskId: id, limit: 1000 })).items.sort((a, b) => a.scheduledAt - b.scheduledAt);
      const attempts = await store.listAttempts(runs.map((r) => r.id));
      runsOf[id] = runs.map((r) => ({ ...r, attempts: attempts.filter((a) => a.runId === r.id) }));
    }
    const skipTask = await store.getTask(skip);
    await store.close();
    const instantsOf = (id: string): number[] => runsOf[id]!.map((r) => r.scheduledAt);

    for (const id of [catchUp, skip, fireOnce, slow]) {
      const instants = instantsOf(id);
      expect(new Set(instants).size, `duplicate fire of task ${id}`).toBe(instants.length);
      // Nothing is left in flight after a drain.
      expect(runsOf[id]!.filter((r: any) => ['dispatched', 'running'].includes(r.status))).toEqual([]);
    }
    // catch-up: every 500 ms instant from the first fire to the last, the downtime included, once.
    const caught = instantsOf(catchUp);
    for (let i = 1; i < caught.length; i++) expect(caught[i]! - caught[i - 1]!).toBe(500);
    expect(caught.some((t) => t > killedAt + 1000 && t < restartedAt - 1000)).toBe(true);
    // skip: fires more than 5 s late at the restart were counted, not run.
    expect(instantsOf(skip).filter((t) => t > killedAt + 500 && t < restartedAt - 5500)).toEqual([]);
    const skipped = instantsOf(skip);
    const missing = skipped.slice(1).reduce((sum, t, i) => sum + (t - skipped[i]!) / 500 - 1, 0);
    expect(missing).toBeGreaterThanOrEqual(3);
    expect(skipTask!.skippedFires).toBe(missing);
    // fire-once: at most one of the missed fires ran.
    expect(instantsOf(fireOnce).filter((t) => t > killedAt + 500 && t < restartedAt - 5500).length).toBeLessThanOrEqual(1);
    // The attempt in flight at the kill was checked with the executor and ended as lost.
    const atKill = runsOf[slow]!.find((r) => r.startedAt < killedAt && r.attempts.some((a: any) => a.status === 'lost'));
    expect(atKill, 'a run in flight at the kill ends its attempt as lost').toBeDefined();
    expect(executor.received.some((r) => r.event === 'status' && r.body.runId === atKill.id)).toBe(true);
  }, 90_000);
});

describe('SIGTERM', () => {
  it('stops firing at once and lets in-flight dispatches finish before exiting', async () => {
    const dataDir = tempDataDir();
    server = new ServerProcess(dataDir);
    await server.start();
    executor = new TestExecutor(server.signingKey);
    const url = await executor.start();
    executor.behaviours.set('/slow', () => new Promise((resolve) => setTimeout(() => resolve({ status: 200, body: { finished: true } }), 2000)));
    const created = await server.api('POST', '/api/v1/tasks', { name: 'drain', schedule: { every: '1s' }, target: { type: 'http', url: `${url}/slow` }, overlap: 'allow' });
    expect(created.status).toBe(201);
    const first = await executor.next((r) => r.event === 'run', 10_000);
    const termAt = Date.now();
    const code = await server.kill('SIGTERM');
    expect(code).toBe(0);
    expect(Date.now() - termAt).toBeGreaterThanOrEqual(1000);
    // No fire after the signal: only fires recorded before it (at most ~40 ms ahead of their
    // instant) may still go out during the drain.
    const lateFires = executor.runs().filter((r) => Date.parse(r.body.scheduledAt) > termAt + 50);
    expect(lateFires).toEqual([]);
    await server.start();
    const run = await server.api('GET', `/api/v1/runs/${first.body.runId}`);
    expect(run.body).toMatchObject({ status: 'succeeded', output: { finished: true } });
  }, 60_000);
});
