/**
 * The roles of issue 17: `operator` (a viewer that also triggers, cancels, pauses, resumes, reruns
 * and backfills, and writes no spec) and `executor` (an executor node's credential: registers,
 * heartbeats and takes runs, nothing else), beside viewer, editor and admin.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp } from '../../src/api/app.ts';
import { PullHub } from '../../src/dispatch/pull-hub.ts';
import { SYSTEM_CALLER } from '../../src/services/access.ts';
import { createTokenService } from '../../src/services/tokens.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';
import { hang } from '../support/test-executor.ts';
import { ApiHarness, errorOf, UNUSED_RUN_CONTROL } from './api-harness.ts';

type Json = Record<string, any>;
const spec = (name: string) => ({ name, schedule: { every: '1h' }, target: { type: 'http', url: 'http://127.0.0.1:9000/run' } });

describe('operator', () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await new ApiHarness().start();
  });
  afterEach(async () => h.close());

  it('triggers, cancels, pauses, resumes and reruns tasks and runs, and backfills', async () => {
    h.executor.behaviours.set('/hang', hang);
    const task = await h.createTask({ name: 'nightly', params: { day: 'mon' } });
    const slow = await h.createTask({ name: 'slow', target: { type: 'http', url: `${h.executorUrl}/hang` } });
    const operator = (await h.token('operator')).secret;
    const as = (method: InjectOptions['method'], url: string, body?: unknown) => h.call(method, url, { token: operator, body });

    const triggered = await as('POST', `/api/v1/tasks/${task.id}/trigger`, { params: { day: 'tue' } });
    expect(triggered.statusCode, triggered.body).toBe(201);
    expect((await h.ended(triggered.json().id)).status).toBe('succeeded');
    const rerun = await as('POST', `/api/v1/runs/${triggered.json().id}/rerun`);
    expect(rerun.statusCode, rerun.body).toBe(201);
    expect(rerun.json().params).toEqual({ day: 'tue' });
    await h.ended(rerun.json().id);

    const hanging = (await as('POST', `/api/v1/tasks/${slow.id}/trigger`)).json();
    await h.executor.next((r) => r.body.runId === hanging.id && r.event === 'run');
    const cancelled = await as('POST', `/api/v1/runs/${hanging.id}/cancel`);
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json().status).toBe('cancelled');

    expect((await as('POST', `/api/v1/tasks/${task.id}/pause`)).json().state).toBe('paused');
    expect((await as('POST', `/api/v1/tasks/${task.id}/resume`)).json().state).toBe('active');
    const bulk = await as('POST', '/api/v1/tasks:pause', { ids: [task.id, slow.id] });
    expect(bulk.statusCode, bulk.body).toBe(200);
    expect((await h.store.getTask(slow.id))?.state).toBe('paused');
    expect((await as('POST', '/api/v1/tasks:resume', { ids: [slow.id] })).statusCode).toBe(200);

    // The backfill routes let the operator through: the answers are the backfill's own.
    const backfill = await as('POST', `/api/v1/tasks/${task.id}/backfill`, { from: new Date(h.clock.now() + 60_000).toISOString(), to: new Date(h.clock.now() + 120_000).toISOString() });
    expect(errorOf(backfill).code).toBe('BACKFILL_RANGE_INVALID');
    expect(errorOf(await as('POST', '/api/v1/backfills/no-such-backfill/cancel')).code).toBe('BACKFILL_NOT_FOUND');

    // The audit log names the operator's token as the actor of each.
    const operatorId = (await h.store.listTokens()).find((t) => t.role === 'operator')!.id;
    const audit = (await h.call('GET', '/api/v1/audit?limit=100')).json().items as Json[];
    expect(new Set(audit.filter((entry) => entry.actor === `token:${operatorId}`).map((entry) => entry.action)))
      .toEqual(new Set(['task.trigger', 'run.rerun', 'run.cancel', 'task.pause', 'task.resume']));
  });

  it('triggers, pauses, resumes and cancels workflows and recovers their runs', async () => {
    h.executor.behaviours.set('/hang', hang);
    h.executor.behaviours.set('/fail', () => ({ status: 500, body: { error: 'boom' } }));
    const node = (id: string, path: string, extra: Json = {}) => ({ id, target: { type: 'http', url: `${h.executorUrl}${path}` }, ...extra });
    const created = await h.call('POST', '/api/v1/workflows', { body: { name: 'etl', schedule: { manual: true }, nodes: [node('a', '/fail'), node('b', '/ok', { needs: ['a'] })] } });
    expect(created.statusCode, created.body).toBe(201);
    const wf = created.json();
    const operator = (await h.token('operator')).secret;
    const as = (method: InjectOptions['method'], url: string, body?: unknown) => h.call(method, url, { token: operator, body });

    expect((await as('POST', `/api/v1/workflows/${wf.id}/pause`)).json().state).toBe('paused');
    expect((await as('POST', `/api/v1/workflows/${wf.id}/resume`)).json().state).toBe('active');
    /** The workflow run's status and the attempts of its node `a`. */
    const progress = async (runId: string) => {
      const run = (await as('GET', `/api/v1/workflow-runs/${runId}`)).json();
      return [run.status, run.nodes.find((n: Json) => n.id === 'a').attempts];
    };
    const triggered = await as('POST', `/api/v1/workflows/${wf.id}/trigger`);
    expect(triggered.statusCode, triggered.body).toBe(201);
    const runId = triggered.json().id as string;
    await expect.poll(() => progress(runId)).toEqual(['failed', 1]);
    const rerun = await as('POST', `/api/v1/workflow-runs/${runId}/rerun`);
    expect(rerun.statusCode, rerun.body).toBe(200);
    await expect.poll(() => progress(runId)).toEqual(['failed', 2]);
    const nodeRerun = await as('POST', `/api/v1/workflow-runs/${runId}/nodes/a/rerun`);
    expect(nodeRerun.statusCode, nodeRerun.body).toBe(200);
    await expect.poll(() => progress(runId)).toEqual(['failed', 3]);
    const succeeded = await as('POST', `/api/v1/workflow-runs/${runId}/nodes/a/succeed`, { output: { n: 1 } });
    expect(succeeded.statusCode, succeeded.body).toBe(200);
    await expect.poll(async () => (await progress(runId))[0]).toBe('succeeded');

    const second = (await as('POST', `/api/v1/workflows/${wf.id}/trigger`)).json().id as string;
    await expect.poll(() => progress(second)).toEqual(['failed', 1]);
    const skipped = await as('POST', `/api/v1/workflow-runs/${second}/nodes/a/skip`);
    expect(skipped.statusCode, skipped.body).toBe(200);
    await expect.poll(async () => (await progress(second))[0]).toBe('succeeded');

    const slow = (await h.call('POST', '/api/v1/workflows', { body: { name: 'slow', schedule: { manual: true }, nodes: [node('wait', '/hang')] } })).json();
    const running = (await as('POST', `/api/v1/workflows/${slow.id}/trigger`)).json();
    await expect.poll(async () => (await as('GET', `/api/v1/workflow-runs/${running.id}`)).json().nodes[0].status).toBe('running');
    const cancelled = await as('POST', `/api/v1/workflow-runs/${running.id}/cancel`);
    expect(cancelled.statusCode, cancelled.body).toBe(200);
  });

  it('cannot create, change or delete a task or workflow, nor manage tokens, namespaces or the audit log (403, nothing changes)', async () => {
    const task = await h.createTask({ name: 'kept', target: { type: 'http', url: `${h.executorUrl}/run`, headers: { authorization: 'Bearer target-secret' } } });
    const wf = (await h.call('POST', '/api/v1/workflows', { body: { name: 'flow', nodes: [{ id: 'a', task: 'kept' }] } })).json();
    const operator = (await h.token('operator')).secret;
    const refused: [InjectOptions['method'], string, unknown?][] = [
      ['POST', '/api/v1/tasks', spec('by-operator')],
      ['PUT', `/api/v1/tasks/${task.id}`, spec('kept')],
      ['DELETE', `/api/v1/tasks/${task.id}`],
      ['POST', `/api/v1/tasks/${task.id}/clone`, { name: 'copy' }],
      ['POST', '/api/v1/tasks:batch', { items: [spec('batched')] }],
      ['POST', '/api/v1/tasks:delete', { ids: [task.id] }],
      ['POST', '/api/v1/workflows', { name: 'other', nodes: [{ id: 'a', task: 'kept' }] }],
      ['PUT', `/api/v1/workflows/${wf.id}`, { name: 'flow', nodes: [{ id: 'b', task: 'kept' }] }],
      ['DELETE', `/api/v1/workflows/${wf.id}`],
      ['POST', '/api/v1/tokens', { name: 'escalate', role: 'admin' }],
      ['GET', '/api/v1/tokens'],
      ['GET', '/api/v1/audit'],
      ['PUT', '/api/v1/namespaces/default', { description: 'mine' }],
      ['PUT', '/api/v1/executors/node-1', { group: 'ops', mode: 'pull' }],
    ];
    for (const [method, url, body] of refused) {
      const res = await h.call(method, url, { token: operator, body });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(errorOf(res).code).toBe('FORBIDDEN');
    }
    expect(errorOf(await h.call('POST', '/api/v1/tasks', { token: operator, body: spec('x') })).message).toBe('this operation needs a token with role editor or higher; this token is operator');
    expect((await h.store.listTasks({ limit: 10 })).items.map((t) => [t.name, t.revision])).toEqual([['kept', 1]]);
    expect((await h.store.getWorkflow(wf.id))?.revision).toBe(1);
    expect((await h.store.listTokens()).map((t) => t.role).sort()).toEqual(['admin', 'operator']);
    expect(await h.store.listExecutors()).toEqual([]);
    // It reads as a viewer does: header values masked, since it may not edit the task.
    expect((await h.call('GET', `/api/v1/tasks/${task.id}`, { token: operator })).json().spec.target.headers).toEqual({ authorization: '***' });
    expect((await h.call('GET', '/api/v1/me', { token: operator })).json()).toMatchObject({ role: 'operator', namespaces: ['*'] });
  });

  it('is kept within its namespaces', async () => {
    const other = await h.createTask({ namespace: 'team-b', name: 'theirs' });
    const scoped = (await h.token('operator', ['team-a'])).secret;
    for (const verb of ['trigger', 'pause', 'resume']) {
      const res = await h.call('POST', `/api/v1/tasks/${other.id}/${verb}`, { token: scoped });
      expect([res.statusCode, errorOf(res).code], verb).toEqual([404, 'TASK_NOT_FOUND']);
    }
    expect((await h.store.getTask(other.id))?.state).toBe('active');
    expect((await h.store.listRuns({ limit: 10 })).items).toEqual([]);
  });
});

