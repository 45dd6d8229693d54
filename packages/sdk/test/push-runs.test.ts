/** Run, cancel and status requests over HTTP: answers, aborts and what the executor remembers. */
import { describe, expect, it } from 'vitest';
import type { HandlerContext } from '../src/index.ts';
import { deferred, makeExecutor, nextEvent, runRequest, signedPost, startFake, useCleanup } from './support/helpers.ts';

const cleanup = useCleanup();

/** Resolves with the signal's reason once it aborts. */
function aborted(ctx: HandlerContext): Promise<unknown> {
  return new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(ctx.signal.reason), { once: true }));
}

describe('run requests', () => {
  it('answers 200 with the handler\'s value, and null for undefined', async () => {
    const fake = await startFake(cleanup);
    const seen: HandlerContext[] = [];
    const executor = makeExecutor(fake, cleanup)
      .handle('report', (ctx) => {
        seen.push(ctx);
        return { total: (ctx.params as { n: number }).n * 2 };
      })
      .handle('nothing', () => undefined);
    await executor.start();
    const request = runRequest(fake, { params: { n: 21 }, attempt: 2, shard: { index: 0, total: 1 }, deadline: new Date(Date.now() + 60_000).toISOString() });
    const answer = await signedPost(executor.address!, request);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ total: 42 });
    expect(answer.headers.get('content-type')).toMatch(/application\/json/);
    const ctx = seen[0]!;
    expect(ctx).toMatchObject({ runId: request.runId, taskId: 'task-1', namespace: 'default', task: 'nightly', handler: 'report', attempt: 2, shard: { index: 0, total: 1 } });
    expect(ctx.scheduledAt).toEqual(new Date('2026-01-01T00:00:00.000Z'));
    expect(ctx.deadline).toEqual(new Date(request.deadline!));
    expect(ctx.signal.aborted).toBe(false);

    const empty = await signedPost(executor.address!, runRequest(fake, { handler: 'nothing' }));
    expect([empty.status, empty.body]).toEqual([200, null]);
  });

  it('answers 500 with the message when the handler throws or rejects', async () => {
    const fake = await startFake(cleanup);
    const executor = makeExecutor(fake, cleanup)
      .handle('report', () => { throw new Error('the ledger is locked'); })
      .handle('rejects', async () => Promise.reject(new Error('upstream said no')))
      .handle('bigint', () => ({ n: 1n }));
    await executor.start();
    const thrown = await signedPost(executor.address!, runRequest(fake));
    expect([thrown.status, thrown.body]).toEqual([500, { error: 'the ledger is locked' }]);
    const rejected = await signedPost(executor.address!, runRequest(fake, { handler: 'rejects' }));
    expect([rejected.status, rejected.body]).toEqual([500, { error: 'upstream said no' }]);
    const notJson = await signedPost(executor.address!, runRequest(fake, { handler: 'bigint' }));
    expect(notJson.status).toBe(500);
    expect(notJson.body.error).toMatch(/not JSON/);
  });

  it('refuses unknown handlers (404), bad JSON (400), big bodies (413) and other methods (405)', async () => {
    const fake = await startFake(cleanup);
    const executor = makeExecutor(fake, cleanup).handle('report', () => 'ok');
    await executor.start();
    const unknown = await signedPost(executor.address!, runRequest(fake, { handler: 'nope' }));
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'HANDLER_NOT_FOUND']);
    expect(unknown.body.error.message).toMatch(/report/);
    const badJson = await signedPost(executor.address!, undefined, { rawBody: '{"runId": ' });
    expect([badJson.status, badJson.body.error.code]).toEqual([400, 'INVALID_JSON']);
    const invalid = await signedPost(executor.address!, { runId: 'r', attempt: 0 });
    expect([invalid.status, invalid.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const big = await signedPost(executor.address!, runRequest(fake, { params: { blob: 'x'.repeat(1024 * 1024) } }));
    expect([big.status, big.body.error.code]).toEqual([413, 'BODY_TOO_LARGE']);
    const get = await fetch(executor.address!);
    expect(get.status).toBe(405);
    const event = await signedPost(executor.address!, runRequest(fake), { event: 'explode' });
    expect([event.status, event.body.error.code]).toEqual([400, 'UNKNOWN_EVENT']);
  });

  it('aborts the signal within a second of a cancel request', async () => {
    const fake = await startFake(cleanup);
    const started = deferred<HandlerContext>();
    const executor = makeExecutor(fake, cleanup).handle('report', async (ctx) => {
      started.resolve(ctx);
      const reason = await aborted(ctx);
      throw new Error(`stopped: ${String(reason)}`);
    });
    await executor.start();
    const request = runRequest(fake);
    const answer = signedPost(executor.address!, request);
    const ctx = await started.promise;
    const cancel = await signedPost(executor.address!, { event: 'cancel', runId: request.runId, attempt: 1, reason: 'user' }, { event: 'cancel' });
    expect([cancel.status, cancel.body]).toEqual([200, { cancelled: 1 }]);
    expect(ctx.signal.aborted).toBe(true);
    expect(ctx.signal.reason).toBe('cancelled');
    expect((await answer).body).toEqual({ error: 'stopped: cancelled' });
    const again = await signedPost(executor.address!, { event: 'cancel', runId: request.runId, attempt: 1, reason: 'user' }, { event: 'cancel' });
    expect(again.body).toEqual({ cancelled: 0 });
  });

  it('cancels one shard, or every shard of the attempt when none is named', async () => {
    const fake = await startFake(cleanup);
    const contexts: HandlerContext[] = [];
    const executor = makeExecutor(fake, cleanup).handle('report', async (ctx) => {
      contexts.push(ctx);
      await aborted(ctx);
      return ctx.shard.index;
    });
    await executor.start();
    const base = runRequest(fake);
    const answers = [0, 1, 2].map((index) => signedPost(executor.address!, { ...base, shard: { index, total: 3 } }));
    await nextEvent(executor, 'run-started', (info) => info.shard.index === 2 && executor.inflight === 3);
    const one = await signedPost(executor.address!, { event: 'cancel', runId: base.runId, attempt: 1, reason: 'user', shard: 1 }, { event: 'cancel' });
    expect(one.body).toEqual({ cancelled: 1 });
    expect(contexts.map((c) => c.signal.aborted)).toEqual(contexts.map((c) => c.shard.index === 1));
    const rest = await signedPost(executor.address!, { event: 'cancel', runId: base.runId, attempt: 1, reason: 'user' }, { event: 'cancel' });
    expect(rest.body).toEqual({ cancelled: 2 });
    expect((await Promise.all(answers)).map((a) => a.body).sort()).toEqual([0, 1, 2]);
  });

  it('aborts the signal at the deadline and answers 500 deadline exceeded', async () => {
    const fake = await startFake(cleanup);
    const reasons: unknown[] = [];
    const executor = makeExecutor(fake, cleanup).handle('report', async (ctx) => {
      reasons.push(await aborted(ctx));
      await new Promise((resolve) => setTimeout(resolve, 5000)); // ignores the abort: the answer does not wait
      return 'too late';
    });
    await executor.start();
    const answer = await signedPost(executor.address!, runRequest(fake, { deadline: new Date(Date.now() + 300).toISOString() }));
    expect([answer.status, answer.body]).toEqual([500, { error: 'deadline exceeded' }]);
    expect(reasons).toEqual(['deadline']);
    const past = await signedPost(executor.address!, runRequest(fake, { deadline: new Date(Date.now() - 1000).toISOString() }));
    expect([past.status, past.body]).toEqual([500, { error: 'deadline exceeded' }]);
    expect(reasons).toHaveLength(1); // a run already past its deadline never starts
  });

  it('aborts with connection-closed when the scheduler goes away before the answer', async () => {
    const fake = await startFake(cleanup);
    const reason = deferred<unknown>();
    const started = deferred();
    const executor = makeExecutor(fake, cleanup).handle('report', async (ctx) => {
      started.resolve();
      reason.resolve(await aborted(ctx));
      return 'finished anyway';
    });
    await executor.start();
    const request = runRequest(fake);
    const controller = new AbortController();
    const answer = signedPost(executor.address!, request, { signal: controller.signal }).catch((error: Error) => error);
    await started.promise;
    const ended = nextEvent(executor, 'run-ended', (info) => info.runId === request.runId);
    controller.abort();
    expect(await reason.promise).toBe('connection-closed');
    expect(await answer).toBeInstanceOf(Error);
    // What the handler came to is remembered for the scheduler's status request.
    await ended;
    const status = await signedPost(executor.address!, { event: 'status', runId: request.runId, attempt: 1 }, { event: 'status' });
    expect(status.body).toEqual({ status: 'succeeded', output: 'finished anyway' });
  });

  it('answers status requests: running, succeeded or failed with the outcome, unknown', async () => {
    const fake = await startFake(cleanup);
    const release = deferred();
    const executor = makeExecutor(fake, cleanup)
      .handle('report', async () => {
        await release.promise;
        return { rows: 3 };
      })
      .handle('fails', () => { throw new Error('boom'); });
    await executor.start();
    const status = (runId: string, attempt = 1) => signedPost(executor.address!, { event: 'status', runId, attempt }, { event: 'status' }).then((a) => a.body);
    const request = runRequest(fake);
    const answer = signedPost(executor.address!, request);
    await nextEvent(executor, 'run-started');
    expect(await status(request.runId)).toEqual({ status: 'running' });
    release.resolve();
    await answer;
    expect(await status(request.runId)).toEqual({ status: 'succeeded', output: { rows: 3 } });
    expect(await status(request.runId, 2)).toEqual({ status: 'unknown' });
    const failing = runRequest(fake, { handler: 'fails' });
    await signedPost(executor.address!, failing);
    expect(await status(failing.runId)).toEqual({ status: 'failed', error: 'boom' });
    expect(await status('never-seen')).toEqual({ status: 'unknown' });
  });

  it('runs a duplicate delivery of the same attempt once, answering both', async () => {
    const fake = await startFake(cleanup);
    const release = deferred();
    let calls = 0;
    const executor = makeExecutor(fake, cleanup).handle('report', async () => {
      calls++;
      await release.promise;
      return 'once';
    });
    await executor.start();
    const request = runRequest(fake);
    const first = signedPost(executor.address!, request);
    await nextEvent(executor, 'run-started');
    const joined = nextEvent(executor, 'run-duplicate');
    const second = signedPost(executor.address!, request);
    await joined;
    release.resolve();
    expect((await Promise.all([first, second])).map((a) => a.body)).toEqual(['once', 'once']);
    const third = await signedPost(executor.address!, request);
    expect(third.body).toBe('once');
    expect(calls).toBe(1);
  });
});
