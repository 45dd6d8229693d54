/** Log lines and progress through the callback, and detached runs that finish later. */
import { describe, expect, it } from 'vitest';
import type { DetachedRun, SdkLogger } from '../src/index.ts';
import { deferred, makeExecutor, nextEvent, runRequest, signedPost, startFake, useCleanup } from './support/helpers.ts';

const cleanup = useCleanup();

describe('logs and progress', () => {
  it('sends log lines in order with increasing seq, all before the answer', async () => {
    const fake = await startFake(cleanup);
    const executor = makeExecutor(fake, cleanup).handle('report', async (ctx) => {
      ctx.log('starting');
      ctx.log('step 1', 'debug');
      ctx.progress(25);
      await nextEvent(executor, 'report-sent', (report) => report.runId === ctx.runId);
      ctx.log('step 2', 'warn');
      ctx.progress(50);
      await nextEvent(executor, 'report-sent', (report) => report.runId === ctx.runId);
      ctx.log('done', 'error');
      ctx.progress(100);
      return 'ok';
    });
    await executor.start();
    const request = runRequest(fake);
    const answer = await signedPost(executor.address!, request);
    expect(answer.status).toBe(200);
    const reports = fake.reportsOf(request.runId);
    expect(reports.map((r) => r.seq)).toEqual(reports.map((_, i) => i));
    expect(reports.length).toBeGreaterThanOrEqual(3);
    const lines = reports.flatMap((r) => r.logs ?? []);
    expect(lines.map((l) => [l.level, l.message])).toEqual([['info', 'starting'], ['debug', 'step 1'], ['warn', 'step 2'], ['error', 'done']]);
    expect(lines.every((l) => typeof l.at === 'string' && !Number.isNaN(Date.parse(l.at)))).toBe(true);
    expect(reports.map((r) => r.progress).filter((p) => p !== undefined)).toEqual([25, 50, 100]);
    // The first batch also tells the server that the handler is at work; no other carries a status.
    expect(reports.map((r) => r.status)).toEqual(['running', ...reports.slice(1).map(() => undefined)]);
    expect(reports.every((r) => r.attempt === 1)).toBe(true);
    expect(fake.reports.filter((r) => r.runId === request.runId).every((r) => r.token === request.callback.token)).toBe(true);
  });

  it('batches: at most one report per 200 ms while the handler logs, split at 1000 lines', async () => {
    const fake = await startFake(cleanup);
    let startedAt = 0;
    let endedAt = 0;
    const executor = makeExecutor(fake, cleanup).handle('report', async (ctx) => {
      startedAt = Date.now();
      for (let i = 0; i < 2500; i++) ctx.log(`bulk ${i}`);
      for (let i = 0; i < 30; i++) {
        ctx.log(`tick ${i}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      endedAt = Date.now();
    });
    await executor.start();
    const request = runRequest(fake);
    expect((await signedPost(executor.address!, request)).status).toBe(200);
    const reports = fake.reportsOf(request.runId);
    const lines = reports.flatMap((r) => r.logs ?? []).map((l) => l.message);
    expect(lines).toEqual([...Array.from({ length: 2500 }, (_, i) => `bulk ${i}`), ...Array.from({ length: 30 }, (_, i) => `tick ${i}`)]);
    expect(Math.max(...reports.map((r) => r.logs?.length ?? 0))).toBeLessThanOrEqual(1000);
    // The bulk needs 3 reports; after that, one batch per 200 ms window at most, plus the final flush.
    expect(reports.length).toBeLessThanOrEqual(3 + Math.ceil((endedAt - startedAt) / 200) + 1);
  });

  it('logs a failed report and sends its lines again; the run is not affected', async () => {
    const fake = await startFake(cleanup);
    fake.failReports = 1;
    const warnings: string[] = [];
    const log: SdkLogger = (level, message) => { if (level === 'warn') warnings.push(message); };
    const executor = makeExecutor(fake, cleanup, { log }).handle('report', async (ctx) => {
      ctx.log('first line');
      ctx.progress(10);
      await nextEvent(executor, 'report-sent', (report) => report.runId === ctx.runId);
      ctx.log('second line');
      return 'fine';
    });
    await executor.start();
    const request = runRequest(fake);
    const answer = await signedPost(executor.address!, request);
    expect([answer.status, answer.body]).toEqual([200, 'fine']);
    const reports = fake.reportsOf(request.runId);
    expect(reports.flatMap((r) => r.logs ?? []).map((l) => l.message)).toEqual(['first line', 'second line']);
    expect(reports[0]!.progress).toBe(10);
    expect(reports.map((r) => r.seq)).toEqual([...reports.map((r) => r.seq)].sort((a, b) => a - b));
    expect(warnings.some((w) => /report failed/.test(w))).toBe(true);
  });
});

describe('detached runs', () => {
  it('answers 202 at once, then reports the final status (and the logs before it) to the callback', async () => {
    const fake = await startFake(cleanup);
    const handle = deferred<DetachedRun>();
    const executor = makeExecutor(fake, cleanup).handle('report', (ctx) => {
      ctx.log('accepted the job');
      handle.resolve(ctx.detach());
      return 'ignored: the run is detached';
    });
    await executor.start();
    const request = runRequest(fake);
    const answer = await signedPost(executor.address!, request);
    expect([answer.status, answer.body]).toEqual([202, { accepted: true }]);
    expect(executor.inflight).toBe(1);
    const final = nextEvent(fake, 'report', (r) => r.runId === request.runId && r.report.status !== undefined);
    await (await handle.promise).succeed({ invoices: 12 });
    const [received] = await final;
    expect(received.report).toMatchObject({ attempt: 1, status: 'succeeded', output: { invoices: 12 } });
    const reports = fake.reportsOf(request.runId);
    expect(reports.flatMap((r) => r.logs ?? []).map((l) => l.message)).toEqual(['accepted the job']);
    expect(reports.map((r) => r.seq)).toEqual(reports.map((_, i) => i));
    expect(executor.inflight).toBe(0);
    const status = await signedPost(executor.address!, { event: 'status', runId: request.runId, attempt: 1 }, { event: 'status' });
    expect(status.body).toEqual({ status: 'succeeded', output: { invoices: 12 } });
  });

  it('reports a detached failure, retrying the callback through 5xx answers', async () => {
    const fake = await startFake(cleanup);
    const handle = deferred<DetachedRun>();
    const executor = makeExecutor(fake, cleanup).handle('report', (ctx) => {
      handle.resolve(ctx.detach());
    });
    await executor.start();
    const request = runRequest(fake);
    expect((await signedPost(executor.address!, request)).status).toBe(202);
    fake.failReports = 2;
    await (await handle.promise).fail(new Error('the bank API timed out'));
    const reports = fake.reportsOf(request.runId);
    expect(reports.at(-1)).toMatchObject({ status: 'failed', error: 'the bank API timed out' });
    expect(fake.failReports).toBe(0);
  });

  it('a rejection after detach fails the run; succeed() after the end is ignored', async () => {
    const fake = await startFake(cleanup);
    const handle = deferred<DetachedRun>();
    const executor = makeExecutor(fake, cleanup).handle('report', async (ctx) => {
      handle.resolve(ctx.detach());
      throw new Error('crashed after detaching');
    });
    await executor.start();
    const request = runRequest(fake);
    const final = nextEvent(fake, 'report', (r) => r.runId === request.runId && r.report.status !== undefined);
    expect((await signedPost(executor.address!, request)).status).toBe(202);
    expect((await final)[0].report).toMatchObject({ status: 'failed', error: 'crashed after detaching' });
    await (await handle.promise).succeed('too late');
    expect(fake.reportsOf(request.runId).filter((r) => r.status !== undefined)).toHaveLength(1);
  });

  it('keeps a sharded run\'s request open until succeed or fail', async () => {
    const fake = await startFake(cleanup);
    const handles: DetachedRun[] = [];
    const executor = makeExecutor(fake, cleanup).handle('report', (ctx) => {
      handles[ctx.shard.index] = ctx.detach();
    });
    await executor.start();
    const base = runRequest(fake);
    const answers = [0, 1].map((index) => signedPost(executor.address!, { ...base, shard: { index, total: 2 } }));
    await nextEvent(executor, 'run-started', () => executor.inflight === 2);
    while (handles.length < 2 || !handles[0] || !handles[1]) await new Promise((resolve) => setImmediate(resolve));
    await handles[1]!.fail('shard 1 broke');
    await handles[0]!.succeed({ shard: 0 });
    const [zero, one] = await Promise.all(answers);
    expect([zero!.status, zero!.body]).toEqual([200, { shard: 0 }]);
    expect([one!.status, one!.body]).toEqual([500, { error: 'shard 1 broke' }]);
    expect(fake.reportsOf(base.runId).filter((r) => r.status !== undefined)).toEqual([]);
  });
});
