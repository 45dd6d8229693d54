/**
 * The SDK with a real ecron server (scheduler and API in this process, SQLite): registration,
 * runs dispatched by the scheduler to push and pull executors, logs, detached runs, cancel,
 * timeouts, executor.task(), and a shutdown that hands a run to another node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EcronClient, Executor, type DetachedRun, type ExecutorOptions, type HandlerContext } from '../src/index.ts';
import type { RunResource } from '@ecron/contracts';
import { deferred, nextEvent, useCleanup } from './support/helpers.ts';
import { startRealServer, type RealServer } from './support/real-server.ts';

let real: RealServer;
let client: EcronClient;
const cleanup = useCleanup();

beforeAll(async () => {
  real = await startRealServer();
  client = new EcronClient({ server: real.url, token: real.editor });
});
afterAll(async () => {
  await real?.stop();
});

let seq = 0;
function executor(options: Partial<ExecutorOptions> = {}): Executor {
  const node = new Executor({ server: real.url, token: real.editor, group: options.group ?? `g${++seq}`, id: `node-${seq}-${Date.now() % 100000}`, ...options });
  cleanup(() => node.stop());
  return node;
}

const FINAL = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'];

/** Polls the run until `predicate` holds (default: a final status). */
async function waitForRun(id: string, predicate: (run: RunResource) => boolean = (run) => FINAL.includes(run.status), timeoutMs = 15_000): Promise<RunResource> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const run = await client.runs.get(id);
    if (predicate(run)) return run;
    if (Date.now() > until) throw new Error(`run ${id} is still ${run.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function executorTask(group: string, handler: string, extra: Record<string, unknown> = {}) {
  return client.tasks.create({ name: `t-${group}-${handler}`, schedule: { manual: true }, target: { type: 'executor', group, handler }, ...extra });
}

describe('with a real server', () => {
  it('registers, is listed alive with its handlers, and leaves the registry at stop', async () => {
    const node = executor({ labels: { zone: 'a' } }).handle('report', () => 'ok');
    await node.start();
    const listed = await client.executors.list(node.options.group);
    expect(listed.items).toHaveLength(1);
    expect(listed.items[0]).toMatchObject({ id: node.id, mode: 'push', transport: 'http', address: node.address, handlers: ['report'], labels: { zone: 'a' }, alive: true });
    await nextEvent(node, 'heartbeat', () => true, 15_000);
    await node.stop();
    expect((await client.executors.list(node.options.group)).items).toEqual([]);
  });

  it('refuses to start with a viewer token (403) and with a bad token (401)', async () => {
    await expect(executor({ token: real.viewer }).handle('x', () => 1).start()).rejects.toThrow(/HTTP 403 FORBIDDEN/);
    await expect(executor({ token: 'nope' }).handle('x', () => 1).start()).rejects.toThrow(/HTTP 401 UNAUTHENTICATED/);
  });

  it('runs a triggered task: output, params, logs and progress', async () => {
    const node = executor().handle('report', async (ctx) => {
      ctx.log(`report for ${String(ctx.params.day)}`);
      ctx.progress(50);
      ctx.log('done', 'warn');
      return { rows: 3, attempt: ctx.attempt };
    });
    await node.start();
    const task = await executorTask(node.options.group, 'report');
    const run = await client.tasks.trigger(task.id, { day: 'monday' });
    const done = await waitForRun(run.id);
    expect(done).toMatchObject({ status: 'succeeded', output: { rows: 3, attempt: 1 } });
    const logs = await client.runs.logs(run.id);
    const messages = logs.items.map((l) => l.message);
    expect(messages).toEqual(expect.arrayContaining(['report for monday', 'done']));
    expect(messages.indexOf('report for monday')).toBeLessThan(messages.indexOf('done'));
  });

  it('shows a push run running while its handler works, and sends no running report for a run that ends at once', async () => {
    const release = deferred<void>();
    const node = executor().handle('slow', async (ctx) => {
      ctx.progress(10);
      await release.promise;
      return 'done';
    }).handle('fast', () => 'quick');
    const reports: { runId: string; status?: string }[] = [];
    node.on('report-sent', (report) => reports.push(report));
    await node.start();
    const slow = await client.tasks.trigger((await executorTask(node.options.group, 'slow')).id);
    expect(await waitForRun(slow.id, (r) => r.status !== 'dispatched')).toMatchObject({ status: 'running', finishedAt: null });
    release.resolve();
    expect((await waitForRun(slow.id)).status).toBe('succeeded');
    expect(reports.filter((r) => r.runId === slow.id && r.status === 'running')).toHaveLength(1);

    const fast = await client.tasks.trigger((await executorTask(node.options.group, 'fast')).id);
    expect((await waitForRun(fast.id)).status).toBe('succeeded');
    expect(reports.filter((r) => r.runId === fast.id)).toEqual([]);
  });

  it('records a handler\'s error as the failure', async () => {
    const node = executor().handle('report', () => { throw new Error('ledger locked'); });
    await node.start();
    const task = await executorTask(node.options.group, 'report');
    const done = await waitForRun((await client.tasks.trigger(task.id)).id);
    expect(done.status).toBe('failed');
    expect(done.error).toContain('ledger locked');
  });

  it('finishes a detached run through the callback', async () => {
    const handle = deferred<DetachedRun>();
    const node = executor().handle('report', (ctx) => {
      ctx.log('accepted');
      handle.resolve(ctx.detach());
    });
    await node.start();
    const task = await executorTask(node.options.group, 'report');
    const run = await client.tasks.trigger(task.id);
    await waitForRun(run.id, (r) => r.status === 'running');
    await (await handle.promise).succeed({ later: true });
    expect(await waitForRun(run.id)).toMatchObject({ status: 'succeeded', output: { later: true } });
  });

  it('aborts the handler on a user\'s cancel', async () => {
    const started = deferred<HandlerContext>();
    const node = executor().handle('report', (ctx) => {
      started.resolve(ctx);
      return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped'))));
    });
    await node.start();
    const task = await executorTask(node.options.group, 'report');
    const run = await client.tasks.trigger(task.id);
    const ctx = await started.promise;
    await client.runs.cancel(run.id);
    await new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve())));
    expect(['cancelled', 'connection-closed']).toContain(ctx.signal.reason);
    expect((await waitForRun(run.id)).status).toBe('cancelled');
  });

  it('aborts the handler at the task\'s timeout', async () => {
    const started = deferred<HandlerContext>();
    const node = executor().handle('report', (ctx) => {
      started.resolve(ctx);
      return new Promise(() => {}); // never ends by itself
    });
    await node.start();
    const task = await executorTask(node.options.group, 'report', { timeoutMs: 400 });
    const run = await client.tasks.trigger(task.id);
    const ctx = await started.promise;
    expect(ctx.deadline).toBeInstanceOf(Date);
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
    expect(['deadline', 'cancelled', 'connection-closed']).toContain(ctx.signal.reason);
    expect((await waitForRun(run.id)).status).toBe('timed_out');
  });

  it('executor.task() creates its task at start (and updates it at the next start)', async () => {
    const group = `g${++seq}`;
    const first = executor({ group }).task('nightly-report', { schedule: { manual: true }, params: { v: 1 }, routing: { strategy: 'first' } }, (ctx) => ctx.params);
    await first.start();
    const [task] = (await client.tasks.list({ name: 'nightly-report' })).items;
    expect(task!.spec.target).toEqual({ type: 'executor', group, handler: 'nightly-report', routing: { strategy: 'first' } });
    expect(task!.spec.params).toEqual({ v: 1 });
    await first.stop();
    const second = executor({ group }).task('nightly-report', { schedule: { manual: true }, params: { v: 2 } }, (ctx) => ctx.params);
    await second.start();
    const updated = await client.tasks.get(task!.id);
    expect([updated.revision, updated.spec.params]).toEqual([2, { v: 2 }]);
    expect(await waitForRun((await client.tasks.trigger(task!.id)).id)).toMatchObject({ status: 'succeeded', output: { v: 2 } });
  });

  it('runs every shard of a sharded task, each with its index, logs through shard callbacks', async () => {
    const node = executor().handle('report', async (ctx) => {
      ctx.log(`shard ${ctx.shard.index} of ${ctx.shard.total}`);
      ctx.progress(100);
      return { shard: ctx.shard.index };
    });
    await node.start();
    const task = await client.tasks.create({
      name: `sharded-${node.options.group}`, schedule: { manual: true },
      target: { type: 'executor', group: node.options.group, handler: 'report', routing: { sharding: { total: 3 } } },
    });
    const done = await waitForRun((await client.tasks.trigger(task.id)).id);
    expect(done.status).toBe('succeeded');
    expect(JSON.stringify(done.output)).toContain('"shard":2');
    const messages = (await client.runs.logs(done.id)).items.map((l) => l.message);
    for (const index of [0, 1, 2]) expect(messages.some((m) => m.includes(`shard ${index} of 3`))).toBe(true);
  });

  it('pull mode: takes runs by long poll and returns their outcomes', async () => {
    const node = executor({ mode: 'pull', pollWaitMs: 2000 }).handle('report', (ctx) => {
      ctx.log('pulled');
      return { pulled: ctx.runId };
    });
    await node.start();
    expect((await client.executors.list(node.options.group)).items[0]).toMatchObject({ mode: 'pull', address: null, alive: true });
    const task = await executorTask(node.options.group, 'report');
    const run = await client.tasks.trigger(task.id);
    expect(await waitForRun(run.id)).toMatchObject({ status: 'succeeded', output: { pulled: run.id } });
    expect((await client.runs.logs(run.id)).items.map((l) => l.message)).toContain('pulled');
  });

  it('stream mode: takes runs over the stream, many at once, and returns outcomes, failures and cancels', async () => {
    const group = `g${++seq}`;
    const blocked = deferred<HandlerContext>();
    const node = executor({ group, mode: 'stream', maxConcurrency: 8 })
      .handle('report', (ctx) => {
        ctx.log('streamed');
        return { streamed: ctx.runId };
      })
      .handle('fails', () => { throw new Error('stream failure'); })
      .handle('blocks', (ctx) => {
        blocked.resolve(ctx);
        return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error(`stopped: ${String(ctx.signal.reason)}`))));
      });
    const opened = nextEvent(node, 'stream-opened');
    await node.start();
    await opened;
    expect((await client.executors.list(group)).items[0]).toMatchObject({ mode: 'pull', address: null, alive: true });
    const task = await executorTask(group, 'report');
    const runs = await Promise.all(Array.from({ length: 40 }, () => client.tasks.trigger(task.id)));
    for (const run of runs) expect(await waitForRun(run.id)).toMatchObject({ status: 'succeeded', output: { streamed: run.id } });
    expect((await client.runs.logs(runs[0]!.id)).items.map((l) => l.message)).toContain('streamed');
    const failing = await executorTask(group, 'fails', { retry: { maxAttempts: 1 } });
    expect(await waitForRun((await client.tasks.trigger(failing.id)).id)).toMatchObject({ status: 'failed', error: expect.stringContaining('stream failure') });
    const blocking = await executorTask(group, 'blocks');
    const run = await client.tasks.trigger(blocking.id);
    const ctx = await blocked.promise;
    await client.runs.cancel(run.id);
    expect(await waitForRun(run.id)).toMatchObject({ status: 'cancelled' });
    await new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve())));
    expect(ctx.signal.reason).toBe('cancelled');
  });

  it.each(['stream', 'push'] as const)('%s mode: a burst of scheduled runs starts at its instant, never before (stream: they come ahead of it)', async (mode) => {
    const group = `g${++seq}`;
    const starts: { runId: string; lateMs: number }[] = [];
    const node = executor({ group, mode, maxConcurrency: 64 }).handle('report', (ctx) => {
      starts.push({ runId: ctx.runId, lateMs: Date.now() - ctx.scheduledAt.getTime() });
      return 'ok';
    });
    const opened = mode === 'stream' ? nextEvent(node, 'stream-opened') : null;
    await node.start();
    await opened;
    const at = new Date(Math.ceil((Date.now() + 1500) / 1000) * 1000).toISOString();
    const tasks = await Promise.all(Array.from({ length: 30 }, (_, i) => client.tasks.create({
      name: `t-${group}-at-${i}`, schedule: { at }, target: { type: 'executor', group, handler: 'report' },
    })));
    const runs = await Promise.all(tasks.map(async (task) => {
      for (;;) {
        const page = await client.runs.list({ taskId: task.id });
        if (page.items.length > 0) return waitForRun(page.items[0]!.id);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }));
    expect(runs.map((run) => run.status)).toEqual(runs.map(() => 'succeeded'));
    expect(starts).toHaveLength(30);
    for (const start of starts) expect(start.lateMs).toBeGreaterThanOrEqual(0);
  });

  it.each(['push', 'stream'] as const)('%s mode: a run handed back at shutdown goes to another node of the group, in the same attempt', async (mode) => {
    const group = `g${++seq}`;
    const started = deferred<HandlerContext>();
    const leaving = executor({ group, id: `a-leaving-${seq}`, mode, shutdownGraceMs: 200 }).handle('report', (ctx) => {
      started.resolve(ctx);
      return new Promise(() => {}); // outlives the grace period
    });
    await leaving.start();
    const task = await executorTask(group, 'report', { retry: { maxAttempts: 1 }, target: { type: 'executor', group, handler: 'report', routing: { strategy: 'first' } } });
    const run = await client.tasks.trigger(task.id);
    await started.promise;
    const staying = executor({ group, id: `b-staying-${seq}`, mode }).handle('report', () => 'finished elsewhere');
    await staying.start();
    // The scheduler reads the registry every second: two heartbeats later it knows the second node.
    for (let i = 0; i < 2; i++) await nextEvent(staying, 'heartbeat');
    await leaving.stop();
    const done = await waitForRun(run.id);
    expect(done).toMatchObject({ status: 'succeeded', output: 'finished elsewhere', attempt: 1 });
  });
});
