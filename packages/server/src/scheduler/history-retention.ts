/**
 * History retention: every `intervalMs`, deletes the runs (with their attempts and logs) that
 * ended longer than `retentionMs` ago, in batches with a turn of the event loop between them so
 * that firing is never held up for long. State (tasks, revisions) and the audit log are kept.
 * Events of the event log older than `eventRetentionMs` go the same way.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Store } from '../store/store.ts';

export interface HistoryRetentionOptions {
  store: Store;
  clock: Clock;
  /** Runs that ended longer ago than this are deleted. */
  retentionMs: number;
  /** Events written longer ago than this are deleted. @default retentionMs */
  eventRetentionMs?: number;
  /** @default 60000 */
  intervalMs?: number;
  /** Runs deleted per transaction. @default 2000 */
  batchSize?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export class HistoryRetention {
  readonly #o: Required<HistoryRetentionOptions>;
  #timer: TimerHandle | null = null;
  #running: Promise<number> | null = null;
  #stopped = true;

  constructor(options: HistoryRetentionOptions) {
    this.#o = { intervalMs: 60_000, batchSize: 2000, log: () => {}, eventRetentionMs: options.retentionMs, ...options };
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) this.#o.clock.clearTimer(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** Deletes everything past retention now; resolves with the number of runs deleted. */
  async prune(): Promise<number> {
    const cutoff = this.#o.clock.now() - this.#o.retentionMs;
    const total = await this.#inBatches((limit) => this.#o.store.deleteHistory({ finishedBefore: cutoff, limit }));
    if (total > 0) this.#o.log('info', 'deleted run history past retention', { runs: total, endedBefore: new Date(cutoff).toISOString() });
    const eventCutoff = this.#o.clock.now() - this.#o.eventRetentionMs;
    const events = await this.#inBatches((limit) => this.#o.store.deleteEvents({ before: eventCutoff, limit }));
    if (events > 0) this.#o.log('info', 'deleted events past retention', { events, writtenBefore: new Date(eventCutoff).toISOString() });
    return total;
  }

  /** Calls `deleteSome` with the batch size until it deletes fewer (or the loop stops), a turn of the event loop between batches; returns how many it deleted. */
  async #inBatches(deleteSome: (limit: number) => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await deleteSome(this.#o.batchSize);
      total += deleted;
      if (deleted < this.#o.batchSize || this.#stopped) return total;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  #schedule(): void {
    this.#timer = this.#o.clock.setTimer(() => {
      this.#running = this.prune()
        .catch((error) => {
          this.#o.log('error', 'history retention failed', { error: String(error) });
          return 0;
        })
        .finally(() => {
          this.#running = null;
          if (!this.#stopped) this.#schedule();
        });
    }, this.#o.intervalMs);
  }
}
