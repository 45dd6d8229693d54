/**
 * `/api/v1/executors`: registering and heartbeating executor nodes, deregistering them, and the
 * list with liveness by the store's clock. The group's secret is in the heartbeat's answer only.
 */
import { EXECUTOR_HEARTBEAT_MS, EXECUTOR_TTL_MS } from '@ecron/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupSecretName } from '../../src/services/executor-registry.ts';
import { ApiHarness, errorOf, issuesOf } from './api-harness.ts';

let h: ApiHarness;
beforeEach(async () => {
  h = await new ApiHarness().start();
});
afterEach(async () => h.close());

const beat = (id: string, body: Record<string, unknown>, token?: string) => h.call('PUT', `/api/v1/executors/${id}`, { body, token });
const push = (group: string, extra: Record<string, unknown> = {}) => ({ group, address: 'http://10.0.0.7:9000/ecron', ...extra });
const list = async (query = '') => {
  const res = await h.call('GET', `/api/v1/executors${query}`);
  expect(res.statusCode).toBe(200);
  return res.json().items as Record<string, any>[];
};

describe('registering and heartbeating', () => {
  it('registers a node and answers with the group secret, the heartbeat interval, the TTL and the expiry', async () => {
    const before = await h.store.now();
    const res = await beat('billing-1', push('billing', { labels: { zone: 'a' }, handlers: ['report'], weight: 3, version: '2.1.0', inflight: 2 }));
    expect(res.statusCode).toBe(200);
    const reply = res.json();
    expect(reply).toEqual({ id: 'billing-1', namespace: 'default', group: 'billing', secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), heartbeatMs: EXECUTOR_HEARTBEAT_MS, ttlMs: EXECUTOR_TTL_MS, expiresAt: expect.any(String) });
    expect(Date.parse(reply.expiresAt)).toBeGreaterThanOrEqual(before + EXECUTOR_TTL_MS);
    expect(Date.parse(reply.expiresAt)).toBeLessThanOrEqual((await h.store.now()) + EXECUTOR_TTL_MS);
    // The secret is the group's, shared with the scheduler through the store.
    expect(reply.secret).toBe(await h.store.ensureSecret({ name: groupSecretName({ namespace: 'default', group: 'billing' }), candidate: 'unused' }));

    const items = await list();
    expect(items).toEqual([{
      id: 'billing-1', namespace: 'default', group: 'billing', mode: 'push', transport: 'http', address: 'http://10.0.0.7:9000/ecron', labels: { zone: 'a' }, weight: 3,
      handlers: ['report'], version: '2.1.0', inflight: 2, startedAt: expect.any(String), heartbeatAt: expect.any(String), expiresAt: reply.expiresAt, alive: true,
    }]);
    expect(JSON.stringify(items)).not.toContain(reply.secret);
  });

  it('keeps the registration\'s start and the group secret across heartbeats; another group has its own secret', async () => {
    const first = (await beat('billing-1', push('billing'))).json();
    const [registered] = await list();
    const again = (await beat('billing-1', push('billing', { inflight: 7 }))).json();
    expect(again.secret).toBe(first.secret);
    expect(Date.parse(again.expiresAt)).toBeGreaterThanOrEqual(Date.parse(first.expiresAt));
    const [refreshed] = await list();
    expect(refreshed).toMatchObject({ startedAt: registered!.startedAt, inflight: 7 });
    const ops = (await beat('ops-1', { group: 'ops', mode: 'pull' })).json();
    expect(ops.secret).not.toBe(first.secret);
  });

  it('fills in the defaults, and takes pull-mode and grpc nodes', async () => {
    expect((await beat('plain', push('billing'))).statusCode).toBe(200);
    expect((await beat('puller', { group: 'billing', mode: 'pull' })).statusCode).toBe(200);
    expect((await beat('grpc-1', { group: 'billing', transport: 'grpc', address: '10.0.0.8:50051' })).statusCode).toBe(200);
    const byId = Object.fromEntries((await list()).map((item) => [item.id, item]));
    expect(byId.plain).toMatchObject({ mode: 'push', transport: 'http', labels: {}, weight: 1, handlers: [], version: '', inflight: 0 });
    expect(byId.puller).toMatchObject({ mode: 'pull', address: null });
    expect(byId['grpc-1']).toMatchObject({ transport: 'grpc', address: '10.0.0.8:50051' });
  });

  it('refuses bad input with VALIDATION_FAILED and field issues', async () => {
    const cases: [string, unknown, string][] = [
      ['-starts-with-dash', push('billing'), 'params.id'],
      ['node-1', { group: 'has space', address: 'http://x/' }, 'group'],
      ['node-1', { group: 'billing' }, 'address'],
      ['node-1', push('billing', { address: 'ftp://x/' }), 'address'],
      ['node-1', { group: 'billing', transport: 'grpc', address: 'http://x:1/' }, 'address'],
      ['node-1', push('billing', { mode: 'sideways' }), 'mode'],
      ['node-1', push('billing', { weight: 0 }), 'weight'],
      ['node-1', push('billing', { labels: { 'bad key!': 'x' } }), 'labels["bad key!"]'],
      ['node-1', push('billing', { inflight: -1 }), 'inflight'],
      ['node-1', push('billing', { surprise: true }), 'surprise'],
    ];
    for (const [id, body, path] of cases) {
      const res = await beat(id, body as Record<string, unknown>);
      expect(res.statusCode, `${id} ${JSON.stringify(body)}`).toBe(400);
      expect(errorOf(res).code).toBe('VALIDATION_FAILED');
      expect(issuesOf(res).map((issue) => issue.path), JSON.stringify(body)).toContain(path);
    }
    expect(errorOf(await h.call('PUT', '/api/v1/executors/node-1')).code).toBe('BODY_EMPTY');
    expect(await list()).toEqual([]);
  });
});

