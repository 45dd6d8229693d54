import { describe, expect, it } from 'vitest';
import { useApiForCli } from './cli-harness.ts';

/**
 * `ecron executor group set|get|list|delete` against the real REST API (buildApp over the SQLite
 * store) listening on a local port.
 */

const api = useApiForCli();
const ecron = api.ecron;

describe('ecron executor group', () => {
  it('sets a static list and a DNS name, prints the secret, lists, gets and deletes', async () => {
    expect(await ecron(['executor', 'group', 'list'])).toEqual({ code: 0, stdout: '(no executor group has a discovery)\n', stderr: expect.any(String) });

    const set = await ecron(['executor', 'group', 'set', 'billing/reports', '--static', 'http://10.0.0.5:9000,http://10.0.0.6:9000', '-l', 'zone=a']);
    expect(set.code, set.stderr).toBe(0);
    const secret = /secret: (\S+)/.exec(set.stdout)?.[1];
    expect(set.stdout).toMatch(/^set executor group billing\/reports: static \(2\)\n/);
    expect(secret).toBe((await api.h.call('PUT', '/api/v1/executors/n1', { body: { namespace: 'billing', group: 'reports', mode: 'pull' } })).json().secret);

    const dns = await ecron(['executor', 'group', 'set', 'workers', '--dns', 'workers.svc.local', '--port', '9000', '--scheme', 'https', '--refresh', '10s', '--weight', '2', '--json']);
    expect(dns.code, dns.stderr).toBe(0);
    expect(JSON.parse(dns.stdout).group).toMatchObject({
      namespace: 'default', group: 'workers', weight: 2,
      discovery: { dns: { name: 'workers.svc.local', port: 9000, scheme: 'https', srv: false, refreshMs: 10_000 } },
    });

    const list = await ecron(['executor', 'group', 'list']);
    const [header, ...rows] = list.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAMESPACE +GROUP +DISCOVERY +NODES +RESOLVED +ERROR$/);
    expect(rows[0]).toMatch(/^billing +reports +static \(2\) +- +- +-$/);
    expect(rows[1]).toMatch(/^default +workers +dns workers\.svc\.local:9000 +- +- +-$/);

    const got = await ecron(['executor', 'group', 'get', 'billing/reports']);
    expect(got.stdout).toMatch(/static: +http:\/\/10\.0\.0\.5:9000, http:\/\/10\.0\.0\.6:9000/);
    expect(got.stdout).toMatch(/labels: +zone=a/);
    expect(got.stdout).not.toContain(secret);

    expect((await ecron(['executor', 'group', 'delete', 'billing/reports'])).stdout).toBe('deleted the discovery of executor group billing/reports\n');
    const missing = await ecron(['executor', 'group', 'get', 'billing/reports']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('EXECUTOR_GROUP_NOT_FOUND');
  });

  it('refuses flags that do not make one discovery', async () => {
    for (const args of [[], ['--static', 'http://a:1', '--dns', 'x.local'], ['--static', 'http://a:1', '--port', '9']]) {
      const res = await ecron(['executor', 'group', 'set', 'g', ...args]);
      expect(res.code, res.stderr).toBe(2);
    }
    const invalid = await ecron(['executor', 'group', 'set', 'g', '--dns', 'x.local']);
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain('VALIDATION_FAILED');
  });
});
