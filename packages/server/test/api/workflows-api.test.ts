/**
 * The public contract of `/api/v1/workflows` and `/api/v1/workflow-runs`, through the real API
 * (buildApp over SQLite and the real scheduler) and a real HTTP executor whose paths decide each
 * node's outcome. Workflow runs are awaited by polling the API with a generous deadline.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiHarness, errorOf, issuesOf } from './api-harness.ts';
import { hang } from '../support/test-executor.ts';

let h: ApiHarness;
beforeEach(async () => {
  h = await new ApiHarness().start();
  h.executor.behaviours.set('/fail', () => ({ status: 500, body: { error: 'boom' } }));
});
afterEach(async () => h.close());

type Json = Record<string, any>;
const FINAL = ['succeeded', 'failed', 'cancelled'];

/** An inline http node on the test executor. */
const node = (id: string, extra: Json = {}, path = '/ok'): Json => ({ id, target: { type: 'http', url: `${h.executorUrl}${path}` }, ...extra });

async function createWorkflow(spec: Json, token?: string): Promise<Json> {
  const res = await h.call('POST', '/api/v1/workflows', { token, body: spec });
  if (res.statusCode !== 201) throw new Error(`workflow create failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

async function trigger(id: string, body?: unknown): Promise<Json> {
  const res = await h.call('POST', `/api/v1/workflows/${id}/trigger`, body === undefined ? {} : { body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function getRun(id: string): Promise<Json> {
  const res = await h.call('GET', `/api/v1/workflow-runs/${id}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** Polls the workflow run until `done` holds (default: it has finished); fails after 20 s. */
async function until(id: string, done: (run: Json) => boolean = (run) => FINAL.includes(run.status)): Promise<Json> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const run = await getRun(id);
    if (done(run)) return run;
    if (Date.now() > deadline) throw new Error(`workflow run ${id} did not get there in time: ${JSON.stringify(run)}`);
    await delay(20);
  }
}

const byId = (run: Json): Record<string, Json> => Object.fromEntries(run.nodes.map((n: Json) => [n.id, n]));
const states = (run: Json): Record<string, string> => Object.fromEntries(run.nodes.map((n: Json) => [n.id, n.reason ? `${n.status}:${n.reason}` : n.status]));

