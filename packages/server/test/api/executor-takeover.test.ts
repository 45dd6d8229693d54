/**
 * Executor groups belong to a namespace, and a node to the credential that registered it (issue
 * 17, F1). The audit, as an editor scoped to namespace `b`, took over namespace `a`'s executor
 * group: it registered a node into `a`'s group and received 3 of 6 of `a`'s runs, re-registered
 * `a`'s node id and captured 6 of 6, deleted `a`'s node (204), took its pull delivery and forged
 * its result. Each step is replayed here against the real app over SQLite, and refused.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { systemClock } from '../../src/core/clock.ts';
import { ExecutorDirectory } from '../../src/dispatch/executor-directory.ts';
import { PullHub } from '../../src/dispatch/pull-hub.ts';
import { groupSecretName } from '../../src/services/executor-registry.ts';
import { SYSTEM_CALLER } from '../../src/services/access.ts';
import { createTokenService } from '../../src/services/tokens.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { UNUSED_RUN_CONTROL } from './api-harness.ts';

let store: Store;
let app: FastifyInstance;
let hub: PullHub;
/** Secrets of editor tokens: two of namespace a (two credentials), one of b; and an admin of a. */
const tokens = { a: '', a2: '', b: '', adminA: '' };

beforeEach(async () => {
  store = createSqliteStore({ path: ':memory:' });
  await store.open();
  hub = new PullHub();
  app = await buildApp({ store, control: UNUSED_RUN_CONTROL, clock: systemClock, version: '0.0.0-test', pull: hub });
  const service = createTokenService({ store, clock: systemClock });
  tokens.a = (await service.create(SYSTEM_CALLER, { name: 'a', role: 'editor', namespaces: ['a'] })).secret;
  tokens.a2 = (await service.create(SYSTEM_CALLER, { name: 'a2', role: 'editor', namespaces: ['a'] })).secret;
  tokens.b = (await service.create(SYSTEM_CALLER, { name: 'b', role: 'editor', namespaces: ['b'] })).secret;
  tokens.adminA = (await service.create(SYSTEM_CALLER, { name: 'admin-a', role: 'admin', namespaces: ['a'] })).secret;
});
afterEach(async () => {
  await app.close();
  await store.close();
});

const call = (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, token: string, body?: unknown) => app.inject({
  method, url, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
});
const beat = (id: string, token: string, body: Record<string, unknown>) => call('PUT', `/api/v1/executors/${id}`, token, { mode: 'pull', ...body });
const codeOf = (res: { json(): unknown }) => (res.json() as { error?: { code?: string } }).error?.code;

