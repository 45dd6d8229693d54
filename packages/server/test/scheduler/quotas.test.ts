/**
 * Namespace run quotas through the scheduler, on the manual clock and a real SQLite store: fires
 * beyond a namespace's room wait as `throttled` and start when room is freed (a run's end) or the
 * minute moves on; their tasks' later fires do not pile up behind them; a `skip`-policy run that
 * waited past the misfire threshold is skipped; a restart picks the waiting runs up again.
 */
import { NamespaceSpecSchema, type NamespaceSpecInput } from '@ecron/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import type { Behaviour } from '../support/test-executor.ts';
import { SchedulerHarness } from '../support/scheduler-harness.ts';
import { takeFairly } from '../../src/scheduler/fair-chunk.ts';
import type { ScheduledRecord } from '../../src/core/model.ts';

let h: SchedulerHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** An executor path whose requests wait until the test answers them, by run id. */
function gate(): { behaviour: Behaviour; answer: (runId: string) => void; waiting: () => string[] } {
  const pending = new Map<string, () => void>();
  return {
    behaviour: (req) => new Promise((resolve) => pending.set(req.body.runId as string, () => resolve({ status: 200, body: { ok: true } }))),
    answer: (runId) => { pending.get(runId)?.(); pending.delete(runId); },
    waiting: () => [...pending.keys()],
  };
}

async function setup(name: string, quotas: NamespaceSpecInput['quotas']) {
  h = await new SchedulerHarness().start();
  await h!.store.putNamespace({ name, spec: NamespaceSpecSchema.parse({ quotas }), exists: false, at: h!.clock.now(), audit: { actor: 'test', action: 'namespace.create' } });
}

