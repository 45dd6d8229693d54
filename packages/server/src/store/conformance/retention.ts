import { describe, expect, it } from 'vitest';
import type { Store } from '../store.ts';
import { seedDispatchedRun, seedPendingRun, seedTask, T0 } from './fixtures.ts';

export function describeRetention(ctx: { readonly store: Store }): void {
  describe('history retention', () => {
    it('deletes ended runs older than the cutoff, oldest first, with their attempts and logs; keeps the rest', async () => {
      const { store } = ctx;
      const task = await seedTask(store);
      const ended: string[] = [];
      for (const at of [T0 + 3000, T0 + 1000, T0 + 2000]) {
        const run = await seedDispatchedRun(store, (await store.getTask(task.id))!);
        await store.appendRunLogs([{ runId: run.id, attempt: 1, at, level: 'info', message: 'line' }]);
        await store.finishAttempts([{ runId: run.id, attempt: 1, attemptStatus: 'succeeded', at, outcome: { kind: 'final', status: 'succeeded' } }]);
        ended.push(run.id);
      }
      const recent = await seedDispatchedRun(store, (await store.getTask(task.id))!);
      await store.finishAttempts([{ runId: recent.id, attempt: 1, attemptStatus: 'failed', at: T0 + 10_000, error: 'x', outcome: { kind: 'final', status: 'failed' } }]);
      const active = await seedDispatchedRun(store, (await store.getTask(task.id))!);
      const pending = await seedPendingRun(store, (await store.getTask(task.id))!);

      // The oldest ended first: T0+1000 (ended[1]), then T0+2000 (ended[2]).
      expect(await store.deleteHistory({ finishedBefore: T0 + 5000, limit: 2 })).toBe(2);
      expect(await store.getRun(ended[1]!)).toBeNull();
      expect(await store.getRun(ended[2]!)).toBeNull();
      expect(await store.getRun(ended[0]!)).not.toBeNull();
      expect(await store.deleteHistory({ finishedBefore: T0 + 5000, limit: 100 })).toBe(1);
      expect(await store.deleteHistory({ finishedBefore: T0 + 5000, limit: 100 })).toBe(0);

      expect(await store.listAttempts(ended)).toEqual([]);
      expect(await store.listRunLogs({ runId: ended[0]!, limit: 10 })).toEqual([]);
      for (const kept of [recent, active, pending]) expect(await store.getRun(kept.id)).not.toBeNull();
      expect(await store.listAttempts([recent.id, active.id])).toHaveLength(2);
      expect(await store.getTask(task.id)).not.toBeNull();
      // Runs that have not ended are never deleted, whatever the cutoff.
      expect(await store.deleteHistory({ finishedBefore: Number.MAX_SAFE_INTEGER, limit: 100 })).toBe(1);
      expect((await store.listActiveRuns({ limit: 10 })).map((r) => r.id).sort()).toEqual([active.id, pending.id].sort());
    });
  });
}