describe('executor groups belong to their namespace (F1)', () => {
  it('refuses a node registered into another namespace\'s group, and routes a namespace\'s runs only to its own nodes', async () => {
    expect((await beat('real-a', tokens.a, { namespace: 'a', group: 'g1' })).statusCode).toBe(200);
    const intrusion = await beat('evil-b', tokens.b, { namespace: 'a', group: 'g1' });
    expect(intrusion.statusCode).toBe(403);
    expect(codeOf(intrusion)).toBe('FORBIDDEN');
    // Without a namespace the node is in `default`, which b's token does not cover either.
    expect((await beat('evil-b', tokens.b, { group: 'g1' })).statusCode).toBe(403);

    // Its own group g1 in b is another group: another secret, and none of a's runs.
    const own = await beat('evil-b', tokens.b, { namespace: 'b', group: 'g1' });
    expect(own.statusCode).toBe(200);
    const real = await beat('real-a', tokens.a, { namespace: 'a', group: 'g1' });
    expect(own.json().secret).not.toBe(real.json().secret);
    expect(real.json().secret).toBe(await store.ensureSecret({ name: groupSecretName({ namespace: 'a', group: 'g1' }), candidate: 'unused' }));
    const directory = new ExecutorDirectory({ store, clock: systemClock, log: () => {} });
    await directory.refresh();
    expect(directory.live({ namespace: 'a', group: 'g1' }).map((n) => n.id)).toEqual(['real-a']);
    expect(directory.live({ namespace: 'b', group: 'g1' }).map((n) => n.id)).toEqual(['evil-b']);
  });

  it('refuses to let another credential take over a live node id, in any namespace', async () => {
    expect((await beat('real-a', tokens.a, { namespace: 'a', group: 'g1', labels: { zone: 'x' } })).statusCode).toBe(200);
    for (const [token, namespace] of [[tokens.b, 'b'], [tokens.a2, 'a']] as const) {
      const takeover = await beat('real-a', token, { namespace, group: 'g1', labels: { zone: 'evil' } });
      expect(takeover.statusCode).toBe(409);
      expect(codeOf(takeover)).toBe('EXECUTOR_ID_TAKEN');
      expect(takeover.json()).not.toHaveProperty('secret');
    }
    const [node] = await store.listExecutors();
    expect(node).toMatchObject({ id: 'real-a', namespace: 'a', labels: { zone: 'x' } });
    expect((await beat('real-a', tokens.a, { namespace: 'a', group: 'g1' })).statusCode).toBe(200);
  });

  it('lets only the node\'s credential, or an admin of its namespace, remove it', async () => {
    await beat('real-a', tokens.a, { namespace: 'a', group: 'g1' });
    expect((await call('DELETE', '/api/v1/executors/real-a', tokens.b)).statusCode).toBe(404);
    const other = await call('DELETE', '/api/v1/executors/real-a', tokens.a2);
    expect(other.statusCode).toBe(403);
    expect((await store.listExecutors()).map((n) => n.id)).toEqual(['real-a']);
    expect((await call('DELETE', '/api/v1/executors/real-a', tokens.adminA)).statusCode).toBe(204);
    await beat('real-a', tokens.a, { namespace: 'a', group: 'g1' });
    expect((await call('DELETE', '/api/v1/executors/real-a', tokens.a)).statusCode).toBe(204);
  });

  it('refuses another credential\'s poll of a pull node and its forged results; the delivery stays the node\'s', async () => {
    await beat('pull-a', tokens.a, { namespace: 'a', group: 'g1' });
    const request = {
      runId: 'run-1', taskId: 't', namespace: 'a', task: 'task', scheduledAt: new Date(0).toISOString(), attempt: 1, params: {},
      shard: { index: 0, total: 1 }, deadline: null, callback: { url: 'http://127.0.0.1:1/cb', token: 'x' }, handler: 'h', group: 'g1',
    };
    let result: unknown = null;
    void hub.send('pull-a', request, new AbortController().signal).then((r) => { result = r; });
    for (const token of [tokens.b, tokens.a2]) {
      const poll = await call('POST', '/api/v1/executors/pull-a/poll', token, { waitMs: 0 });
      expect(poll.statusCode).toBe(403);
      const forged = await call('POST', '/api/v1/executors/pull-a/results', token, { results: [{ id: 'any', status: 'succeeded', output: { forged: true } }] });
      expect(forged.statusCode).toBe(403);
    }
    expect(hub.pending('pull-a')).toBe(1);
    const taken = await call('POST', '/api/v1/executors/pull-a/poll', tokens.a, { waitMs: 0 });
    expect(taken.statusCode).toBe(200);
    const [delivery] = taken.json().deliveries as { id: string }[];
    expect((await call('POST', '/api/v1/executors/pull-a/results', tokens.a, { results: [{ id: delivery!.id, status: 'succeeded', output: { ok: 1 } }] })).json())
      .toEqual({ accepted: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(result).toEqual({ kind: 'succeeded', output: { ok: 1 } });
  });

  it('lists only the nodes of the caller\'s namespaces', async () => {
    await beat('real-a', tokens.a, { namespace: 'a', group: 'g1' });
    await beat('node-b', tokens.b, { namespace: 'b', group: 'g1' });
    const ids = async (token: string) => ((await call('GET', '/api/v1/executors', token)).json().items as { id: string; namespace: string }[]).map((n) => `${n.namespace}/${n.id}`);
    expect(await ids(tokens.b)).toEqual(['b/node-b']);
    expect(await ids(tokens.a)).toEqual(['a/real-a']);
  });
});
