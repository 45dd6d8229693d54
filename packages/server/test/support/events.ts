import type { EventEmitter } from 'node:events';
import type { SchedulerEvents } from '../../src/scheduler/scheduler.ts';

/** Resolves with the next scheduler event matching `predicate`; rejects after `timeoutMs`. */
export function nextEvent<E extends keyof SchedulerEvents>(
  events: EventEmitter<SchedulerEvents>,
  event: E,
  predicate: (...args: SchedulerEvents[E]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<SchedulerEvents[E][0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { events.off(event, listener as never); reject(new Error(`no ${String(event)} event`)); }, timeoutMs);
    const listener = (...args: SchedulerEvents[E]) => {
      if (!predicate(...args)) return;
      clearTimeout(timer);
      events.off(event, listener as never);
      resolve(args[0]);
    };
    events.on(event, listener as never);
  });
}
