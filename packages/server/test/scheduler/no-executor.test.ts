import { afterEach, describe, expect, it } from 'vitest';
import { SchedulerHarness } from '../support/scheduler-harness.ts';

describe('no live executor', () => {
  let h: SchedulerHarness;
  afterEach(async () => h?.close());

  /** Lets the scheduler record what the clock move made due (store writes are real I/O). */
  async function settle(taskId: string): Promise<void> {
    for (let i = 0; i < 500; i++) {
      const task = await h.store.getTask(taskId);
      if (task && task.nextFireAt !== null && task.nextFireAt > h.clock.now()) return;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    throw new Error('the scheduler did not catch up with the clock');
  }

  it('keeps runs bounded while no executor is alive for 60 s, and resumes when one comes back', async () => {
    h = await new SchedulerHarness({ executors: true }).start();
    const task = await h.createTask({ name: 'every-second', schedule: { every: '1s' }, target: { type: 'executor', group: 'billing', handler: 'report' } });
    // The first fire finds no live node: its run is recorded as waiting (a batched store write on
    // real time, after a registry read), which the loop below must not outrun.
    const firstWaits = h.next('run:waiting', (r) => r.taskId === task.id);
    await h.clock.advance(1000);
    const first = await firstWaits;
    await settle(task.id);
    for (let s = 1; s < 60; s++) {
      await h.clock.advance(1000);
      await settle(task.id);
    }
    const waiting = await h.runsOf(task.id);
    expect(waiting.map((r) => r.id)).toEqual([first.id]);
    expect(waiting).toHaveLength(1);
    expect(waiting[0]!.status).toBe('no_executor');
    const attempts = await h.store.listAttempts([waiting[0]!.id]);
    expect(attempts[0]?.error).toMatch(/no live executor in group "billing"/);
    const held = await h.store.getTask(task.id);
    expect(held!.skippedFires).toBeGreaterThanOrEqual(58);

    // An executor registers: the waiting run goes out as its next attempt, and later fires go out as usual.
    await h.store.heartbeatExecutor({
      node: { id: 'billing-1', namespace: 'default', owner: null, group: 'billing', mode: 'push', transport: 'http', address: `${h.executorUrl}/report`, labels: {}, weight: 1, handlers: ['report'], version: '', inflight: 0 },
      ttlMs: 60_000,
    });
    const resumed = h.ended(waiting[0]!.id);
    await h.clock.advance(1000);
    expect((await resumed).status).toBe('succeeded');
    const request = h.executor.received.find((r) => r.body.runId === waiting[0]!.id)!;
    expect(request.body).toMatchObject({ group: 'billing', handler: 'report', shard: { index: 0, total: 1 }, attempt: 2 });
    const next = h.next('run:ended', (r) => r.taskId === task.id && r.id !== waiting[0]!.id);
    await h.clock.advance(1000);
    expect((await next).status).toBe('succeeded');
    expect((await h.runsOf(task.id)).length).toBeLessThanOrEqual(4);
  });

  it('a manual trigger with no executor waits as no_executor, and can be cancelled', async () => {
    h = await new SchedulerHarness({ executors: true }).start();
    const task = await h.createTask({ name: 'manual', schedule: { manual: true }, target: { type: 'shell', group: 'ops', command: 'true' } });
    const waits = h.next('run:waiting', (r) => r.taskId === task.id);
    const run = await h.scheduler.trigger({ task, actor: 'test' });
    expect((await waits).id).toBe(run.id);
    expect((await h.store.getRun(run.id))!.status).toBe('no_executor');
    const cancelled = await h.scheduler.cancel({ runId: run.id, actor: 'test' });
    expect(cancelled.status).toBe('cancelled');
  });
});
