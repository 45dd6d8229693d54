/**
 * A caller with grants of different roles in different namespaces (issue 17: a user signed in with
 * SSO whose groups map to `editor` in `a` and `viewer` in `b`), through the API with the session
 * cookie: every check asks for the role in the namespace concerned. The user edits, triggers and
 * pauses in `a`; in `b` every operator and editor route answers 403 FORBIDDEN (or refuses the item
 * of a bulk route) and nothing changes, while reads work with header values masked; in `c`, where
 * the user has no grant, nothing exists. Tokens keep their one grant: access-matrix.test.ts,
 * roles.test.ts and the others check that their behaviour is unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { csrfTokenOf, createSessionService } from '../../src/services/sessions.ts';
import { resolveOidcConfig } from '../../src/sso/config.ts';
import { ApiHarness, errorOf } from './api-harness.ts';

type Json = Record<string, any>;

const HEADERS = { Authorization: 'Bearer upstream-secret-0123456789' };
const BACKFILL = (t0: number) => ({ from: new Date(t0 - 15 * 60_000).toISOString(), to: new Date(t0 - 60_000).toISOString() });

let h: ApiHarness;
let cookie: string;
let csrf: string;
const tasks: Record<string, Json> = {};
const workflows: Record<string, Json> = {};
const runs: Record<string, string> = {};
const workflowRuns: Record<string, string> = {};
let backfillB: string;

/** A request as the signed-in user: the session cookie and its CSRF token, no bearer token. */
function asUser(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) {
  return h.call(method, url, { token: null, body, headers: { cookie: `ecron_session=${cookie}`, 'x-csrf-token': csrf } });
}

