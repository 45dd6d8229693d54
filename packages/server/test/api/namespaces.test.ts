/**
 * `/api/v1/namespaces`: create and partial update, reads with usage, implicit namespaces, listing
 * by scope, who may write, deletes refused while tasks name the namespace, and bad input named by
 * its JSON path.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiHarness, errorOf, issuesOf, T0 } from './api-harness.ts';

let h: ApiHarness;
beforeEach(async () => {
  h = await new ApiHarness().start();
});
afterEach(async () => h.close());

const DEFAULT_QUOTAS = { maxConcurrentRuns: null, maxFiresPerMinute: null, minIntervalMs: 1000, maxTasks: null, maxWorkflows: null, allowedTargetTypes: null, groupMaxConcurrentRuns: {}, containerImages: null };
const NO_USAGE = { tasks: 0, workflows: 0, activeRuns: 0, throttledRuns: 0, firesLastMinute: 0 };

describe('PUT and GET /api/v1/namespaces/{name}', () => {
  it('creates a namespace (201) with defaults for what the body leaves out, then changes only the fields given (200)', async () => {
    const created = await h.call('PUT', '/api/v1/namespaces/team-a', {
      body: {
        description: 'team A', labels: { owner: 'ops' },
        quotas: { maxConcurrentRuns: 10, maxFiresPerMinute: 600, minIntervalMs: 5000 }, outbound: { allow: ['10.0.0.0/8', '*.example.com'], deny: ['10.9.0.0/16'] },
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const at = new Date(T0).toISOString();
    expect(created.json()).toEqual({
      name: 'team-a', description: 'team A', labels: { owner: 'ops' },
      quotas: { ...DEFAULT_QUOTAS, maxConcurrentRuns: 10, maxFiresPerMinute: 600, minIntervalMs: 5000 },
      outbound: { allow: ['10.0.0.0/8', '*.example.com'], deny: ['10.9.0.0/16'] },
      implicit: false, createdAt: at, updatedAt: at, usage: NO_USAGE,
    });

    await h.clock.advance(1000);
    const updated = await h.call('PUT', '/api/v1/namespaces/team-a', {
      body: { quotas: { maxTasks: 50, allowedTargetTypes: ['http', 'executor'], maxConcurrentRuns: null }, outbound: { deny: [] } },
    });
    expect(updated.statusCode, updated.body).toBe(200);
    const expected = {
      name: 'team-a', description: 'team A', labels: { owner: 'ops' },
      quotas: { ...DEFAULT_QUOTAS, maxFiresPerMinute: 600, minIntervalMs: 5000, maxTasks: 50, allowedTargetTypes: ['http', 'executor'] },
      outbound: { allow: ['10.0.0.0/8', '*.example.com'], deny: [] },
      implicit: false, createdAt: at, updatedAt: new Date(T0 + 1000).toISOString(), usage: NO_USAGE,
    };
    expect(updated.json()).toEqual(expected);
    expect((await h.call('GET', '/api/v1/namespaces/team-a')).json()).toEqual(expected);
    // An empty body changes nothing but the update time; a duration string is taken for minIntervalMs.
    expect((await h.call('PUT', '/api/v1/namespaces/team-a')).json().quotas).toEqual(expected.quotas);
    expect((await h.call('PUT', '/api/v1/namespaces/team-a', { body: { quotas: { minIntervalMs: '250ms' } } })).json().quotas.minIntervalMs).toBe(250);

    const audit = (await h.call('GET', '/api/v1/audit?resourceId=team-a')).json().items;
    expect(audit.map((e: { action: string }) => e.action)).toEqual(['namespace.update', 'namespace.update', 'namespace.update', 'namespace.create']);
    expect(audit[3]).toMatchObject({ resourceType: 'namespace', details: { name: 'team-a', spec: { description: 'team A' } } });
  });

  it('returns the usage: tasks, workflows, runs not finished and runs created in the last minute', async () => {
    await h.call('PUT', '/api/v1/namespaces/counted', { body: { description: 'c' } });
    const first = await h.createTask({ namespace: 'counted', name: 'one' });
    await h.createTask({ namespace: 'counted', name: 'two' });
    await h.createTask({ namespace: 'elsewhere', name: 'three' });
    expect((await h.call('GET', '/api/v1/namespaces/counted')).json().usage).toEqual({ tasks: 2, workflows: 0, activeRuns: 0, throttledRuns: 0, firesLastMinute: 0 });

    const run = (await h.call('POST', `/api/v1/tasks/${first.id}/trigger`)).json();
    await h.ended(run.id);
    expect((await h.call('GET', '/api/v1/namespaces/counted')).json().usage).toEqual({ tasks: 2, workflows: 0, activeRuns: 0, throttledRuns: 0, firesLastMinute: 1 });
    await h.clock.advance(60_001);
    expect((await h.call('GET', '/api/v1/namespaces/counted')).json().usage.firesLastMinute).toBe(0);
  });

  it('answers for `default` and for a namespace that only tasks name, with the default settings and implicit: true; 404 otherwise', async () => {
    const fresh = await h.call('GET', '/api/v1/namespaces/default');
    expect(fresh.statusCode).toBe(200);
    expect(fresh.json()).toEqual({
      name: 'default', description: '', labels: {}, quotas: DEFAULT_QUOTAS, outbound: { allow: [], deny: [] },
      implicit: true, createdAt: null, updatedAt: null, usage: NO_USAGE,
    });
    const missing = await h.call('GET', '/api/v1/namespaces/nowhere');
    expect(missing.statusCode).toBe(404);
    expect(errorOf(missing).code).toBe('NAMESPACE_NOT_FOUND');

    await h.createTask({ namespace: 'nowhere', name: 'lives-here' });
    const implicit = await h.call('GET', '/api/v1/namespaces/nowhere');
    expect(implicit.statusCode).toBe(200);
    expect(implicit.json()).toMatchObject({ name: 'nowhere', implicit: true, quotas: DEFAULT_QUOTAS, usage: { tasks: 1 } });
    // A PUT of an implicit namespace creates its settings.
    expect((await h.call('PUT', '/api/v1/namespaces/nowhere', { body: { description: 'now stored' } })).statusCode).toBe(201);
    expect((await h.call('GET', '/api/v1/namespaces/nowhere')).json()).toMatchObject({ implicit: false, description: 'now stored', usage: { tasks: 1 } });
  });
});

describe('GET /api/v1/namespaces', () => {
  it('lists the stored namespaces and `default`, only those the token\'s scope covers', async () => {
    for (const name of ['b', 'a', 'c']) expect((await h.call('PUT', `/api/v1/namespaces/${name}`, { body: { description: name } })).statusCode).toBe(201);
    await h.createTask({ namespace: 'tasks-only', name: 't' });
    const all = (await h.call('GET', '/api/v1/namespaces')).json().items;
    expect(all.map((ns: { name: string }) => ns.name)).toEqual(['a', 'b', 'c', 'default']);
    expect(all[0]).toMatchObject({ name: 'a', description: 'a', implicit: false, quotas: DEFAULT_QUOTAS });
    expect(all[0].usage).toBeUndefined();
    expect(all[3]).toMatchObject({ name: 'default', implicit: true });

    const scoped = await h.token('viewer', ['a', 'c', 'tasks-only']);
    const seen = await h.call('GET', '/api/v1/namespaces', { token: scoped.secret });
    expect(seen.statusCode).toBe(200);
    expect(seen.json().items.map((ns: { name: string }) => ns.name)).toEqual(['a', 'c']);
    // Outside its scope a namespace does not exist for the token.
    expect(errorOf(await h.call('GET', '/api/v1/namespaces/b', { token: scoped.secret })).code).toBe('NAMESPACE_NOT_FOUND');
    expect(errorOf(await h.call('GET', '/api/v1/namespaces/default', { token: scoped.secret })).code).toBe('NAMESPACE_NOT_FOUND');
    expect((await h.call('GET', '/api/v1/namespaces/a', { token: scoped.secret })).json()).toMatchObject({ name: 'a', usage: { tasks: 0 } });
    expect((await h.call('GET', '/api/v1/namespaces/tasks-only', { token: scoped.secret })).json()).toMatchObject({ implicit: true, usage: { tasks: 1 } });
  });
});

describe('who may change a namespace', () => {
  it('refuses a viewer and an editor (403), and an admin whose scope does not cover the namespace (403)', async () => {
    const viewer = await h.token('viewer');
    const editor = await h.token('editor');
    const adminOfA = await h.token('admin', ['a'], 'admin-of-a');
    for (const token of [viewer.secret, editor.secret]) {
      const res = await h.call('PUT', '/api/v1/namespaces/default', { token, body: { quotas: { minIntervalMs: 1 } } });
      expect(res.statusCode).toBe(403);
      expect(errorOf(res).code).toBe('FORBIDDEN');
    }
    const other = await h.call('PUT', '/api/v1/namespaces/b', { token: adminOfA.secret, body: { description: 'not mine' } });
    expect(other.statusCode).toBe(403);
    expect(errorOf(other).message).toContain('"b"');
    expect((await h.call('PUT', '/api/v1/namespaces/a', { token: adminOfA.secret, body: { description: 'mine' } })).statusCode).toBe(201);
    expect((await h.call('DELETE', '/api/v1/namespaces/a', { token: editor.secret })).statusCode).toBe(403);
    expect((await h.call('DELETE', '/api/v1/namespaces/b', { token: adminOfA.secret })).statusCode).toBe(403);
    expect(await h.store.getNamespace('b')).toBeNull();
    expect((await h.store.getNamespace('default'))).toBeNull();
    expect((await h.store.getNamespace('a'))?.description).toBe('mine');
  });
});

describe('DELETE /api/v1/namespaces/{name}', () => {
  it('refuses while tasks or workflows name the namespace (409), deletes it once empty (204), then it is gone (404)', async () => {
    await h.call('PUT', '/api/v1/namespaces/team', { body: { description: 'x' } });
    const task = await h.createTask({ namespace: 'team', name: 'busy' });
    const refused = await h.call('DELETE', '/api/v1/namespaces/team');
    expect(refused.statusCode).toBe(409);
    expect(errorOf(refused)).toMatchObject({ code: 'NAMESPACE_NOT_EMPTY', details: { name: 'team', tasks: 1, workflows: 0 } });
    expect(await h.store.getNamespace('team')).not.toBeNull();

    expect((await h.call('DELETE', `/api/v1/tasks/${task.id}`)).statusCode).toBe(204);
    expect((await h.call('DELETE', '/api/v1/namespaces/team')).statusCode).toBe(204);
    expect(errorOf(await h.call('GET', '/api/v1/namespaces/team')).code).toBe('NAMESPACE_NOT_FOUND');
    expect(errorOf(await h.call('DELETE', '/api/v1/namespaces/team')).code).toBe('NAMESPACE_NOT_FOUND');
    const audit = (await h.call('GET', '/api/v1/audit?action=namespace.delete')).json().items;
    expect(audit).toEqual([expect.objectContaining({ resourceType: 'namespace', resourceId: 'team' })]);
  });
});

describe('bad input', () => {
  it('answers 400 VALIDATION_FAILED naming each bad field by its JSON path, and stores nothing', async () => {
    const cases: [unknown, string, string][] = [
      [{ outbound: { allow: ['10.0.0.0/8', '10.0.0.0/33'] } }, 'outbound.allow[1]', 'INVALID_OUTBOUND_RULE'],
      [{ outbound: { deny: ['not a host!'] } }, 'outbound.deny[0]', 'INVALID_OUTBOUND_RULE'],
      [{ quotas: { maxConcurrentRuns: -1 } }, 'quotas.maxConcurrentRuns', 'OUT_OF_RANGE'],
      [{ quotas: { minIntervalMs: 0 } }, 'quotas.minIntervalMs', 'DURATION_OUT_OF_RANGE'],
      [{ quotas: { minIntervalMs: -5 } }, 'quotas.minIntervalMs', 'INVALID_DURATION'],
      [{ quotas: { maxRuns: 3 } }, 'quotas.maxRuns', 'UNKNOWN_FIELD'],
      [{ quotas: { allowedTargetTypes: ['ftp'] } }, 'quotas.allowedTargetTypes[0]', 'INVALID_VALUE'],
      [{ owner: 'me' }, 'owner', 'UNKNOWN_FIELD'],
      [{ quotas: { groupMaxConcurrentRuns: { billing: -1 } } }, 'quotas.groupMaxConcurrentRuns.billing', 'OUT_OF_RANGE'],
      [{ quotas: { groupMaxConcurrentRuns: { 'bad group!': 1 } } }, 'quotas.groupMaxConcurrentRuns["bad group!"]', 'INVALID_VALUE'],
    ];
    for (const [body, path, code] of cases) {
      const res = await h.call('PUT', '/api/v1/namespaces/checked', { body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(errorOf(res).code).toBe('VALIDATION_FAILED');
      expect(issuesOf(res), JSON.stringify(body)).toContainEqual(expect.objectContaining({ path, code }));
    }
    const cidr = await h.call('PUT', '/api/v1/namespaces/checked', { body: { outbound: { allow: ['10.0.0.0/33'] } } });
    expect(errorOf(cidr).message).toContain('10.0.0.0/33');
    const badName = await h.call('PUT', '/api/v1/namespaces/-bad', { body: {} });
    expect(badName.statusCode).toBe(400);
    expect(issuesOf(badName)).toContainEqual(expect.objectContaining({ path: 'params.name' }));
    expect(await h.store.listNamespaces()).toEqual([]);
  });
});

describe('a workflow counts in its namespace', () => {
  it('usage counts workflows and a delete is refused while one names the namespace', async () => {
    await h.createTask({ namespace: 'flows', name: 'step' });
    const res = await h.call('POST', '/api/v1/workflows', { body: { namespace: 'flows', name: 'wf', nodes: [{ id: 'a', task: 'step' }] } });
    expect(res.statusCode, res.body).toBe(201);
    expect((await h.call('GET', '/api/v1/namespaces/flows')).json().usage).toMatchObject({ tasks: 1, workflows: 1 });
    expect(errorOf(await h.call('DELETE', '/api/v1/namespaces/flows')).code).toBe('NAMESPACE_NOT_EMPTY');
  });
});
