/** Conformance of backfill storage: progress by compare-and-set on the owner, cancel, adoption. */
import { describe, expect, it } from 'vitest';
import { newId } from '../../core/ids.ts';
import type { BackfillRecord } from '../../core/model.ts';
import type { Store } from '../store.ts';
import { audit, MINUTE, newRun, seedTask, T0 } from './fixtures.ts';

function backfillRecord(overrides: Partial<BackfillRecord> = {}): BackfillRecord {
  return {
    id: newId(), taskId: newId(), namespace: 'default', fromAt: T0, toAt: T0 + 9 * MINUTE, concurrency: 2, total: 10, cursorAt: null, created: 0,
    skipped: 0, status: 'running', error: null, owner: 'node-a', actor: 'tester', createdAt: T0, updatedAt: T0, finishedAt: null, ...overrides,
  };
}

export function describeBackfills(ctx: { readonly store: Store }): void {
  describe('backfills', () => {
    it('stores a backfill, lists a task\'s newest first, and records progress only for its owner while running', async () => {
      const { store } = ctx;
      const first = await store.createBackfill({ backfill: backfillRecord(), audit: audit('task.backfill') });
      const second = await store.createBackfill({ backfill: backfillRecord({ taskId: first.taskId }), audit: audit('task.backfill') });
      expect(await store.getBackfill(first.id)).toEqual(first);
      expect((await store.listBackfills({ taskId: first.taskId, limit: 10 })).map((b) => b.id)).toEqual([second.id, first.id]);
      expect(await store.updateBackfill({ id: first.id, owner: 'node-b', at: T0 + 1, patch: { created: 3 } })).toBeNull();
      const moved = await store.updateBackfill({ id: first.id, owner: 'node-a', at: T0 + 1, patch: { created: 3, skipped: 1, cursorAt: T0 + 3 * MINUTE } });
      expect(moved).toMatchObject({ created: 3, skipped: 1, cursorAt: T0 + 3 * MINUTE, updatedAt: T0 + 1, status: 'running' });
      const cancelled = await store.updateBackfill({ id: first.id, at: T0 + 2, patch: { status: 'cancelled', finishedAt: T0 + 2 }, audit: audit('backfill.cancel') });
      expect(cancelled).toMatchObject({ status: 'cancelled', finishedAt: T0 + 2, created: 3 });
      expect(await store.updateBackfill({ id: first.id, owner: 'node-a', at: T0 + 3, patch: { created: 4 } })).toBeNull();
      expect((await store.listAudit({ limit: 10, resourceId: first.id })).items.map((e) => e.action).sort()).toEqual(['backfill.cancel', 'task.backfill']);
    });

    it('adopts the running backfills of dead owners, each by one node', async () => {
      const { store } = ctx;
      const orphan = await store.createBackfill({ backfill: backfillRecord({ owner: 'dead' }), audit: audit('task.backfill') });
      const held = await store.createBackfill({ backfill: backfillRecord({ owner: 'alive' }), audit: audit('task.backfill') });
      const ended = await store.createBackfill({ backfill: backfillRecord({ owner: 'dead', status: 'succeeded', finishedAt: T0 }), audit: audit('task.backfill') });
      const [a, b] = await Promise.all([
        store.adoptBackfills({ nodeId: 'node-x', liveNodeIds: ['alive', 'node-x', 'node-y'] }),
        store.adoptBackfills({ nodeId: 'node-y', liveNodeIds: ['alive', 'node-x', 'node-y'] }),
      ]);
      expect([...a, ...b].map((x) => x.id)).toEqual([orphan.id]);
      expect((await store.getBackfill(held.id))!.owner).toBe('alive');
      expect((await store.getBackfill(ended.id))!.owner).toBe('dead');
      expect(['node-x', 'node-y']).toContain((await store.getBackfill(orphan.id))!.owner);
    });

    it('counts the runs of a backfill by where they are', async () => {
      const { store } = ctx;
      const task = await seedTask(store);
      const backfill = await store.createBackfill({ backfill: backfillRecord({ taskId: task.id }), audit: audit('task.backfill') });
      expect(await store.countBackfillRuns(backfill.id)).toEqual({ active: 0, succeeded: 0, failed: 0 });
      const ids = [0, 1, 2].map(() => newId());
      for (const [i, id] of ids.entries()) {
        await store.createRun({ run: { ...newRun(task, { id, trigger: 'schedule', scheduledAt: T0 + i * MINUTE }), backfillId: backfill.id, status: 'pending' } });
      }
      await store.createRun({ run: newRun(task, { trigger: 'schedule', scheduledAt: T0 + 9 * MINUTE, status: 'pending' }) });
      await store.finishRun({ runId: ids[0]!, status: 'failed', at: T0 });
      await store.startAttempts([{ runId: ids[1]!, attempt: 1, executor: null, startedAt: T0, deadlineAt: null }]);
      await store.finishAttempts([{ runId: ids[1]!, attempt: 1, attemptStatus: 'succeeded', at: T0, outcome: { kind: 'final', status: 'succeeded' } }]);
      expect(await store.countBackfillRuns(backfill.id)).toEqual({ active: 1, succeeded: 1, failed: 1 });
      expect((await store.getRun(ids[2]!))!.backfillId).toBe(backfill.id);
    });
  });
}
