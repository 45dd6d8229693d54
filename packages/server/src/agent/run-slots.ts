/**
 * A limit on the commands an agent runs at once. A run over the limit waits, in arrival order, for
 * a slot; its abort signal (cancel, deadline, shutdown) ends the wait.
 */
export class RunSlots {
  readonly #limit: number;
  #used = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`a slot limit is a whole number from 1, not ${limit}`);
    this.#limit = limit;
  }

  /** Runs holding a slot now. */
  get used(): number {
    return this.#used;
  }

  /** Runs waiting for a slot now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Waits for a slot; resolves with its release (call it once). Rejects if `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(new Error('aborted while waiting for a free slot'));
    if (this.#used < this.#limit) {
      this.#used += 1;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        this.#used += 1;
        resolve(this.#releaser());
      };
      const onAbort = (): void => {
        const at = this.#waiting.indexOf(grant);
        if (at !== -1) this.#waiting.splice(at, 1);
        reject(new Error(`aborted while waiting for a free slot (all ${this.#limit} in use)`));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(grant);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#used -= 1;
      this.#waiting.shift()?.();
    };
  }
}