describe('viewer', () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await new ApiHarness().start();
  });
  afterEach(async () => h.close());

  it('cannot trigger, pause, resume, cancel, rerun or backfill: those need an operator', async () => {
    const task = await h.createTask({ name: 'watched' });
    const wf = (await h.call('POST', '/api/v1/workflows', { body: { name: 'flow', nodes: [{ id: 'a', task: 'watched' }] } })).json();
    const viewer = (await h.token('viewer')).secret;
    for (const [method, url, body] of [
      ['POST', `/api/v1/tasks/${task.id}/trigger`], ['POST', `/api/v1/tasks/${task.id}/pause`], ['POST', `/api/v1/tasks/${task.id}/resume`],
      ['POST', '/api/v1/tasks:trigger', { ids: [task.id] }], ['POST', '/api/v1/tasks:pause', { ids: [task.id] }],
      ['POST', `/api/v1/workflows/${wf.id}/trigger`], ['POST', `/api/v1/workflows/${wf.id}/pause`],
      ['POST', '/api/v1/runs/x/cancel'], ['POST', '/api/v1/runs/x/rerun'], ['POST', '/api/v1/workflow-runs/x/cancel'], ['POST', '/api/v1/workflow-runs/x/nodes/a/skip'],
      ['POST', `/api/v1/tasks/${task.id}/backfill`, { from: '2025-12-31T00:00:00Z', to: '2025-12-31T01:00:00Z' }], ['POST', '/api/v1/backfills/x/cancel'],
    ] as [InjectOptions['method'], string, unknown?][]) {
      const res = await h.call(method, url, { token: viewer, body });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(errorOf(res).message, `${method} ${url}`).toBe('this operation needs a token with role operator or higher; this token is viewer');
    }
    expect((await h.store.getTask(task.id))?.state).toBe('active');
    expect((await h.store.listRuns({ limit: 10 })).items).toEqual([]);
  });
});