describe('workflows: create, read, trigger', () => {
  it('stores a workflow with its id, needs normalised from "id" and { node, optional }', async () => {
    const res = await h.call('POST', '/api/v1/workflows', {
      body: { namespace: 'etl', name: 'daily', nodes: [node('a'), node('b', { needs: ['a'] }), node('c', { needs: ['a', { node: 'b', optional: true }] })] },
    });
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(created).toMatchObject({ id: expect.any(String), namespace: 'etl', name: 'daily', revision: 1, state: 'active', nextFireAt: null, lastRunStatus: null });
    expect(created.spec.schedule).toEqual({ manual: true });
    expect(created.spec.nodes.map((n: Json) => [n.id, n.needs])).toEqual([
      ['a', []],
      ['b', [{ node: 'a', optional: false }]],
      ['c', [{ node: 'a', optional: false }, { node: 'b', optional: true }]],
    ]);
    expect((await h.call('GET', `/api/v1/workflows/${created.id}`)).json()).toEqual(created);
    const list = (await h.call('GET', '/api/v1/workflows?namespace=etl')).json();
    expect(list.items.map((w: Json) => w.id)).toEqual([created.id]);
    expect((await h.call('GET', '/api/v1/workflows?q=DAIL')).json().items).toHaveLength(1);
    const revision = (await h.call('GET', `/api/v1/workflows/${created.id}/revisions/1`)).json();
    expect(revision).toMatchObject({ revision: 1, spec: { name: 'daily' } });
  });

  it('triggers a workflow run that succeeds, each node with its own run', async () => {
    h.executor.behaviours.set('/extract', () => ({ status: 200, body: { rows: 42 } }));
    const wf = await createWorkflow({
      name: 'chain', params: { day: 'mon' },
      nodes: [node('extract', {}, '/extract'), node('load', { needs: ['extract'], params: { rows: '{{ nodes.extract.output.rows }}', day: '{{ params.day }}' } })],
    });
    const started = await trigger(wf.id, { params: { day: 'tue' } });
    expect(started).toMatchObject({ id: expect.any(String), workflowId: wf.id, workflowName: 'chain', namespace: 'default', revision: 1, trigger: 'manual', params: { day: 'tue' } });
    expect(['pending', 'running']).toContain(started.status);

    const run = await until(started.id);
    expect(run).toMatchObject({ id: started.id, workflowId: wf.id, status: 'succeeded', error: null });
    expect(run.nodes).toEqual([
      expect.objectContaining({ id: 'extract', status: 'succeeded', runId: expect.any(String), reason: null, attempts: 1 }),
      expect.objectContaining({ id: 'load', status: 'succeeded', runId: expect.any(String), reason: null, attempts: 1 }),
    ]);
    const load = h.executor.runs('/ok').find((r) => r.body.runId === byId(run).load!.runId)!;
    expect(load.body.params).toEqual({ rows: 42, day: 'tue' });
    const nodeRun = (await h.call('GET', `/api/v1/runs/${byId(run).load!.runId}`)).json();
    expect(nodeRun).toMatchObject({ workflowRunId: run.id, nodeId: 'load', status: 'succeeded' });

    const runs = (await h.call('GET', `/api/v1/workflow-runs?workflowId=${wf.id}`)).json();
    expect(runs.items.map((r: Json) => [r.id, r.status])).toEqual([[run.id, 'succeeded']]);
    expect(runs.items[0].nodes).toBeUndefined();
    expect((await h.call('GET', `/api/v1/workflows/${wf.id}`)).json().lastRunStatus).toBe('succeeded');
    // A trigger without a body uses the workflow's params.
    expect((await trigger(wf.id)).params).toEqual({ day: 'mon' });
  });

  it('fails when a node fails: the nodes after it are skipped as upstream_failed, the others still run', async () => {
    const wf = await createWorkflow({
      name: 'broken',
      nodes: [node('a'), node('b', { needs: ['a'] }, '/fail'), node('c', { needs: ['b'] }), node('d', { needs: [{ node: 'b', optional: true }] }), node('e')],
    });
    const run = await until((await trigger(wf.id)).id);
    expect(run.status).toBe('failed');
    expect(states(run)).toEqual({ a: 'succeeded', b: 'failed', c: 'skipped:upstream_failed', d: 'succeeded', e: 'succeeded' });
    expect(byId(run).c).toMatchObject({ runId: null, attempts: 0 });
    expect(byId(run).b!.runId).toEqual(expect.any(String));
  });

  it('cancels a workflow run: its running node is cancelled and the nodes not run yet are skipped', async () => {
    h.executor.behaviours.set('/hang', hang);
    const wf = await createWorkflow({ name: 'slow', nodes: [node('wait', {}, '/hang'), node('after', { needs: ['wait'] })] });
    const started = await trigger(wf.id);
    await until(started.id, (run) => byId(run).wait!.status === 'running');
    const res = await h.call('POST', `/api/v1/workflow-runs/${started.id}/cancel`);
    expect(res.statusCode, res.body).toBe(200);
    const run = await until(started.id);
    expect(run.status).toBe('cancelled');
    expect(byId(run).wait!.status).toBe('cancelled');
    expect(byId(run).after).toMatchObject({ status: 'skipped', reason: 'cancelled' });
    expect(errorOf(await h.call('POST', `/api/v1/workflow-runs/${started.id}/cancel`)).code).toBe('RUN_ALREADY_FINISHED');
  });

  it('answers 404 with stable codes for unknown workflows, runs and nodes', async () => {
    expect(errorOf(await h.call('GET', '/api/v1/workflows/nope')).code).toBe('WORKFLOW_NOT_FOUND');
    expect(errorOf(await h.call('POST', '/api/v1/workflows/nope/trigger')).code).toBe('WORKFLOW_NOT_FOUND');
    expect(errorOf(await h.call('GET', '/api/v1/workflow-runs/nope')).code).toBe('WORKFLOW_RUN_NOT_FOUND');
    const wf = await createWorkflow({ name: 'tiny', nodes: [node('a')] });
    const run = await until((await trigger(wf.id)).id);
    const missing = await h.call('POST', `/api/v1/workflow-runs/${run.id}/nodes/zzz/skip`);
    expect([missing.statusCode, errorOf(missing).code]).toEqual([404, 'WORKFLOW_NODE_NOT_FOUND']);
    // A node's run is not a workflow run.
    expect(errorOf(await h.call('GET', `/api/v1/workflow-runs/${byId(run).a!.runId}`)).code).toBe('WORKFLOW_RUN_NOT_FOUND');
  });
});

