import { afterEach, describe, expect, it } from 'vitest';
import { hang } from '../support/test-executor.ts';
import { SchedulerHarness } from '../support/scheduler-harness.ts';

let h: SchedulerHarness;
afterEach(async () => h?.close());

/** Starts a harness whose executor never answers /hang, and a task firing every second there. */
async function setup(overlap: string, extra: Record<string, unknown> = {}) {
  h = await new SchedulerHarness().start();
  h.executor.behaviours.set('/hang', hang);
  const task = await h.createTask({ name: `overlap-${overlap}`, schedule: { every: '1s' }, overlap: overlap as never, ...extra }, '/hang');
  return task;
}

async function fireOnce() {
  const fire = h.next('fire');
  await h.clock.advance(1000);
  return fire;
}

describe('overlap policies', () => {
  it('skip: a fire while the previous run is active is recorded as skipped and counted', async () => {
    const task = await setup('skip');
    const first = await fireOnce();
    expect(first.status).toBe('dispatched');
    const second = await fireOnce();
    expect(second.status).toBe('skipped');
    const runs = await h.runsOf(task.id);
    expect(runs.map((r) => r.status)).toEqual(['dispatched', 'skipped']);
    expect(runs[1]?.error).toContain('previous run still active');
    expect((await h.store.getTask(task.id))?.skippedFires).toBe(1);
  });

  it('allow: runs overlap up to maxConcurrency, then fires are skipped', async () => {
    const task = await setup('allow', { maxConcurrency: 2 });
    expect((await fireOnce()).status).toBe('dispatched');
    expect((await fireOnce()).status).toBe('dispatched');
    const third = await fireOnce();
    expect(third.status).toBe('skipped');
    expect((await h.store.getRun(third.runId))?.error).toContain('maxConcurrency 2');
    expect((await h.runsOf(task.id)).filter((r) => r.status === 'dispatched')).toHaveLength(2);
  });

  it('queue-one: one fire waits and starts when the active run ends; more are skipped', async () => {
    const task = await setup('queue-one', { timeoutMs: '2500ms' });
    const first = await fireOnce();
    const queued = await fireOnce();
    expect(queued.status).toBe('pending');
    expect((await fireOnce()).status).toBe('skipped');
    // The first run times out at 1000 + 2500 = 3500 ms; the queued run starts right after.
    const started = h.executor.next((r) => r.body.runId === queued.runId);
    const firstEnded = h.ended(first.runId);
    await h.clock.set(Date.parse('2026-03-01T00:00:03.500Z'));
    expect((await firstEnded).status).toBe('timed_out');
    await h.clock.advance(0); // runs the start of the queued run, due now
    expect((await started).body.attempt).toBe(1);
    const statuses = (await h.runsOf(task.id)).map((r) => r.status);
    expect(statuses.slice(0, 3)).toEqual(['timed_out', 'dispatched', 'skipped']);
  });

  it('cancel-previous: the active run is cancelled (executor told) and the new one starts', async () => {
    await setup('cancel-previous');
    const first = await fireOnce();
    await h.executor.next((r) => r.body.runId === first.runId);
    const firstEnded = h.ended(first.runId);
    const second = await fireOnce();
    expect(second.status).toBe('dispatched');
    expect(await firstEnded).toMatchObject({ status: 'cancelled' });
    const cancel = await h.executor.next((r) => r.event === 'cancel' && r.body.runId === first.runId);
    expect(cancel.body.reason).toBe('overlap');
    await h.executor.next((r) => r.event === 'run' && r.body.runId === second.runId);
  });
});
