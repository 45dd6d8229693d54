/**
 * EcronClient's backfills against a real ecron server (real clock), runs posting to a real local
 * HTTP endpoint that records each run's scheduledAt. Ranges are whole minutes in the recent past;
 * waits are generous, nothing here measures speed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { BackfillResource } from '@ecron/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EcronApiError, EcronClient } from '../src/index.ts';
import { startRealServer, type RealServer } from './support/real-server.ts';

const MINUTE = 60_000;

let real: RealServer;
let client: EcronClient;
let endpoint: Server;
let url = '';
/** The runs the endpoint received: their task and scheduledAt. */
const received: { path: string; taskId: string; scheduledAt: number }[] = [];

beforeAll(async () => {
  real = await startRealServer();
  client = new EcronClient({ server: real.url, token: real.editor });
  // `/ok` succeeds; `/hang` never answers (until the endpoint closes).
  endpoint = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { taskId?: string; scheduledAt?: string };
      received.push({ path: req.url ?? '/', taskId: String(body.taskId), scheduledAt: Date.parse(String(body.scheduledAt)) });
      if (req.url !== '/hang') res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
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

/** The last `n` whole minutes before now. */
function lastMinutes(n: number): { from: Date; to: Date; instants: number[] } {
  const minute = Math.floor(Date.now() / MINUTE) * MINUTE;
  const instants = Array.from({ length: n }, (_, i) => minute - (n - i) * MINUTE);
  return { from: new Date(instants[0]!), to: new Date(instants.at(-1)!), instants };
}

/** Polls until the backfill has ended; fails after 60 s. */
async function ended(id: string): Promise<BackfillResource> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const backfill = await client.backfills.get(id);
    if (backfill.status !== 'running') return backfill;
    if (Date.now() > deadline) throw new Error(`backfill ${id} did not end in time: ${JSON.stringify(backfill)}`);
    await delay(100);
  }
}

async function apiError(promise: Promise<unknown>): Promise<EcronApiError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(EcronApiError);
  return error as EcronApiError;
}

/** A task firing every minute, paused: only backfills fire it. */
async function pausedMinutely(name: string, path = '/ok') {
  const task = await client.tasks.create({ name, schedule: { cron: '* * * * *' }, target: target(path) });
  await client.tasks.pause(task.id);
  return task;
}