async function ok(method: 'POST' | 'PUT', url: string, body?: unknown): Promise<Json> {
  const res = await h.call(method, url, { body });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** Polls until `done` holds; fails after 20 s. */
async function until(done: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 20_000; !(await done());) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What `b` holds, read with the admin token (instants that move by themselves left out). */
async function worldOfB(): Promise<unknown> {
  const reads = await Promise.all([
    `/api/v1/tasks?namespace=b`, `/api/v1/workflows?namespace=b`, `/api/v1/runs?namespace=b&limit=100`, `/api/v1/tasks/${tasks.b!.id}/revisions`,
    `/api/v1/backfills/${backfillB}`, `/api/v1/namespaces/b`,
  ].map(async (url) => (await h.call('GET', url)).json()));
  return JSON.parse(JSON.stringify(reads, (key, value) => (['usage', 'updatedAt', 'lastUsedAt'].includes(key) ? undefined : value)));
}

beforeAll(async () => {
  h = await new ApiHarness().start();
  await h.app.close();
  const config = resolveOidcConfig({
    issuer: 'http://127.0.0.1:1/never-asked', clientId: 'ecron', roles: [{ group: 'g', role: 'viewer', namespaces: ['*'] }],
  }, { source: 'test', env: {} });
  h.app = await buildApp({ store: h.store, control: h.scheduler, clock: h.clock, version: '0.0.0-test', sso: { config, publicUrl: () => 'http://127.0.0.1:7070' } });

  for (const ns of ['a', 'b', 'c']) {
    await ok('PUT', `/api/v1/namespaces/${ns}`, { description: `team ${ns}` });
    tasks[ns] = await h.createTask({ namespace: ns, name: `t-${ns}`, schedule: { cron: '*/5 * * * *' }, target: { type: 'http', url: `${h.executorUrl}/run`, headers: HEADERS } });
    const run = await ok('POST', `/api/v1/tasks/${tasks[ns]!.id}/trigger`, {});
    await h.ended(run.id);
    runs[ns] = run.id;
    workflows[ns] = await ok('POST', '/api/v1/workflows', {
      namespace: ns, name: `w-${ns}`, schedule: { manual: true }, nodes: [{ id: 'n', target: { type: 'http', url: `${h.executorUrl}/run`, headers: HEADERS } }],
    });
    workflowRuns[ns] = (await ok('POST', `/api/v1/workflows/${workflows[ns]!.id}/trigger`, {})).id;
  }
  // A backfill of b, cancelled at once and left to settle: what b holds stays as it is.
  backfillB = (await ok('POST', `/api/v1/tasks/${tasks.b!.id}/backfill`, BACKFILL(h.clock.now()))).id;
  await ok('POST', `/api/v1/backfills/${backfillB}/cancel`);
  await until(async () => (await h.call('GET', `/api/v1/backfills/${backfillB}`)).json().runs.active === 0);
  for (const ns of ['a', 'b', 'c']) {
    await until(async () => ['succeeded', 'failed'].includes((await h.call('GET', `/api/v1/workflow-runs/${workflowRuns[ns]}`)).json().status));
  }

  const created = await createSessionService({ store: h.store, clock: h.clock }).create({
    actor: 'user:mixed', name: 'Mixed Grants', ttlMs: 3_600_000,
    grants: [{ role: 'editor', namespaces: ['a'] }, { role: 'viewer', namespaces: ['b'] }],
  });
  cookie = created.secret;
  csrf = csrfTokenOf(cookie);
});
afterAll(async () => h?.close());

describe('a user who is editor in a and viewer in b', () => {
  it('reads as such from /me: the highest role, the union of the namespaces, and the grants', async () => {
    const me = (await asUser('GET', '/api/v1/me')).json();
    expect(me).toEqual({
      actor: 'user:mixed', name: 'Mixed Grants', role: 'editor', namespaces: ['a', 'b'], csrfToken: csrf,
      grants: [{ role: 'editor', namespaces: ['a'] }, { role: 'viewer', namespaces: ['b'] }],
    });
  });

  it('is refused every operator and editor route in b, with FORBIDDEN naming the namespace, and nothing changes', async () => {
    const before = await worldOfB();
    const b = tasks.b!;
    const wb = workflows.b!;
    const calls: [('POST' | 'PUT' | 'DELETE'), string, unknown?][] = [
      ['POST', '/api/v1/tasks', { ...b.spec, name: 'new-in-b' }],
      ['PUT', `/api/v1/tasks/${b.id}`, { ...b.spec, description: 'changed' }],
      ['POST', `/api/v1/tasks/${b.id}/trigger`, {}],
      ['POST', `/api/v1/tasks/${b.id}/pause`],
      ['POST', `/api/v1/tasks/${b.id}/resume`],
      ['POST', `/api/v1/tasks/${b.id}/clone`, { name: 'copy', namespace: 'a' }],
      ['POST', `/api/v1/tasks/${tasks.a!.id}/clone`, { name: 'copy', namespace: 'b' }],
      ['POST', `/api/v1/tasks/${b.id}/backfill`, BACKFILL(h.clock.now())],
      ['POST', `/api/v1/backfills/${backfillB}/cancel`],
      ['POST', `/api/v1/runs/${runs.b}/rerun`, {}],
      ['POST', `/api/v1/runs/${runs.b}/cancel`],
      ['POST', '/api/v1/workflows', { ...wb.spec, name: 'new-flow-in-b' }],
      ['PUT', `/api/v1/workflows/${wb.id}`, { ...wb.spec, description: 'changed' }],
      ['POST', `/api/v1/workflows/${wb.id}/trigger`, {}],
      ['POST', `/api/v1/workflows/${wb.id}/pause`],
      ['POST', `/api/v1/workflows/${wb.id}/resume`],
      ['POST', `/api/v1/workflows/${wb.id}/backfill`, BACKFILL(h.clock.now())],
      ['POST', `/api/v1/workflow-runs/${workflowRuns.b}/cancel`],
      ['POST', `/api/v1/workflow-runs/${workflowRuns.b}/rerun`, {}],
      ['POST', `/api/v1/workflow-runs/${workflowRuns.b}/nodes/n/rerun`],
      ['POST', `/api/v1/workflow-runs/${workflowRuns.b}/nodes/n/succeed`, {}],
      ['POST', `/api/v1/workflow-runs/${workflowRuns.b}/nodes/n/skip`],
      ['DELETE', `/api/v1/workflows/${wb.id}`],
      ['DELETE', `/api/v1/tasks/${b.id}`],
    ];
    const problems: string[] = [];
    for (const [method, url, body] of calls) {
      const res = await asUser(method, url, body);
      if (res.statusCode !== 403 || errorOf(res).code !== 'FORBIDDEN') problems.push(`${method} ${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
    expect(problems).toEqual([]);
    const message = errorOf(await asUser('POST', `/api/v1/tasks/${b.id}/trigger`, {})).message;
    expect(message).toBe('this operation needs role operator or higher in namespace "b"; this user is viewer there');

    // Bulk routes answer 200 and refuse b's items in their place.
    for (const action of ['pause', 'resume', 'trigger', 'delete']) {
      const res = await asUser('POST', `/api/v1/tasks:${action}`, { ids: [b.id] });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().items, action).toEqual([{ id: b.id, error: expect.objectContaining({ code: 'FORBIDDEN' }) }]);
    }
    const batch = await asUser('POST', '/api/v1/tasks:batch', { items: [{ ...b.spec, description: 'batched' }] });
    expect(batch.json().items).toEqual([{ error: expect.objectContaining({ code: 'FORBIDDEN' }) }]);
    // Namespaces and tokens are an admin's, in a as in b.
    expect((await asUser('PUT', '/api/v1/namespaces/a', { description: 'mine?' })).statusCode).toBe(403);
    expect((await asUser('PUT', '/api/v1/namespaces/b', { description: 'mine?' })).statusCode).toBe(403);
    expect((await asUser('POST', '/api/v1/tokens', { name: 'x', role: 'viewer', namespaces: ['a'] })).statusCode).toBe(403);

    expect(await worldOfB(), 'what b holds, read back with the admin token').toEqual(before);
  });

  it('reads b, with the header values of its targets masked, and a unmasked', async () => {
    const b = await asUser('GET', `/api/v1/tasks/${tasks.b!.id}`);
    expect(b.statusCode).toBe(200);
    expect(b.json().spec.target.headers).toEqual({ Authorization: '***' });
    expect((await asUser('GET', `/api/v1/workflows/${workflows.b!.id}`)).json().spec.nodes[0].target.headers).toEqual({ Authorization: '***' });
    expect((await asUser('GET', `/api/v1/tasks/${tasks.a!.id}`)).json().spec.target.headers).toEqual(HEADERS);
    const list = (await asUser('GET', '/api/v1/tasks')).json().items as Json[];
    expect(Object.fromEntries(list.map((t) => [t.namespace, t.spec.target.headers]))).toEqual({ a: HEADERS, b: { Authorization: '***' } });
    expect((await asUser('GET', `/api/v1/runs/${runs.b}`)).statusCode).toBe(200);
    expect((await asUser('GET', `/api/v1/workflow-runs/${workflowRuns.b}`)).statusCode).toBe(200);
    expect((await asUser('GET', `/api/v1/backfills/${backfillB}`)).statusCode).toBe(200);
  });

  it('sees nothing of c, where it has no grant', async () => {
    expect(errorOf(await asUser('GET', `/api/v1/tasks/${tasks.c!.id}`)).code).toBe('TASK_NOT_FOUND');
    expect(errorOf(await asUser('POST', `/api/v1/tasks/${tasks.c!.id}/trigger`, {})).code).toBe('TASK_NOT_FOUND');
    expect(errorOf(await asUser('GET', `/api/v1/runs/${runs.c}`)).code).toBe('RUN_NOT_FOUND');
    expect(errorOf(await asUser('GET', '/api/v1/namespaces/c')).code).toBe('NAMESPACE_NOT_FOUND');
    const namespaces = new Set(((await asUser('GET', '/api/v1/runs?limit=100')).json().items as Json[]).map((r) => r.namespace));
    expect([...namespaces].sort()).toEqual(['a', 'b']);
    expect(((await asUser('GET', '/api/v1/namespaces')).json().items as Json[]).map((n) => n.name)).toEqual(['a', 'b']);
  });

  it('edits, triggers, pauses and resumes in a, and the audit log names the user', async () => {
    const a = tasks.a!;
    const updated = await asUser('PUT', `/api/v1/tasks/${a.id}`, { ...a.spec, description: 'by the user' });
    expect(updated.statusCode, updated.body).toBe(200);
    expect(updated.json().spec.target.headers).toEqual(HEADERS);
    expect((await asUser('POST', `/api/v1/tasks/${a.id}/trigger`, {})).statusCode).toBe(201);
    expect((await asUser('POST', `/api/v1/tasks/${a.id}/pause`)).statusCode).toBe(200);
    expect((await asUser('POST', `/api/v1/tasks/${a.id}/resume`)).statusCode).toBe(200);
    expect((await asUser('POST', '/api/v1/tasks', { ...a.spec, name: 'made-by-user' })).statusCode).toBe(201);
    const audit = (await h.call('GET', '/api/v1/audit?limit=20')).json().items as Json[];
    expect(audit.filter((e) => e.actor === 'user:mixed').map((e) => e.action)).toEqual(expect.arrayContaining(['task.update', 'task.pause', 'task.resume', 'task.create']));
  });
});
