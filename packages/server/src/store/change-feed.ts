/**
 * The in-process side of `Store.watchChanges`: listeners of this process, called on a later turn
 * of the event loop (after the publishing verb's commit), each batch at most once per listener.
 * SQLite uses it alone; the SQL stores feed it from LISTEN/NOTIFY or a poll of their change log.
 */
import type { ChangeSubscription, StoreChange } from './store.ts';

export class LocalChangeFeed {
  readonly #listeners = new Set<(changes: StoreChange[]) => void>();

  get size(): number {
    return this.#listeners.size;
  }

  subscribe(listener: (changes: StoreChange[]) => void): ChangeSubscription {
    this.#listeners.add(listener);
    return {
      close: () => {
        this.#listeners.delete(listener);
        return Promise.resolve();
      },
    };
  }

  publish(changes: StoreChange[]): void {
    if (changes.length === 0 || this.#listeners.size === 0) return;
    const listeners = [...this.#listeners];
    setImmediate(() => {
      for (const listener of listeners) listener(changes);
    });
  }
}