describe('executor', () => {
  let store: Store;
  let app: FastifyInstance;
  const clock = new ManualClock();
  const tokens = () => createTokenService({ store, clock });
  beforeEach(async () => {
    store = createSqliteStore({ path: ':memory:' });
    await store.open();
    app = await buildApp({ store, control: UNUSED_RUN_CONTROL, clock, version: 'x', pull: new PullHub() });
  });
  afterEach(async () => {
    await app.close();
    await store.close();
  });
  const call = (secret: string, method: InjectOptions['method'], url: string, body?: unknown) => app.inject({
    method, url, headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });

  it('registers an executor node, polls, returns results and deregisters, reads /me and /nodes, and may do nothing else', async () => {
    const executor = (await tokens().create(SYSTEM_CALLER, { name: 'ops-node', role: 'executor' })).secret;
    const registered = await call(executor, 'PUT', '/api/v1/executors/ops-1', { group: 'ops', mode: 'pull' });
    expect(registered.statusCode, registered.body).toBe(200);
    expect(registered.json()).toMatchObject({ id: 'ops-1', group: 'ops', secret: expect.any(String) });
    const polled = await call(executor, 'POST', '/api/v1/executors/ops-1/poll', { waitMs: 0 });
    expect(polled.statusCode, polled.body).toBe(200);
    expect(polled.json()).toEqual({ deliveries: [], cancels: [] });
    expect((await call(executor, 'POST', '/api/v1/executors/ops-1/results', { results: [] })).json()).toEqual({ accepted: 0 });
    expect((await call(executor, 'GET', '/api/v1/me')).json()).toEqual({ actor: expect.stringMatching(/^token:/), role: 'executor', namespaces: ['*'], grants: [{ role: 'executor', namespaces: ['*'] }] });
    // The SDK's pull and stream executors find the cluster's API nodes here.
    expect((await call(executor, 'GET', '/api/v1/nodes')).statusCode).toBe(200);

    for (const [method, url, body] of [
      ['GET', '/api/v1/tasks'], ['POST', '/api/v1/tasks', spec('by-executor')], ['GET', '/api/v1/runs'], ['GET', '/api/v1/executors'],
      ['POST', '/api/v1/tasks:trigger', { ids: ['x'] }], ['GET', '/api/v1/tokens'], ['POST', '/api/v1/tokens', { name: 'more' }],
    ] as [InjectOptions['method'], string, unknown?][]) {
      const res = await call(executor, method, url, body);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().error.code).toBe('FORBIDDEN');
    }
    expect((await call(executor, 'GET', '/api/v1/tasks')).json().error.message).toBe('this operation needs a token with role viewer or higher; this token is executor');
    expect((await store.listTasks({ limit: 10 })).items).toEqual([]);
    expect(await store.countTokens()).toBe(1);

    expect((await call(executor, 'DELETE', '/api/v1/executors/ops-1')).statusCode).toBe(204);
    expect(await store.listExecutors()).toEqual([]);
  });

  it('leaves the executor routes open to editors and admins, as before the role existed, and closed to viewers and operators', async () => {
    const editor = (await tokens().create(SYSTEM_CALLER, { name: 'sdk-service', role: 'editor' })).secret;
    const admin = (await tokens().create(SYSTEM_CALLER, { name: 'admin', role: 'admin' })).secret;
    expect((await call(editor, 'PUT', '/api/v1/executors/svc-1', { group: 'billing', mode: 'pull' })).statusCode).toBe(200);
    expect((await call(editor, 'POST', '/api/v1/executors/svc-1/poll', { waitMs: 0 })).statusCode).toBe(200);
    expect((await call(admin, 'PUT', '/api/v1/executors/svc-2', { group: 'billing', mode: 'pull' })).statusCode).toBe(200);
    for (const role of ['viewer', 'operator'] as const) {
      const secret = (await tokens().create(SYSTEM_CALLER, { name: role, role })).secret;
      const res = await call(secret, 'PUT', '/api/v1/executors/sneaky', { group: 'billing', mode: 'pull' });
      expect(res.statusCode, role).toBe(403);
      expect(res.json().error.message).toBe(`this operation needs a token with role executor, editor or admin; this token is ${role}`);
      expect((await call(secret, 'POST', '/api/v1/executors/svc-1/poll', { waitMs: 0 })).statusCode, role).toBe(403);
    }
    expect((await store.listExecutors()).map((node) => node.id)).toEqual(['svc-1', 'svc-2']);
  });
});
