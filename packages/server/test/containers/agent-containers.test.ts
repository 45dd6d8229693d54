/**
 * Container targets with a group: a real `ecron start` server (without an engine of its own) and a
 * real `ecron agent --container-engine` process on Podman's Docker API service. The agent runs the
 * group's containers on its engine, within its image allowlist.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, stopAgent } from '../support/agent-process.ts';
import { PodmanEngine, TEST_IMAGE } from '../support/podman.ts';
import { ServerProcess, tempDataDir } from '../support/server-process.ts';

const FINAL = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'];

describe('container targets on an agent\'s engine', () => {
  const server = new ServerProcess(tempDataDir('ecron-agent-containers-'));
  let engine: PodmanEngine;
  let agent: Awaited<ReturnType<typeof startAgent>>;

  beforeAll(async () => {
    engine = await new PodmanEngine().start();
    await server.start();
    const config = join(server.dataDir, 'agent.yaml');
    writeFileSync(config, [
      `server: ${server.url}`, 'group: boxes', 'id: box-agent', 'killGraceMs: 1s',
      'containers:', '  images: ["localhost/ecron-test-busybox:*"]', '',
    ].join('\n'));
    agent = await startAgent(config, server.adminToken, ['--container-engine', engine.address]);
  }, 120_000);

  afterAll(async () => {
    await stopAgent(agent);
    if (server.child) await server.kill('SIGKILL');
    await engine?.stop();
  });

  async function trigger(name: string, target: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> {
    const created = await server.api('POST', '/api/v1/tasks', {
      name, schedule: { manual: true }, target: { type: 'container', group: 'boxes', image: TEST_IMAGE, pull: 'never', ...target }, ...extra,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const run = await server.api('POST', `/api/v1/tasks/${created.body.id}/trigger`, {});
    expect(run.status, JSON.stringify(run.body)).toBe(201);
    return run.body.id as string;
  }

  async function waitRun(runId: string, until = (run: any) => FINAL.includes(run.status)): Promise<any> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const res = await server.api('GET', `/api/v1/runs/${runId}`);
      if (res.status === 200 && until(res.body)) return res.body;
      if (Date.now() > deadline) throw new Error(`run ${runId}: ${JSON.stringify(res.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it('says it runs containers, and runs one with its output in the log and its exit code as the outcome', async () => {
    expect(agent.line).toMatch(/containers on default \(1 image pattern\)/);
    const runId = await trigger('on-agent', { command: ['sh', '-c', 'echo "ns=$ECRON_NAMESPACE task=$ECRON_TASK"; exit 3'] });
    const run = await waitRun(runId);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/exit code 3/);
    expect(run.attempts[0].executor).toBe('box-agent');
    const logs = await server.api('GET', `/api/v1/runs/${runId}/logs`);
    expect(logs.body.items.map((l: { message: string }) => l.message)).toContain('ns=default task=on-agent');
    expect(await engine.containers(`io.ecron.run=${runId}`)).toEqual([]);
  });

  it('refuses an image outside the agent\'s allowlist without creating anything', async () => {
    const runId = await trigger('other-image', { image: 'localhost/not-allowed:1' });
    const run = await waitRun(runId);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/IMAGE_NOT_ALLOWED/);
  });

  it('stops the container on cancel', async () => {
    const runId = await trigger('long', { command: ['sleep', '600'] });
    await expect.poll(() => engine.containers(`io.ecron.run=${runId}`), { timeout: 30_000 }).toHaveLength(1);
    const res = await server.api('POST', `/api/v1/runs/${runId}/cancel`, {});
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    expect((await waitRun(runId)).status).toBe('cancelled');
    await expect.poll(() => engine.containers(`io.ecron.run=${runId}`), { timeout: 30_000 }).toEqual([]);
  });

  it('refuses routing without a group', async () => {
    const res = await server.api('POST', '/api/v1/tasks', {
      name: 'no-group', schedule: { manual: true }, target: { type: 'container', image: TEST_IMAGE, routing: { strategy: 'random' } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.issues).toContainEqual(expect.objectContaining({ path: 'target.routing' }));
  });
});
