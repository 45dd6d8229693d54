import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../core/model.ts';
import type { NewMapOptions, SubtaskOutcome } from '../run-subtasks.ts';
import type { Store } from '../store.ts';
import { seedDispatchedRun, T0 } from './fixtures.ts';

const OPTIONS: NewMapOptions = {
  reduce: null, maxAttempts: 1, onSubtaskFailure: 'fail-run', maxFailedRatio: null,
  backoff: { type: 'fixed', initialMs: 0, maxMs: 0, multiplier: 2, jitter: 0 },
};
const GROUP = { namespace: 'default', group: 'g' };
const CLAIM = { ...GROUP, handlers: ['square'], leaseMs: 30_000, avoidMs: 0 };

async function mappedRun(store: Store, count: number, options: Partial<NewMapOptions> = {}): Promise<RunRecord> {
  const run = await seedDispatchedRun(store);
  const payloads = Array.from({ length: count }, (_, i) => JSON.stringify({ n: i }));
  await store.appendSubtasks({ runId: run.id, attempt: 1, offset: 0, handler: 'square', payloads, options: { ...OPTIONS, ...options }, ...GROUP, maxTotal: 100_000 });
  return run;
}

const ok = (runId: string, index: number, lease = 1, output: unknown = index): SubtaskOutcome => ({ runId, index, lease, status: 'succeeded', output });