describe('workflow runs: recovery', () => {
  it('reruns from the failed nodes, keeping the succeeded ones, and refuses when nothing failed', async () => {
    let calls = 0;
    h.executor.behaviours.set('/flaky', () => (++calls === 1 ? { status: 500, body: { error: 'first time' } } : { status: 200, body: { ok: true } }));
    const wf = await createWorkflow({ name: 'flaky', nodes: [node('a'), node('b', { needs: ['a'] }, '/flaky'), node('c', { needs: ['b'] })] });
    const failed = await until((await trigger(wf.id)).id);
    expect(states(failed)).toEqual({ a: 'succeeded', b: 'failed', c: 'skipped:upstream_failed' });

    const res = await h.call('POST', `/api/v1/workflow-runs/${failed.id}/rerun`, { body: { from: 'failed' } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().id).toBe(failed.id);
    const run = await until(failed.id, (r) => r.status === 'succeeded');
    expect(states(run)).toEqual({ a: 'succeeded', b: 'succeeded', c: 'succeeded' });
    expect(byId(run).a).toMatchObject({ attempts: 1, runId: byId(failed).a!.runId });
    expect(byId(run).b!.attempts).toBe(2);
    expect(byId(run).b!.runId).not.toBe(byId(failed).b!.runId);

    const nothing = await h.call('POST', `/api/v1/workflow-runs/${failed.id}/rerun`);
    expect([nothing.statusCode, errorOf(nothing).code]).toEqual([409, 'WORKFLOW_NOTHING_TO_RERUN']);
  });

  it('skips a failed node by hand (its successors go on), marks one succeeded with an output, and reruns one', async () => {
    const wf = await createWorkflow({ name: 'manual-fix', nodes: [node('a', {}, '/fail'), node('b', { needs: ['a'] })] });
    const first = await until((await trigger(wf.id)).id);
    expect(states(first)).toEqual({ a: 'failed', b: 'skipped:upstream_failed' });
    const skipped = await h.call('POST', `/api/v1/workflow-runs/${first.id}/nodes/a/skip`);
    expect(skipped.statusCode, skipped.body).toBe(200);
    expect(byId(skipped.json()).a).toMatchObject({ status: 'skipped', reason: 'manual' });
    const after = await until(first.id, (r) => FINAL.includes(r.status) && byId(r).b!.status === 'succeeded');
    expect(after.status).toBe('succeeded');

    const fed = await createWorkflow({
      name: 'fed', nodes: [node('src', {}, '/fail'), node('use', { needs: ['src'], params: { n: '{{ nodes.src.output.n }}' } })],
    });
    const second = await until((await trigger(fed.id)).id);
    const succeed = await h.call('POST', `/api/v1/workflow-runs/${second.id}/nodes/src/succeed`, { body: { output: { n: 7 } } });
    expect(succeed.statusCode, succeed.body).toBe(200);
    expect(byId(succeed.json()).src).toMatchObject({ status: 'succeeded', runId: null });
    const done = await until(second.id, (r) => r.status === 'succeeded');
    const use = h.executor.runs('/ok').find((r) => r.body.runId === byId(done).use!.runId)!;
    expect(use.body.params).toEqual({ n: 7 });

    const rerun = await h.call('POST', `/api/v1/workflow-runs/${second.id}/nodes/use/rerun`);
    expect(rerun.statusCode, rerun.body).toBe(200);
    const again = await until(second.id, (r) => r.status === 'succeeded' && byId(r).use!.attempts === 2);
    expect(byId(again).use!.runId).not.toBe(byId(done).use!.runId);
  });
});

describe('validation', () => {
  async function refused(spec: Json): Promise<{ path: string; code: string; message: string }[]> {
    const before = (await h.call('GET', '/api/v1/workflows')).json().items.length;
    const res = await h.call('POST', '/api/v1/workflows', { body: spec });
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).code).toBe('VALIDATION_FAILED');
    expect((await h.call('GET', '/api/v1/workflows')).json().items).toHaveLength(before);
    return issuesOf(res);
  }

  it('refuses a cycle, a self-dependency, an unknown node and a template on a node not upstream, each with its code and path', async () => {
    expect(await refused({ name: 'cycle', nodes: [node('a', { needs: ['c'] }), node('b', { needs: ['a'] }), node('c', { needs: ['b'] })] }))
      .toEqual([expect.objectContaining({ code: 'DEPENDENCY_CYCLE', path: expect.stringMatching(/^nodes\[\d\]\.needs\[0\]$/), message: expect.stringContaining('→') })]);
    expect(await refused({ name: 'self', nodes: [node('a', { needs: ['a'] })] }))
      .toEqual([expect.objectContaining({ code: 'SELF_DEPENDENCY', path: 'nodes[0].needs[0]' })]);
    expect(await refused({ name: 'unknown', nodes: [node('a'), node('b', { needs: ['a', { node: 'ghost', optional: true }] })] }))
      .toEqual([expect.objectContaining({ code: 'UNKNOWN_NODE', path: 'nodes[1].needs[1]' })]);
    expect(await refused({ name: 'template', nodes: [node('a'), node('b', { params: { x: '{{ nodes.a.output.x }}' } })] }))
      .toEqual([expect.objectContaining({ code: 'TEMPLATE_NOT_ANCESTOR', path: 'nodes[1].params.x' })]);
  });

  it('refuses a task node naming a task that does not exist, and accepts it once the task exists', async () => {
    const spec = { namespace: 'team', name: 'uses-task', nodes: [node('first'), { id: 'report', task: 'report', needs: ['first'] }] };
    expect(await refused(spec)).toEqual([expect.objectContaining({ code: 'TASK_NOT_FOUND', path: 'nodes[1].task' })]);
    const validate = await h.call('POST', '/api/v1/workflows/validate', { body: spec });
    expect([validate.statusCode, issuesOf(validate).map((i) => i.code)]).toEqual([400, ['TASK_NOT_FOUND']]);
    await h.createTask({ namespace: 'team', name: 'report', target: { type: 'http', url: `${h.executorUrl}/ok` } });
    expect((await h.call('POST', '/api/v1/workflows/validate', { body: spec })).json()).toMatchObject({ ok: true, spec: { name: 'uses-task' } });
    const wf = await createWorkflow(spec);
    const run = await until((await trigger(wf.id)).id);
    expect(states(run)).toEqual({ first: 'succeeded', report: 'succeeded' });
  });

  it('refuses more than 10,000 nodes with WORKFLOW_TOO_LARGE', async () => {
    const nodes = Array.from({ length: 10_001 }, (_, i) => ({ id: `n${i}`, task: 't' }));
    expect(await refused({ name: 'huge', nodes })).toEqual([expect.objectContaining({ code: 'WORKFLOW_TOO_LARGE', path: 'nodes' })]);
  });
});

