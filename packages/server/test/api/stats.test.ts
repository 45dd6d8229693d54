/** `/api/v1/stats`'s fire lag: from a scheduled run's instant until its first attempt reached its executor. */
import { afterEach, describe, expect, it } from 'vitest';
import { HttpDispatcher } from '../../src/dispatch/http-dispatcher.ts';
import { fireOf, newRun, seedTask } from '../../src/store/conformance/fixtures.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';
import { hang, TestExecutor } from '../support/test-executor.ts';
import { ApiHarness, T0 } from './api-harness.ts';

let h: ApiHarness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

describe('fire lag', () => {
  it('is sentAt − scheduledAt of first attempts; runs whose attempt never got out are not counted', async () => {
    h = await new ApiHarness().start();
    const lags: (number | null)[] = [250, 40, 5, null];
    for (const [i, lag] of lags.entries()) {
      const at = T0 - (i + 1) * 60_000;
      const task = await seedTask(h.store, { name: `lagging-${i}`, nextFireAt: at });
      const run = newRun(task, { status: 'dispatched', scheduledAt: at, createdAt: at, attempt: { executor: null, startedAt: at, deadlineAt: null } });
      expect((await h.store.recordFires([fireOf(task, { runs: [run] })]))[0]!.recorded).toBe(true);
      if (lag !== null) await h.store.markSent([{ runId: run.id, attempt: 1, at: at + lag }]);
    }
    const stats = (await h.call('GET', '/api/v1/stats?window=1h')).json();
    expect(stats.fireLagMs).toEqual({ count: 3, p50: 40, p95: 250, max: 250 });
  });
});

describe('HttpDispatcher onSent', () => {
  it('is called once the request is on the executor\'s connection, before the answer, and never when it cannot connect', async () => {
    const executor = new TestExecutor('key-0123456789');
    const url = await executor.start();
    const dispatcher = new HttpDispatcher({ clock: new ManualClock(T0), signingKey: 'key-0123456789' });
    try {
      executor.behaviours.set('/hang', hang);
      const abort = new AbortController();
      let sent = 0;
      const reply = dispatcher.dispatch({ type: 'http', url: `${url}/hang` }, envelope(), abort.signal, () => { sent += 1; });
      await executor.next((r) => r.event === 'run');
      expect(sent).toBe(1);
      abort.abort();
      expect(await reply).toEqual({ kind: 'aborted' });

      let refusedSent = 0;
      const refused = await dispatcher.dispatch({ type: 'http', url: 'http://127.0.0.1:1/run' }, envelope(), new AbortController().signal, () => { refusedSent += 1; });
      expect(refused).toMatchObject({ kind: 'failed', unreachable: true });
      expect(refusedSent).toBe(0);
    } finally {
      await dispatcher.close();
      await executor.stop();
    }
  });
});

function envelope() {
  return {
    runId: 'run-1', taskId: 'task-1', namespace: 'default', task: 't', scheduledAt: new Date(T0).toISOString(), attempt: 1,
    params: {}, shard: { index: 0, total: 1 }, deadline: null, callback: { url: 'http://127.0.0.1:1/cb', token: 'x' },
  };
}
