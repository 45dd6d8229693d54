import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunRequest } from '@ecron/contracts';
import { Allowlist } from '../../src/agent/allowlist.ts';
import { createShellHandler, type LogLevel, type ShellRunContext } from '../../src/agent/shell-handler.ts';

/** Live (non-zombie) processes of group `pgid`, as `ps` lists them. */
function groupMembers(pgid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,stat='], { encoding: 'utf8' });
  return out.split('\n').map((line) => line.trim().split(/\s+/)).filter((f) => Number(f[1]) === pgid && f[2] && !f[2].startsWith('Z')).map((f) => Number(f[0]));
}

/** True while `pid` is a live (non-zombie) process. */
function alive(pid: number): boolean {
  try {
    const stat = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return stat !== '' && !stat.startsWith('Z');
  } catch {
    return false; // ps exits 1 when the pid does not exist
  }
}

/** Polls `condition` until it holds; fails after `timeoutMs`. */
async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface LogLine { message: string; level: LogLevel }

function context(command: string, overrides: Partial<ShellRunContext> = {}): ShellRunContext & { logs: LogLine[]; abort: AbortController } {
  const abort = new AbortController();
  const logs: LogLine[] = [];
  const request: RunRequest = {
    runId: 'run-1', taskId: 'task-1', namespace: 'default', task: 'shell-test', scheduledAt: '2026-01-02T03:04:05.000Z',
    attempt: 2, params: { day: '2026-01-02', n: 3 }, shard: { index: 1, total: 4 }, deadline: null,
    callback: { url: 'http://127.0.0.1:1/cb', token: 't' }, group: 'ops', handler: 'shell', command,
  };
  return {
    runId: request.runId, attempt: request.attempt, params: request.params, shard: request.shard,
    signal: abort.signal, log: (message, level = 'info') => void logs.push({ message, level }),
    request, logs, abort, ...overrides,
  };
}

const spawned = new Map<string, number>();
const workingDir = realpathSync(mkdtempSync(join(tmpdir(), 'ecron-agent-')));

function handler(allow: string[], options: { killGraceMs?: number; maxConcurrency?: number; env?: Record<string, string>; baseEnv?: Record<string, string> } = {}) {
  return createShellHandler({
    allowlist: new Allowlist(allow), workingDir, baseEnv: options.baseEnv ?? { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    env: options.env ?? {}, killGraceMs: options.killGraceMs ?? 5000, maxConcurrency: options.maxConcurrency ?? 4,
    onSpawn: (runId, pid) => spawned.set(runId, pid),
  });
}

afterEach(() => {
  // Never leave a test's processes behind, whatever happened.
  for (const pid of spawned.values()) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
  }
  spawned.clear();
});

describe('the allowlist guards what runs', () => {
  it('a command outside the allowlist is refused and nothing runs', async () => {
    const file = join(workingDir, 'should-not-exist');
    const ctx = context(`touch ${file}`);
    await expect(handler(['true', 'touch /elsewhere']) (ctx)).rejects.toThrow(`COMMAND_NOT_ALLOWED: "touch ${file}" is not in this agent's allowlist`);
    expect(ctx.logs).toEqual([{ message: `COMMAND_NOT_ALLOWED: "touch ${file}" is not in this agent's allowlist`, level: 'error' }]);
    expect(spawned.size).toBe(0);
    expect(existsSync(file)).toBe(false);
  });

  it('an allowed prefix followed by a shell operator is refused and nothing runs', async () => {
    const file = join(workingDir, 'injected');
    const ctx = context(`true x; touch ${file}`);
    await expect(handler(['true *', 'touch *'])(ctx)).rejects.toThrow('COMMAND_NOT_ALLOWED');
    expect(ctx.logs[0]).toMatchObject({ level: 'error', message: expect.stringContaining('the shell operator ";"') });
    expect(spawned.size).toBe(0);
    expect(existsSync(file)).toBe(false);
  });

  it('an allowed command runs (the same command line that would be refused elsewhere creates its file)', async () => {
    const file = join(workingDir, 'created');
    await expect(handler(['touch *'])(context(`touch ${file}`))).resolves.toEqual({ exitCode: 0 });
    expect(existsSync(file)).toBe(true);
  });

  it('a request without a command fails', async () => {
    const ctx = context('');
    await expect(handler(['true'])(ctx)).rejects.toThrow('COMMAND_MISSING');
  });
});

