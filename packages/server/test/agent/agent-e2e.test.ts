/**
 * `ecron agent` end to end: a real `ecron start` server, a real `ecron agent` process, shell tasks
 * created and triggered through the REST API.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, stopAgent } from '../support/agent-process.ts';
import { ECRON, NODE, ServerProcess, tempDataDir } from '../support/server-process.ts';

const TERMINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost']);

/** Live (non-zombie) processes of group `pgid`, as `ps` lists them. */
function groupMembers(pgid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,stat='], { encoding: 'utf8' });
  return out.split('\n').map((line) => line.trim().split(/\s+/)).filter((f) => Number(f[1]) === pgid && f[2] && !f[2].startsWith('Z')).map((f) => Number(f[0]));
}

/** Polls `probe` until it returns a value; fails after `timeoutMs`. */
async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('ecron agent with a real server', () => {
  const server = new ServerProcess(tempDataDir('ecron-agent-e2e-'));
  let agent: Awaited<ReturnType<typeof startAgent>>;
  let workDir: string;

  beforeAll(async () => {
    await server.start();
    workDir = server.dataDir;
    const config = join(workDir, 'agent.yaml');
    writeFileSync(config, [
      `server: ${server.url}`,
      'group: ops',
      'id: agent-e2e',
      'killGraceMs: 2s',
      'allow:',
      '  - { command: "sh -c *", allowDangerous: true }',
      '  - echo *',
      '',
    ].join('\n'));
    agent = await startAgent(config, server.adminToken);
  }, 60_000);

  afterAll(async () => {
    await stopAgent(agent);
    if (server.child) await server.kill('SIGKILL');
  });

  /** Creates a manual shell task and triggers it; returns the run id. */
  async function triggerShell(name: string, command: string, extra: Record<string, unknown> = {}): Promise<string> {
    const created = await server.api('POST', '/api/v1/tasks', {
      name, schedule: { manual: true }, target: { type: 'shell', group: 'ops', command }, retry: { maxAttempts: 1 }, ...extra,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const run = await server.api('POST', `/api/v1/tasks/${created.body.id}/trigger`, {});
    expect(run.status, JSON.stringify(run.body)).toBeLessThan(300);
    return run.body.id as string;
  }

  async function finished(runId: string, timeoutMs = 15_000): Promise<any> {
    return waitFor(async () => {
      const run = await server.api('GET', `/api/v1/runs/${runId}`);
      return TERMINAL.has(run.body.status) ? run.body : undefined;
    }, timeoutMs, `run ${runId} to finish`);
  }

  async function logs(runId: string): Promise<{ level: string; message: string }[]> {
    return (await server.api('GET', `/api/v1/runs/${runId}/logs`)).body.items;
  }

  it('registers in its group and prints one start line', async () => {
    expect(agent.line).toMatch(/^ecron agent \S+: group ops, id agent-e2e, listening on http:\/\/127\.0\.0\.1:\d+\/?, 2 allowlist entries$/);
    // The dangerous entry kept on purpose is said before the start line (F9).
    expect(agent.stderr()).toMatch(/^ecron agent: warning: allow\[0\]\.command: "sh -c \*" is allowed with allowDangerous: true, although .* sh, which runs the shell code/m);
    expect(agent.stderr()).not.toContain(server.adminToken);
    const executors = await server.api('GET', '/api/v1/executors');
    expect(executors.body.items).toContainEqual(expect.objectContaining({ id: 'agent-e2e', group: 'ops', handlers: ['shell'], alive: true }));
  });

  it('runs an allowed command: the run succeeds and its log has the output', async () => {
    const runId = await triggerShell('hello', `sh -c 'echo "hello from $ECRON_RUN_ID"; echo "to stderr" >&2'`);
    const run = await finished(runId);
    expect(run).toMatchObject({ status: 'succeeded', output: { exitCode: 0 } });
    const lines = await logs(runId);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'info', message: `hello from ${runId}` }));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'to stderr' }));
  });

  it('a non-zero exit fails the run with its exit code', async () => {
    const run = await finished(await triggerShell('exit-3', `sh -c 'exit 3'`));
    expect(run.status).toBe('failed');
    expect(run.error).toContain('exit code 3');
  });

  it('refuses a command outside the allowlist: the run fails with COMMAND_NOT_ALLOWED and nothing runs', async () => {
    const file = join(workDir, 'must-not-exist');
    const command = `touch ${file}`;
    const run = await finished(await triggerShell('not-allowed', command));
    expect(run.status).toBe('failed');
    expect(run.error).toContain(`COMMAND_NOT_ALLOWED: "${command}" is not in this agent's allowlist`);
    expect(run.attempts[0].error).toContain('COMMAND_NOT_ALLOWED');
    expect(await logs(run.id)).toContainEqual(expect.objectContaining({ level: 'error', message: `COMMAND_NOT_ALLOWED: "${command}" is not in this agent's allowlist` }));
    expect(existsSync(file)).toBe(false);
  });

  it('refuses an allowed prefix with a shell operator after it', async () => {
    const file = join(workDir, 'injected');
    const run = await finished(await triggerShell('injection', `echo hi; touch ${file}`));
    expect(run.status).toBe('failed');
    expect(run.error).toContain('COMMAND_NOT_ALLOWED');
    expect(existsSync(file)).toBe(false);
  });

  it('a deadline (timeoutMs) kills the command and its children', async () => {
    const runId = await triggerShell('deadline', `sh -c 'echo "pgid $$"; sleep 300 & sleep 300; :'`, { timeoutMs: 3000 });
    const pgid = await waitFor(async () => {
      const line = (await logs(runId)).find((l) => l.message.startsWith('pgid '));
      return line ? Number(line.message.slice(5)) : undefined;
    }, 10_000, 'the command to print its pid');
    const members = await waitFor(() => {
      const found = groupMembers(pgid);
      return found.length === 3 ? found : undefined;
    }, 5000, 'sh and its two sleeps');
    const run = await finished(runId);
    expect(run.status).toBe('timed_out');
    await waitFor(() => (groupMembers(pgid).length === 0 ? true : undefined), 15_000, 'the process group to be gone');
    // Each of them is gone, or a zombie left to a PID 1 that does not reap (a container's).
    for (const pid of members) expect(spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim()).toMatch(/^(Z.*)?$/);
  });

  it.each([['pull', 'pulling'], ['stream', 'streaming']] as const)('runs in %s mode too (%s runs, no port of its own)', async (mode, verb) => {
    const config = join(workDir, `agent-${mode}.yaml`);
    writeFileSync(config, `server: ${server.url}\ngroup: ops-${mode}\nid: agent-${mode}\nmode: ${mode}\nallow: ["echo *"]\n`);
    const agent = await startAgent(config, server.adminToken);
    try {
      expect(agent.line).toMatch(new RegExp(`group ops-${mode}, id agent-${mode}, ${verb} runs from http://127\\.0\\.0\\.1:\\d+, 1 allowlist entry$`));
      const created = await server.api('POST', '/api/v1/tasks', {
        name: `${mode}ed`, schedule: { manual: true }, target: { type: 'shell', group: `ops-${mode}`, command: `echo "${mode}ed, not pushed"` }, retry: { maxAttempts: 1 },
      });
      const run = await finished((await server.api('POST', `/api/v1/tasks/${created.body.id}/trigger`, {})).body.id);
      expect(run).toMatchObject({ status: 'succeeded', output: { exitCode: 0 } });
      expect(await logs(run.id)).toContainEqual(expect.objectContaining({ level: 'info', message: `${mode}ed, not pushed` }));
    } finally {
      const exited = new Promise((resolve) => agent.child.once('exit', resolve));
      agent.child.kill('SIGTERM');
      await exited;
    }
  });

  it('on SIGTERM, a command still running after shutdownGraceMs is stopped with its process group, and the agent exits 0', async () => {
    const config = join(workDir, 'agent-stop.yaml');
    writeFileSync(config, `server: ${server.url}\ngroup: ops-stop\nid: agent-stop\nshutdownGraceMs: 500ms\nkillGraceMs: 1s\nallow: [{ command: "sh -c *", allowDangerous: true }]\n`);
    const stopping = await startAgent(config, server.adminToken);
    const created = await server.api('POST', '/api/v1/tasks', {
      name: 'long', schedule: { manual: true }, target: { type: 'shell', group: 'ops-stop', command: `sh -c 'echo "pgid $$"; sleep 300 & sleep 300'` }, retry: { maxAttempts: 1 },
    });
    const runId = (await server.api('POST', `/api/v1/tasks/${created.body.id}/trigger`, {})).body.id;
    const pgid = await waitFor(async () => {
      const line = (await logs(runId)).find((l) => l.message.startsWith('pgid '));
      return line ? Number(line.message.slice(5)) : undefined;
    }, 10_000, 'the command to print its pid');
    await waitFor(() => (groupMembers(pgid).length === 3 ? true : undefined), 5000, 'sh and its two sleeps');
    const exited = new Promise<number | null>((resolve) => stopping.child.once('exit', (code) => resolve(code)));
    stopping.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(groupMembers(pgid)).toEqual([]);
  });

  it('an entry whose * reaches dangerous options exits 2 with DANGEROUS_ALLOWLIST_ENTRY, before registering (F9)', async () => {
    const config = join(workDir, 'agent-find.yaml');
    writeFileSync(config, `server: ${server.url}\ngroup: ops-find\nid: agent-find\nallow: ["find /data -name *"]\n`);
    const result = spawnSync(NODE, [ECRON, 'agent', '--config', config], { encoding: 'utf8', env: { ...process.env, ECRON_TOKEN: server.adminToken }, timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^ecron: AGENT_CONFIG_INVALID: .*agent-find\.yaml is invalid \(1 issue\)$/m);
    expect(result.stderr).toMatch(/^ {2}allow\[0\]: "find \/data -name \*" is refused: the final "\*" lets the server add any arguments to find, which takes -exec/m);
    const json = spawnSync(NODE, [ECRON, '--json', 'agent', '--config', config], { encoding: 'utf8', env: { ...process.env, ECRON_TOKEN: server.adminToken }, timeout: 20_000 });
    expect(json.status).toBe(2);
    expect(JSON.parse(json.stderr).error).toMatchObject({ code: 'AGENT_CONFIG_INVALID', details: { issues: [{ path: 'allow[0]', code: 'DANGEROUS_ALLOWLIST_ENTRY' }] } });
    const executors = await server.api('GET', '/api/v1/executors');
    expect(executors.body.items.filter((e: any) => e.id === 'agent-find')).toEqual([]);
  });

  it('a bad config exits 2 with AGENT_CONFIG_INVALID and the field paths, before registering', () => {
    const config = join(workDir, 'agent-bad.yaml');
    writeFileSync(config, `server: ${server.url}\ngroup: ops\nlisten: { port: 70000 }\nallow: ["ls | wc -l"]\n`);
    const result = spawnSync(NODE, [ECRON, 'agent', '--config', config], { encoding: 'utf8', env: { ...process.env, ECRON_TOKEN: server.adminToken }, timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^ecron: AGENT_CONFIG_INVALID: .*agent-bad\.yaml is invalid \(2 issues\)$/m);
    expect(result.stderr).toMatch(/^ {2}listen\.port: /m);
    expect(result.stderr).toMatch(/^ {2}allow\[0\]: "ls \| wc -l" cannot be an allowlist entry: it contains the shell operator "\|"/m);
    expect(result.stderr).not.toContain(server.adminToken);
  });

  it('stops gracefully on SIGTERM: it leaves the registry and exits 0', async () => {
    const exited = new Promise<number | null>((resolve) => agent.child.once('exit', (code) => resolve(code)));
    agent.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(agent.stderr()).toContain('ecron agent: stopped');
    const executors = await server.api('GET', '/api/v1/executors');
    expect(executors.body.items.filter((e: any) => e.id === 'agent-e2e' && e.alive)).toEqual([]);
  });
});
