/**
 * Executor tokens scoped to executor groups (issue 17, F1: "an `executor` role scoped to the
 * group"). The attack: a credential for group g1 of namespace `a` acting for group g2 of the same
 * namespace. Before, an `executor` token covered every group of its namespaces; one created with
 * `groups: ["g1"]` now registers, heartbeats, removes, polls, streams and answers for nodes of g1
 * only. Each step is replayed against the real app over SQLite (listening, for the WebSocket
 * stream), and refused for g2, allowed for g1.
 */
import { randomBytes } from 'node:crypto';
import { EXECUTOR_TTL_MS, GROUPS_NEED_EXECUTOR_ROLE } from '@ecron/contracts';
import { STREAM_CLOSE_NOT_REGISTERED, STREAM_NONCE_HEADER, STREAM_SUBPROTOCOL } from '@ecron/contracts/executor-stream';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp } from '../../src/api/app.ts';
import { systemClock } from '../../src/core/clock.ts';
import { PullHub } from '../../src/dispatch/pull-hub.ts';
import { SYSTEM_CALLER } from '../../src/services/access.ts';
import { createTokenService } from '../../src/services/tokens.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { UNUSED_RUN_CONTROL } from './api-harness.ts';

let store: Store;
let app: FastifyInstance;
let hub: PullHub;
let base = '';
let admin = '';
const sockets: WebSocket[] = [];
/**
 * Secrets: executor tokens of namespace `a` limited to g1 and to g2; one of `a` and `b` limited to
 * g1; one of `a` for every group; an editor and an admin of `a`.
 */
const tokens = { g1: '', g2: '', g1ab: '', everyGroup: '', editorA: '', adminA: '' };

beforeEach(async () => {
  store = createSqliteStore({ path: ':memory:' });
  await store.open();
  hub = new PullHub();
  app = await buildApp({ store, control: UNUSED_RUN_CONTROL, clock: systemClock, version: '0.0.0-test', pull: hub });
  base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  admin = (await createTokenService({ store, clock: systemClock }).create(SYSTEM_CALLER, { name: 'admin', role: 'admin' })).secret;
  const create = async (body: Record<string, unknown>) => {
    const res = await call('POST', '/api/v1/tokens', admin, body);
    expect(res.statusCode, res.body).toBe(201);
    return res.json().secret as string;
  };
  tokens.g1 = await create({ name: 'node-g1', role: 'executor', namespaces: ['a'], groups: ['g1'] });
  tokens.g2 = await create({ name: 'node-g2', role: 'executor', namespaces: ['a'], groups: ['g2'] });
  tokens.g1ab = await create({ name: 'node-g1-ab', role: 'executor', namespaces: ['a', 'b'], groups: ['g1'] });
  tokens.everyGroup = await create({ name: 'node-a', role: 'executor', namespaces: ['a'] });
  tokens.editorA = await create({ name: 'editor-a', role: 'editor', namespaces: ['a'] });
  tokens.adminA = await create({ name: 'admin-a', role: 'admin', namespaces: ['a'] });
});
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await app.close();
  await store.close();
});

