/**
 * `/api/v1/executor-groups` over the real app (SQLite `:memory:`): a group's discovery is set,
 * replaced, read, listed and deleted; bad specs are VALIDATION_FAILED with field issues; a static
 * address the outbound policy denies is OUTBOUND_DENIED; the answer to a PUT holds the group's
 * secret (the one a registering node gets), reads never do; roles and namespace scope.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHarness, errorOf, issuesOf, T0 } from './api-harness.ts';

let h: ApiHarness;

beforeAll(async () => {
  h = await new ApiHarness().start();
});
afterAll(async () => h?.close());

const STATIC = { discovery: { static: ['http://10.0.0.5:9000', 'http://10.0.0.6:9000/run'] } };

describe('executor groups', () => {
  it('sets a static list (201), replaces it with a DNS name (200), reads, lists and deletes it', async () => {
    const created = await h.call('PUT', '/api/v1/executor-groups/billing/reports', { body: { ...STATIC, labels: { zone: 'a' } } });
    expect(created.statusCode, created.body).toBe(201);
    const body = created.json();
    expect(body.group).toEqual({
      namespace: 'billing', group: 'reports', discovery: STATIC.discovery, labels: { zone: 'a' }, weight: 1,
      createdAt: new Date(T0).toISOString(), updatedAt: new Date(T0).toISOString(), status: null,
    });
    // The group's secret: the one a node registering into the group is given.
    const heartbeat = await h.call('PUT', '/api/v1/executors/n1', { body: { namespace: 'billing', group: 'reports', mode: 'pull' } });
    expect(body.secret).toBe(heartbeat.json().secret);

    const replaced = await h.call('PUT', '/api/v1/executor-groups/billing/reports', { body: { discovery: { dns: { name: 'workers.svc.local', port: 9000, refreshMs: '10s' } }, weight: 3 } });
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(replaced.json().group).toMatchObject({
      discovery: { dns: { name: 'workers.svc.local', port: 9000, scheme: 'http', path: '/', srv: false, refreshMs: 10_000, staleMs: 300_000 } }, labels: {}, weight: 3,
    });

    const got = await h.call('GET', '/api/v1/executor-groups/billing/reports');
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(replaced.json().group);
    expect(got.body).not.toContain(body.secret);
    await h.call('PUT', '/api/v1/executor-groups/default/ops', { body: STATIC });
    const list = await h.call('GET', '/api/v1/executor-groups');
    expect(list.json().items.map((g: { namespace: string; group: string }) => `${g.namespace}/${g.group}`)).toEqual(['billing/reports', 'default/ops']);
    expect((await h.call('GET', '/api/v1/executor-groups?namespace=default')).json().items).toHaveLength(1);

    expect((await h.call('DELETE', '/api/v1/executor-groups/billing/reports')).statusCode).toBe(204);
    const gone = await h.call('GET', '/api/v1/executor-groups/billing/reports');
    expect(gone.statusCode).toBe(404);
    expect(errorOf(gone).code).toBe('EXECUTOR_GROUP_NOT_FOUND');
    expect(errorOf(await h.call('DELETE', '/api/v1/executor-groups/billing/reports')).code).toBe('EXECUTOR_GROUP_NOT_FOUND');
    const audit = (await h.store.listAudit({ limit: 10, resourceId: 'billing/reports' })).items.map((e) => e.action);
    expect(audit).toEqual(['executor-group.delete', 'executor-group.put', 'executor-group.put']);
  });

  it('refuses bad specs with field issues', async () => {
    const cases: [unknown, string][] = [
      [{}, 'discovery'],
      [{ discovery: {} }, 'discovery'],
      [{ discovery: { static: [] } }, 'discovery.static'],
      [{ discovery: { static: ['ftp://x'] } }, 'discovery.static[0]'],
      [{ discovery: { static: ['http://a:1', 'http://a:1'] } }, 'discovery.static'],
      [{ discovery: { static: ['http://a:1'], dns: { name: 'x', port: 1 } } }, 'discovery'],
      [{ discovery: { dns: { name: 'workers.local' } } }, 'discovery.dns.port'],
      [{ discovery: { dns: { name: 'bad name', port: 1 } } }, 'discovery.dns.name'],
      [{ discovery: { dns: { name: 'x.local', port: 70000 } } }, 'discovery.dns.port'],
      [{ discovery: { dns: { name: 'x.local', port: 1, refreshMs: 10 } } }, 'discovery.dns.refreshMs'],
      [{ discovery: { static: ['http://a:1'] }, weight: 0 }, 'weight'],
      [{ discovery: { static: ['http://a:1'] }, extra: true }, ''],
    ];
    for (const [body, path] of cases) {
      const res = await h.call('PUT', '/api/v1/executor-groups/default/bad', { body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(errorOf(res).code).toBe('VALIDATION_FAILED');
      expect(issuesOf(res).map((i) => i.path).some((p) => p.startsWith(path)), `${JSON.stringify(body)}: ${res.body}`).toBe(true);
    }
    const badName = await h.call('PUT', '/api/v1/executor-groups/default/bad%20group', { body: STATIC });
    expect(errorOf(badName).code).toBe('VALIDATION_FAILED');
    expect((await h.call('GET', '/api/v1/executor-groups/default/bad')).statusCode).toBe(404);
  });

  it('refuses a static address the outbound policy denies', async () => {
    const res = await h.call('PUT', '/api/v1/executor-groups/default/meta', { body: { discovery: { static: ['http://10.0.0.1:1', 'http://169.254.169.254/latest'] } } });
    expect(res.statusCode).toBe(422);
    expect(errorOf(res).code).toBe('OUTBOUND_DENIED');
    expect(issuesOf(res).map((i) => i.path)).toEqual(['discovery.static[1]']);
  });

  it('lets editors write and viewers read, within their namespaces', async () => {
    const viewer = (await h.token('viewer', ['team'], 'eg-viewer')).secret;
    const editor = (await h.token('editor', ['team'], 'eg-editor')).secret;
    const executor = (await h.token('executor', ['team'], 'eg-executor')).secret;
    const outsider = (await h.token('editor', ['other'], 'eg-outsider')).secret;
    expect((await h.call('PUT', '/api/v1/executor-groups/team/g', { body: STATIC, token: editor })).statusCode).toBe(201);
    for (const token of [viewer, executor]) {
      const res = await h.call('PUT', '/api/v1/executor-groups/team/g', { body: STATIC, token });
      expect(res.statusCode).toBe(403);
      expect(errorOf(res).code).toBe('FORBIDDEN');
    }
    expect((await h.call('GET', '/api/v1/executor-groups/team/g', { token: viewer })).statusCode).toBe(200);
    expect((await h.call('DELETE', '/api/v1/executor-groups/team/g', { token: viewer })).statusCode).toBe(403);
    // Outside the token's namespaces the group does not exist.
    for (const [method, body] of [['GET', undefined], ['PUT', STATIC], ['DELETE', undefined]] as const) {
      const res = await h.call(method, '/api/v1/executor-groups/team/g', { body, token: outsider });
      expect(res.statusCode, `${method}: ${res.body}`).toBe(404);
    }
    expect((await h.call('GET', '/api/v1/executor-groups', { token: outsider })).json().items).toEqual([]);
    expect((await h.call('GET', '/api/v1/executor-groups', { token: viewer })).json().items.map((g: { group: string }) => g.group)).toEqual(['g']);
    expect((await h.call('DELETE', '/api/v1/executor-groups/team/g', { token: editor })).statusCode).toBe(204);
  });
});
