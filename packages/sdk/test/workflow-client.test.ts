/** EcronClient's workflows and workflowRuns against a real ecron server, nodes posting to a real local HTTP endpoint. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { WorkflowRunResource } from '@ecron/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EcronApiError, EcronClient } from '../src/index.ts';
import { startRealServer, type RealServer } from './support/real-server.ts';

let real: RealServer;
let client: EcronClient;
let endpoint: Server;
let url = '';
let flaky = 0;

beforeAll(async () => {
  real = await startRealServer();
  client = new EcronClient({ server: real.url, token: real.editor });
  // `/ok` succeeds with its request's params as output, `/fail` fails, `/flaky` fails once then succeeds.
  endpoint = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { params?: unknown };
      const fail = req.url === '/fail' || (req.url === '/flaky' && ++flaky === 1);
      res.writeHead(fail ? 500 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(fail ? { error: 'boom' } : { params: body.params ?? null }));
    });
  });
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`;
});
afterAll(async () => {
  endpoint?.closeAllConnections();
  await new Promise((resolve) => endpoint?.close(resolve));
  await real?.stop();
});

const target = (path: string) => ({ type: 'http' as const, url: `${url}${path}` });

/** Polls until the workflow run has finished and `done` holds; fails after 20 s. */
async function until(id: string, done: (run: WorkflowRunResource) => boolean = () => true): Promise<WorkflowRunResource> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const run = await client.workflowRuns.get(id);
    if (['succeeded', 'failed', 'cancelled'].includes(run.status) && done(run)) return run;
    if (Date.now() > deadline) throw new Error(`workflow run ${id} did not end in time: ${JSON.stringify(run)}`);
    await delay(25);
  }
}

async function apiError(promise: Promise<unknown>): Promise<EcronApiError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(EcronApiError);
  return error as EcronApiError;
}