/** Lets the event loop run the work the manual clock released. */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i += 1) {
    await h!.clock.advance(0);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Waits (real time, up to 5 s) until `check` holds, running the timers due on the manual clock meanwhile; without moving it. */
async function eventually(check: () => boolean | Promise<boolean>): Promise<void> {
  const until = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`not reached in 5 s: ${check.toString()}`);
    await h!.clock.advance(0);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function runsIn(namespace: string) {
  return (await h!.store.listRuns({ namespace, limit: 1000 })).items;
}

describe('namespace run quotas', () => {
  it('maxConcurrentRuns: fires beyond the room wait throttled, and each end of a run lets the oldest waiting one start', async () => {
    await setup('team-q', { maxConcurrentRuns: 2 });
    const slow = gate();
    h!.executor.behaviours.set('/slow', slow.behaviour);
    const tasks = [];
    for (let i = 0; i < 4; i += 1) tasks.push(await h!.createTask({ name: `q-${i}`, namespace: 'team-q', schedule: { every: '1m' } }, '/slow'));
    const throttled: string[] = [];
    h!.scheduler.events.on('run:throttled', (run) => throttled.push(run.id));
    await h!.clock.advance(60_000);
    await settle();
    await eventually(() => slow.waiting().length === 2);
    expect(throttled).toHaveLength(2);
    const statuses = (await runsIn('team-q')).map((run) => run.status).sort();
    expect(statuses).toEqual(['dispatched', 'dispatched', 'throttled', 'throttled']);

    // Time alone frees nothing: they still wait after several retries.
    await h!.clock.advance(1000);
    await settle();
    expect(slow.waiting()).toHaveLength(2);

    const first = slow.waiting()[0]!;
    slow.answer(first);
    await eventually(async () => (await h!.store.getRun(first))?.status === 'succeeded');
    await settle();
    await eventually(() => slow.waiting().length === 2);
    expect((await runsIn('team-q')).filter((run) => run.status === 'throttled')).toHaveLength(1);
    for (const id of slow.waiting()) slow.answer(id);
    await settle();
    await eventually(() => slow.waiting().length === 1);
    slow.answer(slow.waiting()[0]!);
    await eventually(async () => (await runsIn('team-q')).filter((run) => run.status === 'succeeded').length === 4);
    // Never more than two at once: the executor saw each run once.
    expect(new Set(h!.executor.received.filter((r) => r.path === '/slow').map((r) => r.body.runId)).size).toBe(4);
  });

  it('maxFiresPerMinute: at most N runs start in any minute; a task waits with one run, its later fires are skipped', async () => {
    await setup('team-r', { maxFiresPerMinute: 2 });
    const tasks = [];
    for (let i = 0; i < 3; i += 1) tasks.push(await h!.createTask({ name: `r-${i}`, namespace: 'team-r', schedule: { every: '10s' } }));
    for (let s = 0; s < 80; s += 1) {
      await h!.clock.advance(1000);
      await settle(3);
    }
    await settle();
    const runs = await runsIn('team-r');
    const starts = runs.filter((run) => run.startedAt !== null).map((run) => run.startedAt!).sort((a, b) => a - b);
    expect(starts.length).toBeGreaterThanOrEqual(3);
    for (let i = 0; i + 2 < starts.length; i += 1) expect(starts[i + 2]! - starts[i]!).toBeGreaterThanOrEqual(60_000);
    // At most one run of each task waits; the fires made meanwhile were skipped and counted.
    for (const task of tasks) expect(runs.filter((run) => run.taskId === task.id && run.status === 'throttled').length).toBeLessThanOrEqual(1);
    expect(runs.filter((run) => run.status === 'skipped' && (run.error ?? '').includes('throttled')).length).toBeGreaterThan(0);
  });

  it('a skip-policy run that waited longer than the misfire threshold is skipped, not started late', async () => {
    await setup('team-s', { maxConcurrentRuns: 1 });
    const slow = gate();
    h!.executor.behaviours.set('/slow', slow.behaviour);
    await h!.createTask({ name: 's-0', namespace: 'team-s', schedule: { every: '1m' } }, '/slow');
    await h!.createTask({ name: 's-1', namespace: 'team-s', schedule: { every: '1m' }, misfire: { policy: 'skip' } }, '/slow');
    await h!.clock.advance(60_000);
    await settle();
    await eventually(() => slow.waiting().length === 1);
    const waiting = (await runsIn('team-s')).find((run) => run.status === 'throttled')!;
    expect(waiting.taskName).toBe('s-1');
    for (let s = 0; s < 6; s += 1) {
      await h!.clock.advance(1000);
      await settle(3);
    }
    await eventually(async () => (await h!.store.getRun(waiting.id))?.status === 'skipped');
    expect((await h!.store.getRun(waiting.id))?.error).toContain('misfire policy skip');
  });

  it('a throttled run found at start-up waits again and starts once admitted', async () => {
    await setup('team-t', { maxConcurrentRuns: 1 });
    const slow = gate();
    h!.executor.behaviours.set('/slow', slow.behaviour);
    for (let i = 0; i < 2; i += 1) await h!.createTask({ name: `t-${i}`, namespace: 'team-t', schedule: { every: '1h' } }, '/slow');
    await h!.clock.advance(3_600_000);
    await settle();
    await eventually(() => slow.waiting().length === 1);
    const throttled = (await runsIn('team-t')).find((run) => run.status === 'throttled')!;
    await h!.crashAndRestart();
    await settle();
    // The run that was in flight is recovered as this harness's executor tells; the waiting one is held again.
    for (const id of slow.waiting()) slow.answer(id);
    for (let s = 0; s < 5; s += 1) {
      await h!.clock.advance(1000);
      await settle(3);
    }
    await eventually(() => h!.executor.received.some((r) => r.body.runId === throttled.id));
  });
});

describe('executor group quotas', () => {
  it('groupMaxConcurrentRuns: the scheduler names each run\'s executor group, and a limited group admits one run at a time', async () => {
    h = await new SchedulerHarness({ executors: true }).start();
    await h!.store.putNamespace({
      name: 'team-g', spec: NamespaceSpecSchema.parse({ quotas: { groupMaxConcurrentRuns: { billing: 1 } } }), exists: false, at: h!.clock.now(),
      audit: { actor: 'test', action: 'namespace.create' },
    });
    const target = (group: string) => ({ type: 'executor' as const, group, handler: 'report' });
    for (let i = 0; i < 2; i += 1) await h!.createTask({ name: `g-billing-${i}`, namespace: 'team-g', schedule: { every: '1h' }, target: target('billing') });
    await h!.createTask({ name: 'g-reports', namespace: 'team-g', schedule: { every: '1h' }, target: target('reports') });
    await h!.clock.advance(3_600_000);
    await settle();
    const runs = await runsIn('team-g');
    const byTask = (prefix: string) => runs.filter((run) => run.taskName.startsWith(prefix)).map((run) => (run.status === 'throttled' ? 'throttled' : 'admitted')).sort();
    // No executor is alive: the admitted runs go on to wait for one (no_executor); the refused one waits for the quota.
    expect(byTask('g-billing')).toEqual(['admitted', 'throttled']);
    expect(byTask('g-reports')).toEqual(['admitted']);
  });
});

describe('takeFairly', () => {
  const task = (namespace: string, i: number) => ({ id: `${namespace}-${i}`, namespace }) as unknown as ScheduledRecord;
  it('takes all when they fit, else the namespaces in turn, each in its order, leaving the rest in order', () => {
    const pending = [...Array.from({ length: 6 }, (_, i) => task('a', i)), task('b', 0), task('b', 1), task('c', 0)];
    expect(takeFairly([...pending], 20).map((t) => t.id)).toEqual(pending.map((t) => t.id));
    const rest = [...pending];
    expect(takeFairly(rest, 5).map((t) => t.id)).toEqual(['a-0', 'a-1', 'b-0', 'b-1', 'c-0']);
    expect(rest.map((t) => t.id)).toEqual(['a-2', 'a-3', 'a-4', 'a-5']);
    expect(takeFairly(rest, 3).map((t) => t.id)).toEqual(['a-2', 'a-3', 'a-4']);
  });
});
