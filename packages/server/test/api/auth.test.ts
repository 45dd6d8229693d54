import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashTokenSecret } from '../../src/services/tokens.ts';
import { ApiHarness, errorOf } from './api-harness.ts';

let h: ApiHarness;
beforeEach(async () => {
  h = await new ApiHarness().start();
});
afterEach(async () => h.close());

const spec = (namespace: string, name: string) => ({ namespace, name, schedule: { every: '1h' }, target: { type: 'http', url: 'http://127.0.0.1:9000/run' } });

async function expectUnauthenticated(res: { statusCode: number; headers: Record<string, unknown>; json(): any }) {
  expect(res.statusCode).toBe(401);
  expect(res.json().error.code).toBe('UNAUTHENTICATED');
  expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer/);
}

describe('authentication', () => {
  it('refuses a missing, malformed, wrong or revoked token, and stores nothing', async () => {
    await expectUnauthenticated(await h.call('POST', '/api/v1/tasks', { token: null, body: spec('default', 'a') }));
    await expectUnauthenticated(await h.call('POST', '/api/v1/tasks', { token: null, body: spec('default', 'a'), headers: { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` } }));
    await expectUnauthenticated(await h.call('POST', '/api/v1/tasks', { token: 'ecr_wrong', body: spec('default', 'a') }));
    await expectUnauthenticated(await h.call('GET', '/api/v1/tasks', { token: `${h.admin}x` }));

    const editor = await h.token('editor');
    expect((await h.call('POST', '/api/v1/tasks', { token: editor.secret, body: spec('default', 'before-revoke') })).statusCode).toBe(201);
    const revoked = await h.call('DELETE', `/api/v1/tokens/${editor.id}`);
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().revokedAt).toBe(new Date(h.clock.now()).toISOString());
    await expectUnauthenticated(await h.call('POST', '/api/v1/tasks', { token: editor.secret, body: spec('default', 'after-revoke') }));
    expect(await h.taskCount()).toBe(1);
  });

  it('keeps health, readiness, the OpenAPI document and the report callback public', async () => {
    expect((await h.call('GET', '/healthz', { token: null })).json()).toEqual({ status: 'ok' });
    expect((await h.call('GET', '/readyz', { token: null })).statusCode).toBe(200);
    expect((await h.call('GET', '/openapi.json', { token: null })).statusCode).toBe(200);
    // The report route does not take API tokens: it answers with the callback token's error.
    const report = await h.call('POST', '/api/v1/runs/some-run/report', { token: null, body: { attempt: 1, seq: 0 } });
    expect(report.statusCode).not.toBe(404);
    expect(errorOf(report).code).not.toBe('UNAUTHENTICATED');
  });

  it('records when a token was last used', async () => {
    const viewer = await h.token('viewer');
    expect((await h.store.findTokenByHash(hashTokenSecret(viewer.secret)))?.lastUsedAt).toBeNull();
    await h.call('GET', '/api/v1/tasks', { token: viewer.secret });
    expect((await h.store.findTokenByHash(hashTokenSecret(viewer.secret)))?.lastUsedAt).toBe(h.clock.now());
  });
});

describe('roles', () => {
  it('lets a viewer read but not create, change, trigger or manage tokens', async () => {
    const task = await h.createTask({ name: 'readable' });
    const viewer = (await h.token('viewer')).secret;
    expect((await h.call('GET', '/api/v1/tasks', { token: viewer })).statusCode).toBe(200);
    expect((await h.call('GET', `/api/v1/tasks/${task.id}`, { token: viewer })).statusCode).toBe(200);
    expect((await h.call('GET', '/api/v1/runs', { token: viewer })).statusCode).toBe(200);
    expect((await h.call('POST', '/api/v1/schedules/preview', { token: viewer, body: { schedule: { every: '1m' } } })).statusCode).toBe(200);

    const create = await h.call('POST', '/api/v1/tasks', { token: viewer, body: spec('default', 'by-viewer') });
    expect(create.statusCode).toBe(403);
    expect(errorOf(create)).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('editor') });
    expect(await h.taskCount()).toBe(1);
    for (const [method, url] of [
      ['PUT', `/api/v1/tasks/${task.id}`], ['DELETE', `/api/v1/tasks/${task.id}`], ['POST', `/api/v1/tasks/${task.id}/pause`],
      ['POST', `/api/v1/tasks/${task.id}/trigger`], ['POST', '/api/v1/runs/x/cancel'], ['GET', '/api/v1/tokens'], ['GET', '/api/v1/audit'],
    ] as const) {
      const res = await h.call(method, url, { token: viewer, body: method === 'PUT' ? spec('default', 'readable') : undefined });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
    }
    expect((await h.store.getTask(task.id))?.state).toBe('active');
    expect((await h.store.listRuns({ limit: 10 })).items).toHaveLength(0);
  });

  it('lets an editor manage tasks but not tokens or the audit log', async () => {
    const editor = (await h.token('editor')).secret;
    expect((await h.call('POST', '/api/v1/tasks', { token: editor, body: spec('default', 'by-editor') })).statusCode).toBe(201);
    expect((await h.call('POST', '/api/v1/tokens', { token: editor, body: { name: 'escalate', role: 'admin' } })).statusCode).toBe(403);
    expect((await h.call('GET', '/api/v1/audit', { token: editor })).statusCode).toBe(403);
    expect((await h.store.listTokens()).map((t) => t.name).sort()).toEqual(['editor-token', 'test-admin']);
  });
});

describe('namespace scopes', () => {
  it('shows and changes only the token\'s namespaces', async () => {
    const own = await h.createTask({ namespace: 'team-a', name: 'mine' });
    const other = await h.createTask({ namespace: 'team-b', name: 'theirs' });
    const scoped = (await h.token('editor', ['team-a'])).secret;

    const list = await h.call('GET', '/api/v1/tasks', { token: scoped });
    expect(list.json().items.map((t: { id: string }) => t.id)).toEqual([own.id]);
    expect((await h.call('GET', '/api/v1/tasks?namespace=team-b', { token: scoped })).json().items).toEqual([]);
    expect((await h.call('GET', `/api/v1/tasks/${own.id}`, { token: scoped })).statusCode).toBe(200);

    // Another namespace's task does not exist for this token.
    for (const [method, url] of [
      ['GET', `/api/v1/tasks/${other.id}`], ['GET', `/api/v1/tasks/${other.id}/revisions`], ['GET', `/api/v1/tasks/${other.id}/preview`],
      ['PUT', `/api/v1/tasks/${other.id}`], ['DELETE', `/api/v1/tasks/${other.id}`], ['POST', `/api/v1/tasks/${other.id}/pause`],
      ['POST', `/api/v1/tasks/${other.id}/trigger`],
    ] as const) {
      const res = await h.call(method, url, { token: scoped, body: method === 'PUT' ? spec('team-b', 'theirs') : undefined });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(errorOf(res).code).toBe('TASK_NOT_FOUND');
    }
    // Creating in, or moving a task to, another namespace is forbidden.
    const create = await h.call('POST', '/api/v1/tasks', { token: scoped, body: spec('team-b', 'sneaky') });
    expect(create.statusCode).toBe(403);
    const move = await h.call('PUT', `/api/v1/tasks/${own.id}`, { token: scoped, body: spec('team-b', 'mine') });
    expect(move.statusCode).toBe(403);

    expect(await h.taskCount()).toBe(2);
    const stored = await h.store.getTask(other.id);
    expect(stored).toMatchObject({ state: 'active', revision: 1 });
    expect((await h.store.getTask(own.id))?.namespace).toBe('team-a');
    expect((await h.store.listRuns({ limit: 10 })).items).toHaveLength(0);
  });

  it('hides runs of other namespaces', async () => {
    const own = await h.createTask({ namespace: 'team-a', name: 'mine' });
    const other = await h.createTask({ namespace: 'team-b', name: 'theirs' });
    const ownRun = (await h.call('POST', `/api/v1/tasks/${own.id}/trigger`)).json();
    const otherRun = (await h.call('POST', `/api/v1/tasks/${other.id}/trigger`)).json();
    const scoped = (await h.token('editor', ['team-a'])).secret;
    const runs = await h.call('GET', '/api/v1/runs', { token: scoped });
    expect(runs.json().items.map((r: { id: string }) => r.id)).toEqual([ownRun.id]);
    expect((await h.call('GET', `/api/v1/runs/${otherRun.id}`, { token: scoped })).statusCode).toBe(404);
    expect((await h.call('GET', `/api/v1/runs/${otherRun.id}/logs`, { token: scoped })).statusCode).toBe(404);
    expect((await h.call('POST', `/api/v1/runs/${otherRun.id}/cancel`, { token: scoped })).statusCode).toBe(404);
    expect((await h.call('GET', `/api/v1/runs/${ownRun.id}`, { token: scoped })).statusCode).toBe(200);
  });
});

describe('tokens', () => {
  it('creates a token whose secret is shown once, lists without secrets, and revokes it', async () => {
    const res = await h.call('POST', '/api/v1/tokens', { body: { name: 'ci', role: 'editor', namespaces: ['team-a', 'team-b'] } });
    expect(res.statusCode).toBe(201);
    const { token, secret } = res.json();
    expect(secret).toMatch(/^ecr_[A-Za-z0-9_-]{43}$/);
    expect(token).toEqual({
      id: expect.any(String), name: 'ci', role: 'editor', namespaces: ['team-a', 'team-b'], groups: null,
      createdAt: new Date(h.clock.now()).toISOString(), lastUsedAt: null, revokedAt: null, expiresAt: null, expired: false,
    });
    // Only the hash is stored.
    const stored = (await h.store.listTokens()).find((t) => t.id === token.id);
    expect(stored?.secretHash).toBe(hashTokenSecret(secret));
    expect(JSON.stringify(stored)).not.toContain(secret);

    const list = await h.call('GET', '/api/v1/tokens');
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(secret);
    expect(list.body).not.toContain('secretHash');
    expect(list.json().items.map((t: { name: string }) => t.name).sort()).toEqual(['ci', 'test-admin']);

    const defaults = await h.call('POST', '/api/v1/tokens', { body: { name: 'reader' } });
    expect(defaults.json().token).toMatchObject({ role: 'viewer', namespaces: ['*'] });

    const revoke = await h.call('DELETE', `/api/v1/tokens/${token.id}`);
    expect(revoke.statusCode).toBe(200);
    expect(revoke.json()).toMatchObject({ id: token.id, revokedAt: expect.any(String) });
    expect((await h.call('GET', '/api/v1/tasks', { token: secret })).statusCode).toBe(401);
    const unknown = await h.call('DELETE', '/api/v1/tokens/no-such-token');
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown).code).toBe('TOKEN_NOT_FOUND');
  });

  it('validates token input', async () => {
    const res = await h.call('POST', '/api/v1/tokens', { body: { name: '', role: 'root', extra: 1 } });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['extra', 'name', 'role']);
    expect(await h.store.countTokens()).toBe(1);
  });

  it('does not let a namespace-scoped admin mint tokens beyond its scope', async () => {
    const scopedAdmin = (await h.token('admin', ['team-a'])).secret;
    const wide = await h.call('POST', '/api/v1/tokens', { token: scopedAdmin, body: { name: 'wide', role: 'viewer', namespaces: ['*'] } });
    expect(wide.statusCode).toBe(403);
    const other = await h.call('POST', '/api/v1/tokens', { token: scopedAdmin, body: { name: 'other', role: 'viewer', namespaces: ['team-b'] } });
    expect(other.statusCode).toBe(403);
    const inside = await h.call('POST', '/api/v1/tokens', { token: scopedAdmin, body: { name: 'inside', role: 'viewer', namespaces: ['team-a'] } });
    expect(inside.statusCode).toBe(201);
    // It sees only tokens inside its scope, cannot revoke the global admin, and cannot read the audit log.
    const names = (await h.call('GET', '/api/v1/tokens', { token: scopedAdmin })).json().items.map((t: { name: string }) => t.name).sort();
    expect(names).toEqual(['admin-token', 'inside']);
    expect((await h.call('DELETE', `/api/v1/tokens/${h.adminId}`, { token: scopedAdmin })).statusCode).toBe(404);
    expect((await h.call('GET', '/api/v1/audit', { token: scopedAdmin })).statusCode).toBe(403);
    expect((await h.call('GET', '/api/v1/tasks', { token: h.admin })).statusCode).toBe(200);
  });
});