describe('workflows and tasks share one namespace of names, not their ids', () => {
  it('answers TASK_NOT_FOUND for a workflow id on /tasks, WORKFLOW_NOT_FOUND for a task id on /workflows, and TASK_NAME_TAKEN both ways', async () => {
    const wf = await createWorkflow({ name: 'shared', nodes: [node('a')] });
    const asTask = await h.call('GET', `/api/v1/tasks/${wf.id}`);
    expect([asTask.statusCode, errorOf(asTask).code]).toEqual([404, 'TASK_NOT_FOUND']);
    expect(errorOf(await h.call('POST', `/api/v1/tasks/${wf.id}/trigger`)).code).toBe('TASK_NOT_FOUND');
    expect((await h.call('GET', '/api/v1/tasks')).json().items).toEqual([]);

    const task = await h.createTask({ name: 'plain' });
    const asWorkflow = await h.call('GET', `/api/v1/workflows/${task.id}`);
    expect([asWorkflow.statusCode, errorOf(asWorkflow).code]).toEqual([404, 'WORKFLOW_NOT_FOUND']);

    const taskNamed = await h.call('POST', '/api/v1/tasks', { body: { name: 'shared', schedule: { manual: true }, target: { type: 'http', url: `${h.executorUrl}/ok` } } });
    expect([taskNamed.statusCode, errorOf(taskNamed).code]).toEqual([409, 'TASK_NAME_TAKEN']);
    const workflowNamed = await h.call('POST', '/api/v1/workflows', { body: { name: 'plain', nodes: [node('a')] } });
    expect([workflowNamed.statusCode, errorOf(workflowNamed).code]).toEqual([409, 'TASK_NAME_TAKEN']);
  });
});