describe('EcronClient workflows', () => {
  it('validates, creates, reads, lists, updates, pauses, resumes and deletes a workflow, with its revisions', async () => {
    const spec = { name: 'sdk-flow', nodes: [{ id: 'a', target: target('/ok') }, { id: 'b', needs: ['a'], target: target('/ok') }] };
    const checked = await client.workflows.validate(spec);
    expect(checked.ok).toBe(true);
    expect(checked.spec.nodes[1]!.needs).toEqual([{ node: 'a', optional: false }]);

    const created = await client.workflows.create(spec);
    expect(created).toMatchObject({ namespace: 'default', name: 'sdk-flow', revision: 1, state: 'active' });
    expect(await client.workflows.get(created.id)).toEqual(created);
    expect((await client.workflows.list({ q: 'sdk-fl' })).items.map((w) => w.id)).toEqual([created.id]);

    const updated = await client.workflows.update(created.id, { ...spec, params: { v: 2 } }, { revision: 1 });
    expect(updated.revision).toBe(2);
    const stale = await apiError(client.workflows.update(created.id, spec, { revision: 1 }));
    expect([stale.status, stale.code]).toEqual([409, 'TASK_VERSION_CONFLICT']);
    expect((await client.workflows.revisions(created.id)).map((r) => r.revision)).toEqual([1, 2]);
    expect((await client.workflows.revision(created.id, 2)).spec.params).toEqual({ v: 2 });

    expect((await client.workflows.pause(created.id)).state).toBe('paused');
    expect((await client.workflows.resume(created.id)).state).toBe('active');
    await client.workflows.delete(created.id);
    const gone = await apiError(client.workflows.get(created.id));
    expect([gone.status, gone.code]).toEqual([404, 'WORKFLOW_NOT_FOUND']);
  });

  it('maps a refused spec to VALIDATION_FAILED with each issue\'s code and path', async () => {
    const error = await apiError(client.workflows.create({ name: 'loop', nodes: [{ id: 'a', needs: ['b'], target: target('/ok') }, { id: 'b', needs: ['a'], target: target('/ok') }] }));
    expect([error.status, error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((error.details as { issues: { code: string; path: string }[] }).issues).toEqual([expect.objectContaining({ code: 'DEPENDENCY_CYCLE' })]);
    const viewer = new EcronClient({ server: real.url, token: real.viewer });
    const forbidden = await apiError(viewer.workflows.create({ name: 'nope', nodes: [{ id: 'a', target: target('/ok') }] }));
    expect([forbidden.status, forbidden.code]).toEqual([403, 'FORBIDDEN']);
  });
});

describe('EcronClient workflowRuns', () => {
  it('triggers, lists and reads runs, reruns from failed, and acts on nodes', async () => {
    const wf = await client.workflows.create({
      name: 'sdk-runs', params: { day: 'mon' },
      nodes: [
        { id: 'a', target: target('/ok'), params: { day: '{{ params.day }}' } },
        { id: 'b', needs: ['a'], target: target('/flaky') },
        { id: 'c', needs: ['b'], target: target('/ok') },
      ],
    });
    const started = await client.workflows.trigger(wf.id, { day: 'tue' });
    expect(started).toMatchObject({ workflowId: wf.id, params: { day: 'tue' } });
    const failed = await until(started.id);
    expect(failed.status).toBe('failed');
    expect(failed.nodes!.map((n) => [n.id, n.status, n.reason])).toEqual([['a', 'succeeded', null], ['b', 'failed', null], ['c', 'skipped', 'upstream_failed']]);
    expect((await client.workflowRuns.list({ workflowId: wf.id })).items.map((r) => r.id)).toEqual([started.id]);

    await client.workflowRuns.rerunFailed(started.id);
    const fixed = await until(started.id, (run) => run.status === 'succeeded');
    expect(fixed.nodes!.map((n) => n.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const nothing = await apiError(client.workflowRuns.rerunFailed(started.id));
    expect([nothing.status, nothing.code]).toEqual([409, 'WORKFLOW_NOTHING_TO_RERUN']);

    const rerun = await client.workflowRuns.rerunNode(started.id, 'c');
    expect(rerun.id).toBe(started.id);
    await until(started.id, (run) => run.nodes![2]!.attempts === 2);

    const second = await until((await client.workflows.trigger(wf.id)).id);
    expect(second.status).toBe('succeeded');
    const bad = await client.workflows.create({ name: 'sdk-manual', nodes: [{ id: 'x', target: target('/fail') }, { id: 'y', needs: ['x'], target: target('/ok') }] });
    const third = await until((await client.workflows.trigger(bad.id)).id);
    const skipped = await client.workflowRuns.skipNode(third.id, 'x');
    expect(skipped.nodes!.find((n) => n.id === 'x')).toMatchObject({ status: 'skipped', reason: 'manual' });
    expect((await until(third.id, (run) => run.nodes![1]!.status === 'succeeded')).status).toBe('succeeded');
    const fourth = await until((await client.workflows.trigger(bad.id)).id);
    const marked = await client.workflowRuns.succeedNode(fourth.id, 'x', { rows: 1 });
    expect(marked.nodes!.find((n) => n.id === 'x')!.status).toBe('succeeded');
    await until(fourth.id, (run) => run.status === 'succeeded');
    const missing = await apiError(client.workflowRuns.skipNode(fourth.id, 'zzz'));
    expect([missing.status, missing.code]).toEqual([404, 'WORKFLOW_NODE_NOT_FOUND']);
  });

  it('cancels a workflow run that has not finished', async () => {
    const hangs = createServer(() => { /* never answers */ });
    await new Promise<void>((resolve) => hangs.listen(0, '127.0.0.1', resolve));
    try {
      const port = (hangs.address() as AddressInfo).port;
      const wf = await client.workflows.create({ name: 'sdk-cancel', nodes: [{ id: 'slow', target: { type: 'http', url: `http://127.0.0.1:${port}/` } }, { id: 'after', needs: ['slow'], target: target('/ok') }] });
      const started = await client.workflows.trigger(wf.id);
      const cancelled = await client.workflowRuns.cancel(started.id);
      expect(cancelled.id).toBe(started.id);
      const run = await until(started.id);
      expect(run.status).toBe('cancelled');
      expect(run.nodes![1]).toMatchObject({ status: 'skipped', reason: 'cancelled' });
    } finally {
      hangs.closeAllConnections();
      await new Promise((resolve) => hangs.close(resolve));
    }
  });
});
