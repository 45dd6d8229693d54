import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLogAppends } from '../../src/core/run-log-signal.ts';
import { ApiHarness } from '../api/api-harness.ts';
import { ECRON_BIN, NODE, runCli, tempDir } from './cli-harness.ts';

/**
 * The CLI against the real REST API (buildApp over the SQLite store and the scheduler) listening
 * on a local port. The server clock is the harness's manual clock at 2026-01-01T00:00:00Z.
 */

let h: ApiHarness;
let server = '';
let dir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  h = await new ApiHarness().start();
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  server = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  dir = tempDir();
});
afterAll(async () => {
  await h?.close();
  dir?.cleanup();
});

/** The CLI as the admin, unless `token` is given. */
const ecron = (args: string[], options: { token?: string | null; input?: string; env?: Record<string, string>; cwd?: string } = {}) => {
  const token = options.token === undefined ? h.admin : options.token;
  return runCli([...args, '--server', server, ...(token === null ? [] : ['--token', token])], options);
};

function file(name: string, text: string): string {
  const path = join(dir.path, name);
  writeFileSync(path, text);
  return path;
}

describe('ecron CLI against the real API', () => {
  it('creates, lists, shows, previews, updates, pauses, resumes and deletes a task', async () => {
    const spec = file('report.yaml', [
      'namespace: cli', 'name: nightly-report', 'schedule:', '  cron: "0 30 2 * * *"', '  timezone: Asia/Shanghai',
      'target:', `  type: http`, `  url: ${h.executorUrl}/run`, 'overlap: skip', 'params: { report: daily }', '',
    ].join('\n'));
    const created = await ecron(['task', 'create', '-f', spec]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    // 02:30 in Shanghai is 18:30 UTC of the day before; the clock is at 2026-01-01T00:00Z.
    expect(created.stdout).toMatch(/^created task cli\/nightly-report \([0-9a-f-]{36}\)\nnext fire: 2026-01-01T18:30:00Z\n$/);
    const id = /\(([0-9a-f-]{36})\)/.exec(created.stdout)![1]!;

    const list = await ecron(['task', 'list', '--namespace', 'cli']);
    expect(list.stdout).toMatch(new RegExp(`^${id} +cli +nightly-report +active +cron 0 30 2 \\* \\* \\* \\(Asia/Shanghai\\) +2026-01-01T18:30:00Z +-$`, 'm'));

    const json = await ecron(['task', 'get', 'cli/nightly-report', '--json']);
    const api = (await h.call('GET', `/api/v1/tasks/${id}`)).json();
    expect(JSON.parse(json.stdout)).toEqual(api);

    const byName = await ecron(['task', 'get', 'nightly-report']);
    expect(byName.stdout).toMatch(new RegExp(`^id: +${id}$`, 'm'));
    expect(byName.stdout).toMatch(/^ {2}overlap: skip$/m);

    const preview = await ecron(['task', 'preview', id, '--count', '2']);
    expect(preview.stdout).toBe('next 2 fires of cli/nightly-report (timezone Asia/Shanghai):\n'
      + '2026-01-01T18:30:00Z  (2026-01-02 02:30:00 Asia/Shanghai)\n'
      + '2026-01-02T18:30:00Z  (2026-01-03 02:30:00 Asia/Shanghai)\n');

    const changed = file('report.json', JSON.stringify({ ...api.spec, schedule: { every: '10m' } }));
    const conflict = await ecron(['task', 'update', id, '-f', changed, '--revision', '7']);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/^ecron: TASK_VERSION_CONFLICT: /);
    const updated = await ecron(['task', 'update', 'cli/nightly-report', '-f', changed, '--revision', '1']);
    expect(updated.stderr).toBe('');
    expect(updated.stdout).toMatch(/^updated task cli\/nightly-report \(.+\) to revision 2\nnext fire: 2026-01-01T00:10:00Z\n$/);

    expect((await ecron(['task', 'pause', id])).stdout).toMatch(/^paused task cli\/nightly-report \(.+\); state: paused, next fire: -\n$/);
    expect((await h.call('GET', `/api/v1/tasks/${id}`)).json().state).toBe('paused');
    expect((await ecron(['task', 'list', '--namespace', 'cli', '--state', 'paused', '--json'])).stdout).toContain(id);
    expect((await ecron(['task', 'resume', id])).stdout).toMatch(/^resumed task cli\/nightly-report .*state: active/);

    const deleted = await ecron(['task', 'delete', 'cli/nightly-report', '--yes']);
    expect(deleted.stdout).toBe(`deleted task cli/nightly-report (${id})\n`);
    const gone = await ecron(['task', 'get', id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe(`ecron: TASK_NOT_FOUND: no task with id or name "${id}"\n`);
  });

  it('prints the field issues of an invalid spec, one per line', async () => {
    const bad = file('bad.json', JSON.stringify({ name: 'Bad Name!', schedule: { cron: '61 * * * *' }, target: { type: 'http', url: 'ftp://x' }, surprise: 1 }));
    const result = await ecron(['task', 'create', '-f', bad]);
    expect(result.code).toBe(1);
    const [first, ...issues] = result.stderr.trimEnd().split('\n');
    // The issues are listed once, below a short first line.
    expect(first).toBe(`ecron: VALIDATION_FAILED: the request is invalid (${issues.length} issues)`);
    expect(issues.length).toBeGreaterThanOrEqual(3);
    for (const line of issues) expect(line).toMatch(/^ {2}\S+: .+/);
    expect(issues.map((l) => l.trim().split(':')[0])).toEqual(expect.arrayContaining(['name', 'schedule.cron', 'surprise']));
    expect(await h.taskCount()).toBe(0);
  });

  it('triggers a task with params, lists its runs and shows the finished run', async () => {
    h.executor.behaviours.set('/ok', () => ({ status: 200, body: { rows: 42 } }));
    const task = await h.createTask({ name: 'on-demand', target: { type: 'http', url: `${h.executorUrl}/ok` }, params: { size: 1 } });
    const triggered = await ecron(['task', 'trigger', 'default/on-demand', '--param', 'size=2', '--param', 'label="2"', '--params', '{"deep":{"a":1}}', '--json']);
    expect(triggered.code).toBe(0);
    const run = JSON.parse(triggered.stdout);
    expect(run).toMatchObject({ taskId: task.id, trigger: 'manual', params: { size: 2, label: '2', deep: { a: 1 } } });
    await h.ended(run.id);

    const runs = await ecron(['run', 'list', '--task', 'on-demand']);
    expect(runs.stdout).toMatch(new RegExp(`^${run.id} +default/on-demand +succeeded +manual `, 'm'));
    const shown = await ecron(['run', 'get', run.id]);
    expect(shown.stdout).toMatch(/^status: +succeeded$/m);
    expect(shown.stdout).toMatch(/^output: +\{"rows":42\}$/m);
    expect(shown.stdout).toMatch(/^attempts:\n {2}# +STATUS/m);
    const missing = await ecron(['run', 'get', 'no-such-run']);
    expect(missing.stderr).toMatch(/^ecron: RUN_NOT_FOUND: /);
  });

  it('reruns a finished run with its params or edited ones, and clones a task', async () => {
    h.executor.behaviours.set('/ok', () => ({ status: 200, body: {} }));
    const task = await h.createTask({ name: 'repeatable', target: { type: 'http', url: `${h.executorUrl}/ok` }, params: { size: 1, day: 'mon' } });
    const first = (await h.call('POST', `/api/v1/tasks/${task.id}/trigger`, { body: { params: { size: 2 } } })).json();
    await h.ended(first.id);

    const same = await ecron(['run', 'rerun', first.id]);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(new RegExp(`^run ${first.id} runs again as run \\S+ \\(dispatched\\)\n$`));
    const edited = await ecron(['run', 'rerun', first.id, '--param', 'size=3', '--json']);
    expect(JSON.parse(edited.stdout)).toMatchObject({ taskId: task.id, trigger: 'manual', params: { size: 3, day: 'mon' } });
    const replaced = await ecron(['run', 'rerun', first.id, '--params', '{"only":true}', '--json']);
    expect(JSON.parse(replaced.stdout).params).toEqual({ only: true });
    const active = (await h.call('POST', `/api/v1/tasks/${task.id}/trigger`)).json();
    await h.executor.next((r) => r.body.runId === active.id);
    const bad = await ecron(['run', 'rerun', first.id, '--param', 'nokey']);
    expect(bad.code).toBe(2);

    const cloned = await ecron(['task', 'clone', 'repeatable', '--name', 'repeatable-2', '--json']);
    expect(cloned.code).toBe(0);
    expect(JSON.parse(cloned.stdout)).toMatchObject({ name: 'repeatable-2', namespace: 'default', spec: { params: { size: 1, day: 'mon' } } });
    const taken = await ecron(['task', 'clone', 'repeatable', '--name', 'repeatable-2']);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/^ecron: TASK_NAME_TAKEN: /);
  });

  it('follows the log stream of a running run, line by line, across a dropped connection, until it finishes', async () => {
    h.executor.behaviours.set('/async', () => ({ status: 202 }));
    const task = await h.createTask({ name: 'async-job', target: { type: 'http', url: `${h.executorUrl}/async` } });
    const run = (await h.call('POST', `/api/v1/tasks/${task.id}/trigger`)).json();
    const received = await h.executor.next((r) => r.body.runId === run.id);
    const report = (body: unknown) => h.call('POST', `/api/v1/runs/${run.id}/report`, { token: received.body.callback.token, body });
    expect((await report({ attempt: 1, seq: 0, status: 'running', logs: [{ message: 'starting' }] })).statusCode).toBe(200);

    // The server side of each log stream the CLI opens, to cut one.
    const streams: ServerResponse[] = [];
    const onRequest = (req: IncomingMessage, res: ServerResponse) => { if (req.url?.includes('/logs')) streams.push(res); };
    h.app.server.on('request', onRequest);
    /** How often a follower of this run has waited (its poll timer armed) after the last line, seq 4. */
    let waitsAfterLast = 0;
    let onWait: (() => void) | null = null;
    const onWaiting = (runId: string, afterSeq: number) => {
      if (runId !== run.id || afterSeq !== 4) return;
      waitsAfterLast += 1;
      onWait?.();
    };
    const waitedAfterLast = (n: number) => new Promise<void>((resolve) => {
      onWait = () => { if (waitsAfterLast >= n) resolve(); };
      onWait();
    });
    runLogAppends.followers.on('waiting', onWaiting);

    const child = spawn(NODE, [ECRON_BIN, 'run', 'logs', run.id, '--follow', '--server', server, '--token', h.admin], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
    child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    /** Resolves once the CLI has printed `text` (checked on each chunk it writes, no polling). */
    const printed = (text: string) => new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!stdout.includes(text)) return;
        child.stdout.off('data', check);
        resolve();
      };
      child.stdout.on('data', check);
      child.once('close', () => reject(new Error(`exited before printing ${text}; stdout: ${stdout}; stderr: ${stderr}`)));
      check();
    });
    try {
      await printed('starting');
      expect((await report({ attempt: 1, seq: 1, logs: [{ level: 'warn', message: 'halfway' }] })).statusCode).toBe(200);
      await printed('halfway');
      // The connection drops (a proxy, a restarted node): the CLI comes back with Last-Event-ID.
      expect(streams).toHaveLength(1);
      streams[0]!.destroy();
      expect((await report({ attempt: 1, seq: 2, logs: [{ message: 'while away' }] })).statusCode).toBe(200);
      await printed('while away');
      expect(streams).toHaveLength(2);
      expect(streams[1]!.req.headers['last-event-id']).toBe('2');

      expect((await report({ attempt: 1, seq: 3, status: 'succeeded', logs: [{ message: 'finished' }] })).statusCode).toBe(200);
      // A follower that read the status just before it became final waits for its next poll.
      for (let n = 1; await Promise.race([exited.then(() => false), waitedAfterLast(n).then(() => true)]); n++) {
        expect(n).toBeLessThan(5);
        await h.clock.advance(500);
      }
      expect(await exited).toBe(0);
    } finally {
      child.kill();
      h.app.server.off('request', onRequest);
      runLogAppends.followers.off('waiting', onWaiting);
    }
    expect(stdout.split('\n').filter(Boolean).map((l) => l.replace(/^\S+ {2}/, ''))).toEqual(['INFO   #1  starting', 'WARN   #1  halfway', 'INFO   #1  while away', 'INFO   #1  finished']);
    expect(stderr).toMatch(/^\(log stream interrupted: .+; reconnecting in 250ms, try 1\)\n/);
    expect(stderr.split('\n').at(-2)).toBe(`run ${run.id} succeeded`);
  });

  it('cancels a running run, and says so when it has already finished', async () => {
    h.executor.behaviours.set('/slow', () => ({ status: 202 }));
    const task = await h.createTask({ name: 'slow-job', target: { type: 'http', url: `${h.executorUrl}/slow` } });
    const run = (await h.call('POST', `/api/v1/tasks/${task.id}/trigger`)).json();
    await h.executor.next((r) => r.body.runId === run.id);
    const cancelled = await ecron(['run', 'cancel', run.id]);
    expect(cancelled.stdout).toBe(`cancelled run ${run.id}; status: cancelled\n`);
    const again = await ecron(['run', 'cancel', run.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^ecron: RUN_ALREADY_FINISHED: /);
  });
});

