/**
 * The run supervisor over the one transport seam (send, cancel, status), on the manual clock: a
 * scripted transport stands in for the wire, so each case decides exactly what the executor says
 * and when, and the store (real SQLite) shows what the supervisor made of it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutorResult } from '../../src/dispatch/executor-dispatch.ts';
import type { AttemptContext, CancelReason, RunTransport, StatusAnswer } from '../../src/dispatch/run-transport.ts';
import type { RunRecord } from '../../src/core/model.ts';
import { SchedulerHarness } from '../support/scheduler-harness.ts';

interface Sent {
  attempt: AttemptContext;
  signal: AbortSignal;
  answer(result: ExecutorResult): void;
}

/** A transport the test answers by hand. */
class ScriptedTransport implements RunTransport {
  recovery: 'ask' | 'resend' = 'ask';
  startsAhead?: () => boolean;
  readonly sent: Sent[] = [];
  readonly cancels: { runId: string; attempt: number; reason: CancelReason }[] = [];
  readonly statusAsks: { runId: string; attempt: number }[] = [];
  statusAnswer: (run: RunRecord) => StatusAnswer = () => ({ status: 'no-answer' });
  #wake: (() => void) | null = null;

  send(attempt: AttemptContext, signal: AbortSignal): Promise<ExecutorResult> {
    return new Promise((resolve) => {
      signal.addEventListener('abort', () => resolve({ kind: 'aborted' }), { once: true });
      this.sent.push({ attempt, signal, answer: resolve });
      this.#wake?.();
    });
  }

  cancel({ run }: Pick<AttemptContext, 'run'>, reason: CancelReason): void {
    this.cancels.push({ runId: run.id, attempt: run.attempt, reason });
  }

  status({ run }: Pick<AttemptContext, 'run'>): Promise<StatusAnswer> {
    this.statusAsks.push({ runId: run.id, attempt: run.attempt });
    return Promise.resolve(this.statusAnswer(run));
  }