describe('deregistering', () => {
  it('removes a node at once, then answers 404 EXECUTOR_NOT_FOUND', async () => {
    await beat('billing-1', push('billing'));
    await beat('billing-2', push('billing'));
    const removed = await h.call('DELETE', '/api/v1/executors/billing-1');
    expect(removed.statusCode).toBe(204);
    expect(removed.body).toBe('');
    expect((await list()).map((item) => item.id)).toEqual(['billing-2']);
    const again = await h.call('DELETE', '/api/v1/executors/billing-1');
    expect(again.statusCode).toBe(404);
    expect(errorOf(again)).toMatchObject({ code: 'EXECUTOR_NOT_FOUND', details: { id: 'billing-1' } });
    const bad = await h.call('DELETE', '/api/v1/executors/bad%20id');
    expect(bad.statusCode).toBe(400);
    expect(issuesOf(bad).map((issue) => issue.path)).toEqual(['params.id']);
  });
});

describe('listing', () => {
  it('lists live nodes first, then by group and id, dead ones with alive false; filters by group', async () => {
    await beat('o-1', push('ops'));
    await beat('b-2', push('billing'));
    await beat('b-1', push('billing'));
    // A node whose registration has lapsed (TTL 0: it expires at the store's now).
    await h.store.heartbeatExecutor({
      node: { id: 'a-dead', namespace: 'default', owner: null, group: 'analytics', mode: 'push', transport: 'http', address: 'http://x/', labels: {}, weight: 1, handlers: [], version: '', inflight: 0 },
      ttlMs: 0,
    });
    expect((await list()).map((item) => [item.id, item.alive])).toEqual([['b-1', true], ['b-2', true], ['o-1', true], ['a-dead', false]]);
    expect((await list('?group=billing')).map((item) => item.id)).toEqual(['b-1', 'b-2']);
    expect(await list('?group=nobody')).toEqual([]);
    const bad = await h.call('GET', '/api/v1/executors?grup=billing');
    expect(bad.statusCode).toBe(400);
    expect(issuesOf(bad).map((issue) => issue.path)).toEqual(['query.grup']);
  });
});

describe('access', () => {
  it('lets viewers list, and only editors and admins of the node\'s namespace register or deregister', async () => {
    const viewer = await h.token('viewer');
    const editor = await h.token('editor', ['billing']);
    expect((await h.call('GET', '/api/v1/executors', { token: viewer.secret })).statusCode).toBe(200);
    expect(errorOf(await beat('n-1', push('billing'), viewer.secret)).code).toBe('FORBIDDEN');
    expect(errorOf(await h.call('DELETE', '/api/v1/executors/n-1', { token: viewer.secret })).code).toBe('FORBIDDEN');
    // The editor's scope is namespace billing: a node of namespace default is not its to register.
    expect(errorOf(await beat('n-1', push('billing'), editor.secret)).code).toBe('FORBIDDEN');
    expect((await beat('n-1', { ...push('billing'), namespace: 'billing' }, editor.secret)).statusCode).toBe(200);
    expect((await h.call('DELETE', '/api/v1/executors/n-1', { token: editor.secret })).statusCode).toBe(204);
    expect(errorOf(await h.call('GET', '/api/v1/executors', { token: null })).code).toBe('UNAUTHENTICATED');
  });

  it('describes the routes in /openapi.json', async () => {
    const doc = (await h.call('GET', '/openapi.json', { token: null })).json();
    expect(Object.keys(doc.paths['/api/v1/executors/{id}'])).toEqual(expect.arrayContaining(['put', 'delete']));
    expect(Object.keys(doc.paths['/api/v1/executors'])).toContain('get');
    expect(doc.paths['/api/v1/executors/{id}'].put.responses['200'].content['application/json'].schema.properties).toHaveProperty('secret');
  });
});
