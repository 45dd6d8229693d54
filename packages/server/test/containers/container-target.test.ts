/**
 * Container targets end to end: a real `ecron start` process on SQLite with a real engine
 * (Podman's Docker API service), and runs of a busybox image: output in the run's log, exit codes,
 * deadline, cancel, the namespace's image allowlist, and a kill -9 of the server mid-run after
 * which the run is resolved and no container is left.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ServerProcess, tempDataDir } from '../support/server-process.ts';
import { PodmanEngine, TEST_IMAGE } from '../support/podman.ts';

let engine: PodmanEngine;
let server: ServerProcess | null = null;
beforeAll(async () => {
  engine = await new PodmanEngine().start();
}, 120_000);
afterAll(async () => engine?.stop());
afterEach(async () => {
  if (server?.child) await server.kill('SIGKILL');
  server = null;
});

const FINAL = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'];

async function startServer(withEngine = true): Promise<ServerProcess> {
  server = new ServerProcess(tempDataDir('ecron-container-'));
  await server.start(withEngine ? ['--container-engine', `default=${engine.address}`, '--container-stop-grace', '1s'] : []);
  return server;
}

async function createTask(s: ServerProcess, name: string, target: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await s.api('POST', '/api/v1/tasks', { name, schedule: { manual: true }, target: { type: 'container', image: TEST_IMAGE, pull: 'never', ...target }, ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

async function trigger(s: ServerProcess, taskId: string, params?: Record<string, unknown>): Promise<string> {
  const res = await s.api('POST', `/api/v1/tasks/${taskId}/trigger`, params ? { params } : {});
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return (res.body.runId ?? res.body.id) as string;
}

/** Polls the run until `until` holds (default: a final status). */
async function waitRun(s: ServerProcess, runId: string, until = (run: any) => FINAL.includes(run.status), timeoutMs = 90_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await s.api('GET', `/api/v1/runs/${runId}`);
    if (res.status === 200 && until(res.body)) return res.body;
    if (Date.now() > deadline) throw new Error(`run ${runId} never got there: ${JSON.stringify(res.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function logLines(s: ServerProcess, runId: string): Promise<{ level: string; message: string }[]> {
  const res = await s.api('GET', `/api/v1/runs/${runId}/logs?limit=1000`);
  expect(res.status).toBe(200);
  return res.body.items;
}

describe('container targets on a Podman engine', () => {
  it('streams output to the run log, passes params and identity, and records exit code 3 as failed', async () => {
    const s = await startServer();
    const task = await createTask(s, 'exit-three', {
      command: ['sh', '-c'], args: ['echo "run=$ECRON_RUN_ID params=$ECRON_PARAMS shard=$ECRON_SHARD_INDEX/$ECRON_SHARD_TOTAL greeting=$GREETING"; echo to-stderr >&2; exit 3'],
      env: { GREETING: 'hello' },
    });
    const runId = await trigger(s, task, { day: '2026-12-08' });
    const run = await waitRun(s, runId);
    expect(run.status).toBe('failed');
    expect(run.error).toBe('exit code 3');
    const lines = await logLines(s, runId);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'info', message: `run=${runId} params={"day":"2026-12-08"} shard=0/1 greeting=hello` }));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'to-stderr' }));
    expect(await engine.containers(`io.ecron.run=${runId}`)).toEqual([]);

    const ok = await createTask(s, 'exit-zero', { command: ['true'] });
    const okRun = await waitRun(s, await trigger(s, ok));
    expect(okRun.status).toBe('succeeded');
    expect(okRun.output).toEqual({ exitCode: 0 });
  });

  it('stops and removes the container at the deadline, and on cancel', async () => {
    const s = await startServer();
    const slow = await createTask(s, 'sleeps', { command: ['sleep', '600'] }, { timeoutMs: '2s' });
    const timedOut = await waitRun(s, await trigger(s, slow));
    expect(timedOut.status).toBe('timed_out');
    await expect.poll(() => engine.containers(`io.ecron.run=${timedOut.id}`), { timeout: 30_000 }).toEqual([]);

    const cancelled = await createTask(s, 'cancelled', { command: ['sleep', '600'] });
    const runId = await trigger(s, cancelled);
    await waitRun(s, runId, (run) => run.status === 'running' || run.attempts?.[0]?.executor?.startsWith('container:'));
    await expect.poll(() => engine.containers(`io.ecron.run=${runId}`), { timeout: 30_000 }).toHaveLength(1);
    const res = await s.api('POST', `/api/v1/runs/${runId}/cancel`, {});
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    expect((await waitRun(s, runId)).status).toBe('cancelled');
    await expect.poll(() => engine.containers(`io.ecron.run=${runId}`), { timeout: 30_000 }).toEqual([]);
  });

  it('refuses an image outside the namespace allowlist, and fails a run on a node without the engine', async () => {
    const s = await startServer();
    const put = await s.api('PUT', '/api/v1/namespaces/locked', { quotas: { containerImages: ['registry.example/team/**'] } });
    expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
    const refused = await s.api('POST', '/api/v1/tasks', { namespace: 'locked', name: 'bad', schedule: { manual: true }, target: { type: 'container', image: TEST_IMAGE } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details.issues).toContainEqual(expect.objectContaining({ path: 'target.image', code: 'IMAGE_NOT_ALLOWED' }));
    const allowed = await s.api('POST', '/api/v1/tasks', { namespace: 'locked', name: 'good', schedule: { manual: true }, target: { type: 'container', image: 'registry.example/team/job:1' } });
    expect(allowed.status, JSON.stringify(allowed.body)).toBe(201);
    await s.kill('SIGTERM');

    const bare = await startServer(false);
    const task = await createTask(bare, 'no-engine', { command: ['true'] });
    const run = await waitRun(bare, await trigger(bare, task));
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^CONTAINER_ENGINE_NOT_CONFIGURED: .*--container-engine default=/);
  });

  it('resolves a run whose server was killed mid-run, and leaves no container behind', async () => {
    const s = await startServer();
    const task = await createTask(s, 'outlives', { command: ['sh', '-c'], args: ['echo begun; sleep 4; echo finished; exit 0'] });
    const runId = await trigger(s, task);
    await expect.poll(() => engine.containers(`io.ecron.run=${runId}`), { timeout: 30_000 }).toHaveLength(1);
    expect(await s.kill('SIGKILL')).toBe(null);
    // The container runs on while no server is up; the restarted server finds the run in flight.
    await s.start(['--container-engine', `default=${engine.address}`, '--container-stop-grace', '1s']);
    const run = await waitRun(s, runId);
    expect(run.status).toBe('succeeded');
    expect(run.attempt).toBe(1);
    expect(await engine.containers(`io.ecron.run=${runId}`)).toEqual([]);
  });
});
