import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, type RecordedRequest, runCli, type StubAnswer, type StubServer, startStubServer, taskResource, tempDir } from './cli-harness.ts';

/**
 * The real `ecron` binary with `--json`: every failure (API error, usage error, unreachable
 * server, bad spec file) is printed as the API's `{ "error": { code, message, details? } }` on
 * stderr, nothing on stdout, with the same exit codes as without `--json`.
 */

const TASK_ID = '0190f000-0000-7000-8000-000000000001';
const ISSUES = [{ path: 'schedule.cron', code: 'INVALID_CRON', message: 'bad cron' }, { path: 'name', code: 'REQUIRED', message: 'is required' }];

function routes(req: RecordedRequest): StubAnswer | undefined {
  if (req.method === 'POST' && req.path === '/api/v1/tasks') {
    return { status: 400, body: { error: { code: 'VALIDATION_FAILED', message: 'schedule.cron: bad cron; name: is required', details: { issues: ISSUES } } } };
  }
  if (req.method === 'GET' && req.path === `/api/v1/tasks/${TASK_ID}`) return { body: taskResource() };
  if (req.method === 'POST' && req.path === `/api/v1/tasks/${TASK_ID}/pause`) {
    return { status: 409, body: { error: { code: 'TASK_STATE_CONFLICT', message: 'the task is completed' } } };
  }
  if (req.path === '/api/v1/tokens') return { status: 401, body: { error: { code: 'UNAUTHENTICATED', message: 'a valid bearer token is required' } } };
  if (req.path === '/api/v1/runs') return { status: 502, raw: '<html>bad gateway</html>' };
  return undefined;
}

let stub: StubServer;
beforeAll(async () => {
  stub = await startStubServer(routes);
});
afterAll(async () => {
  await stub.close();
});

/** The one JSON document on stderr; fails the test when stderr holds anything else. */
function jsonError(stderr: string): { error: { code: string; message: string; details?: unknown } } {
  const parsed = JSON.parse(stderr) as { error: { code: string; message: string; details?: unknown } };
  expect(Object.keys(parsed)).toEqual(['error']);
  expect(typeof parsed.error.code).toBe('string');
  expect(typeof parsed.error.message).toBe('string');
  return parsed;
}

describe('ecron CLI --json: failures in the API error form', () => {
  it('prints an API error with its code, message and details, and exits 1', async () => {
    const files = tempDir();
    try {
      writeFileSync(join(files.path, 'bad.yaml'), 'name: x\nschedule: { cron: "nope" }\ntarget: { type: http, url: "http://127.0.0.1:9/" }\n');
      const result = await runCli(['task', 'create', '-f', 'bad.yaml', '--json', '--server', stub.url], { cwd: files.path });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(jsonError(result.stderr)).toEqual({
        error: { code: 'VALIDATION_FAILED', message: 'schedule.cron: bad cron; name: is required', details: { issues: ISSUES } },
      });
    } finally {
      files.cleanup();
    }
  });

  it('leaves details out when the API gave none, and keeps the text form without --json', async () => {
    const json = await runCli(['task', 'pause', TASK_ID, '--json', '--server', stub.url]);
    expect(json.code).toBe(1);
    expect(json.stdout).toBe('');
    expect(jsonError(json.stderr)).toEqual({ error: { code: 'TASK_STATE_CONFLICT', message: 'the task is completed' } });
    const text = await runCli(['task', 'pause', TASK_ID, '--server', stub.url]);
    expect(text.code).toBe(1);
    expect(text.stderr).toBe('ecron: TASK_STATE_CONFLICT: the task is completed\n');
  });

  it('keeps the hint on where the token came from in the message', async () => {
    const result = await runCli(['token', 'list', '--json', '--server', stub.url], { env: { ECRON_TOKEN: 'ecr_wrong' } });
    expect(result.code).toBe(1);
    expect(jsonError(result.stderr)).toEqual({ error: { code: 'UNAUTHENTICATED', message: 'a valid bearer token is required (the token came from ECRON_TOKEN)' } });
  });

  it('reports an answer that is not ecron JSON as UNEXPECTED_RESPONSE', async () => {
    const result = await runCli(['run', 'list', '--json', '--server', stub.url]);
    expect(result.code).toBe(1);
    expect(jsonError(result.stderr).error).toMatchObject({ code: 'UNEXPECTED_RESPONSE', message: expect.stringContaining('502') });
  });

  it('reports an unreachable server as SERVER_UNREACHABLE, exit 1', async () => {
    const port = await closedPort();
    const result = await runCli(['task', 'list', '--json', '--server', `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(jsonError(result.stderr)).toEqual({ error: { code: 'SERVER_UNREACHABLE', message: `cannot reach http://127.0.0.1:${port}: connection refused` } });
  });

  it('reports a spec file that cannot be read or parsed as SPEC_FILE_INVALID, exit 1', async () => {
    const files = tempDir();
    stub.requests.length = 0;
    try {
      writeFileSync(join(files.path, 'broken.json'), '{ "name": ');
      const missing = await runCli(['task', 'create', '-f', 'missing.yaml', '--json', '--server', stub.url], { cwd: files.path });
      expect(missing.code).toBe(1);
      expect(jsonError(missing.stderr)).toEqual({ error: { code: 'SPEC_FILE_INVALID', message: 'spec file missing.yaml: no such file' } });
      const broken = await runCli(['task', 'update', TASK_ID, '-f', 'broken.json', '--json', '--server', stub.url], { cwd: files.path });
      expect(broken.code).toBe(1);
      expect(jsonError(broken.stderr).error).toMatchObject({ code: 'SPEC_FILE_INVALID', message: expect.stringMatching(/^spec file broken\.json: not valid JSON/) });
      expect(stub.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    } finally {
      files.cleanup();
    }
  });

  it('reports usage errors, from commander or from the command, as USAGE with exit 2', async () => {
    const port = await closedPort();
    const server = `http://127.0.0.1:${port}`;
    const cases: [string[], string | RegExp][] = [
      [['task', 'lst', '--json'], /^unknown command 'lst'/],
      [['run', 'list', '--bogus', '--json'], "unknown option '--bogus'"],
      [['--json', 'task', 'create'], "required option '-f, --file <file>' not specified"],
      [['task', 'get', '--json'], "missing required argument 'ref'"],
      [['task', 'list', '--limit', 'ten', '--json'], /--limit must be a whole number/],
      [['task', 'list', '--state', 'sleeping', '--json'], /Allowed choices are active, paused, completed/],
      [['task', 'trigger', 'x', '--param', 'novalue', '--json'], '--param "novalue" must be KEY=VALUE'],
      [['task', 'trigger', 'x', '--params', '[1]', '--json'], '--params must be a JSON object'],
      [['task', 'list', '--json', '--server', 'ftp://example.com'], '--server "ftp://example.com" must be an http:// or https:// URL'],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args.includes('--server') ? args : [...args, '--server', server]);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: '' });
      const { error } = jsonError(result.stderr);
      expect(error.code).toBe('USAGE');
      if (typeof message === 'string') expect(error.message).toBe(message);
      else expect(error.message).toMatch(message);
      expect(result.stderr).not.toContain('ecron:');
      expect(result.stderr).not.toContain('--help for usage');
    }
  });

  it('still prints help and the version as text, exit 0', async () => {
    const help = await runCli(['task', 'list', '--help', '--json']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: ecron task list');
    const version = await runCli(['--version', '--json']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});
