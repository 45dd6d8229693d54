/**
 * Pull mode against a fake of the poll and results routes (the server's side of pull mode is
 * tested by the server's own suite; an end-to-end run through a real server is in e2e.test.ts
 * once the registry route exists).
 */
import { describe, expect, it } from 'vitest';
import type { HandlerContext } from '../src/index.ts';
import { FakeEcron } from './support/fake-ecron.ts';
import { deferred, makeExecutor, nextEvent, runRequest, startFake, useCleanup } from './support/helpers.ts';

const cleanup = useCleanup();

describe('pull mode', () => {
  it('registers without an address, polls, runs deliveries and posts their results', async () => {
    const fake = await startFake(cleanup);
    const executor = makeExecutor(fake, cleanup, { mode: 'pull', pollWaitMs: 5000 })
      .handle('report', (ctx) => {
        ctx.log(`working on ${ctx.runId}`);
        return { doubled: (ctx.params as { n: number }).n * 2 };
      })
      .handle('fails', () => { throw new Error('no ledger'); });
    const firstPoll = nextEvent(fake, 'poll');
    await executor.start();
    expect(executor.address).toBeNull();
    expect(fake.heartbeats[0]!.body).toMatchObject({ mode: 'pull', address: null, transport: 'http', handlers: ['report', 'fails'] });
    expect((await firstPoll)[0]).toBe(executor.id);

    const ok = runRequest(fake, { params: { n: 4 } });
    const results = nextEvent(fake, 'results', () => fake.results.length === 3);
    fake.deliver('d-1', ok);
    fake.deliver('d-2', runRequest(fake, { handler: 'fails' }));
    fake.deliver('d-3', runRequest(fake, { handler: 'missing' }));
    await results;
    const byId = Object.fromEntries(fake.results.map((r) => [r.id, r]));
    expect(byId['d-1']).toEqual({ id: 'd-1', status: 'succeeded', output: { doubled: 8 } });
    expect(byId['d-2']).toEqual({ id: 'd-2', status: 'failed', error: 'no ledger' });
    expect(byId['d-3']).toMatchObject({ id: 'd-3', status: 'failed' });
    expect(byId['d-3']!.error).toMatch(/no handler "missing"/);
    expect(fake.reportsOf(ok.runId).flatMap((r) => r.logs ?? []).map((l) => l.message)).toEqual([`working on ${ok.runId}`]);
  });

  it('names its running deliveries in each poll and aborts the ones cancelled', async () => {
    const fake = await startFake(cleanup);
    const started = deferred<HandlerContext>();
    const executor = makeExecutor(fake, cleanup, { mode: 'pull', pollWaitMs: 5000 }).handle('report', (ctx) => {
      started.resolve(ctx);
      return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error(`stopped: ${String(ctx.signal.reason)}`))));
    });
    await executor.start();
    fake.deliver('d-long', runRequest(fake));
    const ctx = await started.promise;
    await nextEvent(fake, 'poll', (_id, running) => running.includes('d-long'));
    const result = nextEvent(fake, 'results');
    fake.cancelDelivery('d-long');
    expect((await result)[1]).toEqual([{ id: 'd-long', status: 'failed', error: 'stopped: cancelled' }]);
    expect(ctx.signal.reason).toBe('cancelled');
  });

  it('keeps at most maxConcurrency deliveries in flight', async () => {
    const fake = await startFake(cleanup);
    const releases: (() => void)[] = [];
    let running = 0;
    let most = 0;
    const executor = makeExecutor(fake, cleanup, { mode: 'pull', maxConcurrency: 2, pollWaitMs: 5000 }).handle('report', async () => {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => releases.push(resolve));
      running--;
      return 'ok';
    });
    const polls: number[] = [];
    fake.on('poll', () => polls.push(executor.inflight));
    await executor.start();
    for (let i = 0; i < 5; i++) fake.deliver(`d-${i}`, runRequest(fake));
    await nextEvent(executor, 'run-started', () => executor.inflight === 2);
    const allDone = nextEvent(fake, 'results', () => fake.results.length === 5);
    // Release runs one at a time as they start: never more than two at once.
    const releaser = setInterval(() => releases.shift()?.(), 10);
    cleanup(() => clearInterval(releaser));
    await allDone;
    expect(most).toBe(2);
    expect(fake.results.every((r) => r.status === 'succeeded')).toBe(true);
  });

  it('backs off after a failed poll and polls again', async () => {
    const fake = await startFake(cleanup);
    fake.failPolls = 1;
    const executor = makeExecutor(fake, cleanup, { mode: 'pull', pollWaitMs: 5000 }).handle('report', () => 'ok');
    const failed = nextEvent(executor, 'poll-failed');
    await executor.start();
    const [error] = await failed;
    const failedAt = Date.now();
    expect((error as { code?: string }).code).toBe('INTERNAL');
    await nextEvent(fake, 'poll');
    expect(Date.now() - failedAt).toBeGreaterThanOrEqual(900);
    fake.deliver('d-1', runRequest(fake));
    await nextEvent(fake, 'results');
    expect(fake.results).toEqual([{ id: 'd-1', status: 'succeeded', output: 'ok' }]);
  });

  it('at stop: polls no more, finishes short runs, posts failed results for the rest, then leaves the registry', async () => {
    const fake = await startFake(cleanup);
    const releaseShort = deferred();
    const executor = makeExecutor(fake, cleanup, { mode: 'pull', pollWaitMs: 5000, shutdownGraceMs: 400 })
      .handle('short', async () => {
        await releaseShort.promise;
        return 'short done';
      })
      .handle('long', (ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve('ignored'))));
    await executor.start();
    fake.deliver('d-short', runRequest(fake, { handler: 'short' }));
    fake.deliver('d-long', runRequest(fake, { handler: 'long' }));
    await nextEvent(executor, 'run-started', () => executor.inflight === 2);
    const order: string[] = [];
    fake.on('results', (_id, list) => order.push(...list.map((r) => `result ${r.id}`)));
    fake.on('deleted', () => order.push('deleted'));
    let pollsAfterStop = 0;
    const stopped = executor.stop();
    fake.on('poll', () => pollsAfterStop++);
    releaseShort.resolve();
    await stopped;
    expect(order).toEqual(['result d-short', 'result d-long', 'deleted']);
    expect(fake.results).toEqual([
      { id: 'd-short', status: 'succeeded', output: 'short done' },
      { id: 'd-long', status: 'failed', error: 'handed back at shutdown' },
    ]);
    expect(pollsAfterStop).toBe(0);
  });

  it('polls every live API node of a cluster and posts results to the node that delivered', async () => {
    const a = await startFake(cleanup);
    const b = await new FakeEcron().start();
    cleanup(() => b.stop());
    a.nodes = [{ id: 'node-a', address: a.url, alive: true }, { id: 'node-b', address: `${b.url}/`, alive: true }, { id: 'node-c', address: 'http://127.0.0.1:1', alive: false }];
    const executor = makeExecutor(a, cleanup, { mode: 'pull', pollWaitMs: 5000 }).handle('report', (ctx) => ctx.runId);
    const polledA = nextEvent(a, 'poll');
    const polledB = nextEvent(b, 'poll');
    await executor.start();
    await Promise.all([polledA, polledB]);
    const fromB = runRequest(b);
    const fromA = runRequest(a);
    const resultsB = nextEvent(b, 'results');
    const resultsA = nextEvent(a, 'results');
    b.deliver('b-1', fromB);
    a.deliver('a-1', fromA);
    expect((await resultsB)[1]).toEqual([{ id: 'b-1', status: 'succeeded', output: fromB.runId }]);
    expect((await resultsA)[1]).toEqual([{ id: 'a-1', status: 'succeeded', output: fromA.runId }]);
  });

  it('heartbeats another API node of the cluster when the configured one stops answering, and keeps following the cluster through it', async () => {
    const a = await startFake(cleanup);
    const b = await new FakeEcron().start();
    cleanup(() => b.stop());
    const nodes = [{ id: 'node-a', address: a.url, alive: true }, { id: 'node-b', address: b.url, alive: true }];
    a.nodes = nodes;
    b.nodes = nodes;
    const executor = makeExecutor(a, cleanup, { mode: 'pull', pollWaitMs: 200 }).handle('report', (ctx) => ctx.runId);
    const polledB = nextEvent(b, 'poll');
    await executor.start();
    await polledB;
    expect(b.heartbeats).toHaveLength(0);
    await a.stop();
    // The configured server is gone: the next heartbeats land on node b.
    await nextEvent(b, 'heartbeat');
    expect(b.heartbeats[0]!.id).toBe(executor.id);
    const request = runRequest(b);
    const results = nextEvent(b, 'results');
    b.deliver('b-after', request);
    expect((await results)[1]).toEqual([{ id: 'b-after', status: 'succeeded', output: request.runId }]);
  });
});
