/**
 * A store error in work the scheduler does on its own (not on behalf of a request) is logged and
 * retried: it must never become an unhandled rejection, which ends the node's process.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EcronError } from '../../src/core/errors.ts';
import { SchedulerHarness } from '../support/scheduler-harness.ts';

let h: SchedulerHarness;
afterEach(async () => h?.close());

describe('store errors in background work', () => {
  it('tries a retry again when its attempt cannot be recorded, and writes no run log line it cannot', async () => {
    const logged: string[] = [];
    h = await new SchedulerHarness({ scheduler: { log: (_level, message) => logged.push(message) } }).start();
    let calls = 0;
    h.executor.behaviours.set('/run', () => (++calls === 1 ? { status: 500, body: { error: 'boom' } } : { status: 200, body: { ok: calls } }));
    await h.createTask({ name: 'retry', schedule: { every: '1h' }, retry: { maxAttempts: 3, backoff: { type: 'fixed', initialMs: 5000 } } });
    const unavailable = () => Promise.reject(new EcronError('STORE_UNAVAILABLE', 'the store went away'));
    const { startAttempts, appendRunLogs } = h.store;
    let startFailures = 0;
    h.store.startAttempts = (items) => (startFailures++ === 0 ? unavailable() : startAttempts.call(h.store, items));
    h.store.appendRunLogs = () => unavailable();

    const fire = h.next('fire');
    await h.clock.advance(3_600_000);
    const runId = (await fire).runId;
    for (;;) {
      const run = await h.store.getRun(runId);
      if (run?.status === 'pending') break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await h.clock.advance(5000);
    while (startFailures === 0) await new Promise((resolve) => setImmediate(resolve));
    h.store.appendRunLogs = appendRunLogs;
    expect(logged).toContain('starting a retry failed; trying again');
    expect(logged).toContain('writing a run log line failed');

    const ended = h.ended(runId);
    await h.clock.advance(1000);
    expect(await ended).toMatchObject({ status: 'succeeded', attempt: 2 });
  });

  it('records an executor\'s answer again when the store fails to, instead of leaving the run dispatched', async () => {
    const logged: string[] = [];
    h = await new SchedulerHarness({ scheduler: { log: (_level, message) => logged.push(message) } }).start();
    await h.createTask({ name: 'ok', schedule: { every: '1h' } });
    const { finishAttempts } = h.store;
    let failures = 0;
    h.store.finishAttempts = (items) => (failures++ === 0 ? Promise.reject(new EcronError('STORE_UNAVAILABLE', 'the store went away')) : finishAttempts.call(h.store, items));
    const fire = h.next('fire');
    await h.clock.advance(3_600_000);
    const runId = (await fire).runId;
    await h.executor.next((r) => r.body.runId === runId);
    while (!logged.includes('recording an executor\'s answer failed; trying again')) await new Promise((resolve) => setImmediate(resolve));
    expect((await h.store.getRun(runId))?.status).toBe('dispatched');

    const ended = h.ended(runId);
    await h.clock.advance(1000);
    expect(await ended).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(h.executor.runs()).toHaveLength(1);
  });
});
