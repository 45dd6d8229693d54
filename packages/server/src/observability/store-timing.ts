/**
 * A Store that reports how long each of its verbs took (`storeOperation`, named by the verb),
 * wrapping any implementation generically: a Proxy whose methods time the promise the verb
 * returns. Verbs that answer synchronously, and properties, pass through untouched. The methods
 * run on the store itself (its private fields work), and each wrapper is made once per verb.
 */
import type { Store } from '../store/store.ts';
import type { Instrumentation } from './instrumentation.ts';

export function timeStore(store: Store, instrumentation: Instrumentation, now: () => number = () => performance.now()): Store {
  const report = instrumentation.storeOperation;
  if (!report) return store;
  const wrappers = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      let wrapper = wrappers.get(property);
      if (!wrapper) {
        const method = value as (...args: unknown[]) => unknown;
        wrapper = (...args: unknown[]) => {
          const started = now();
          const result = method.apply(target, args);
          if (typeof (result as PromiseLike<unknown> | null)?.then !== 'function') return result;
          const startedAt = Date.now();
          const done = (ok: boolean) => report.call(instrumentation, { operation: property, startedAt, durationMs: now() - started, ok });
          return Promise.resolve(result).then((answer: unknown) => {
            done(true);
            return answer;
          }, (error: unknown) => {
            done(false);
            throw error;
          });
        };
        wrappers.set(property, wrapper);
      }
      return wrapper;
    },
  });
}
