/**
 * SIGTERM with SDK executors connected, in push and pull mode: the server's documented drain is
 * 10 s for requests in flight; executors' open requests (pull long polls, reports, heartbeats)
 * must not hold the exit past it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Executor } from '@ecron/sdk';
import { ServerProcess, tempDataDir } from '../support/server-process.ts';

let server: ServerProcess | null = null;
const executors: Executor[] = [];
afterEach(async () => {
  for (const e of executors.splice(0)) await e.stop().catch(() => {});
  await server?.kill('SIGKILL').catch(() => {});
  server = null;
});

describe('SIGTERM with executors connected', () => {
  it('answers the pull polls, hands back the run still going after the grace period, and exits', async () => {
    server = new ServerProcess(tempDataDir());
    await server.start();
    const hanging = new Promise<void>(() => {});
    let started!: () => void;
    const runStarted = new Promise<void>((resolve) => { started = resolve; });
    const push = new Executor({ server: server.url, token: server.adminToken, group: 'push', id: 'push-1' }).handle('hang', async () => { started(); await hanging; });
    const pull = new Executor({ server: server.url, token: server.adminToken, group: 'pull', id: 'pull-1', mode: 'pull', pollWaitMs: 30_000 }).handle('noop', () => 'ok');
    executors.push(push, pull);
    await push.start();
    await pull.start();
    const task = await server.api('POST', '/api/v1/tasks', { name: 'hang', schedule: { manual: true }, target: { type: 'executor', group: 'push', handler: 'hang' } });
    const run = await server.api('POST', `/api/v1/tasks/${task.body.id}/trigger`);
    await runStarted;
    const termAt = Date.now();
    const code = await server.kill('SIGTERM');
    expect(code).toBe(0);
    // The drain gives the hanging run 10 s; the pull node's open 30 s poll must not hold the exit
    // beyond it (it did: ~20-30 s). The bound leaves 10 s for a loaded machine.
    expect(Date.now() - termAt).toBeLessThan(20_000);
    await server.start();
    const after = await server.api('GET', `/api/v1/runs/${run.body.id}`);
    expect(after.body.attempts[0]).toMatchObject({ status: 'lost', error: 'handed back at shutdown' });
  }, 90_000);
});
