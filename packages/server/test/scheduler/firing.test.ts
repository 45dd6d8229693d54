import { afterEach, describe, expect, it } from 'vitest';
import { LAST_FIRE_INSTANT } from '../../src/core/schedule/fire-range.ts';
import { SchedulerHarness } from '../support/scheduler-harness.ts';

let h: SchedulerHarness;
afterEach(async () => h?.close());

const T0 = Date.parse('2026-03-01T00:00:00.000Z');

describe('firing', () => {
  it('fires a fixed-rate task at each instant, never early, once per instant', async () => {
    h = await new SchedulerHarness().start();
    const task = await h.createTask({ name: 'every-2s', schedule: { every: '2s' } });
    expect(task.nextFireAt).toBe(T0 + 2000);

    await h.clock.advance(1999);
    expect(h.executor.runs()).toHaveLength(0);
    const first = h.next('fire');
    await h.clock.advance(1);
    expect(await first).toMatchObject({ scheduledAt: T0 + 2000, lagMs: 0, status: 'dispatched' });
    const received = await h.executor.next((r) => r.event === 'run');
    expect(received.signatureOk).toBe(true);
    expect(received.body).toMatchObject({ taskId: task.id, task: 'every-2s', attempt: 1, scheduledAt: '2026-03-01T00:00:02.000Z', shard: { index: 0, total: 1 } });
    await h.ended(received.body.runId);

    const second = h.next('fire');
    await h.clock.advance(2000);
    expect(await second).toMatchObject({ scheduledAt: T0 + 4000, lagMs: 0 });
    const runs = await h.runsOf(task.id);
    expect(runs.map((r) => r.scheduledAt)).toEqual([T0 + 2000, T0 + 4000]);
    expect(new Set(runs.map((r) => r.scheduledAt)).size).toBe(runs.length);
  });

  it('records a successful synchronous run with its JSON output', async () => {
    h = await new SchedulerHarness().start();
    h.executor.behaviours.set('/run', () => ({ status: 200, body: { rows: 42 } }));
    const task = await h.createTask({ name: 'ok', schedule: { every: '1s' } });
    const fire = h.next('fire');
    await h.clock.advance(1000);
    const run = await h.ended((await fire).runId);
    expect(run).toMatchObject({ status: 'succeeded', attempt: 1, output: { rows: 42 }, error: null });
    const [attempt] = await h.store.listAttempts([run.id]);
    expect(attempt).toMatchObject({ number: 1, status: 'succeeded', executor: h.executorUrl });
    expect((await h.store.getTask(task.id))?.lastRunStatus).toBe('succeeded');
  });

  it('retries a failed attempt after its backoff, then succeeds', async () => {
    h = await new SchedulerHarness().start();
    let calls = 0;
    h.executor.behaviours.set('/run', () => (++calls === 1 ? { status: 500, body: { error: 'boom' } } : { status: 200, body: { ok: calls } }));
    await h.createTask({ name: 'retry', schedule: { every: '1h' }, retry: { maxAttempts: 3, backoff: { type: 'fixed', initialMs: 5000 } } });
    const fire = h.next('fire');
    await h.clock.advance(3_600_000);
    const runId = (await fire).runId;
    await h.executor.next((r) => r.body.runId === runId && r.body.attempt === 1);
    // Wait until attempt 1 is recorded as failed and the run waits for its retry.
    for (;;) {
      const run = await h.store.getRun(runId);
      if (run?.status === 'pending') {
        expect(run.nextAttemptAt).toBe(h.clock.now() + 5000);
        break;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await h.clock.advance(4999);
    expect(h.executor.runs().filter((r) => r.body.runId === runId)).toHaveLength(1);
    const ended = h.ended(runId);
    await h.clock.advance(1);
    const run = await ended;
    expect(run).toMatchObject({ status: 'succeeded', attempt: 2, output: { ok: 2 } });
    const attempts = await h.store.listAttempts([runId]);
    expect(attempts.map((a) => [a.number, a.status])).toEqual([[1, 'failed'], [2, 'succeeded']]);
    expect(attempts[0]?.error).toBe('executor answered HTTP 500: boom');
  });

  it('ends an attempt at its deadline with a cancel sent to the executor', async () => {
    h = await new SchedulerHarness().start();
    h.executor.behaviours.set('/run', (_r, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ status: 499 }))));
    await h.createTask({ name: 'slow', schedule: { every: '1m' }, timeoutMs: '10s' });
    const fire = h.next('fire');
    await h.clock.advance(60_000);
    const runId = (await fire).runId;
    await h.executor.next((r) => r.body.runId === runId && r.event === 'run');
    const ended = h.ended(runId);
    await h.clock.advance(10_000);
    expect(await ended).toMatchObject({ status: 'timed_out', error: 'deadline exceeded' });
    const cancel = await h.executor.next((r) => r.event === 'cancel' && r.body.runId === runId);
    expect(cancel.body).toMatchObject({ event: 'cancel', attempt: 1, reason: 'deadline' });
    expect(cancel.signatureOk).toBe(true);
  });

  it('records a failure answered at the deadline, before the deadline timer ran, as timed_out', async () => {
    h = await new SchedulerHarness().start();
    let answer!: (reply: { status: number; body: unknown }) => void;
    h.executor.behaviours.set('/run', () => new Promise((resolve) => { answer = resolve; }));
    await h.createTask({ name: 'self-timed', schedule: { every: '1m' }, timeoutMs: '10s' });
    const fire = h.next('fire');
    await h.clock.advance(60_000);
    const runId = (await fire).runId;
    await h.executor.next((r) => r.body.runId === runId && r.event === 'run');
    // An executor that enforces the deadline itself (as the SDK does) answers as it passes; on a
    // real clock that answer can arrive before the scheduler's timer for the same instant runs.
    const deadlineAt = (await h.store.getRun(runId))!.deadlineAt!;
    const now = h.clock.now.bind(h.clock);
    h.clock.now = () => Math.max(now(), deadlineAt);
    const ended = h.ended(runId);
    answer({ status: 500, body: { error: 'deadline exceeded' } });
    expect(await ended).toMatchObject({ status: 'timed_out', error: 'executor answered HTTP 500: deadline exceeded' });
    h.clock.now = now;
  });

  it('applies a task change on the next fire', async () => {
    h = await new SchedulerHarness().start();
    const task = await h.createTask({ name: 'change', schedule: { every: '10s' }, params: { v: 1 } });
    await h.tasks.update({ actor: 'test', grants: [{ role: 'admin', namespaces: ['*'] }] }, task.id, {
      name: 'change', schedule: { every: '10s' }, target: { type: 'http', url: `${h.executorUrl}/run` }, params: { v: 2 },
    });
    const fire = h.next('fire');
    await h.clock.advance(10_000);
    await fire;
    const received = await h.executor.next((r) => r.event === 'run');
    expect(received.body.params).toEqual({ v: 2 });
  });

  it('does not fire a paused task, and fires again once resumed', async () => {
    h = await new SchedulerHarness().start();
    const admin = { actor: 'test', grants: [{ role: 'admin' as const, namespaces: ['*'] }] };
    const task = await h.createTask({ name: 'pause', schedule: { every: '1s' } });
    await h.tasks.pause(admin, task.id);
    await h.clock.advance(5000);
    expect(await h.runsOf(task.id)).toHaveLength(0);
    const queued = h.next('task:queued');
    await h.tasks.resume(admin, task.id);
    await queued;
    const fire = h.next('fire');
    await h.clock.advance(1000);
    expect((await fire).scheduledAt).toBe(T0 + 6000);
  });

  it('records a burst due at one instant ahead of it (by what recording it takes), and sends every run at the instant, none early', async () => {
    h = await new SchedulerHarness().start();
    const at = '2026-03-01T00:00:01.500Z';
    const tasks = [];
    for (let i = 0; i < 300; i += 1) tasks.push(await h.createTask({ name: `burst-${i}`, schedule: { at } }));
    const fires: { lagMs: number; runId: string }[] = [];
    h.scheduler.events.on('fire', (e) => fires.push(e));
    // 21 ms before: a single fire would not be recorded yet (its lead is 20 ms); the burst is, and not sent.
    await h.clock.advance(1479);
    const recorded = (await Promise.all(tasks.map((t) => h.runsOf(t.id)))).flat();
    expect(recorded).toHaveLength(300);
    expect(recorded.every((r) => r.status === 'dispatched')).toBe(true);
    await h.clock.advance(20);
    expect(fires).toEqual([]);
    expect(h.executor.runs()).toHaveLength(0);
    await h.clock.advance(1);
    expect(fires).toHaveLength(300);
    expect(fires.every((f) => f.lagMs === 0)).toBe(true);
    for (const r of recorded) await h.ended(r.id);
    expect(h.executor.runs().every((r) => Date.parse(r.body.scheduledAt) === Date.parse(at))).toBe(true);
  });

  it('fires a one-shot task once and marks it completed', async () => {
    h = await new SchedulerHarness().start();
    const task = await h.createTask({ name: 'once', schedule: { at: '2026-03-01T00:00:01.500Z' } });
    const fire = h.next('fire');
    await h.clock.advance(1500);
    expect((await fire).scheduledAt).toBe(T0 + 1500);
    await h.ended((await fire).runId);
    expect(await h.store.getTask(task.id)).toMatchObject({ state: 'completed', nextFireAt: null });
    await h.clock.advance(10_000);
    expect(await h.runsOf(task.id)).toHaveLength(1);
  });

  it('keeps firing a cron task past local year 3000 (croner\'s own search stops there)', async () => {
    h = await new SchedulerHarness({ start: '2999-02-28T11:59:59.000Z' }).start();
    const task = await h.createTask({ name: 'leap-ends', schedule: { cron: '0 12 L 2 *', timezone: 'Europe/London' } });
    expect(task.nextFireAt).toBe(Date.parse('2999-02-28T12:00:00.000Z'));
    const fire = h.next('fire');
    await h.clock.advance(1000);
    await h.ended((await fire).runId);
    expect(await h.store.getTask(task.id)).toMatchObject({ state: 'active', nextFireAt: Date.parse('3000-02-28T12:00:00.000Z') });

    // A year on (no poll in between: the scheduler is restarted at the new time), it fires again.
    await h.crashAndRestart(() => h.clock.set(Date.parse('3000-02-28T11:59:59.000Z')));
    const next = h.next('fire');
    await h.clock.advance(1000);
    expect((await next).scheduledAt).toBe(Date.parse('3000-02-28T12:00:00.000Z'));
    await h.ended((await next).runId);
    expect(await h.store.getTask(task.id)).toMatchObject({ state: 'active', nextFireAt: Date.parse('3001-02-28T12:00:00.000Z') });
  });

  it('completes a task whose next fire would lie past the last fire instant (year 275760), as documented', async () => {
    h = await new SchedulerHarness({ start: new Date(LAST_FIRE_INSTANT - 1500).toISOString() }).start();
    const task = await h.createTask({ name: 'end-of-time', schedule: { cron: '* * * * * *', timezone: 'Asia/Tokyo' } });
    expect(task.nextFireAt).toBe(LAST_FIRE_INSTANT - 1000);
    const fires: number[] = [];
    h.scheduler.events.on('fire', (e) => fires.push(e.scheduledAt));
    // The last fire is recorded in the same transaction that completes the task.
    const last = h.next('fire', (e) => e.scheduledAt === LAST_FIRE_INSTANT);
    await h.clock.advance(1500);
    await h.ended((await last).runId);
    await h.clock.advance(5000);
    expect(fires).toEqual([LAST_FIRE_INSTANT - 1000, LAST_FIRE_INSTANT]);
    expect(await h.store.getTask(task.id)).toMatchObject({ state: 'completed', nextFireAt: null, lastFireAt: LAST_FIRE_INSTANT });
  });

  it('times fixed-delay fires from the end of the previous run', async () => {
    h = await new SchedulerHarness().start();
    const task = await h.createTask({ name: 'delay', schedule: { every: '5s', mode: 'fixed-delay' } });
    const fire = h.next('fire');
    await h.clock.advance(5000);
    const first = await fire;
    await h.clock.advance(700);
    await h.ended(first.runId);
    const endedAt = h.clock.now();
    expect((await h.store.getTask(task.id))?.nextFireAt).toBe(endedAt + 5000);
    const second = h.next('fire');
    await h.clock.advance(5000);
    expect((await second).scheduledAt).toBe(endedAt + 5000);
  });
});
