import { afterEach, describe, expect, it } from 'vitest';
import { hang } from '../support/test-executor.ts';
import { SchedulerHarness } from '../support/scheduler-harness.ts';

let h: SchedulerHarness;
afterEach(async () => h?.close());

const T0 = Date.parse('2026-03-01T00:00:00.000Z');

/** Creates a task every 10 s, lets it fire once at T0+10s, then "crashes" for 60 s and restarts. */
async function downtime(misfire: Record<string, unknown>) {
  h = await new SchedulerHarness().start();
  const task = await h.createTask({ name: 'misfire', schedule: { every: '10s' }, misfire: misfire as never });
  const fire = h.next('fire');
  await h.clock.advance(10_000);
  await h.ended((await fire).runId);
  await h.crashAndRestart(() => h.clock.advance(60_000)); // down from T0+10s to T0+70s: fires at 20..70 missed
  await h.clock.advance(0);
  for (;;) {
    const current = await h.store.getTask(task.id);
    if (current!.nextFireAt! > h.clock.now()) break;
    await h.next('fire');
  }
  return task;
}

describe('misfire policies after downtime', () => {
  it('skip: missed fires are not run, only counted', async () => {
    const task = await downtime({ policy: 'skip' });
    const runs = await h.runsOf(task.id);
    // 20..60 s are missed (> 5 s late); 70 s is on time (0 ms late) and fires normally.
    expect(runs.map((r) => r.scheduledAt - T0)).toEqual([10_000, 70_000]);
    expect((await h.store.getTask(task.id))?.skippedFires).toBe(5);
  });

  it('fire-once: only the latest missed fire runs', async () => {
    const task = await downtime({ policy: 'fire-once' });
    const runs = await h.runsOf(task.id);
    expect(runs.map((r) => r.scheduledAt - T0)).toEqual([10_000, 60_000, 70_000]);
    expect((await h.store.getTask(task.id))?.skippedFires).toBe(4);
  });

  it('catch-up: every missed fire within the window runs, at most maxCatchUp', async () => {
    const task = await downtime({ policy: 'catch-up', windowMs: '45s', maxCatchUp: 2 });
    const runs = await h.runsOf(task.id);
    // Within 45 s of 70 s: 30, 40, 50, 60 → the latest 2 of them; 20 is outside the window.
    expect(runs.map((r) => r.scheduledAt - T0)).toEqual([10_000, 50_000, 60_000, 70_000]);
    expect((await h.store.getTask(task.id))?.skippedFires).toBe(3);
  });

  it('never records a fire twice across a crash', async () => {
    h = await new SchedulerHarness().start();
    const task = await h.createTask({ name: 'twice', schedule: { every: '1s' }, misfire: { policy: 'catch-up' } });
    for (let i = 0; i < 3; i++) {
      const fire = h.next('fire');
      await h.clock.advance(1000);
      await fire;
      await h.crashAndRestart();
    }
    await h.clock.advance(3000);
    const runs = await h.runsOf(task.id);
    const instants = runs.map((r) => r.scheduledAt);
    expect(new Set(instants).size).toBe(instants.length);
    expect(instants.map((t) => t - T0)).toEqual([1000, 2000, 3000, 4000, 5000, 6000]);
  });
});