describe('access', () => {
  it('lets a viewer read but not create, trigger, rerun or act on nodes (403)', async () => {
    const viewer = (await h.token('viewer')).secret;
    const wf = await createWorkflow({ name: 'guarded', nodes: [node('a', {}, '/fail')] });
    const run = await until((await trigger(wf.id)).id);
    expect((await h.call('GET', `/api/v1/workflows/${wf.id}`, { token: viewer })).statusCode).toBe(200);
    expect((await h.call('GET', `/api/v1/workflow-runs/${run.id}`, { token: viewer })).statusCode).toBe(200);

    const attempts: [string, string, unknown][] = [
      ['POST', '/api/v1/workflows', { name: 'by-viewer', nodes: [node('a')] }],
      ['POST', `/api/v1/workflows/${wf.id}/trigger`, undefined],
      ['POST', `/api/v1/workflow-runs/${run.id}/rerun`, undefined],
      ['POST', `/api/v1/workflow-runs/${run.id}/nodes/a/skip`, undefined],
      ['POST', `/api/v1/workflow-runs/${run.id}/nodes/a/succeed`, { output: 1 }],
      ['POST', `/api/v1/workflow-runs/${run.id}/nodes/a/rerun`, undefined],
      ['POST', `/api/v1/workflow-runs/${run.id}/cancel`, undefined],
      ['DELETE', `/api/v1/workflows/${wf.id}`, undefined],
    ];
    for (const [method, url, body] of attempts) {
      const res = await h.call(method as 'POST', url, { token: viewer, ...(body === undefined ? {} : { body }) });
      expect({ url, status: res.statusCode, code: errorOf(res).code }).toEqual({ url, status: 403, code: 'FORBIDDEN' });
    }
    expect((await h.call('GET', `/api/v1/workflow-runs?workflowId=${wf.id}`)).json().items).toHaveLength(1);
    expect(byId(await getRun(run.id)).a!.status).toBe('failed');
  });

  it('hides the workflows and runs of other namespaces from a scoped token (404), and refuses to create there (403)', async () => {
    const inB = (await h.token('editor', ['b'])).secret;
    const wf = await createWorkflow({ namespace: 'a', name: 'private', nodes: [node('a')] });
    const run = await until((await trigger(wf.id)).id);
    const mine = await createWorkflow({ namespace: 'b', name: 'mine', nodes: [node('a')] }, inB);

    const get = await h.call('GET', `/api/v1/workflows/${wf.id}`, { token: inB });
    expect([get.statusCode, errorOf(get).code]).toEqual([404, 'WORKFLOW_NOT_FOUND']);
    const triggerThere = await h.call('POST', `/api/v1/workflows/${wf.id}/trigger`, { token: inB });
    expect([triggerThere.statusCode, errorOf(triggerThere).code]).toEqual([404, 'WORKFLOW_NOT_FOUND']);
    const getRunThere = await h.call('GET', `/api/v1/workflow-runs/${run.id}`, { token: inB });
    expect([getRunThere.statusCode, errorOf(getRunThere).code]).toEqual([404, 'WORKFLOW_RUN_NOT_FOUND']);
    const rerunThere = await h.call('POST', `/api/v1/workflow-runs/${run.id}/nodes/a/rerun`, { token: inB });
    expect([rerunThere.statusCode, errorOf(rerunThere).code]).toEqual([404, 'WORKFLOW_RUN_NOT_FOUND']);
    expect((await h.call('GET', '/api/v1/workflows', { token: inB })).json().items.map((w: Json) => w.id)).toEqual([mine.id]);
    expect((await h.call('GET', '/api/v1/workflow-runs', { token: inB })).json().items).toEqual([]);
    const revisions = await h.call('GET', `/api/v1/workflows/${wf.id}/revisions/1`, { token: inB });
    expect(revisions.statusCode).toBe(404);

    const createThere = await h.call('POST', '/api/v1/workflows', { token: inB, body: { namespace: 'a', name: 'sneaky', nodes: [node('a')] } });
    expect([createThere.statusCode, errorOf(createThere).code]).toEqual([403, 'FORBIDDEN']);
  });
});