describe('ecron CLI tokens against the real API', () => {
  it('creates a scoped token that works, lists it and revokes it', async () => {
    const created = await ecron(['token', 'create', '--name', 'cli-viewer', '--role', 'viewer', '--namespace', 'cli', '--json']);
    expect(created.code).toBe(0);
    const { token, secret } = JSON.parse(created.stdout);
    expect(token).toMatchObject({ name: 'cli-viewer', role: 'viewer', namespaces: ['cli'] });

    expect((await ecron(['task', 'list'], { token: secret })).code).toBe(0);
    const forbidden = await ecron(['task', 'create', '-f', file('viewer.json', JSON.stringify({ namespace: 'cli', name: 'x', schedule: { manual: true }, target: { type: 'http', url: 'http://127.0.0.1:1/' } }))], { token: secret });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/^ecron: FORBIDDEN: /);

    const list = await ecron(['token', 'list']);
    expect(list.stdout).toMatch(new RegExp(`^${token.id} +cli-viewer +viewer +cli `, 'm'));
    const revoked = await ecron(['token', 'revoke', token.id]);
    expect(revoked.stdout).toBe(`revoked token cli-viewer (${token.id})\n`);
    const refused = await ecron(['task', 'list'], { token: secret });
    expect(refused.stderr).toMatch(/^ecron: UNAUTHENTICATED: .+ \(the token came from --token\)\n$/);
  });

  it('uses ./.ecron/admin.token when no token is given, and explains a missing one', async () => {
    const none = await ecron(['task', 'list'], { token: null });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^ecron: UNAUTHENTICATED: .*\(no token was given: pass --token, set ECRON_TOKEN/);
    const cwd = tempDir();
    try {
      mkdirSync(join(cwd.path, '.ecron'));
      writeFileSync(join(cwd.path, '.ecron', 'admin.token'), `${h.admin}\n`, { mode: 0o600 });
      const result = await ecron(['token', 'list', '--json'], { token: null, cwd: cwd.path });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout).items.map((t: { name: string }) => t.name)).toContain('test-admin');
    } finally {
      cwd.cleanup();
    }
  });
});
