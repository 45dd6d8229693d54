/**
 * The executor's concurrency budget (`maxConcurrency`), shared by its holders: the poll loops of
 * pull mode, or the stream connections, one per API node. A slot is reserved before the server
 * may send a run into it (a poll's `max`, a stream's credit) and released when the run ends or the
 * reservation lapses, so the runs in flight never exceed the budget. Each holder gets a fair share:
 * the budget divided by the number of holders (at least one slot).
 */
export interface ReserveOptions {
  /** Most slots to reserve at once. @default unlimited */
  most?: number;
  /** Slots the caller holds already (counted against its share). @default none */
  held?: () => number;
}

export class SlotBudget {
  readonly #max: number;
  #used = 0;
  #holders = 1;
  #closed = false;
  #waiters: (() => void)[] = [];

  constructor(max: number) {
    this.#max = max;
  }

  /** The number of holders the budget is shared by; a change wakes waiting reservations. */
  set holders(count: number) {
    this.#holders = Math.max(1, count);
    this.#wake();
  }

  /** One holder's fair share. */
  get share(): number {
    return Math.max(1, Math.floor(this.#max / this.#holders));
  }

  /** Slots reserved or occupied now. */
  get used(): number {
    return this.#used;
  }

  /**
   * Waits until free slots are within the caller's share and reserves as many as it may; 0 when
   * `signal` aborts or the budget closed.
   */
  async reserve(signal: AbortSignal, options: ReserveOptions = {}): Promise<number> {
    for (;;) {
      if (signal.aborted || this.#closed) return 0;
      const count = Math.min(this.#max - this.#used, this.share - (options.held?.() ?? 0), options.most ?? Infinity);
      if (count > 0) {
        this.#used += count;
        return count;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.#waiters.push(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** Gives back `count` reserved or occupied slots. */
  release(count: number): void {
    if (count <= 0) return;
    this.#used = Math.max(0, this.#used - count);
    this.#wake();
  }

  /** No reservation succeeds from now on (shutdown); waiting ones resolve 0. */
  close(): void {
    this.#closed = true;
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}
