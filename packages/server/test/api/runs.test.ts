/** Runs through the API, with the real scheduler dispatching to a real HTTP executor. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hang } from '../support/test-executor.ts';
import { ApiHarness, errorOf, T0 } from './api-harness.ts';

let h: ApiHarness;
beforeEach(async () => {
  h = await new ApiHarness().start();
});
afterEach(async () => h.close());

const iso = (ms: number) => new Date(ms).toISOString();

describe('trigger and read runs', () => {
  it('triggers a run with merged params and reads it with its attempts', async () => {
    h.executor.behaviours.set('/run', () => ({ status: 200, body: { rows: 42 } }));
    const task = await h.createTask({ name: 'on-demand', params: { region: 'eu', size: 1 } });
    const res = await h.call('POST', `/api/v1/tasks/${task.id}/trigger`, { body: { params: { size: 2 } } });
    expect(res.statusCode).toBe(201);
    const run = res.json();
    expect(run).toMatchObject({
      taskId: task.id, namespace: 'default', taskName: 'on-demand', taskRevision: 1, trigger: 'manual',
      scheduledAt: iso(T0), status: 'dispatched', attempt: 1, params: { region: 'eu', size: 2 }, finishedAt: null,
    });
    expect(run.attempts).toEqual([expect.objectContaining({ number: 1, status: 'dispatched', startedAt: iso(T0), finishedAt: null })]);

    const received = await h.executor.next((r) => r.body.runId === run.id);
    expect(received.body.params).toEqual({ region: 'eu', size: 2 });
    const ended = await h.ended(run.id);
    expect(ended).toMatchObject({ id: run.id, status: 'succeeded', output: { rows: 42 }, error: null, finishedAt: iso(T0) });
    expect(ended.attempts).toEqual([expect.objectContaining({ number: 1, status: 'succeeded', output: { rows: 42 } })]);

    const byStatus = await h.call('GET', '/api/v1/tasks?lastRunStatus=succeeded');
    expect(byStatus.json().items.map((t: { id: string }) => t.id)).toEqual([task.id]);
  });

  it('triggers without a body, and refuses a malformed one without creating a run', async () => {
    const task = await h.createTask({ name: 'bare' });
    expect((await h.call('POST', `/api/v1/tasks/${task.id}/trigger`)).statusCode).toBe(201);
    const bad = await h.call('POST', `/api/v1/tasks/${task.id}/trigger`, { body: { params: 'all', force: true } });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['force', 'params']);
    expect((await h.store.listRuns({ limit: 10 })).items).toHaveLength(1);
  });

  it('lists runs newest first with filters, attempts from one store call per page, and walks the cursor', async () => {
    const task = await h.createTask({ name: 'listed' });
    const other = await h.createTask({ name: 'other' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const run = (await h.call('POST', `/api/v1/tasks/${task.id}/trigger`)).json();
      await h.ended(run.id);
      ids.push(run.id);
      await h.clock.advance(60_000);
    }
    await h.ended((await h.call('POST', `/api/v1/tasks/${other.id}/trigger`)).json().id);

    let attemptCalls = 0;
    const listAttempts = h.store.listAttempts.bind(h.store);
    h.store.listAttempts = async (runIds) => {
      attemptCalls += 1;
      return listAttempts(runIds);
    };

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await h.call('GET', `/api/v1/runs?taskId=${task.id}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.statusCode).toBe(200);
      const page = res.json();
      for (const run of page.items) {
        expect(run.taskId).toBe(task.id);
        expect(run.attempts).toEqual([expect.objectContaining({ number: 1, status: 'succeeded' })]);
      }
      seen.push(...page.items.map((r: { id: string }) => r.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(seen).toEqual([...ids].reverse());
    expect(attemptCalls).toBe(pages);

    const all = await h.call('GET', '/api/v1/runs');
    expect(all.json().items).toHaveLength(4);
    const window = await h.call('GET', `/api/v1/runs?taskId=${task.id}&from=${iso(T0 + 60_000)}&to=${iso(T0 + 120_000)}`);
    expect(window.json().items.map((r: { id: string }) => r.id)).toEqual([ids[1]]);
    expect((await h.call('GET', '/api/v1/runs?status=failed')).json().items).toEqual([]);
    const badFrom = await h.call('GET', '/api/v1/runs?from=yesterday');
    expect(badFrom.statusCode).toBe(400);
    expect(errorOf(badFrom).details.issues[0].path).toBe('query.from');
  });
});

describe('executor callbacks', () => {
  it('accepts progress, logs and the final status with the run-scoped token, and refuses the rest', async () => {
    h.executor.behaviours.set('/async', () => ({ status: 202 }));
    const task = await h.createTask({ name: 'async', target: { type: 'http', url: `${h.executorUrl}/async` } });
    const run = (await h.call('POST', `/api/v1/tasks/${task.id}/trigger`)).json();
    const received = await h.executor.next((r) => r.body.runId === run.id);
    const callbackToken = received.body.callback.token;
    const report = (body: unknown, token: string | null = callbackToken, runId = run.id) =>
      h.call('POST', `/api/v1/runs/${runId}/report`, { token, body });

    const running = await report({ attempt: 1, seq: 0, status: 'running', progress: 40, logs: [{ message: 'starting' }, { level: 'warn', message: 'slow disk' }] });
    expect(running.statusCode).toBe(200);
    expect(running.json()).toEqual({ accepted: true, status: 'running' });
    expect((await h.call('GET', `/api/v1/runs/${run.id}`)).json()).toMatchObject({ status: 'running', progress: 40 });

    const logs = await h.call('GET', `/api/v1/runs/${run.id}/logs`);
    expect(logs.statusCode).toBe(200);
    const page = logs.json();
    expect(page.items.map((l: { level: string; message: string; attempt: number; at: string }) => [l.level, l.message, l.attempt, l.at])).toEqual([
      ['info', 'starting', 1, iso(T0)], ['warn', 'slow disk', 1, iso(T0)],
    ]);
    expect(page.nextSeq).toBe(page.items[1].seq);
    expect((await h.call('GET', `/api/v1/runs/${run.id}/logs?afterSeq=${page.nextSeq}`)).json()).toEqual({ items: [], nextSeq: page.nextSeq });
    expect((await h.call('GET', `/api/v1/runs/${run.id}/logs?limit=1`)).json().items).toHaveLength(1);

    const replay = await report({ attempt: 1, seq: 0, logs: [{ message: 'again' }] });
    expect(replay.statusCode).toBe(409);
    expect(errorOf(replay).code).toBe('CALLBACK_REPLAYED');
    const wrong = await report({ attempt: 1, seq: 5 }, 'not-a-callback-token');
    expect(wrong.statusCode).toBe(401);
    expect(errorOf(wrong).code).toBe('CALLBACK_TOKEN_INVALID');
    expect(wrong.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(errorOf(await report({ attempt: 1, seq: 5 }, null)).code).toBe('CALLBACK_TOKEN_INVALID');
    // An API token is not a callback token, even an admin's.
    expect(errorOf(await report({ attempt: 1, seq: 5 }, h.admin)).code).toBe('CALLBACK_TOKEN_INVALID');
    const other = (await h.call('POST', `/api/v1/tasks/${task.id}/trigger`)).json();
    expect(errorOf(await report({ attempt: 1, seq: 5 }, callbackToken, other.id)).code).toBe('CALLBACK_RUN_MISMATCH');
    const invalid = await report({ attempt: 0, seq: -1, status: 'done' });
    expect(invalid.statusCode).toBe(400);
    expect(errorOf(invalid).details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['attempt', 'seq', 'status']);
    expect((await h.call('GET', `/api/v1/runs/${run.id}/logs`)).json().items).toHaveLength(2);

    const done = await report({ attempt: 1, seq: 1, status: 'succeeded', output: { rows: 3 } });
    expect(done.json()).toEqual({ accepted: true, status: 'succeeded' });
    expect((await h.call('GET', `/api/v1/runs/${run.id}`)).json()).toMatchObject({ status: 'succeeded', output: { rows: 3 } });
    const late = await report({ attempt: 1, seq: 2, status: 'failed' });
    expect(late.statusCode).toBe(409);
    expect(errorOf(late).code).toBe('RUN_ALREADY_FINISHED');
  });
});

describe('cancel', () => {
  it('cancels a run in flight, then refuses to cancel it again', async () => {
    h.executor.behaviours.set('/hang', hang);
    const task = await h.createTask({ name: 'slow', target: { type: 'http', url: `${h.executorUrl}/hang` } });
    const run = (await h.call('POST', `/api/v1/tasks/${task.id}/trigger`)).json();
    await h.executor.next((r) => r.body.runId === run.id && r.event === 'run');

    const editor = (await h.token('editor')).secret;
    const cancelled = await h.call('POST', `/api/v1/runs/${run.id}/cancel`, { token: editor });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ id: run.id, status: 'cancelled', finishedAt: expect.any(String) });
    expect(cancelled.json().attempts).toEqual([expect.objectContaining({ number: 1, status: 'cancelled' })]);

    const again = await h.call('POST', `/api/v1/runs/${run.id}/cancel`);
    expect(again.statusCode).toBe(409);
    expect(errorOf(again).code).toBe('RUN_ALREADY_FINISHED');
    const unknown = await h.call('POST', '/api/v1/runs/no-such-run/cancel');
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown).code).toBe('RUN_NOT_FOUND');
  });
});

describe('rerun', () => {
  it('runs a finished run again with its params, or with edited ones, and says why it cannot otherwise', async () => {
    h.executor.behaviours.set('/run', (r) => ({ status: r.body.params?.fail ? 500 : 200, body: { got: r.body.params } }));
    const task = await h.createTask({ name: 'again', params: { region: 'eu', size: 1 } });
    const first = (await h.call('POST', `/api/v1/tasks/${task.id}/trigger`, { body: { params: { size: 2, fail: true } } })).json();
    expect((await h.ended(first.id)).status).toBe('failed');

    const same = await h.call('POST', `/api/v1/runs/${first.id}/rerun`, { token: (await h.token('editor')).secret });
    expect(same.statusCode).toBe(201);
    expect(same.json()).toMatchObject({ taskId: task.id, trigger: 'manual', status: 'dispatched', attempt: 1, params: { region: 'eu', size: 2, fail: true } });
    expect(same.json().id).not.toBe(first.id);
    expect((await h.ended(same.json().id)).status).toBe('failed');

    // Given params take the place of the run's (not merged), so a key can be dropped.
    const edited = await h.call('POST', `/api/v1/runs/${first.id}/rerun`, { body: { params: { region: 'us' } } });
    expect(edited.statusCode).toBe(201);
    expect(edited.json().params).toEqual({ region: 'us' });
    expect(await h.ended(edited.json().id)).toMatchObject({ status: 'succeeded', output: { got: { region: 'us' } } });

    const audit = (await h.call('GET', '/api/v1/audit?limit=10')).json().items;
    expect(audit.find((a: { action: string }) => a.action === 'run.rerun')).toMatchObject({
      resourceType: 'run', resourceId: edited.json().id, details: { taskId: task.id, rerunOf: first.id, params: { region: 'us' } },
    });
  });

  it('refuses an active run, an unknown run, a viewer, bad params, and a run whose task was deleted, creating nothing', async () => {
    h.executor.behaviours.set('/hang', hang);
    const task = await h.createTask({ name: 'slow', target: { type: 'http', url: `${h.executorUrl}/hang` } });
    const active = (await h.call('POST', `/api/v1/tasks/${task.id}/trigger`)).json();
    const notFinished = await h.call('POST', `/api/v1/runs/${active.id}/rerun`);
    expect(notFinished.statusCode).toBe(409);
    expect(errorOf(notFinished).code).toBe('RUN_NOT_FINISHED');
    expect((await h.call('POST', '/api/v1/runs/no-such-run/rerun')).statusCode).toBe(404);
    const viewer = await h.call('POST', `/api/v1/runs/${active.id}/rerun`, { token: (await h.token('viewer')).secret });
    expect(viewer.statusCode).toBe(403);
    const bad = await h.call('POST', `/api/v1/runs/${active.id}/rerun`, { body: { params: [1] } });
    expect(bad.statusCode).toBe(400);
    await h.call('POST', `/api/v1/runs/${active.id}/cancel`);
    await h.call('DELETE', `/api/v1/tasks/${task.id}`);
    const gone = await h.call('POST', `/api/v1/runs/${active.id}/rerun`);
    expect(gone.statusCode).toBe(404);
    expect(errorOf(gone).code).toBe('TASK_NOT_FOUND');
    expect((await h.store.listRuns({ limit: 10 })).items).toHaveLength(1);
  });
});