export function describeRunSubtasks(ctx: { readonly store: Store }): void {
  describe('map subtasks', () => {
    it('appends subtasks in batches, idempotently, to the map of the current attempt', async () => {
      const { store } = ctx;
      const run = await seedDispatchedRun(store);
      const append = (offset: number, count: number, extra: Partial<Parameters<Store['appendSubtasks']>[0]> = {}) => store.appendSubtasks({
        runId: run.id, attempt: 1, offset, handler: 'square', payloads: Array.from({ length: count }, (_, i) => JSON.stringify({ n: offset + i })),
        options: OPTIONS, ...GROUP, maxTotal: 1000, ...extra,
      });
      expect(await append(0, 500)).toEqual({ total: 500, inserted: 500 });
      expect(await append(0, 500)).toEqual({ total: 500, inserted: 0 }); // the batch sent again
      expect(await append(500, 3)).toEqual({ total: 503, inserted: 3 });
      await expect(append(600, 1)).rejects.toMatchObject({ code: 'MAP_OFFSET_GAP' });
      await expect(append(503, 1, { options: { ...OPTIONS, reduce: 'sum' } })).rejects.toMatchObject({ code: 'MAP_OPTIONS_CONFLICT' });
      await expect(append(503, 600)).rejects.toMatchObject({ code: 'MAP_TOO_LARGE' });
      await expect(append(503, 1, { attempt: 2 })).rejects.toMatchObject({ code: 'MAP_NOT_ALLOWED' });
      const map = await store.getRunMap(run.id);
      expect(map).toMatchObject({ runId: run.id, attempt: 1, state: 'mapping', total: 503, group: 'g', counts: { pending: 503, running: 0, succeeded: 0 } });
      const page = await store.listSubtasks({ runId: run.id, limit: 2 });
      expect(page.items.map((s) => [s.index, s.payload, s.state])).toEqual([[0, { n: 0 }, 'pending'], [1, { n: 1 }, 'pending']]);
      const next = await store.listSubtasks({ runId: run.id, limit: 1000, cursor: page.nextCursor });
      expect(next.items[0]!.index).toBe(2);
      expect(next.items).toHaveLength(501);
      const sealed = await store.sealMap({ runId: run.id, attempt: 1 });
      expect(sealed).toMatchObject({ map: { state: 'running' }, decision: null });
      await expect(append(503, 1)).rejects.toMatchObject({ code: 'MAP_SEALED' });
      expect(await store.sealMap({ runId: run.id, attempt: 2 })).toBeNull();
    });

    it('claims at most the limit, for the group and handlers asked, and never one subtask twice, even concurrently', async () => {
      const { store } = ctx;
      const run = await mappedRun(store, 9);
      expect(await store.claimSubtasks({ ...CLAIM, executor: 'x', group: 'other', limit: 10 })).toEqual([]);
      expect(await store.claimSubtasks({ ...CLAIM, executor: 'x', handlers: ['cube'], limit: 10 })).toEqual([]);
      const [a, b] = await Promise.all([store.claimSubtasks({ ...CLAIM, executor: 'a', limit: 4 }), store.claimSubtasks({ ...CLAIM, executor: 'b', limit: 4 })]);
      // Disjoint, each within its limit. How many the second gets depends on the rows the first
      // locked meanwhile (MariaDB may lock every candidate it sorts: the second then skips them all).
      expect(a.length).toBeLessThanOrEqual(4);
      expect(b.length).toBeLessThanOrEqual(4);
      expect(a.length + b.length).toBeGreaterThanOrEqual(4);
      const first = a.length > 0 ? a : b;
      expect(first[0]).toMatchObject({ runId: run.id, state: 'running', lease: 1, kind: 'map', handler: 'square' });
      const rest: typeof a = [];
      for (let batch = await store.claimSubtasks({ ...CLAIM, executor: 'c', limit: 4 }); batch.length > 0; batch = await store.claimSubtasks({ ...CLAIM, executor: 'c', limit: 4 })) {
        expect(batch.length).toBeLessThanOrEqual(4);
        rest.push(...batch);
      }
      const indexes = [...a, ...b, ...rest].map((s) => s.index);
      expect(indexes).toHaveLength(9);
      expect(new Set(indexes).size).toBe(9);
      expect((await store.getRunMap(run.id))!.counts).toMatchObject({ pending: 0, running: 9 });
    });

    it('records outcomes only for the current lease and node, retries failures on other nodes first, and reduces once', async () => {
      const { store } = ctx;
      const run = await mappedRun(store, 3, { reduce: 'sum', maxAttempts: 2, onSubtaskFailure: 'continue' });
      await store.sealMap({ runId: run.id, attempt: 1 });
      const claimed = await store.claimSubtasks({ ...CLAIM, executor: 'a', limit: 3 });
      expect(claimed).toHaveLength(3);
      // Another node, or a stale lease, changes nothing.
      expect((await store.reportSubtasks({ executor: 'b', results: [ok(run.id, 0)] })).accepted).toEqual([]);
      expect((await store.reportSubtasks({ executor: 'a', results: [ok(run.id, 0, 2)] })).accepted).toEqual([]);
      const first = await store.reportSubtasks({ executor: 'a', results: [ok(run.id, 0, 1, 0), { runId: run.id, index: 1, lease: 1, status: 'failed', error: 'boom' }] });
      expect(first.accepted.map((s) => [s.index, s.state])).toEqual([[0, 'succeeded'], [1, 'pending']]);
      expect(first).toMatchObject({ claimable: true, decisions: [] });
      // The retry is left to other nodes for avoidMs; node b takes it at once.
      expect(await store.claimSubtasks({ ...CLAIM, executor: 'a', limit: 3, avoidMs: 60_000 })).toEqual([]);
      const retried = await store.claimSubtasks({ ...CLAIM, executor: 'b', limit: 3, avoidMs: 60_000 });
      expect(retried.map((s) => [s.index, s.lease, s.executors])).toEqual([[1, 2, ['a', 'b']]]);
      await store.reportSubtasks({ executor: 'b', results: [{ runId: run.id, index: 1, lease: 2, status: 'failed', error: 'boom again' }] });
      // The last subtask ends: the reduce is queued, once, even when the same end is reported again.
      const last = await store.reportSubtasks({ executor: 'a', results: [ok(run.id, 2, 1, 2)] });
      expect(last).toMatchObject({ claimable: true, decisions: [] });
      expect((await store.reportSubtasks({ executor: 'a', results: [ok(run.id, 2, 1, 2)] })).accepted).toEqual([]);
      expect(await store.getRunMap(run.id)).toMatchObject({ state: 'reducing', counts: { succeeded: 2, failed: 1, pending: 0, running: 0 } });
      const reduce = await store.claimSubtasks({ ...CLAIM, handlers: ['sum'], executor: 'b', limit: 5 });
      expect(reduce.map((s) => [s.index, s.kind, s.handler])).toEqual([[-1, 'reduce', 'sum']]);
      expect(await store.claimSubtasks({ ...CLAIM, handlers: ['sum'], executor: 'a', limit: 5 })).toEqual([]);
      const results = await store.readSubtaskResults({ runId: run.id, afterIndex: -1, limit: 2 });
      expect(results.map((s) => [s.index, s.state, s.output, s.error])).toEqual([[0, 'succeeded', 0, null], [1, 'failed', null, 'boom again']]);
      expect((await store.readSubtaskResults({ runId: run.id, afterIndex: 1, limit: 2 })).map((s) => s.index)).toEqual([2]);
      const done = await store.reportSubtasks({ executor: 'b', results: [ok(run.id, -1, 1, { sum: 2 })] });
      expect(done.decisions).toEqual([{ runId: run.id, attempt: 1, status: 'succeeded', output: { sum: 2 } }]);
      expect(await store.getRunMap(run.id)).toMatchObject({ state: 'succeeded', output: { sum: 2 } });
    });

    it('fails the map at the first subtask that failed for good with fail-run, cancelling the rest', async () => {
      const { store } = ctx;
      const run = await mappedRun(store, 4);
      await store.sealMap({ runId: run.id, attempt: 1 });
      await store.claimSubtasks({ ...CLAIM, executor: 'a', limit: 2 });
      const failed = await store.reportSubtasks({ executor: 'a', results: [{ runId: run.id, index: 0, lease: 1, status: 'failed', error: 'bad row' }, ok(run.id, 1)] });
      expect(failed.decisions).toEqual([{ runId: run.id, attempt: 1, status: 'failed', error: 'subtask 0 failed after 1 tries: bad row' }]);
      expect(await store.getRunMap(run.id)).toMatchObject({ state: 'failed', counts: { failed: 1, cancelled: 3, pending: 0, running: 0 } });
      expect(await store.claimSubtasks({ ...CLAIM, executor: 'a', limit: 5 })).toEqual([]);
    });

    it('ends a map without reduce with its counts, at the seal when every subtask ended before, and fails it past maxFailedRatio', async () => {
      const { store } = ctx;
      const run = await mappedRun(store, 2, { onSubtaskFailure: 'continue' });
      await store.claimSubtasks({ ...CLAIM, executor: 'a', limit: 2 });
      expect((await store.reportSubtasks({ executor: 'a', results: [ok(run.id, 0), { runId: run.id, index: 1, lease: 1, status: 'failed', error: 'x' }] })).decisions).toEqual([]);
      expect(await store.sealMap({ runId: run.id, attempt: 1 })).toMatchObject({
        decision: { runId: run.id, attempt: 1, status: 'succeeded', output: { total: 2, succeeded: 1, failed: 1 } },
      });
      const strict = await mappedRun(store, 2, { onSubtaskFailure: 'continue', maxFailedRatio: 0.25 });
      await store.sealMap({ runId: strict.id, attempt: 1 });
      await store.claimSubtasks({ ...CLAIM, executor: 'a', limit: 2 });
      const decided = await store.reportSubtasks({ executor: 'a', results: [ok(strict.id, 0), { runId: strict.id, index: 1, lease: 1, status: 'failed', error: 'x' }] });
      expect(decided.decisions).toMatchObject([{ runId: strict.id, status: 'failed' }]);
      const empty = await mappedRun(store, 0);
      expect((await store.sealMap({ runId: empty.id, attempt: 1 }))!.decision).toMatchObject({ status: 'succeeded', output: { total: 0, succeeded: 0, failed: 0 } });
    });

    it('extends leases only for their holder, and gives expired ones back to the others; cancels maps of ended runs', async () => {
      const { store } = ctx;
      const run = await mappedRun(store, 2);
      await store.sealMap({ runId: run.id, attempt: 1 });
      const [held] = await store.claimSubtasks({ ...CLAIM, executor: 'a', limit: 1 });
      expect(await store.extendSubtaskLeases({ executor: 'a', keys: [{ runId: run.id, index: held!.index, lease: 1 }], leaseMs: 30_000 })).toEqual([]);
      expect(await store.extendSubtaskLeases({ executor: 'b', keys: [{ runId: run.id, index: held!.index, lease: 1 }], leaseMs: 30_000 }))
        .toEqual([{ runId: run.id, index: held!.index }]);
      const [short] = await store.claimSubtasks({ ...CLAIM, executor: 'a', limit: 1, leaseMs: 1 });
      await sleep(20);
      const swept = await store.sweepSubtasks({ limit: 100, maxLost: 5, decidedBefore: T0 });
      expect(swept).toMatchObject({ released: 1, cancelled: 0, decisions: [] });
      const [again] = await store.claimSubtasks({ ...CLAIM, executor: 'b', limit: 5 });
      expect(again).toMatchObject({ index: short!.index, lease: 2, lost: 1, executors: ['a', 'b'] });
      // The expired lease's late report is refused.
      expect((await store.reportSubtasks({ executor: 'a', results: [ok(run.id, short!.index, 1)] })).accepted).toEqual([]);
      // The run ends (a cancel): the sweep cancels its map and subtasks.
      await store.finishAttempts([{ runId: run.id, attempt: 1, attemptStatus: 'cancelled', at: T0 + 5000, outcome: { kind: 'final', status: 'cancelled' } }]);
      expect(await store.sweepSubtasks({ limit: 100, maxLost: 5, decidedBefore: T0 })).toMatchObject({ cancelled: 1 });
      expect(await store.getRunMap(run.id)).toMatchObject({ state: 'cancelled', counts: { cancelled: 2, running: 0 } });
      expect(await store.cancelMap({ runId: run.id, error: 'again' })).toBe(false);
    });

    it('ends at once the leases of a node that left, for the sweep to give its subtasks to the others', async () => {
      const { store } = ctx;
      const run = await mappedRun(store, 3);
      await store.sealMap({ runId: run.id, attempt: 1 });
      const gone = await store.claimSubtasks({ ...CLAIM, executor: 'gone', limit: 2 });
      const [kept] = await store.claimSubtasks({ ...CLAIM, executor: 'alive', limit: 1 });
      expect(await store.expireSubtaskLeasesOf({ executor: 'gone' })).toBe(2);
      expect(await store.expireSubtaskLeasesOf({ executor: 'gone' })).toBe(0);
      expect(await store.sweepSubtasks({ limit: 100, maxLost: 5, decidedBefore: T0 })).toMatchObject({ released: 2 });
      const again = await store.claimSubtasks({ ...CLAIM, executor: 'alive', limit: 5 });
      expect(again.map((s) => s.index).sort()).toEqual(gone.map((s) => s.index).sort());
      // The other node's lease was left alone, and the gone node's late report is refused.
      expect(await store.extendSubtaskLeases({ executor: 'alive', keys: [{ runId: run.id, index: kept!.index, lease: 1 }], leaseMs: 30_000 })).toEqual([]);
      expect((await store.reportSubtasks({ executor: 'gone', results: [ok(run.id, gone[0]!.index, 1)] })).accepted).toEqual([]);
    });

    it('returns maps decided but whose run is still in flight, for their run to be ended', async () => {
      const { store } = ctx;
      const run = await mappedRun(store, 1);
      await store.sealMap({ runId: run.id, attempt: 1 });
      await store.claimSubtasks({ ...CLAIM, executor: 'a', limit: 1 });
      await store.reportSubtasks({ executor: 'a', results: [ok(run.id, 0)] });
      const later = (await store.now()) + 60_000;
      expect((await store.sweepSubtasks({ limit: 100, maxLost: 5, decidedBefore: later })).decisions).toEqual([
        { runId: run.id, attempt: 1, status: 'succeeded', output: { total: 1, succeeded: 1, failed: 0 } },
      ]);
      expect(await store.cancelMap({ runId: run.id, error: 'x' })).toBe(false);
    });
  });
}
