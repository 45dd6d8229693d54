import { describe, expect, it } from 'vitest';
import type { Store } from '../store.ts';
import { audit, FAR_FUTURE, fireOf, newRun, seedTask, T0, tokenRecord } from './fixtures.ts';

export function describeInstants(ctx: { readonly store: Store }): void {
  describe('instants', () => {
    it('round-trips instants to the millisecond, from 1970 to the year 9999', async () => {
      const instants = [0, 1, T0 + 1, T0 + 999, Date.UTC(2038, 0, 19, 3, 14, 8, 1), Date.UTC(2999, 5, 30, 12, 0, 0, 123), FAR_FUTURE];
      for (const at of instants) {
        const task = await seedTask(ctx.store, { nextFireAt: at, anchorAt: at, createdAt: at, updatedAt: at, lastFireAt: at });
        expect(await ctx.store.getTask(task.id)).toMatchObject({ nextFireAt: at, anchorAt: at, createdAt: at, updatedAt: at, lastFireAt: at });
        const run = newRun(task, { scheduledAt: at, createdAt: at, status: 'dispatched', attempt: { executor: null, startedAt: at, deadlineAt: at } });
        await ctx.store.recordFires([fireOf(task, { nextFireAt: at, lastFireAt: at, runs: [run] })]);
        expect(await ctx.store.getRun(run.id)).toMatchObject({ scheduledAt: at, createdAt: at, startedAt: at, deadlineAt: at });
        await ctx.store.finishAttempts([{ runId: run.id, attempt: 1, attemptStatus: 'succeeded', at, outcome: { kind: 'final', status: 'succeeded' } }]);
        expect(await ctx.store.getRun(run.id)).toMatchObject({ finishedAt: at });
        expect(await ctx.store.listAttempts([run.id])).toEqual([expect.objectContaining({ startedAt: at, finishedAt: at })]);
        await ctx.store.appendRunLogs([{ runId: run.id, attempt: 1, at, level: 'info', message: 'at' }]);
        expect((await ctx.store.listRunLogs({ runId: run.id, limit: 1 }))[0]!.at).toBe(at);
        const token = tokenRecord({ createdAt: at, lastUsedAt: at, revokedAt: at });
        await ctx.store.createToken({ token, audit: audit('token.create') });
        expect(await ctx.store.findTokenByHash(token.secretHash)).toEqual(token);
        await ctx.store.appendAudit({ at, actor: 'clock', action: `instant.${at}`, resourceType: 'test', resourceId: null, details: null });
        expect((await ctx.store.listAudit({ limit: 1, action: `instant.${at}` })).items[0]!.at).toBe(at);
      }
    });

    it('orders due tasks by instants one millisecond apart, even far in the future', async () => {
      const later = await seedTask(ctx.store, { nextFireAt: FAR_FUTURE });
      const earlier = await seedTask(ctx.store, { nextFireAt: FAR_FUTURE - 1 });
      const now = await seedTask(ctx.store, { nextFireAt: T0 });
      expect((await ctx.store.listDueTasks({ until: FAR_FUTURE, limit: 10 })).map((task) => task.id)).toEqual([now.id, earlier.id, later.id]);
      expect((await ctx.store.listDueTasks({ until: FAR_FUTURE - 1, limit: 10 })).map((task) => task.id)).toEqual([now.id, earlier.id]);
    });

    it('tells the store clock in epoch milliseconds', async () => {
      const before = Date.now();
      const now = await ctx.store.now();
      const after = Date.now();
      expect(Number.isInteger(now)).toBe(true);
      // The database clock may differ from this process's clock, but not by much on a test machine.
      expect(now).toBeGreaterThan(before - 5000);
      expect(now).toBeLessThan(after + 5000);
    });
  });
}
