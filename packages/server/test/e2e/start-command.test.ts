/** `ecron start` as a user runs it: first start, bad flags, a second process on the same store. */
import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ECRON, NODE, ServerProcess, tempDataDir } from '../support/server-process.ts';

const servers: ServerProcess[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) if (s.child) await s.kill('SIGKILL');
});

function ecron(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(NODE, [ECRON, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('ecron start', () => {
  it('creates the admin token at first start, mode 0600, and serves /healthz', async () => {
    const server = new ServerProcess(tempDataDir());
    servers.push(server);
    await server.start();
    const tokenFile = join(server.dataDir, 'admin.token');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(server.adminToken).toMatch(/^ecr_/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/api/v1/tasks`)).status).toBe(401);
    expect((await server.api('GET', '/api/v1/tasks')).status).toBe(200);
  });

  it('takes ECRON_ADMIN_TOKEN as the admin token at first start', async () => {
    const server = new ServerProcess(tempDataDir());
    servers.push(server);
    await server.start([], { ECRON_ADMIN_TOKEN: 'my-own-admin-token-0123456789abcdef' });
    expect(server.adminToken).toBe('my-own-admin-token-0123456789abcdef');
    const res = await fetch(`${server.url}/api/v1/tasks`, { headers: { authorization: 'Bearer my-own-admin-token-0123456789abcdef' } });
    expect(res.status).toBe(200);
  });

  it('refuses a second process on the same store with STORE_LOCKED, and restarts after kill -9', async () => {
    const dataDir = tempDataDir();
    const first = new ServerProcess(dataDir);
    servers.push(first);
    await first.start();
    const second = ecron(['start', '--data-dir', dataDir, '--port', '0']);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^ecron: STORE_LOCKED: /m);
    await first.kill('SIGKILL');
    const again = new ServerProcess(dataDir);
    servers.push(again);
    await again.start();
    expect((await fetch(`${again.url}/healthz`)).status).toBe(200);
  });

  it.each([
    [['--port', 'abc'], /CONFIG_INVALID: --port abc/],
    [['--port', '70000'], /CONFIG_INVALID: --port 70000/],
    [['--roles', 'api,nope'], /CONFIG_INVALID: --roles api,nope/],
    [['--store', 'postgres://127.0.0.1'], /CONFIG_INVALID: --store: name the host and the database/],
    [['--store', 'mysql://:3306/x'], /CONFIG_INVALID: --store/],
    [['--store', 'postgres://127.0.0.1:1/ecron'], /STORE_UNAVAILABLE: .*PostgreSQL/],
    [['--roles', 'scheduler'], /CONFIG_INVALID: --roles: every ecron process runs the api and scheduler roles together/],
    [['--lease-ttl', '3s', '--lease-renew', '2500ms'], /CONFIG_INVALID: --lease-renew must be shorter/],
    [['--lease-ttl', 'soon'], /CONFIG_INVALID: --lease-ttl soon/],
    [['--node-id', 'a b'], /CONFIG_INVALID: --node-id a b/],
    [['--store', 'redis://x'], /CONFIG_INVALID: --store: unknown store scheme "redis"/],
    [['--log-level', 'loud'], /CONFIG_INVALID: --log-level loud/],
    [['--history-retention', '5m'], /CONFIG_INVALID: --history-retention 5m/],
    [['--history-retention', 'forever'], /CONFIG_INVALID: --history-retention forever/],
  ])('refuses bad flags %j with one clear line and exit 1', (flags, message) => {
    const result = ecron(['start', '--data-dir', tempDataDir(), '--port', '0', ...flags]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('says so when the port is taken, with one clear line', async () => {
    const first = new ServerProcess(tempDataDir());
    servers.push(first);
    await first.start();
    const port = new URL(first.url).port;
    const result = ecron(['start', '--data-dir', tempDataDir(), '--port', port]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`ecron: ADDRESS_IN_USE: 127.0.0.1:${port} is already in use (another ecron?): stop it, or choose another --port\n`);
  });

  it('prints the admin token path, never the token, at the first start and at every later one', async () => {
    const dataDir = tempDataDir();
    const tokenFile = join(dataDir, 'admin.token');
    const first = new ServerProcess(dataDir);
    servers.push(first);
    await first.start();
    const firstErr = await first.stderrMatching(/admin token/);
    expect(firstErr).toContain(`admin token written to ${tokenFile} (first start; keep it secret)\n`);
    expect(firstErr).not.toContain('admin token in ');
    expect(firstErr).not.toContain(first.adminToken);
    await first.kill('SIGTERM');

    const later = new ServerProcess(dataDir);
    servers.push(later);
    await later.start();
    const laterErr = await later.stderrMatching(/admin token/);
    expect(laterErr).toContain(`admin token in ${tokenFile} (keep it secret)\n`);
    expect(laterErr).not.toContain('admin token written');
    expect(laterErr).not.toContain(later.adminToken);
    await later.kill('SIGTERM');

    // Once the file is gone (moved somewhere safe), nothing is said about it.
    rmSync(tokenFile);
    const without = new ServerProcess(dataDir);
    servers.push(without);
    await without.start();
    await without.kill('SIGTERM');
    expect(without.stderr).toMatch(/listening on /);
    expect(without.stderr).not.toContain('admin token');
  });

  it('tells where the admin token is after a first start that failed once the token was written', async () => {
    const other = new ServerProcess(tempDataDir());
    servers.push(other);
    await other.start();
    const takenPort = new URL(other.url).port;
    const dataDir = tempDataDir();
    const tokenFile = join(dataDir, 'admin.token');
    const failed = ecron(['start', '--data-dir', dataDir, '--port', takenPort]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^ecron: ADDRESS_IN_USE: /);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);

    const retry = new ServerProcess(dataDir);
    servers.push(retry);
    await retry.start();
    const stderr = await retry.stderrMatching(/admin token/);
    expect(stderr).toContain(`admin token in ${tokenFile} (keep it secret)\n`);
    expect(stderr).not.toContain(retry.adminToken);
    // The token in that file is the server's admin token.
    expect((await retry.api('GET', '/api/v1/me')).status).toBe(200);
  });

  it('refuses a too short ECRON_ADMIN_TOKEN (20 characters; 32 are needed) and stores no token', () => {
    const dataDir = tempDataDir();
    const result = ecron(['start', '--data-dir', dataDir, '--port', '0'], { ECRON_ADMIN_TOKEN: 'twenty-characters-01' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/CONFIG_INVALID: ECRON_ADMIN_TOKEN must be 32-512 printable characters without spaces \(it has 20 characters\)/);
    expect(result.stderr).not.toContain('twenty-characters-01');
    expect(() => statSync(join(dataDir, 'admin.token'))).toThrow();
  });

  it('limits failed authentications as --auth-failure-limit and --auth-failure-window say, and refuses bad values', async () => {
    for (const [flag, value] of [['--auth-failure-limit', '0'], ['--auth-failure-limit', '2.5'], ['--auth-failure-window', '10ms'], ['--auth-failure-window', 'soon']]) {
      const result = ecron(['start', '--data-dir', tempDataDir(), '--port', '0', flag!, value!]);
      expect(result.code, `${flag} ${value}`).toBe(1);
      expect(result.stderr, `${flag} ${value}`).toContain(`CONFIG_INVALID: ${flag} ${value}`);
    }
    const server = new ServerProcess(tempDataDir());
    servers.push(server);
    await server.start(['--auth-failure-limit', '2', '--auth-failure-window', '30s']);
    // The admin token is used from this address before the failures: it keeps working once the address is limited.
    expect((await server.api('GET', '/api/v1/tasks')).status).toBe(200);
    const wrong = () => fetch(`${server.url}/api/v1/tasks`, { headers: { authorization: 'Bearer ecr_wrong' } });
    expect([(await wrong()).status, (await wrong()).status]).toEqual([401, 401]);
    const limited = await wrong();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(30);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('TOO_MANY_FAILED_AUTHENTICATIONS');
    expect((await server.api('GET', '/api/v1/tasks')).status).toBe(200);
  });
});
