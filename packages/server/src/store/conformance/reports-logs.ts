import { describe, expect, it } from 'vitest';
import { logCapNotice } from '../history-caps.ts';
import { RUN_LOG_LINE_CAP, type NewLogLine, type Store } from '../store.ts';
import { seedDispatchedRun, seedPendingRun, T0 } from './fixtures.ts';

const line = (runId: string, message: string, overrides: Partial<NewLogLine> = {}): NewLogLine =>
  ({ runId, attempt: 1, at: T0, level: 'info', message, ...overrides });

export function describeReportsAndLogs(ctx: { readonly store: Store }): void {
  describe('callback reports', () => {
    it('accepts increasing sequence numbers and refuses replays', async () => {
      const run = await seedDispatchedRun(ctx.store);
      expect(await ctx.store.acceptReport({ runId: run.id, attempt: 1, seq: 0, progress: 0.25 })).toBe('accepted');
      expect(await ctx.store.getRun(run.id)).toMatchObject({ reportSeq: 0, progress: 0.25 });
      expect(await ctx.store.acceptReport({ runId: run.id, attempt: 1, seq: 0, progress: 0.9 })).toBe('replayed');
      expect(await ctx.store.acceptReport({ runId: run.id, attempt: 1, seq: 5 })).toBe('accepted');
      // No progress in a report keeps the last one.
      expect(await ctx.store.getRun(run.id)).toMatchObject({ reportSeq: 5, progress: 0.25 });
      expect(await ctx.store.acceptReport({ runId: run.id, attempt: 1, seq: 3, progress: 1 })).toBe('replayed');
      await ctx.store.markRunning({ runId: run.id, attempt: 1, at: T0 });
      expect(await ctx.store.acceptReport({ runId: run.id, attempt: 1, seq: 6, progress: null })).toBe('accepted');
      expect(await ctx.store.getRun(run.id)).toMatchObject({ reportSeq: 6, progress: 0.25 });
    });

    it('refuses reports of a superseded attempt, a finished run or an unknown run', async () => {
      const run = await seedDispatchedRun(ctx.store);
      expect(await ctx.store.acceptReport({ runId: run.id, attempt: 2, seq: 0 })).toBe('superseded');
      expect(await ctx.store.acceptReport({ runId: run.id, attempt: 0, seq: 0 })).toBe('superseded');
      expect(await ctx.store.acceptReport({ runId: run.id, attempt: 1, seq: 4 })).toBe('accepted');
      await ctx.store.finishAttempts([{ runId: run.id, attempt: 1, attemptStatus: 'failed', at: T0, outcome: { kind: 'retry', nextAttemptAt: T0 } }]);
      // Attempt 1 has ended: the run waits for attempt 2.
      expect(await ctx.store.acceptReport({ runId: run.id, attempt: 1, seq: 9 })).toBe('superseded');
      await ctx.store.startAttempts([{ runId: run.id, attempt: 2, executor: null, startedAt: T0, deadlineAt: null }]);
      expect(await ctx.store.getRun(run.id)).toMatchObject({ reportSeq: -1, progress: null });
      expect(await ctx.store.acceptReport({ runId: run.id, attempt: 1, seq: 10 })).toBe('superseded');
      // A new attempt starts its own sequence.
      expect(await ctx.store.acceptReport({ runId: run.id, attempt: 2, seq: 0 })).toBe('accepted');
      await ctx.store.finishAttempts([{ runId: run.id, attempt: 2, attemptStatus: 'succeeded', at: T0, outcome: { kind: 'final', status: 'succeeded' } }]);
      expect(await ctx.store.acceptReport({ runId: run.id, attempt: 2, seq: 1 })).toBe('finished');
      expect(await ctx.store.acceptReport({ runId: run.id, attempt: 1, seq: 1 })).toBe('finished');
      expect(await ctx.store.acceptReport({ runId: '00000000-0000-7000-8000-00000000000d', attempt: 1, seq: 0 })).toBe('not_found');
      const pending = await seedPendingRun(ctx.store);
      expect(await ctx.store.acceptReport({ runId: pending.id, attempt: 0, seq: 0 })).toBe('superseded');
    });
  });

  describe('run logs', () => {
    it('numbers lines per run in order and lists them after a sequence number', async () => {
      const a = await seedDispatchedRun(ctx.store);
      const b = await seedDispatchedRun(ctx.store);
      expect(await ctx.store.appendRunLogs([line(a.id, 'a1'), line(b.id, 'b1', { level: 'error', at: T0 + 5 }), line(a.id, 'a2')])).toBe(3);
      expect(await ctx.store.appendRunLogs([line(a.id, 'a3', { attempt: 2, level: 'debug' })])).toBe(1);
      expect(await ctx.store.listRunLogs({ runId: a.id, limit: 100 })).toEqual([
        { runId: a.id, seq: 1, attempt: 1, at: T0, level: 'info', message: 'a1' },
        { runId: a.id, seq: 2, attempt: 1, at: T0, level: 'info', message: 'a2' },
        { runId: a.id, seq: 3, attempt: 2, at: T0, level: 'debug', message: 'a3' },
      ]);
      expect(await ctx.store.listRunLogs({ runId: b.id, limit: 100 })).toEqual([{ runId: b.id, seq: 1, attempt: 1, at: T0 + 5, level: 'error', message: 'b1' }]);
      expect((await ctx.store.listRunLogs({ runId: a.id, afterSeq: 1, limit: 1 })).map((entry) => entry.message)).toEqual(['a2']);
      expect(await ctx.store.listRunLogs({ runId: a.id, afterSeq: 3, limit: 10 })).toEqual([]);
      expect(await ctx.store.appendRunLogs([])).toBe(0);
    });

    it('drops lines of unknown runs', async () => {
      const run = await seedDispatchedRun(ctx.store);
      const ghost = '00000000-0000-7000-8000-00000000000e';
      expect(await ctx.store.appendRunLogs([line(ghost, 'lost'), line(run.id, 'kept')])).toBe(1);
      expect(await ctx.store.listRunLogs({ runId: ghost, limit: 10 })).toEqual([]);
      expect((await ctx.store.listRunLogs({ runId: run.id, limit: 10 })).map((entry) => entry.seq)).toEqual([1]);
    });

    it(`keeps ${RUN_LOG_LINE_CAP} lines per run, then one notice, then nothing`, async () => {
      const run = await seedDispatchedRun(ctx.store);
      const other = await seedDispatchedRun(ctx.store);
      const many = (count: number, from: number) => Array.from({ length: count }, (_, i) => line(run.id, `line ${from + i}`));
      expect(await ctx.store.appendRunLogs(many(RUN_LOG_LINE_CAP - 2, 1))).toBe(RUN_LOG_LINE_CAP - 2);
      expect(await ctx.store.appendRunLogs([...many(5, RUN_LOG_LINE_CAP - 1), line(other.id, 'other run')])).toBe(3);
      expect(await ctx.store.appendRunLogs(many(3, RUN_LOG_LINE_CAP + 4))).toBe(0);
      const tail = await ctx.store.listRunLogs({ runId: run.id, afterSeq: RUN_LOG_LINE_CAP - 2, limit: 100 });
      expect(tail.map((entry) => [entry.seq, entry.level, entry.message])).toEqual([
        [RUN_LOG_LINE_CAP - 1, 'info', `line ${RUN_LOG_LINE_CAP - 1}`],
        [RUN_LOG_LINE_CAP, 'info', `line ${RUN_LOG_LINE_CAP}`],
        [RUN_LOG_LINE_CAP + 1, 'warn', logCapNotice(RUN_LOG_LINE_CAP)],
      ]);
      expect(logCapNotice(RUN_LOG_LINE_CAP)).toBe(`log cap of ${RUN_LOG_LINE_CAP} lines reached; later lines dropped`);
      expect(await ctx.store.listRunLogs({ runId: other.id, limit: 10 })).toHaveLength(1);
    });
  });
}