  /** The `n`-th send (1-based), once it happened. */
  async nth(n: number): Promise<Sent> {
    while (this.sent.length < n) await new Promise<void>((resolve) => { this.#wake = resolve; });
    return this.sent[n - 1]!;
  }
}

let h: SchedulerHarness;
let transport: ScriptedTransport;
afterEach(async () => h?.close());

async function start(timedStart = false): Promise<void> {
  transport = new ScriptedTransport();
  if (timedStart) transport.startsAhead = () => true;
  h = await new SchedulerHarness({ scheduler: { transports: { http: transport } } }).start();
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setImmediate(resolve));
}

describe('the run transport seam', () => {
  // The harness's clock starts at 2026-03-01T00:00:00Z; a scheduler launches 20 ms ahead by default.
  const T = Date.parse('2026-03-01T00:00:10.000Z');

  it('a transport that starts runs at their instant gets a fire 20 ms ahead, with the instant; its sent mark is the instant', async () => {
    await start(true);
    const task = await h.createTask({ name: 'ahead', schedule: { at: new Date(T).toISOString() } });
    await h.clock.advance(T - 21 - h.clock.now());
    expect(transport.sent).toEqual([]);
    await h.clock.advance(1);
    const first = await transport.nth(1);
    expect(h.clock.now()).toBe(T - 20);
    expect(first.attempt.notBefore).toBe(T);
    expect(first.attempt.run).toMatchObject({ taskId: task.id, scheduledAt: T });
    first.attempt.sent('node-a');
    await until(async () => (await h.store.listAttempts([first.attempt.run.id]))[0]?.sentAt === T);
    const ended = h.ended(first.attempt.run.id);
    first.answer({ kind: 'succeeded', output: null });
    expect(await ended).toMatchObject({ status: 'succeeded' });
  });

  it('a fire held back before its instant (this node\'s heartbeat overdue) still carries its instant when it goes out', async () => {
    await start(true);
    await h.createTask({ name: 'deferred', schedule: { at: new Date(T).toISOString() } });
    const leases = h.scheduler.leases;
    const alive = leases.nodeAlive.bind(leases);
    leases.nodeAlive = () => false;
    await h.clock.advance(T - 20 - h.clock.now());
    expect(transport.sent).toEqual([]);
    leases.nodeAlive = alive;
    await h.clock.advance(10);
    leases.events.emit('tick', { ok: true });
    const first = await transport.nth(1);
    expect(h.clock.now()).toBe(T - 10);
    expect(first.attempt.notBefore).toBe(T);
  });

  it('a burst for such a transport goes out ahead of its instant, every run with the instant', async () => {
    await start(true);
    for (let i = 0; i < 50; i++) await h.createTask({ name: `burst-${i}`, schedule: { at: new Date(T).toISOString() } });
    await h.clock.advance(T - 20 - h.clock.now());
    await transport.nth(50);
    expect(h.clock.now()).toBeLessThan(T);
    expect(new Set(transport.sent.map((s) => s.attempt.notBefore))).toEqual(new Set([T]));
  });

  it('any other transport gets the fire at its instant, not a millisecond earlier, and no instant with it', async () => {
    await start();
    await h.createTask({ name: 'on-time', schedule: { at: new Date(T).toISOString() } });
    await h.clock.advance(T - 1 - h.clock.now());
    expect(transport.sent).toEqual([]);
    await h.clock.advance(1);
    const first = await transport.nth(1);
    expect(first.attempt.notBefore).toBe(0);
    first.answer({ kind: 'succeeded', output: null });
  });

  it('sends through the transport of the target type, records the sent mark at the clock\'s instant, and ends with the answer', async () => {
    await start();
    const task = await h.createTask({ name: 'seam', schedule: { manual: true } }, '/x', { waitQueued: false });
    const run = await h.scheduler.trigger({ task, actor: 'test' });
    const first = await transport.nth(1);
    expect(first.attempt.run.id).toBe(run.id);
    expect(first.attempt.request()).toMatchObject({ runId: run.id, attempt: 1, task: 'seam' });
    const sentAt = h.clock.now();
    first.attempt.sent('node-a');
    await until(async () => (await h.store.listAttempts([run.id]))[0]?.sentAt === sentAt);
    expect((await h.store.listAttempts([run.id]))[0]).toMatchObject({ executor: 'node-a' });
    const ended = h.ended(run.id);
    first.answer({ kind: 'succeeded', output: { rows: 2 } });
    expect(await ended).toMatchObject({ status: 'succeeded', output: { rows: 2 }, attempt: 1 });
    expect(transport.cancels).toEqual([]);
  });

  it('a target type without a transport fails the run, saying so', async () => {
    h = await new SchedulerHarness().start();
    const task = await h.tasks.create({ actor: 'test', grants: [{ role: 'admin', namespaces: ['*'] }] }, {
      name: 'no-grpc', schedule: { manual: true }, target: { type: 'grpc', url: 'grpc://127.0.0.1:1' },
    });
    const run = await h.scheduler.trigger({ task, actor: 'test' });
    expect(await h.ended(run.id)).toMatchObject({ status: 'failed', error: 'target type grpc is not supported by this server' });
  });

  it('at the deadline: the transport is told to cancel, the send is aborted, the run times out, not a millisecond early', async () => {
    await start();
    const task = await h.createTask({ name: 'deadline', schedule: { manual: true }, timeoutMs: 30_000 }, '/x', { waitQueued: false });
    const run = await h.scheduler.trigger({ task, actor: 'test' });
    const first = await transport.nth(1);
    await h.clock.advance(29_999);
    expect(first.signal.aborted).toBe(false);
    expect(transport.cancels).toEqual([]);
    const ended = h.ended(run.id);
    await h.clock.advance(1);
    expect(await ended).toMatchObject({ status: 'timed_out', error: 'deadline exceeded' });
    expect(first.signal.aborted).toBe(true);
    expect(transport.cancels).toEqual([{ runId: run.id, attempt: 1, reason: 'deadline' }]);
  });

  it('a user\'s cancel reaches the transport with its reason and aborts the send', async () => {
    await start();
    const task = await h.createTask({ name: 'cancel', schedule: { manual: true } }, '/x', { waitQueued: false });
    const run = await h.scheduler.trigger({ task, actor: 'test' });
    const first = await transport.nth(1);
    await h.scheduler.cancel({ runId: run.id, actor: 'test' });
    expect(await h.ended(run.id)).toMatchObject({ status: 'cancelled' });
    expect(first.signal.aborted).toBe(true);
    expect(transport.cancels).toEqual([{ runId: run.id, attempt: 1, reason: 'user' }]);
    // A late answer of the aborted send changes nothing.
    first.answer({ kind: 'succeeded', output: {} });
    await new Promise((resolve) => setImmediate(resolve));
    expect(await h.store.getRun(run.id)).toMatchObject({ status: 'cancelled' });
  });

  it('a failure is retried through the same transport after the backoff, on the clock', async () => {
    await start();
    const task = await h.createTask({ name: 'retry', schedule: { manual: true }, retry: { maxAttempts: 2, backoff: { type: 'fixed', initialMs: 10_000 } } }, '/x', { waitQueued: false });
    const run = await h.scheduler.trigger({ task, actor: 'test' });
    (await transport.nth(1)).answer({ kind: 'failed', error: 'boom' });
    await until(async () => (await h.store.getRun(run.id))?.status === 'pending');
    await h.clock.advance(9_999);
    expect(transport.sent).toHaveLength(1);
    await h.clock.advance(1);
    const second = await transport.nth(2);
    expect(second.attempt.run.attempt).toBe(2);
    const ended = h.ended(run.id);
    second.answer({ kind: 'succeeded', output: { second: true } });
    expect(await ended).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect((await h.store.listAttempts([run.id])).map((a) => a.status)).toEqual(['failed', 'succeeded']);
  });

  it('a run handed back is sent again at once, and the hand-back does not count as a failed attempt', async () => {
    await start();
    const task = await h.createTask({ name: 'hand-back', schedule: { manual: true }, retry: { maxAttempts: 1 } }, '/x', { waitQueued: false });
    const run = await h.scheduler.trigger({ task, actor: 'test' });
    (await transport.nth(1)).answer({ kind: 'handed_back', error: 'executor stopping' });
    await until(async () => (await h.store.getRun(run.id))?.status === 'pending');
    await h.clock.advance(0); // the retry is due now: no time passes
    const second = await transport.nth(2);
    expect(second.attempt.run.attempt).toBe(2);
    const ended = h.ended(run.id);
    second.answer({ kind: 'succeeded', output: null });
    expect(await ended).toMatchObject({ status: 'succeeded' });
    expect((await h.store.listAttempts([run.id])).map((a) => a.status)).toEqual(['lost', 'succeeded']);
  });

  it('an accepted attempt is left to its callback; a shutdown does not hand it back', async () => {
    await start();
    const task = await h.createTask({ name: 'accepted', schedule: { manual: true } }, '/x', { waitQueued: false });
    const run = await h.scheduler.trigger({ task, actor: 'test' });
    (await transport.nth(1)).answer({ kind: 'accepted' });
    await until(async () => (await h.store.getRun(run.id))?.status === 'running');
    await h.stopScheduler();
    expect(await h.store.getRun(run.id)).toMatchObject({ status: 'running', attempt: 1 });
  });

  it('at shutdown, a send still open after the grace is aborted and handed back, to go out again', async () => {
    await start();
    const task = await h.createTask({ name: 'shutdown', schedule: { manual: true } }, '/x', { waitQueued: false });
    const run = await h.scheduler.trigger({ task, actor: 'test' });
    const first = await transport.nth(1);
    await h.stopScheduler();
    expect(first.signal.aborted).toBe(true);
    expect(await h.store.getRun(run.id)).toMatchObject({ status: 'pending', attempt: 1 });
    expect((await h.store.listAttempts([run.id])).map((a) => [a.status, a.error])).toEqual([['lost', 'handed back at shutdown']]);
  });

  it('after a restart, a transport that can be asked is asked; `running` is adopted and asked again at 5 s, then 10 s later', async () => {
    await start();
    const task = await h.createTask({ name: 'adopt', schedule: { manual: true } }, '/x', { waitQueued: false });
    const run = await h.scheduler.trigger({ task, actor: 'test' });
    (await transport.nth(1)).attempt.sent();
    await until(async () => (await h.store.listAttempts([run.id]))[0]?.sentAt !== null);
    transport.statusAnswer = () => ({ status: 'running' });
    await h.crashAndRestart();
    await until(async () => transport.statusAsks.length === 1);
    expect(transport.statusAsks).toEqual([{ runId: run.id, attempt: 1 }]);
    await h.clock.advance(4_999);
    expect(transport.statusAsks).toHaveLength(1);
    await h.clock.advance(1);
    await until(async () => transport.statusAsks.length === 2);
    transport.statusAnswer = () => ({ status: 'succeeded', output: { late: true } });
    await h.clock.advance(9_999);
    expect(transport.statusAsks).toHaveLength(2);
    const ended = h.ended(run.id);
    await h.clock.advance(1);
    expect(await ended).toMatchObject({ status: 'succeeded', output: { late: true } });
    // The first send was never answered: adopted attempts are not sent again.
    expect(transport.sent).toHaveLength(1);
  });

  it('after a restart, a transport whose attempts are sent again (executor nodes) is not asked: the run goes out again', async () => {
    await start();
    transport.recovery = 'resend';
    const task = await h.createTask({ name: 'resend', schedule: { manual: true } }, '/x', { waitQueued: false });
    const run = await h.scheduler.trigger({ task, actor: 'test' });
    (await transport.nth(1)).attempt.sent('node-a');
    await until(async () => (await h.store.listAttempts([run.id]))[0]?.sentAt !== null);
    await h.crashAndRestart();
    await until(async () => (await h.store.getRun(run.id))?.status === 'pending');
    await h.clock.advance(0);
    const second = await transport.nth(2);
    expect(second.attempt.run.attempt).toBe(2);
    expect(transport.statusAsks).toEqual([]);
    const ended = h.ended(run.id);
    second.answer({ kind: 'succeeded', output: null });
    expect(await ended).toMatchObject({ status: 'succeeded' });
    expect((await h.store.listAttempts([run.id])).map((a) => [a.status, a.error])).toEqual([['lost', 'not received by its executor: sent again'], ['succeeded', null]]);
  });
});