describe('audit', () => {
  it('records create, trigger, rerun and the node actions with the actor', async () => {
    const wf = await createWorkflow({ name: 'audited', nodes: [node('a', {}, '/fail'), node('b', { needs: ['a'] })] });
    const run = await until((await trigger(wf.id, { params: { p: 1 } })).id);
    expect((await h.call('POST', `/api/v1/workflow-runs/${run.id}/rerun`)).statusCode).toBe(200);
    await until(run.id);
    expect((await h.call('POST', `/api/v1/workflow-runs/${run.id}/nodes/a/rerun`)).statusCode).toBe(200);
    await until(run.id, (r) => FINAL.includes(r.status) && byId(r).a!.attempts === 3);
    expect((await h.call('POST', `/api/v1/workflow-runs/${run.id}/nodes/a/succeed`, { body: { output: { fixed: true } } })).statusCode).toBe(200);
    await until(run.id);
    const second = await until((await trigger(wf.id)).id);
    expect((await h.call('POST', `/api/v1/workflow-runs/${second.id}/nodes/a/skip`)).statusCode).toBe(200);

    const entries: Json[] = (await h.call('GET', '/api/v1/audit?limit=100')).json().items;
    const actor = `token:${h.adminId}`;
    const find = (action: string) => entries.filter((e) => e.action === action);
    expect(find('workflow.create')).toEqual([expect.objectContaining({ actor, resourceType: 'workflow', resourceId: wf.id, details: expect.objectContaining({ name: 'audited', nodes: 2 }) })]);
    const triggers = find('workflow.trigger').filter((e) => e.details?.taskId === wf.id);
    expect(triggers).toHaveLength(2);
    expect(triggers.map((e) => e.resourceId).sort()).toEqual([run.id, second.id].sort());
    expect(triggers.every((e) => e.actor === actor)).toBe(true);
    expect(find('workflow_run.rerun_failed')).toEqual([expect.objectContaining({ actor, resourceId: run.id, details: expect.objectContaining({ workflowId: wf.id }) })]);
    for (const [action, runId] of [['workflow_run.node_rerun', run.id], ['workflow_run.node_succeed', run.id], ['workflow_run.node_skip', second.id]] as const) {
      expect(find(action), action).toEqual([expect.objectContaining({ actor, resourceId: runId, details: expect.objectContaining({ workflowId: wf.id, nodeId: 'a' }) })]);
    }
  });
});

describe('/openapi.json', () => {
  it('lists the workflow routes', async () => {
    const doc = (await h.call('GET', '/openapi.json', { token: null })).json();
    const expected: Record<string, string[]> = {
      '/api/v1/workflows': ['get', 'post'],
      '/api/v1/workflows/validate': ['post'],
      '/api/v1/workflows/{id}': ['delete', 'get', 'put'],
      '/api/v1/workflows/{id}/trigger': ['post'],
      '/api/v1/workflows/{id}/pause': ['post'],
      '/api/v1/workflows/{id}/resume': ['post'],
      '/api/v1/workflows/{id}/revisions': ['get'],
      '/api/v1/workflows/{id}/revisions/{revision}': ['get'],
      '/api/v1/workflow-runs': ['get'],
      '/api/v1/workflow-runs/{id}': ['get'],
      '/api/v1/workflow-runs/{id}/cancel': ['post'],
      '/api/v1/workflow-runs/{id}/rerun': ['post'],
      '/api/v1/workflow-runs/{id}/nodes/{nodeId}/rerun': ['post'],
      '/api/v1/workflow-runs/{id}/nodes/{nodeId}/succeed': ['post'],
      '/api/v1/workflow-runs/{id}/nodes/{nodeId}/skip': ['post'],
    };
    for (const [path, methods] of Object.entries(expected)) {
      expect({ path, methods: Object.keys(doc.paths[path] ?? {}).sort() }).toEqual({ path, methods });
    }
    const run = doc.paths['/api/v1/workflow-runs/{id}'].get.responses['200'].content['application/json'].schema;
    expect(Object.keys(run.properties)).toEqual(expect.arrayContaining(['id', 'workflowId', 'status', 'nodes']));
    expect(Object.keys(run.properties.nodes.items.properties)).toEqual(expect.arrayContaining(['id', 'status', 'runId', 'reason']));
    expect(doc.paths['/api/v1/workflows'].post.security).toEqual([{ bearerAuth: [] }]);
  });
});
