/**
 * Security finding F6 (issue 17): the header values of http targets (an Authorization, an API key)
 * were returned to viewers by every route that returns a spec. Replays the reads with a viewer
 * token and asserts that every value reads "***" (the names stay), that editors and admins still
 * read the values, and that a masked copy sent back is refused without changing what is stored.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiHarness, errorOf, issuesOf } from './api-harness.ts';

const AUTH = 'Bearer real-upstream-token-0123456789';
const API_KEY = 'k-real-api-key-9876543210';
const HEADERS = { Authorization: AUTH, 'X-Api-Key': API_KEY };
const MASKED = { Authorization: '***', 'X-Api-Key': '***' };

type Json = Record<string, any>;

let h: ApiHarness;
let task: Json;
let workflow: Json;

beforeEach(async () => {
  h = await new ApiHarness().start();
  const target = { type: 'http', url: `${h.executorUrl}/run`, headers: HEADERS, secret: 'target-secret-0123456789abcdef' };
  task = await h.createTask({ name: 'with-headers', target });
  // A second revision, so that the revision routes have more than one spec to show.
  const updated = await h.call('PUT', `/api/v1/tasks/${task.id}`, { body: { ...task.spec, description: 'second revision', target } });
  expect(updated.statusCode, updated.body).toBe(200);
  const spec = {
    name: 'flow', schedule: { manual: true },
    nodes: [{ id: 'call', target }, { id: 'then', task: 'with-headers', needs: ['call'] }],
  };
  const created = await h.call('POST', '/api/v1/workflows', { body: spec });
  expect(created.statusCode, created.body).toBe(201);
  workflow = created.json();
  const again = await h.call('PUT', `/api/v1/workflows/${workflow.id}`, { body: { ...spec, description: 'second revision' } });
  expect(again.statusCode, again.body).toBe(200);
});
afterEach(async () => h.close());

/** Every route that returns a spec, with how to find the targets in its answer. */
function readRoutes(): { url: string; targets: (body: Json) => Json[] }[] {
  const nodeTargets = (spec: Json): Json[] => spec.nodes.filter((n: Json) => n.target).map((n: Json) => n.target);
  return [
    { url: '/api/v1/tasks', targets: (b) => b.items.map((t: Json) => t.spec.target) },
    { url: `/api/v1/tasks/${task.id}`, targets: (b) => [b.spec.target] },
    { url: `/api/v1/tasks/${task.id}/revisions`, targets: (b) => b.items.map((r: Json) => r.spec.target) },
    { url: '/api/v1/workflows', targets: (b) => b.items.flatMap((w: Json) => nodeTargets(w.spec)) },
    { url: `/api/v1/workflows/${workflow.id}`, targets: (b) => nodeTargets(b.spec) },
    { url: `/api/v1/workflows/${workflow.id}/revisions`, targets: (b) => b.items.flatMap((r: Json) => nodeTargets(r.spec)) },
    { url: `/api/v1/workflows/${workflow.id}/revisions/1`, targets: (b) => nodeTargets(b.spec) },
  ];
}

/** GETs every read route with `token` and returns the headers of every target found, failing on an answer that is not 200. */
async function headersSeenBy(token: string): Promise<{ url: string; raw: string; headers: Json[] }[]> {
  const seen = [];
  for (const route of readRoutes()) {
    const res = await h.call('GET', route.url, { token });
    expect(res.statusCode, `${route.url}: ${res.body}`).toBe(200);
    const targets = route.targets(res.json());
    // Each route must have returned at least one target with headers, or the test would prove nothing.
    expect(targets.length, route.url).toBeGreaterThan(0);
    seen.push({ url: route.url, raw: res.body, headers: targets.map((t) => t.headers) });
  }
  return seen;
}

describe('F6: header values of targets are masked for viewers', () => {
  it('a viewer sees "***" for every header value, names kept, on every route that returns a spec', async () => {
    const viewer = (await h.token('viewer')).secret;
    for (const { url, raw, headers } of await headersSeenBy(viewer)) {
      for (const value of headers) expect(value, url).toEqual(MASKED);
      expect(raw, url).not.toContain(AUTH);
      expect(raw, url).not.toContain(API_KEY);
      expect(raw, url).not.toContain('"secret"');
    }
  });

  it('a viewer scoped to the namespace is masked too; editors and admins of the namespace see the values', async () => {
    const scopedViewer = (await h.token('viewer', ['default'])).secret;
    for (const { url, headers } of await headersSeenBy(scopedViewer)) for (const value of headers) expect(value, url).toEqual(MASKED);
    for (const token of [(await h.token('editor', ['default'])).secret, (await h.token('editor')).secret, h.admin]) {
      for (const { url, raw, headers } of await headersSeenBy(token)) {
        for (const value of headers) expect(value, url).toEqual(HEADERS);
        expect(raw, url).not.toContain('"secret"');
      }
    }
  });

  it('the answers of an editor\'s own writes carry the values (it needs them to edit)', async () => {
    const editor = (await h.token('editor', ['default'])).secret;
    const paused = await h.call('POST', `/api/v1/tasks/${task.id}/pause`, { token: editor });
    expect(paused.json().spec.target.headers).toEqual(HEADERS);
    const pausedFlow = await h.call('POST', `/api/v1/workflows/${workflow.id}/pause`, { token: editor });
    expect(pausedFlow.json().spec.nodes[0].target.headers).toEqual(HEADERS);
  });
});

