/**
 * Following a run's log as it is written: every line after a given seq, in order, then the new
 * ones, and finally the run's outcome. Lines may be written by any node of a cluster (executor
 * callbacks land on any API node), so they are always read from the store. A follower wakes on
 * this process's {@link RunLogSignal} when this node appended lines to the run, and otherwise
 * polls the store every {@link RunLogFollowOptions.pollMs}.
 *
 * Each round reads the run's status before its lines. Executors' lines are stored before the
 * report that ends the run is applied, so once the status read is final, the lines read after it
 * are all the run's lines but one: the scheduler's own closing line of a failed attempt
 * (`attempt N failed: …`), written just after the run ends. For a run that ended other than
 * `succeeded` within {@link RunLogFollowOptions.settleMs}, one more wake-up or poll is waited for
 * before the end, so that this line is sent too.
 *
 * Aborting stops the follower at once: the wait in progress ends, its timer is cleared, no store
 * read starts after it, and the signal listener is removed.
 */
import { isFinalRunStatus } from '@ecron/contracts';
import type { Clock } from '../core/clock.ts';
import type { RunLogRecord, RunRecord } from '../core/model.ts';
import { runLogAppends, type RunLogSignal } from '../core/run-log-signal.ts';
import type { Store } from '../store/store.ts';

export interface RunLogFollowOptions {
  store: Store;
  clock: Clock;
  /**
   * The in-process notice of appended lines.
   * @default runLogAppends, the one the scheduler notifies
   */
  signal?: RunLogSignal;
  /**
   * How often the store is read when no notice came: the delay before a line written by another
   * node shows.
   * @default 500
   */
  pollMs?: number;
  /**
   * Lines per store read.
   * @default 500
   */
  pageSize?: number;
  /**
   * How long after a run ended other than `succeeded` one more read is waited for (see above).
   * @default 2000
   */
  settleMs?: number;
}

export const RUN_LOG_POLL_MS = 500;
const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_SETTLE_MS = 2000;

export type RunLogFollowEvent =
  | { type: 'lines'; lines: RunLogRecord[] }
  /** The run is final and every line of it has been handed out; nothing follows. */
  | { type: 'end'; run: RunRecord };

/**
 * Hands out the lines of `runId` after `afterSeq`, then the run's end. Returns without an end when
 * `abort` fires or the run no longer exists (deleted by retention). Store errors are thrown.
 */
export async function* followRunLogs(
  options: RunLogFollowOptions,
  p: { runId: string; afterSeq: number; abort: AbortSignal },
): AsyncGenerator<RunLogFollowEvent, void> {
  const { store, clock } = options;
  const { abort } = p;
  const pollMs = options.pollMs ?? RUN_LOG_POLL_MS;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  /** Set by a notice that came while no wait was in progress, so that it is not lost. */
  let noticed = false;
  let wake: (() => void) | null = null;
  const signal = options.signal ?? runLogAppends;
  let afterSeq = p.afterSeq;
  const unsubscribe = signal.subscribe(p.runId, () => {
    if (wake) wake();
    else noticed = true;
  });

  /** Until a notice, the poll interval or the abort, whichever comes first. */
  const nextRound = (): Promise<void> => {
    if (noticed || abort.aborted) {
      noticed = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clock.clearTimer(timer);
        abort.removeEventListener('abort', done);
        wake = null;
        resolve();
      };
      const timer = clock.setTimer(done, pollMs);
      abort.addEventListener('abort', done);
      wake = done;
      signal.followers.emit('waiting', p.runId, afterSeq);
    });
  };

  try {
    let settled = false;
    while (!abort.aborted) {
      noticed = false;
      const run = await store.getRun(p.runId);
      if (!run || abort.aborted) return;
      for (;;) {
        const lines = await store.listRunLogs({ runId: p.runId, afterSeq, limit: pageSize });
        if (abort.aborted) return;
        if (lines.length > 0) {
          afterSeq = lines.at(-1)!.seq;
          yield { type: 'lines', lines };
          if (abort.aborted) return;
        }
        if (lines.length < pageSize) break;
      }
      if (isFinalRunStatus(run.status)) {
        const endedRecently = run.status !== 'succeeded' && run.finishedAt !== null && clock.now() - run.finishedAt < settleMs;
        if (settled || !endedRecently) {
          yield { type: 'end', run };
          return;
        }
        settled = true;
      }
      await nextRound();
    }
  } finally {
    unsubscribe();
    wake = null;
    signal.followers.emit('stopped', p.runId);
  }
}
