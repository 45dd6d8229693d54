/**
 * Collects single writes made during one turn of the event loop and flushes them as ONE batch
 * call (one store transaction), resolving each caller with its own result. While a flush is in
 * progress, new items wait for the next flush, so batches grow under load instead of queueing
 * transactions.
 */
export class WriteBatcher<I, O> {
  readonly #flush: (items: I[]) => Promise<O[]>;
  readonly #maxBatch: number;
  #pending: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  #scheduled = false;
  #running: Promise<void> | null = null;

  readonly #lingerMs: number;

  /**
   * @param lingerMs how long the first item of a batch waits for others (0: until the end of the
   *   current event-loop turn). A few milliseconds turn many small transactions into few larger
   *   ones where latency matters little, such as ending runs.
   */
  constructor(flush: (items: I[]) => Promise<O[]>, options: { maxBatch?: number; lingerMs?: number } = {}) {
    this.#flush = flush;
    this.#maxBatch = options.maxBatch ?? 5000;
    this.#lingerMs = options.lingerMs ?? 0;
  }

  push(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  /** Resolves once every item pushed so far has been flushed. */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#running || this.#scheduled) {
      if (this.#running) await this.#running;
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    const flush = () => {
      this.#scheduled = false;
      this.#running = this.#run().finally(() => {
        this.#running = null;
        if (this.#pending.length > 0) this.#schedule();
      });
    };
    if (this.#lingerMs > 0) setTimeout(flush, this.#lingerMs);
    else setImmediate(flush);
  }

  async #run(): Promise<void> {
    const batch = this.#pending.splice(0, this.#maxBatch);
    try {
      const results = await this.#flush(batch.map((b) => b.item));
      batch.forEach((b, i) => b.resolve(results[i] as O));
    } catch (error) {
      for (const b of batch) b.reject(error);
    }
  }
}