describe('F6: a masked copy sent back is refused and nothing changes', () => {
  it('PUT of a viewer\'s copy of a task: 400 VALIDATION_FAILED, issue MASKED_HEADER_VALUE per masked header, stored spec unchanged', async () => {
    const viewer = (await h.token('viewer')).secret;
    const copy = (await h.call('GET', `/api/v1/tasks/${task.id}`, { token: viewer })).json();
    const before = await h.store.getTask(task.id);

    const res = await h.call('PUT', `/api/v1/tasks/${task.id}`, { body: { ...copy.spec, description: 'edited from a viewer copy' } });
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).code).toBe('VALIDATION_FAILED');
    expect(issuesOf(res)).toEqual([
      expect.objectContaining({ path: 'target.headers.Authorization', code: 'MASKED_HEADER_VALUE' }),
      expect.objectContaining({ path: 'target.headers["X-Api-Key"]', code: 'MASKED_HEADER_VALUE' }),
    ]);
    expect(errorOf(res).message).toContain('send the real value');
    expect(await h.store.getTask(task.id)).toEqual(before);
    expect((await h.store.getTask(task.id))!.spec.target).toMatchObject({ headers: HEADERS });

    // One masked header among real ones is refused as well: it would still replace that header.
    const oneMasked = await h.call('PUT', `/api/v1/tasks/${task.id}`, { body: { ...copy.spec, target: { ...copy.spec.target, headers: { ...HEADERS, 'X-Api-Key': '***' } } } });
    expect(issuesOf(oneMasked)).toEqual([expect.objectContaining({ path: 'target.headers["X-Api-Key"]', code: 'MASKED_HEADER_VALUE' })]);
    expect(await h.store.getTask(task.id)).toEqual(before);

    // The real values go through.
    const fixed = await h.call('PUT', `/api/v1/tasks/${task.id}`, { body: { ...copy.spec, target: { ...copy.spec.target, headers: { ...HEADERS, 'X-Api-Key': 'k-new' } } } });
    expect(fixed.statusCode, fixed.body).toBe(200);
    expect((await h.store.getTask(task.id))!.spec.target).toMatchObject({ headers: { ...HEADERS, 'X-Api-Key': 'k-new' }, secret: 'target-secret-0123456789abcdef' });
  });

  it('create and tasks:batch refuse the mask too, storing nothing', async () => {
    const count = await h.taskCount();
    const target = { type: 'http', url: `${h.executorUrl}/run`, headers: { Authorization: '***' } };
    const created = await h.call('POST', '/api/v1/tasks', { body: { name: 'masked', schedule: { manual: true }, target } });
    expect([created.statusCode, errorOf(created).code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(issuesOf(created)).toEqual([expect.objectContaining({ path: 'target.headers.Authorization', code: 'MASKED_HEADER_VALUE' })]);

    const viewer = (await h.token('viewer')).secret;
    const copy = (await h.call('GET', `/api/v1/tasks/${task.id}`, { token: viewer })).json();
    const before = await h.store.getTask(task.id);
    const batch = await h.call('POST', '/api/v1/tasks:batch', { body: { items: [{ ...copy.spec, description: 'applied from a viewer copy' }, { name: 'masked-2', schedule: { manual: true }, target }] } });
    expect(batch.statusCode, batch.body).toBe(200);
    for (const item of batch.json().items) {
      expect(item.error.code).toBe('VALIDATION_FAILED');
      expect(item.error.details.issues).toContainEqual(expect.objectContaining({ path: 'target.headers.Authorization', code: 'MASKED_HEADER_VALUE' }));
    }
    expect(await h.taskCount()).toBe(count);
    expect(await h.store.getTask(task.id)).toEqual(before);
  });

  it('a workflow whose inline target carries the mask is refused on update, create and validate', async () => {
    const viewer = (await h.token('viewer')).secret;
    const copy = (await h.call('GET', `/api/v1/workflows/${workflow.id}`, { token: viewer })).json();
    const before = await h.store.getWorkflow(workflow.id);
    const { namespace: _ns, ...spec } = copy.spec;

    const updated = await h.call('PUT', `/api/v1/workflows/${workflow.id}`, { body: spec });
    expect([updated.statusCode, errorOf(updated).code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(issuesOf(updated)).toEqual([
      expect.objectContaining({ path: 'nodes[0].target.headers.Authorization', code: 'MASKED_HEADER_VALUE' }),
      expect.objectContaining({ path: 'nodes[0].target.headers["X-Api-Key"]', code: 'MASKED_HEADER_VALUE' }),
    ]);
    expect(await h.store.getWorkflow(workflow.id)).toEqual(before);

    const created = await h.call('POST', '/api/v1/workflows', { body: { ...spec, name: 'flow-copy' } });
    expect([created.statusCode, issuesOf(created)[0]?.code]).toEqual([400, 'MASKED_HEADER_VALUE']);
    expect((await h.call('GET', '/api/v1/workflows')).json().items.map((w: Json) => w.name)).toEqual(['flow']);

    const validated = await h.call('POST', '/api/v1/workflows/validate', { token: viewer, body: spec });
    expect([validated.statusCode, issuesOf(validated)[0]?.code]).toEqual([400, 'MASKED_HEADER_VALUE']);
  });
});
