import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentConfigError, DANGEROUS_ALLOWLIST_ENTRY, DEFAULT_KILL_GRACE_MS, loadAgentConfig, resolveAgentConfig } from '../../src/agent/config.ts';

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
    expect(() => resolveAgentConfig({ group: 'ops', token: 't', allow: ['backup.sh *', { command: 'sh -c *', allowDangerous: true }] }, { baseDir: dir, cwd: dir })).not.toThrow();
  });
});

/** Security finding F9 (issue 17): `find DIR -name *` let the server add -exec, -delete or -fprint. */
describe('F9: allowlist entries whose * reaches dangerous options', () => {
  const resolve = (allow: unknown[]) => resolveAgentConfig({ group: 'ops', token: 't', allow }, { baseDir: dir, cwd: dir, env: {} });
  /** The error a resolve throws; fails if it does not throw one. */
  function refusal(allow: unknown[]): AgentConfigError {
    try {
      resolve(allow);
    } catch (error) {
      expect(error).toBeInstanceOf(AgentConfigError);
      return error as AgentConfigError;
    }
    throw new Error(`expected AGENT_CONFIG_INVALID for ${JSON.stringify(allow)}`);
  }

  it('refuses "find /data -name *" with DANGEROUS_ALLOWLIST_ENTRY, naming the entry and the reason; the agent gets no config', () => {
    const file = configFile('group: ops\ntoken: t\nallow:\n  - echo *\n  - find /data -name *\n');
    const error = loadError(file);
    expect(error.code).toBe('AGENT_CONFIG_INVALID');
    expect(error.issues).toEqual([{ path: 'allow[1]', code: DANGEROUS_ALLOWLIST_ENTRY, message: expect.any(String) }]);
    const { message } = error.issues[0]!;
    expect(message).toContain('"find /data -name *" is refused');
    for (const option of ['-exec', '-execdir', '-ok', '-okdir', '-delete', '-fprint', '-fprint0', '-fprintf', '-fls']) expect(message).toContain(option);
    expect(message).toContain('allowDangerous: true');
    expect(error.message).toMatch(/^AGENT_CONFIG_INVALID: .*: allow\[1\]: "find \/data -name \*" is refused/);
  });

  it.each([
    ['find /data -name *', 'find'], ['/usr/bin/find . *', 'find'], ['xargs *', 'xargs'], ['env *', 'env'], ['env FOO=1 *', 'env'], ['sudo *', 'sudo'],
    ['sh -c *', 'sh'], ['bash *', 'bash'], ['zsh -c *', 'zsh'], ['dash *', 'dash'], ['sh -- *', 'sh'], ['bash +O extglob *', 'bash'],
    ['python *', 'python'], ['python3 -c *', 'python3'], ['python3.12 *', 'python3.12'], ['node -e *', 'node'], ['node inspect *', 'node'],
    ['perl *', 'perl'], ['ruby -e *', 'ruby'],
    ['tar *', 'tar'], ['tar -czf out.tgz *', 'tar'], ['rsync -a *', 'rsync'], ['git *', 'git'], ['git log *', 'git'], ['curl *', 'curl'], ['wget *', 'wget'],
    ['cp *', 'cp'], ['mv *', 'mv'], ['rm *', 'rm'], ['dd *', 'dd'], ['tee *', 'tee'], ['chmod *', 'chmod'], ['chown *', 'chown'],
    ['sed *', 'sed'], ['sed -n *', 'sed'], ['awk *', 'awk'], ['gawk *', 'gawk'],
  ])('refuses %j', (entry, program) => {
    const error = refusal([entry]);
    expect(error.issues).toEqual([expect.objectContaining({ path: 'allow[0]', code: DANGEROUS_ALLOWLIST_ENTRY })]);
    expect(error.issues[0]!.message).toContain(`add any arguments to ${program}, which `);
  });

  it('with allowDangerous: true the entry loads, and the config carries a warning that names it and its risk', () => {
    const file = configFile('group: ops\ntoken: t\nallow:\n  - echo *\n  - { command: "find /data -name *", allowDangerous: true }\n');
    const config = loadAgentConfig(file, { cwd: dir, env: {} });
    expect(config.allowlist.entries.map((e) => e.source)).toEqual(['echo *', 'find /data -name *']);
    expect(config.allowlist.check('find /data -name x.log')).toMatchObject({ allowed: true });
    expect(config.warnings).toEqual([expect.stringMatching(/^allow\[1\]\.command: "find \/data -name \*" is allowed with allowDangerous: true, although .*-exec/)]);
    expect(Object.isFrozen(config.warnings)).toBe(true);
  });

  it('the object form without allowDangerous, or with false, is refused the same way', () => {
    expect(refusal([{ command: 'find /data -name *' }]).issues).toEqual([expect.objectContaining({ path: 'allow[0].command', code: DANGEROUS_ALLOWLIST_ENTRY })]);
    expect(refusal([{ command: 'tar *', allowDangerous: false }]).issues).toEqual([expect.objectContaining({ path: 'allow[0].command', code: DANGEROUS_ALLOWLIST_ENTRY })]);
  });

  it('loads safe entries without a warning: no final *, a program not in the list, an interpreter whose script is fixed', () => {
    const config = resolve([
      'echo *', 'backup.sh *', '/usr/local/bin/report.sh --day *', 'find /data -name "*.log" -mtime +7', 'tar -czf /backups/db.tgz /var/lib/db',
      'python3 /opt/jobs/report.py *', 'bash backup.sh *', 'node scripts/sync.js *', `echo '*'`, { command: 'date *' },
    ]);
    expect(config.allowlist.size).toBe(10);
    expect(config.warnings).toEqual([]);
  });

  it('reports a bad object entry by its field, and keeps the other checks', () => {
    const error = refusal([{ cmd: 'echo *' }, { command: 'ls | wc -l', allowDangerous: true }, { command: 'echo *', allowDangerous: 'yes' }, true]);
    expect(error.issues).toEqual(expect.arrayContaining([
      expect.objectContaining({ path: 'allow[0].command', code: 'REQUIRED' }),
      expect.objectContaining({ path: 'allow[0].cmd', code: 'UNKNOWN_FIELD' }),
      expect.objectContaining({ path: 'allow[1].command', code: 'INVALID_VALUE' }),
      expect.objectContaining({ path: 'allow[2].allowDangerous', code: 'INVALID_TYPE' }),
      expect.objectContaining({ path: 'allow[3]', code: 'INVALID_TYPE' }),
    ]));
  });
});
