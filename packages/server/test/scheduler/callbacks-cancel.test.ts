import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hang } from '../support/test-executor.ts';
import { SchedulerHarness } from '../support/scheduler-harness.ts';
import type { EcronError } from '../../src/core/errors.ts';

let h: SchedulerHarness;
afterEach(async () => h?.close());

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as EcronError).code;
  }
  throw new Error('expected a coded error');
}

describe('async runs and callbacks', () => {
  let runId: string;
  let token: string;
  let otherToken: string;

  beforeEach(async () => {
    h = await new SchedulerHarness().start();
    h.executor.behaviours.set('/async', () => ({ status: 202, body: { accepted: true } }));
    const task = await h.createTask({ name: 'async', schedule: { manual: true } }, '/async', { waitQueued: false });
    const run = await h.scheduler.trigger({ task, actor: 'test' });
    const other = await h.scheduler.trigger({ task, actor: 'test' });
    runId = run.id;
    token = (await h.executor.next((r) => r.body.runId === run.id)).body.callback.token;
    otherToken = (await h.executor.next((r) => r.body.runId === other.id)).body.callback.token;
    for (;;) {
      if ((await h.store.getRun(runId))?.status === 'running') break;
      await new Promise((resolve) => setImmediate(resolve));
    }
  });

  it('takes progress, logs and the final status from the callback', async () => {
    await h.scheduler.report({ runId, token, report: { attempt: 1, seq: 0, progress: 50, logs: [{ level: 'info', message: 'half way' }] } });
    expect(await h.store.getRun(runId)).toMatchObject({ status: 'running', progress: 50 });
    const ended = await h.scheduler.report({ runId, token, report: { attempt: 1, seq: 1, status: 'succeeded', output: { rows: 3 } } });
    expect(ended).toMatchObject({ status: 'succeeded', output: { rows: 3 } });
    const logs = await h.store.listRunLogs({ runId, limit: 10 });
    expect(logs.map((l) => l.message)).toEqual(['half way']);
  });

  it('refuses a wrong token, another run\'s token, a replay and a report after the end, changing nothing', async () => {
    const before = await h.store.getRun(runId);
    expect(await codeOf(h.scheduler.report({ runId, token: undefined, report: { attempt: 1, seq: 0, status: 'succeeded' } }))).toBe('CALLBACK_TOKEN_INVALID');
    expect(await codeOf(h.scheduler.report({ runId, token: `${token.slice(0, -4)}0000`, report: { attempt: 1, seq: 0, status: 'succeeded' } }))).toBe('CALLBACK_TOKEN_INVALID');
    expect(await codeOf(h.scheduler.report({ runId, token: otherToken, report: { attempt: 1, seq: 0, status: 'succeeded' } }))).toBe('CALLBACK_RUN_MISMATCH');
    expect(await codeOf(h.scheduler.report({ runId, token, report: { attempt: 2, seq: 0, status: 'succeeded' } }))).toBe('CALLBACK_TOKEN_INVALID');
    expect(await h.store.getRun(runId)).toEqual(before);

    await h.scheduler.report({ runId, token, report: { attempt: 1, seq: 5, logs: [{ level: 'info', message: 'once' }] } });
    expect(await codeOf(h.scheduler.report({ runId, token, report: { attempt: 1, seq: 5, logs: [{ level: 'info', message: 'twice' }] } }))).toBe('CALLBACK_REPLAYED');
    expect((await h.store.listRunLogs({ runId, limit: 10 })).map((l) => l.message)).toEqual(['once']);

    await h.scheduler.report({ runId, token, report: { attempt: 1, seq: 6, status: 'failed', error: 'bad' } });
    const ended = await h.store.getRun(runId);
    expect(ended).toMatchObject({ status: 'failed', error: 'bad' });
    expect(await codeOf(h.scheduler.report({ runId, token, report: { attempt: 1, seq: 7, status: 'succeeded' } }))).toBe('RUN_ALREADY_FINISHED');
    expect(await h.store.getRun(runId)).toEqual(ended);
  });
});

describe('cancel', () => {
  it('aborts a running attempt, tells the executor, ends the run cancelled and audits it', async () => {
    h = await new SchedulerHarness().start();
    h.executor.behaviours.set('/hang', hang);
    const task = await h.createTask({ name: 'cancel', schedule: { manual: true } }, '/hang', { waitQueued: false });
    const run = await h.scheduler.trigger({ task, actor: 'test' });
    await h.executor.next((r) => r.body.runId === run.id);
    const cancelled = await h.scheduler.cancel({ runId: run.id, actor: 'token:abc' });
    expect(cancelled).toMatchObject({ status: 'cancelled' });
    const cancel = await h.executor.next((r) => r.event === 'cancel' && r.body.runId === run.id);
    expect(cancel.body).toMatchObject({ attempt: 1, reason: 'user' });
    const audit = await h.store.listAudit({ limit: 10, action: 'run.cancel' });
    expect(audit.items[0]).toMatchObject({ actor: 'token:abc', resourceId: run.id });
    expect(await codeOf(h.scheduler.cancel({ runId: run.id, actor: 'test' }))).toBe('RUN_ALREADY_FINISHED');
    expect(await codeOf(h.scheduler.cancel({ runId: 'nope', actor: 'test' }))).toBe('RUN_NOT_FOUND');
  });

  it('cancels a run waiting for its retry', async () => {
    h = await new SchedulerHarness().start();
    h.executor.behaviours.set('/fail', () => ({ status: 500 }));
    const task = await h.createTask({ name: 'cancel-retry', schedule: { manual: true }, retry: { maxAttempts: 5, backoff: { type: 'fixed', initialMs: 60_000 } } }, '/fail', { waitQueued: false });
    const run = await h.scheduler.trigger({ task, actor: 'test' });
    for (;;) {
      if ((await h.store.getRun(run.id))?.status === 'pending') break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await h.scheduler.cancel({ runId: run.id, actor: 'test' })).toMatchObject({ status: 'cancelled' });
    await h.clock.advance(120_000);
    expect(h.executor.runs('/fail')).toHaveLength(1);
  });

  it('trigger merges param overrides into the task params', async () => {
    h = await new SchedulerHarness().start();
    const task = await h.createTask({ name: 'params', schedule: { manual: true }, params: { a: 1, b: 2 } }, '/run', { waitQueued: false });
    const run = await h.scheduler.trigger({ task, params: { b: 3 }, actor: 'test' });
    expect(run).toMatchObject({ trigger: 'manual', status: 'dispatched', params: { a: 1, b: 3 } });
    expect((await h.executor.next((r) => r.body.runId === run.id)).body.params).toEqual({ a: 1, b: 3 });
  });
});