function call(method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, token: string, body?: unknown) {
  return app.inject({
    method, url, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
}
const beat = (id: string, token: string, body: Record<string, unknown>) => call('PUT', `/api/v1/executors/${id}`, token, { namespace: 'a', mode: 'pull', ...body });
const errorOf = (res: { json(): unknown }) => (res.json() as { error: { code: string; message: string; details?: { issues?: { path: string; code: string }[] } } }).error;

function request(group: string) {
  return {
    runId: `run-${group}`, taskId: 't', namespace: 'a', task: 'task', scheduledAt: new Date(0).toISOString(), attempt: 1, params: {},
    shard: { index: 0, total: 1 }, deadline: null, callback: { url: 'http://127.0.0.1:1/cb', token: 'x' }, handler: 'h', group,
  };
}

/** Opens the node's stream with `token`: resolves with its first frame's arrival, or with how the server closed it. */
function stream(id: string, token: string): Promise<{ opened: true } | { closed: { code: number; reason: string } }> {
  const socket = new WebSocket(`${base}/api/v1/executors/${id}/stream`, [STREAM_SUBPROTOCOL], {
    headers: { authorization: `Bearer ${token}`, [STREAM_NONCE_HEADER]: randomBytes(18).toString('base64url') },
  });
  sockets.push(socket);
  socket.on('error', () => {});
  return new Promise((resolve) => {
    socket.once('message', () => resolve({ opened: true }));
    socket.once('close', (code, reason) => resolve({ closed: { code, reason: reason.toString() } }));
  });
}

describe('an executor token limited to group g1 of namespace a', () => {
  it('cannot register a node in group g2 of its namespace (403 naming the group), and can in g1', async () => {
    const intrusion = await beat('evil', tokens.g1, { group: 'g2' });
    expect(intrusion.statusCode).toBe(403);
    expect(errorOf(intrusion).code).toBe('FORBIDDEN');
    expect(errorOf(intrusion).message).toContain('"g2"');
    expect(errorOf(intrusion).message).toContain('"g1"');
    expect(intrusion.json()).not.toHaveProperty('secret');
    // Another namespace is refused as before, whatever the group.
    expect((await beat('evil', tokens.g1, { namespace: 'b', group: 'g1' })).statusCode).toBe(403);
    expect(await store.listExecutors()).toEqual([]);

    const own = await beat('node-1', tokens.g1, { group: 'g1' });
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({ id: 'node-1', namespace: 'a', group: 'g1' });
    // A token limited to g1 in `a` and `b` registers g1 in either, g2 in neither.
    expect((await beat('node-b', tokens.g1ab, { namespace: 'b', group: 'g1' })).statusCode).toBe(200);
    expect((await beat('evil-b', tokens.g1ab, { namespace: 'b', group: 'g2' })).statusCode).toBe(403);
  });

  it('cannot heartbeat a node of g2 nor move its own node into g2; the g2 node is unchanged', async () => {
    expect((await beat('real-g2', tokens.g2, { group: 'g2', labels: { zone: 'x' } })).statusCode).toBe(200);
    // As its own group: refused before the store is asked. As g1: the id is another credential's.
    expect((await beat('real-g2', tokens.g1, { group: 'g2', labels: { zone: 'evil' } })).statusCode).toBe(403);
    const takeover = await beat('real-g2', tokens.g1, { group: 'g1', labels: { zone: 'evil' } });
    expect(takeover.statusCode).toBe(409);
    expect(errorOf(takeover).code).toBe('EXECUTOR_ID_TAKEN');

    expect((await beat('node-1', tokens.g1, { group: 'g1' })).statusCode).toBe(200);
    expect((await beat('node-1', tokens.g1, { group: 'g2' })).statusCode).toBe(403);
    const nodes = await store.listExecutors();
    expect(nodes.map((n) => [n.id, n.group, n.labels])).toEqual([['node-1', 'g1', {}], ['real-g2', 'g2', { zone: 'x' }]]);
  });

  it('cannot poll a g2 node nor post its results; the delivery stays the node\'s, and g1\'s own node works', async () => {
    await beat('pull-g2', tokens.g2, { group: 'g2' });
    await beat('pull-g1', tokens.g1, { group: 'g1' });
    let result: unknown = null;
    void hub.send('pull-g2', request('g2'), new AbortController().signal).then((r) => { result = r; });
    const poll = await call('POST', '/api/v1/executors/pull-g2/poll', tokens.g1, { waitMs: 0 });
    expect(poll.statusCode).toBe(403);
    expect(errorOf(poll).code).toBe('FORBIDDEN');
    const forged = await call('POST', '/api/v1/executors/pull-g2/results', tokens.g1, { results: [{ id: 'any', status: 'succeeded', output: { forged: true } }] });
    expect(forged.statusCode).toBe(403);
    expect(hub.pending('pull-g2')).toBe(1);

    const taken = await call('POST', '/api/v1/executors/pull-g2/poll', tokens.g2, { waitMs: 0 });
    expect(taken.statusCode).toBe(200);
    const [delivery] = taken.json().deliveries as { id: string }[];
    expect((await call('POST', '/api/v1/executors/pull-g2/results', tokens.g2, { results: [{ id: delivery!.id, status: 'succeeded', output: { ok: 2 } }] })).json())
      .toEqual({ accepted: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(result).toEqual({ kind: 'succeeded', output: { ok: 2 } });

    void hub.send('pull-g1', request('g1'), new AbortController().signal);
    const own = await call('POST', '/api/v1/executors/pull-g1/poll', tokens.g1, { waitMs: 0 });
    expect(own.statusCode).toBe(200);
    expect(own.json().deliveries).toHaveLength(1);
    expect((await call('POST', '/api/v1/executors/pull-g1/results', tokens.g1, { results: [] })).statusCode).toBe(200);
  });

  it('cannot open the stream of a g2 node; it can open its own', async () => {
    await beat('pull-g2', tokens.g2, { group: 'g2' });
    await beat('pull-g1', tokens.g1, { group: 'g1' });
    expect(await stream('pull-g2', tokens.g1)).toEqual({ closed: { code: STREAM_CLOSE_NOT_REGISTERED, reason: 'FORBIDDEN' } });
    expect(await stream('pull-g1', tokens.g1)).toEqual({ opened: true });
    expect(await stream('pull-g2', tokens.g2)).toEqual({ opened: true });
  });

  it('cannot remove a g2 node (404, as another namespace\'s); it can remove its own', async () => {
    await beat('real-g2', tokens.g2, { group: 'g2' });
    await beat('node-1', tokens.g1, { group: 'g1' });
    const removal = await call('DELETE', '/api/v1/executors/real-g2', tokens.g1);
    expect(removal.statusCode).toBe(404);
    expect(errorOf(removal).code).toBe('EXECUTOR_NOT_FOUND');
    expect((await store.listExecutors()).map((n) => n.id)).toEqual(['node-1', 'real-g2']);
    expect((await call('DELETE', '/api/v1/executors/node-1', tokens.g1)).statusCode).toBe(204);
    expect((await call('DELETE', '/api/v1/executors/real-g2', tokens.g2)).statusCode).toBe(204);
    expect(await store.listExecutors()).toEqual([]);
  });

  it('cannot act for a g2 node of an older release (no owner), which a token of every group may claim', async () => {
    await store.heartbeatExecutor({
      node: { id: 'old-g2', namespace: 'a', group: 'g2', mode: 'pull', transport: 'http', address: null, labels: {}, weight: 1, handlers: [], version: '', inflight: 0, owner: null },
      ttlMs: EXECUTOR_TTL_MS,
    });
    expect((await call('POST', '/api/v1/executors/old-g2/poll', tokens.g1, { waitMs: 0 })).statusCode).toBe(403);
    expect((await call('POST', '/api/v1/executors/old-g2/results', tokens.g1, { results: [] })).statusCode).toBe(403);
    expect(await stream('old-g2', tokens.g1)).toEqual({ closed: { code: STREAM_CLOSE_NOT_REGISTERED, reason: 'FORBIDDEN' } });
    expect((await call('DELETE', '/api/v1/executors/old-g2', tokens.g1)).statusCode).toBe(404);
    expect((await beat('old-g2', tokens.g1, { group: 'g2' })).statusCode).toBe(403);
    expect((await call('POST', '/api/v1/executors/old-g2/poll', tokens.everyGroup, { waitMs: 0 })).statusCode).toBe(200);
  });

  it('leaves tokens of every group, editors and admins acting for any group of their namespaces', async () => {
    for (const [id, token, group] of [['n-every', tokens.everyGroup, 'g2'], ['n-editor', tokens.editorA, 'g2'], ['n-admin', tokens.adminA, 'g3']] as const) {
      expect((await beat(id, token, { group })).statusCode).toBe(200);
      expect((await call('POST', `/api/v1/executors/${id}/poll`, token, { waitMs: 0 })).statusCode).toBe(200);
      expect(await stream(id, token)).toEqual({ opened: true });
    }
    // An admin of the namespace still removes any node of it, a g1 token's too.
    await beat('node-1', tokens.g1, { group: 'g1' });
    expect((await call('DELETE', '/api/v1/executors/node-1', tokens.adminA)).statusCode).toBe(204);
  });
});

describe('creating a token limited to groups', () => {
  it('takes groups for role executor only: another role, or none given, is 400 with GROUPS_NEED_EXECUTOR_ROLE', async () => {
    for (const body of [
      { name: 'x', role: 'editor', namespaces: ['a'], groups: ['g1'] },
      { name: 'x', role: 'admin', groups: ['g1'] },
      { name: 'x', groups: ['g1'] }, // role viewer, by default
    ]) {
      const res = await call('POST', '/api/v1/tokens', admin, body);
      expect(res.statusCode).toBe(400);
      expect(errorOf(res).code).toBe('VALIDATION_FAILED');
      expect(errorOf(res).details?.issues).toEqual([expect.objectContaining({ path: 'groups', code: GROUPS_NEED_EXECUTOR_ROLE })]);
      expect(errorOf(res).message).toContain('role executor');
    }
    // An empty list, or a name no group can have, is refused too.
    for (const groups of [[], ['has space'], ['-x']]) {
      const res = await call('POST', '/api/v1/tokens', admin, { name: 'x', role: 'executor', groups });
      expect(res.statusCode).toBe(400);
      expect(errorOf(res).details?.issues?.[0]?.path).toMatch(/^groups/);
    }
    const names = ((await call('GET', '/api/v1/tokens', admin)).json().items as { name: string }[]).map((t) => t.name);
    expect(names).not.toContain('x');
  });

  it('returns groups (null: every group), lists them, records them in the audit log and shows them in /me', async () => {
    const created = await call('POST', '/api/v1/tokens', admin, { name: 'billing-node', role: 'executor', namespaces: ['billing'], groups: ['g1', 'g2', 'g1'] });
    expect(created.statusCode).toBe(201);
    expect(created.json().token).toMatchObject({ role: 'executor', namespaces: ['billing'], groups: ['g1', 'g2'] });
    const { items } = (await call('GET', '/api/v1/tokens', admin)).json() as { items: { name: string; groups: string[] | null }[] };
    expect(Object.fromEntries(items.map((t) => [t.name, t.groups]))).toMatchObject({
      'billing-node': ['g1', 'g2'], 'node-g1': ['g1'], 'node-a': null, 'editor-a': null, admin: null,
    });
    const [entry] = (await call('GET', '/api/v1/audit?action=token.create&limit=1', admin)).json().items;
    expect(entry.details).toMatchObject({ name: 'billing-node', role: 'executor', namespaces: ['billing'], groups: ['g1', 'g2'] });

    const me = (await call('GET', '/api/v1/me', created.json().secret)).json();
    expect(me.grants).toEqual([{ role: 'executor', namespaces: ['billing'], groups: ['g1', 'g2'] }]);
    expect((await call('GET', '/api/v1/me', tokens.everyGroup)).json().grants).toEqual([{ role: 'executor', namespaces: ['a'] }]);
  });

  it('lets an admin scoped to a namespace create one for that namespace only', async () => {
    const inside = await call('POST', '/api/v1/tokens', tokens.adminA, { name: 'n', role: 'executor', namespaces: ['a'], groups: ['g1'] });
    expect(inside.statusCode).toBe(201);
    expect((await call('POST', '/api/v1/tokens', tokens.adminA, { name: 'n', role: 'executor', namespaces: ['b'], groups: ['g1'] })).statusCode).toBe(403);
  });
});