describe('EcronClient backfills', () => {
  it('backfills a task over the last 5 minutes: one run per instant with that scheduledAt; again: all skipped', async () => {
    const task = await pausedMinutely('sdk-minutely');
    const { from, to, instants } = lastMinutes(5);
    const started = await client.tasks.backfill(task.id, { from, to });
    expect(started).toMatchObject({ taskId: task.id, namespace: 'default', from: from.toISOString(), to: to.toISOString(), total: 5, concurrency: 1 });
    const done = await ended(started.id);
    expect(done).toMatchObject({ status: 'succeeded', created: 5, skipped: 0, cursor: to.toISOString(), error: null, finishedAt: expect.any(String) });
    const inRange = (at: number) => at >= from.getTime() && at <= to.getTime();
    expect(received.filter((r) => r.taskId === task.id && inRange(r.scheduledAt)).map((r) => r.scheduledAt).sort((a, b) => a - b)).toEqual(instants);
    const runs = (await client.runs.list({ taskId: task.id, from, to: new Date(to.getTime() + 1) })).items;
    expect(runs.map((r) => [Date.parse(r.scheduledAt), r.trigger, r.status]).sort()).toEqual(instants.map((at) => [at, 'schedule', 'succeeded']).sort());

    const again = await client.tasks.backfill(task.id, { from: from.toISOString(), to: to.toISOString(), concurrency: 5 });
    expect(await ended(again.id)).toMatchObject({ status: 'succeeded', created: 0, skipped: 5, concurrency: 5 });
    expect((await client.tasks.backfills(task.id)).map((b) => b.id)).toEqual([again.id, started.id]);
    expect(await client.backfills.get(started.id)).toEqual(done);

    const finished = await apiError(client.backfills.cancel(started.id));
    expect([finished.status, finished.code]).toEqual([409, 'BACKFILL_FINISHED']);
  });

  it('backfills a workflow: one workflow run per instant', async () => {
    const wf = await client.workflows.create({ name: 'sdk-backfilled', schedule: { cron: '* * * * *' }, nodes: [{ id: 'a', target: target('/ok') }, { id: 'b', needs: ['a'], target: target('/ok') }] });
    await client.workflows.pause(wf.id);
    const { from, to, instants } = lastMinutes(2);
    const started = await client.workflows.backfill(wf.id, { from, to, concurrency: 2 });
    expect(started).toMatchObject({ taskId: wf.id, total: 2, concurrency: 2 });
    expect(await ended(started.id)).toMatchObject({ status: 'succeeded', created: 2, skipped: 0 });
    const runs = (await client.workflowRuns.list({ workflowId: wf.id })).items.filter((r) => instants.includes(Date.parse(r.scheduledAt)));
    expect(runs.map((r) => [Date.parse(r.scheduledAt), r.status]).sort()).toEqual(instants.map((at) => [at, 'succeeded']).sort());
    expect((await client.workflows.backfills(wf.id)).map((b) => b.id)).toEqual([started.id]);
  });

  it('cancels a running backfill: no more fires are created', async () => {
    const task = await pausedMinutely('sdk-hangs', '/hang');
    const { from, to } = lastMinutes(4);
    const started = await client.tasks.backfill(task.id, { from, to });
    const deadline = Date.now() + 30_000;
    while (!received.some((r) => r.taskId === task.id)) {
      if (Date.now() > deadline) throw new Error('the backfill sent no run');
      await delay(50);
    }
    const cancelled = await client.backfills.cancel(started.id);
    expect(cancelled).toMatchObject({ id: started.id, status: 'cancelled', created: 1, finishedAt: expect.any(String) });
    await delay(1000);
    expect(await client.backfills.get(started.id)).toMatchObject({ status: 'cancelled', created: 1 });
    expect(received.filter((r) => r.taskId === task.id)).toHaveLength(1);
    const run = (await client.runs.list({ taskId: task.id })).items[0]!;
    await client.runs.cancel(run.id);
  });

  it('maps refusals to their codes', async () => {
    const task = await pausedMinutely('sdk-refusals');
    const now = Date.now();
    const future = await apiError(client.tasks.backfill(task.id, { from: new Date(now - 5 * MINUTE), to: new Date(now + 60 * MINUTE) }));
    expect([future.status, future.code]).toEqual([400, 'BACKFILL_RANGE_INVALID']);
    const tooLarge = await apiError(client.tasks.backfill(task.id, { from: new Date(now - 60 * MINUTE), to: new Date(now - MINUTE), maxCount: 10 }));
    expect([tooLarge.status, tooLarge.code, tooLarge.details]).toEqual([400, 'BACKFILL_TOO_LARGE', { maxCount: 10 }]);
    const manual = await client.tasks.create({ name: 'sdk-by-hand', schedule: { manual: true }, target: target('/ok') });
    const empty = await apiError(client.tasks.backfill(manual.id, { from: new Date(now - 60 * MINUTE), to: new Date(now - MINUTE) }));
    expect([empty.status, empty.code]).toEqual([400, 'BACKFILL_EMPTY']);
    const invalid = await apiError(client.tasks.backfill(task.id, { from: 'yesterday', to: new Date(now - MINUTE) }));
    expect([invalid.status, invalid.code]).toEqual([400, 'VALIDATION_FAILED']);
    const missing = await apiError(client.backfills.get('0190f000-0000-7000-8000-000000000999'));
    expect([missing.status, missing.code]).toEqual([404, 'BACKFILL_NOT_FOUND']);
    const noWorkflow = await apiError(client.workflows.backfill(task.id, { from: new Date(now - 5 * MINUTE), to: new Date(now - MINUTE) }));
    expect([noWorkflow.status, noWorkflow.code]).toEqual([404, 'WORKFLOW_NOT_FOUND']);
    const viewer = new EcronClient({ server: real.url, token: real.viewer });
    const forbidden = await apiError(viewer.tasks.backfill(task.id, { from: new Date(now - 5 * MINUTE), to: new Date(now - MINUTE) }));
    expect([forbidden.status, forbidden.code]).toEqual([403, 'FORBIDDEN']);
    expect(await viewer.tasks.backfills(task.id)).toEqual([]);
  });
});
