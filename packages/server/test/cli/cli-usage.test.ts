import { describe, expect, it } from 'vitest';
import { closedPort, runCli } from './cli-harness.ts';

describe('ecron CLI: argument parsing and usage errors', () => {
  it('prints help with the global options and exits 0', async () => {
    const result = await runCli(['task', 'list', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: ecron task list');
    for (const option of ['--namespace', '--state', '--name', '--limit', '--all', '--server', '--token', '--json']) {
      expect(result.stdout).toContain(option);
    }
  });

  it('lists every command group in the help of each group', async () => {
    const expected: Record<string, string[]> = {
      task: ['create', 'list', 'get', 'update', 'trigger', 'pause', 'resume', 'delete', 'preview'],
      run: ['list', 'get', 'logs', 'cancel'],
      token: ['create', 'list', 'revoke'],
    };
    for (const [group, commands] of Object.entries(expected)) {
      const result = await runCli([group, '--help']);
      expect(result.code).toBe(0);
      for (const command of commands) expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
  });

  it('exits 2 with one ecron: line for an unknown command', async () => {
    const result = await runCli(['task', 'lst']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^ecron: unknown command 'lst'/);
    expect(result.stdout).toBe('');
  });

  it('exits 2 for an unknown option', async () => {
    const result = await runCli(['run', 'list', '--bogus']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^ecron: unknown option '--bogus'/);
  });

  it('exits 2 when a required option or argument is missing', async () => {
    const create = await runCli(['task', 'create']);
    expect(create.code).toBe(2);
    expect(create.stderr).toContain("required option '-f, --file <file>' not specified");
    const get = await runCli(['task', 'get']);
    expect(get.code).toBe(2);
    expect(get.stderr).toContain("missing required argument 'ref'");
    const token = await runCli(['token', 'create']);
    expect(token.code).toBe(2);
    expect(token.stderr).toContain("required option '--name <name>' not specified");
  });

  it('exits 2 for invalid option values before contacting any server', async () => {
    const port = await closedPort();
    const server = `http://127.0.0.1:${port}`;
    const cases: [string[], RegExp][] = [
      [['task', 'list', '--limit', 'ten'], /--limit must be a whole number/],
      [['task', 'list', '--limit', '0'], /--limit must be between 1 and/],
      [['task', 'list', '--state', 'sleeping'], /Allowed choices are active, paused, completed/],
      [['run', 'list', '--status', 'done'], /Allowed choices are pending, .*lost/],
      [['token', 'create', '--name', 'ci', '--role', 'root'], /Allowed choices are admin, editor, operator, viewer, executor/],
      [['task', 'preview', 'x', '--count', '-1'], /./],
      [['task', 'trigger', 'x', '--params', '{not json'], /^ecron: USAGE: --params is not valid JSON/],
      [['task', 'trigger', 'x', '--params', '[1,2]'], /^ecron: USAGE: --params must be a JSON object/],
      [['task', 'trigger', 'x', '--param', 'novalue'], /^ecron: USAGE: --param "novalue" must be KEY=VALUE/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli([...args, '--server', server]);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain('SERVER_UNREACHABLE');
    }
  });

  it('exits 2 for a --server that is not an http URL', async () => {
    const result = await runCli(['task', 'list', '--server', 'ftp://example.com']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('ecron: USAGE: --server "ftp://example.com" must be an http:// or https:// URL\n');
  });
});

describe('ecron CLI: an unreachable server', () => {
  it('reports SERVER_UNREACHABLE with the URL and exits 1', async () => {
    const port = await closedPort();
    const result = await runCli(['task', 'list', '--server', `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`ecron: SERVER_UNREACHABLE: cannot reach http://127.0.0.1:${port}: connection refused\n`);
    expect(result.stdout).toBe('');
  });

  it('uses ECRON_SERVER when --server is not given, and --server over it', async () => {
    const port = await closedPort();
    const other = await closedPort();
    const fromEnv = await runCli(['run', 'get', 'r1'], { env: { ECRON_SERVER: `http://127.0.0.1:${port}/` } });
    expect(fromEnv.stderr).toBe(`ecron: SERVER_UNREACHABLE: cannot reach http://127.0.0.1:${port}: connection refused\n`);
    const fromFlag = await runCli(['run', 'get', 'r1', '--server', `http://127.0.0.1:${other}`], { env: { ECRON_SERVER: `http://127.0.0.1:${port}` } });
    expect(fromFlag.stderr).toContain(`cannot reach http://127.0.0.1:${other}:`);
  });

  it('reports --json failures on stderr too, in the API error form, with nothing on stdout', async () => {
    const port = await closedPort();
    const result = await runCli(['token', 'list', '--json', '--server', `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(JSON.parse(result.stderr)).toEqual({ error: { code: 'SERVER_UNREACHABLE', message: `cannot reach http://127.0.0.1:${port}: connection refused` } });
  });
});