/** Waits until the attempt's send is recorded (written in batches just after it goes out). */
async function sentMarked(runId: string): Promise<void> {
  for (;;) {
    const [attempt] = await h.store.listAttempts([runId]);
    if (attempt?.sentAt !== null && attempt?.sentAt !== undefined) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('runs in flight at a crash', () => {
  it('are sent again, not counted as failed, when the executor never received them', async () => {
    h = await new SchedulerHarness().start();
    const task = await h.createTask({ name: 'unsent', schedule: { every: '1h' } }, '/run', { waitQueued: false });
    // What a scheduler leaves when it dies between recording a fire (ahead of its instant) and sending it.
    const at = task.nextFireAt!;
    const [recorded] = await h.store.recordFires([{
      taskId: task.id, expectedNextFireAt: at, nextFireAt: at + 3_600_000, lastFireAt: at, skippedDelta: 0,
      runs: [{
        id: 'unsent-run', taskId: task.id, namespace: task.namespace, taskName: task.name, taskRevision: task.revision, trigger: 'schedule',
        scheduledAt: at, params: {}, createdAt: at, owner: 'a-dead-node', status: 'dispatched', attempt: { executor: null, startedAt: at, deadlineAt: null },
      }],
    }]);
    expect(recorded!.recorded).toBe(true);
    await h.crashAndRestart();
    const ended = h.ended('unsent-run');
    await h.clock.advance(1);
    expect(await ended).toMatchObject({ status: 'succeeded', attempt: 2 });
    const attempts = await h.store.listAttempts(['unsent-run']);
    expect(attempts.map((a) => [a.status, a.error])).toEqual([['lost', 'not received by its executor: sent again'], ['succeeded', null]]);
    expect(h.executor.runs().filter((r) => r.body.runId === 'unsent-run').map((r) => r.body.attempt)).toEqual([2]);
    // The executor was asked first, and did not know the attempt.
    expect(h.executor.received.filter((r) => r.event === 'status').map((r) => r.body)).toMatchObject([{ runId: 'unsent-run', attempt: 1 }]);
  });

  it('are marked lost and retried when the executor cannot confirm them', async () => {
    h = await new SchedulerHarness().start();
    h.executor.behaviours.set('/hang', hang);
    h.executor.statusSupported = false;
    await h.createTask({ name: 'lost', schedule: { every: '1h' }, retry: { maxAttempts: 2, backoff: { type: 'fixed', initialMs: 1000 } } }, '/hang');
    const fire = h.next('fire');
    await h.clock.advance(3_600_000);
    const runId = (await fire).runId;
    await h.executor.next((r) => r.body.runId === runId);
    await sentMarked(runId);
    await h.crashAndRestart();
    const status = await h.executor.next((r) => r.event === 'status' && r.body.runId === runId);
    expect(status.body).toMatchObject({ event: 'status', attempt: 1 });
    h.executor.behaviours.set('/hang', () => ({ status: 200, body: { second: true } }));
    for (;;) {
      const run = await h.store.getRun(runId);
      if (run?.status === 'pending') break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const ended = h.ended(runId);
    await h.clock.advance(1000);
    expect(await ended).toMatchObject({ status: 'succeeded', attempt: 2, output: { second: true } });
    const attempts = await h.store.listAttempts([runId]);
    expect(attempts.map((a) => a.status)).toEqual(['lost', 'succeeded']);
  });

  it('end `lost` when no attempt is left', async () => {
    h = await new SchedulerHarness().start();
    h.executor.behaviours.set('/hang', hang);
    h.executor.statusSupported = false;
    await h.createTask({ name: 'lost-final', schedule: { every: '1h' } }, '/hang');
    const fire = h.next('fire');
    await h.clock.advance(3_600_000);
    const runId = (await fire).runId;
    await h.executor.next((r) => r.body.runId === runId);
    await sentMarked(runId);
    await h.crashAndRestart();
    expect(await h.ended(runId)).toMatchObject({ status: 'lost' });
  });

  it('are adopted when the executor says they still run, and finish by callback', async () => {
    h = await new SchedulerHarness().start();
    h.executor.behaviours.set('/async', () => ({ status: 202 }));
    await h.createTask({ name: 'adopt', schedule: { every: '1h' } }, '/async');
    const fire = h.next('fire');
    await h.clock.advance(3_600_000);
    const runId = (await fire).runId;
    const request = await h.executor.next((r) => r.body.runId === runId);
    for (;;) {
      if ((await h.store.getRun(runId))?.status === 'running') break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    h.executor.statusReplies.set(runId, { status: 'running' });
    await h.crashAndRestart();
    await h.executor.next((r) => r.event === 'status' && r.body.runId === runId);
    await h.scheduler.report({ runId, token: request.body.callback.token, report: { attempt: 1, seq: 0, status: 'succeeded', output: { done: 1 } } });
    expect(await h.ended(runId)).toMatchObject({ status: 'succeeded', output: { done: 1 } });
  });

  it('an adopted attempt of a synchronous executor ends when the executor, asked again, says it ended', async () => {
    h = await new SchedulerHarness().start();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    h.executor.behaviours.set('/sync', async () => { await gate; return { status: 200, body: { rows: 3 } }; });
    await h.createTask({ name: 'sync', schedule: { every: '1h' } }, '/sync');
    const fire = h.next('fire');
    await h.clock.advance(3_600_000);
    const runId = (await fire).runId;
    await h.executor.next((r) => r.body.runId === runId);
    h.executor.statusReplies.set(runId, { status: 'running' });
    await h.crashAndRestart();
    await h.executor.next((r) => r.event === 'status' && r.body.runId === runId);
    // The executor finishes; its answer goes to the request of the scheduler that died.
    release();
    h.executor.statusReplies.set(runId, { status: 'succeeded', output: { rows: 3 } });
    const ended = h.ended(runId);
    const asked = h.executor.next((r) => r.event === 'status' && r.body.runId === runId);
    await h.clock.advance(5000);
    await asked;
    expect(await ended).toMatchObject({ status: 'succeeded', output: { rows: 3 } });
  });
});
