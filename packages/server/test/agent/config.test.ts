import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentConfigError, DEFAULT_KILL_GRACE_MS, loadAgentConfig, resolveAgentConfig } from '../../src/agent/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'ecron-agent-config-'));
let n = 0;

function configFile(text: string, ext = 'yaml'): string {
  const file = join(dir, `agent-${++n}.${ext}`);
  writeFileSync(file, text);
  return file;
}

/** The error a load throws; fails if it does not throw one. */
function loadError(file: string, options: Partial<Parameters<typeof loadAgentConfig>[1]> = {}): AgentConfigError {
  try {
    loadAgentConfig(file, { cwd: dir, env: {}, ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(AgentConfigError);
    return error as AgentConfigError;
  }
  throw new Error('expected AGENT_CONFIG_INVALID');
}

describe('agent config', () => {
  it('reads a YAML file with defaults and the environment under it', () => {
    mkdirSync(join(dir, 'work'), { recursive: true });
    const file = configFile(`
group: ops
labels: { zone: a }
workingDir: work
env: { LEVEL: 3, VERBOSE: true, NAME: x }
killGraceMs: 2s
shutdownGraceMs: 10000
allow:
  - backup.sh --full
  - report.sh *
`);
    const config = loadAgentConfig(file, { cwd: '/', env: { ECRON_SERVER: 'http://ecron.internal:7070/', ECRON_TOKEN: 'from-env' } });
    expect(config).toMatchObject({
      server: 'http://ecron.internal:7070', token: 'from-env', group: 'ops', labels: { zone: 'a' }, weight: 1, mode: 'push',
      workingDir: join(dir, 'work'), env: { LEVEL: '3', VERBOSE: 'true', NAME: 'x' }, killGraceMs: 2000, shutdownGraceMs: 10_000, maxConcurrency: 16,
    });
    expect(config.allowlist.entries.map((e) => e.source)).toEqual(['backup.sh --full', 'report.sh *']);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads JSON; defaults: server 127.0.0.1:7070, killGraceMs 5000, the cwd, no allowlist entries', () => {
    const file = configFile(JSON.stringify({ group: 'ops', token: 't0k' }), 'json');
    const config = loadAgentConfig(file, { cwd: dir, env: {} });
    expect(config).toMatchObject({ server: 'http://127.0.0.1:7070', token: 't0k', killGraceMs: DEFAULT_KILL_GRACE_MS, workingDir: dir });
    expect(config.allowlist.size).toBe(0);
  });

  it('flags override the file, which overrides the environment', () => {
    const file = configFile('group: ops\nserver: http://file:1\ntoken: file-token\nid: file-id\nlisten: { host: 0.0.0.0, port: 9000 }\n');
    const config = loadAgentConfig(file, {
      cwd: dir, env: { ECRON_SERVER: 'http://env:1', ECRON_TOKEN: 'env-token' },
      flags: { server: 'http://flag:2', token: 'flag-token', group: 'batch', id: 'node-7', listen: '127.0.0.1:9100' },
    });
    expect(config).toMatchObject({ server: 'http://flag:2', token: 'flag-token', group: 'batch', id: 'node-7', listen: { host: '127.0.0.1', port: 9100 } });
    expect(loadAgentConfig(file, { cwd: dir, env: { ECRON_TOKEN: 'env-token' } })).toMatchObject({ server: 'http://file:1', token: 'file-token' });
    expect(loadAgentConfig(file, { cwd: dir, env: {}, flags: { listen: ':9200' } }).listen).toEqual({ host: '0.0.0.0', port: 9200 });
    expect(loadAgentConfig(file, { cwd: dir, env: {}, flags: { listen: '[::1]:9300' } }).listen).toEqual({ host: '::1', port: 9300 });
  });

  it('every bad field is reported with AGENT_CONFIG_INVALID and its path', () => {
    const file = configFile(`
group: "not a group"
weight: 0
listen: { port: 70000 }
mode: sideways
labels: { "bad key!": x }
env: { "1BAD": x }
killGraceMs: soon
workingDir: ./missing-dir
colour: blue
allow:
  - backup.sh --full
  - "report.sh | tee /tmp/x"
  - "*"
  - 42
`);
    const error = loadError(file);
    expect(error.code).toBe('AGENT_CONFIG_INVALID');
    expect(error.message).toMatch(/^AGENT_CONFIG_INVALID: .*agent-\d+\.yaml: /);
    const paths = error.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining([
      'group', 'weight', 'listen.port', 'mode', 'labels["bad key!"]', 'env["1BAD"]', 'killGraceMs', 'workingDir', 'colour', 'allow[1]', 'allow[2]', 'allow[3]', 'token',
    ]));
    expect(error.issues.find((i) => i.path === 'allow[1]')!.message).toBe('"report.sh | tee /tmp/x" cannot be an allowlist entry: it contains the shell operator "|"; the agent runs commands without a shell');
    expect(error.issues.find((i) => i.path === 'colour')!.message).toBe('unknown field "colour"');
    expect(error.issues.find((i) => i.path === 'token')!.message).toContain('ECRON_TOKEN');
  });

  it('group and token are required', () => {
    const error = loadError(configFile('allow: ["true"]\n'));
    expect(error.issues.map((i) => i.path)).toEqual(['token', 'group']);
    expect(() => loadAgentConfig(configFile('allow: ["true"]\n'), { cwd: dir, env: { ECRON_TOKEN: 'x' }, flags: { group: 'ops' } })).not.toThrow();
  });

  it('a bad flag value is reported under its field, naming the flag', () => {
    const file = configFile('group: ops\ntoken: t\n');
    expect(loadError(file, { flags: { listen: 'nowhere' } }).issues).toEqual([expect.objectContaining({ path: 'listen (--listen)' })]);
    expect(loadError(file, { flags: { group: 'a b' } }).issues).toEqual([expect.objectContaining({ path: 'group (--group)' })]);
    expect(loadError(file, { flags: { server: 'ftp://x' } }).issues).toEqual([expect.objectContaining({ path: 'server (--server)' })]);
  });

  it('the token never appears in an error', () => {
    const error = loadError(configFile('group: ops\ntoken: s3cr3t-value\nweight: "heavy"\n'));
    expect(error.message).not.toContain('s3cr3t-value');
    expect(JSON.stringify(error.issues)).not.toContain('s3cr3t-value');
  });

  it('an unreadable file, a syntax error or a non-mapping is AGENT_CONFIG_INVALID', () => {
    expect(loadError(join(dir, 'nope.yaml')).issues[0]!.message).toContain('ENOENT');
    expect(loadError(configFile('group: ops\n  bad: [\n')).issues[0]!.message).toMatch(/^line \d+, column \d+: /);
    expect(loadError(configFile('- a\n- b\n')).issues[0]!.message).toContain('expected a mapping');
    // YAML reads an unquoted true as a boolean, not a command line.
    expect(loadError(configFile('group: ops\ntoken: t\nallow: [true]\n')).issues).toEqual([expect.objectContaining({ path: 'allow[0]', code: 'INVALID_TYPE' })]);
    expect(loadError(configFile('group: ops\ngroup: batch\n')).issues[0]!.code).toBe('SYNTAX_ERROR');
  });

  it('resolveAgentConfig takes an already parsed value', () => {
    expect(() => resolveAgentConfig({ group: 'ops', token: 't', allow: ['sh -c *'] }, { baseDir: dir, cwd: dir })).not.toThrow();
  });
});