describe('output and outcome', () => {
  it('stdout lines reach the log at info and stderr lines at warn, each stream in order', async () => {
    const ctx = context(`sh -c 'for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done; printf "last without newline"'`);
    await expect(handler(['sh -c *'])(ctx)).resolves.toEqual({ exitCode: 0 });
    const output = ctx.logs.filter((l) => l.level !== 'debug');
    expect(output.filter((l) => l.level === 'info').map((l) => l.message)).toEqual(['out1', 'out2', 'out3', 'out4', 'out5', 'last without newline']);
    expect(output.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual(['err1', 'err2', 'err3', 'err4', 'err5']);
    expect(ctx.logs[0]).toMatchObject({ level: 'debug', message: expect.stringContaining('allowed by "sh -c *"') });
  });

  it('a long line is cut at 16 KiB, and lines of any size after it come through', async () => {
    const ctx = context(`sh -c 'head -c 100000 /dev/zero | tr "\\0" a; echo; echo after'`);
    await expect(handler(['sh -c *'])(ctx)).resolves.toEqual({ exitCode: 0 });
    const info = ctx.logs.filter((l) => l.level === 'info').map((l) => l.message);
    expect(info).toHaveLength(2);
    expect(Buffer.byteLength(info[0]!)).toBeLessThanOrEqual(16 * 1024);
    expect(info[0]).toMatch(/^a+ …\[\d+ bytes truncated\]$/);
    const kept = info[0]!.indexOf(' ');
    expect(kept + Number(/\[(\d+) bytes/.exec(info[0]!)![1])).toBe(100_000);
    expect(info[1]).toBe('after');
  });

  it.each([
    ['true', { exitCode: 0 }],
    [`sh -c 'exit 0'`, { exitCode: 0 }],
  ])('%s succeeds with %j', async (command, output) => {
    await expect(handler(['true', 'sh -c *'])(context(command))).resolves.toEqual(output);
  });

  it.each([
    [`sh -c 'exit 3'`, 'exit code 3'],
    ['false', 'exit code 1'],
    [`sh -c 'kill -KILL $$'`, 'killed by SIGKILL'],
    [`sh -c 'kill -TERM $$'`, 'killed by SIGTERM'],
  ])('%s fails with %j', async (command, error) => {
    await expect(handler(['false', 'sh -c *'])(context(command))).rejects.toThrow(new Error(error));
  });

  it('a program that does not exist fails the run with a clear message', async () => {
    const ctx = context('no-such-program-ecron --x');
    await expect(handler(['no-such-program-ecron *'])(ctx)).rejects.toThrow('cannot start "no-such-program-ecron": no such file (or not found on PATH) (ENOENT)');
    expect(ctx.logs.at(-1)).toMatchObject({ level: 'error', message: expect.stringContaining('ENOENT') });
  });

  it('runs in the working directory with the run\'s variables, the config\'s env, and without the agent\'s token', async () => {
    const ctx = context(`sh -c 'pwd; echo "$ECRON_RUN_ID $ECRON_TASK_ID $ECRON_ATTEMPT $ECRON_SHARD_INDEX/$ECRON_SHARD_TOTAL $ECRON_SCHEDULED_AT"; echo "$ECRON_PARAMS"; echo "token=\${ECRON_TOKEN:-none} extra=$EXTRA base=$BASE"'`);
    const run = handler(['sh -c *'], { env: { EXTRA: 'from-config' }, baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin', BASE: 'inherited', ECRON_TOKEN: 'secret-token' } });
    await expect(run(ctx)).resolves.toEqual({ exitCode: 0 });
    expect(ctx.logs.filter((l) => l.level === 'info').map((l) => l.message)).toEqual([
      workingDir,
      'run-1 task-1 2 1/4 2026-01-02T03:04:05.000Z',
      '{"day":"2026-01-02","n":3}',
      'token=none extra=from-config base=inherited',
    ]);
  });
});

describe('stopping a command', () => {
  it('abort kills the whole process group: the command, its children and grandchildren', async () => {
    const ctx = context(`sh -c 'sleep 300 & sleep 300; :'`);
    const running = handler(['sh -c *'])(ctx);
    const settled = running.catch((error: Error) => error);
    await waitFor(() => spawned.has('run-1') && groupMembers(spawned.get('run-1')!).length === 3, 5000, 'sh and its two sleeps');
    const pgid = spawned.get('run-1')!;
    const members = groupMembers(pgid);
    expect(members).toContain(pgid);
    ctx.abort.abort();
    const error = await settled;
    expect(error).toEqual(new Error('killed by SIGTERM'));
    await waitFor(() => members.every((pid) => !alive(pid)), 10_000, 'every process of the group to be gone');
    expect(groupMembers(pgid)).toEqual([]);
  });

  it('a group that ignores SIGTERM gets SIGKILL after killGraceMs', async () => {
    const ctx = context(`sh -c 'trap "" TERM; sleep 300 & sleep 300; :'`);
    const running = handler(['sh -c *'], { killGraceMs: 300 })(ctx).catch((error: Error) => error);
    await waitFor(() => spawned.has('run-1') && groupMembers(spawned.get('run-1')!).length === 3, 5000, 'sh and its two sleeps');
    const members = groupMembers(spawned.get('run-1')!);
    const abortedAt = Date.now();
    ctx.abort.abort();
    expect(await running).toEqual(new Error('killed by SIGKILL'));
    expect(Date.now() - abortedAt).toBeGreaterThanOrEqual(300);
    expect(members.filter(alive)).toEqual([]);
  });

  it('processes a command leaves behind in its group are terminated when it exits', async () => {
    const ctx = context(`sh -c 'sleep 300 >/dev/null 2>&1 & echo $!'`);
    await expect(handler(['sh -c *'])(ctx)).resolves.toEqual({ exitCode: 0 });
    const leftover = Number(ctx.logs.find((l) => l.level === 'info')!.message);
    expect(leftover).toBeGreaterThan(0);
    expect(alive(leftover)).toBe(false);
    expect(ctx.logs).toContainEqual({ level: 'warn', message: expect.stringContaining('left processes running') });
  });

  it('an aborted run waiting for a slot never starts', async () => {
    const run = handler(['sh -c *'], { maxConcurrency: 1 });
    const first = context(`sh -c 'sleep 300'`, { runId: 'first' });
    const second = context(`sh -c 'sleep 300'`, { runId: 'second' });
    const firstDone = run(first).catch((error: Error) => error);
    await waitFor(() => spawned.has('first'), 5000, 'the first run to start');
    const secondDone = run(second).catch((error: Error) => error);
    second.abort.abort();
    expect(await secondDone).toEqual(new Error('aborted while waiting for a free slot (all 1 in use)'));
    expect(spawned.has('second')).toBe(false);
    first.abort.abort();
    expect(await firstDone).toEqual(new Error('killed by SIGTERM'));
  });
});
