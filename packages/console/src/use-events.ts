/**
 * React's side of the live updates (event-stream.ts): a page listens to the events of a filter
 * while it is shown, and fetches its data again when one that concerns it arrives (at most every
 * `throttleMs`) and when the stream opens or reopens. Its queries keep a slow safety refresh
 * ({@link useSafetyRefresh}), faster while the stream is not live, so a stream that drops never
 * leaves a page stale.
 */
import { useEffect, useRef, useSyncExternalStore } from 'react';
import { session } from './api.ts';
import { EventHub, eventsPath, throttle, type ConsoleEvent, type EventFilter, type StreamState, type Timers } from './event-stream.ts';

const timers: Timers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>) };

/** The console's shared connections. */
export const hub = new EventHub({ fetch: (url, init) => fetch(url, init), timers, now: () => Date.now(), token: () => session.token(), random: Math.random });

/** The safety refresh of a page whose stream is live, and of one whose stream is not. */
export const SAFETY_REFRESH_MS = 60_000;
export const OFFLINE_REFRESH_MS = 10_000;

/** The state of the open streams (null: none open). */
export function useStreamState(): StreamState | null {
  return useSyncExternalStore((changed) => hub.watch(changed), () => hub.state());
}

/** The `refetchInterval` of a page's queries: slow while its stream is live. */
export function useSafetyRefresh(): number {
  return useStreamState() === 'live' ? SAFETY_REFRESH_MS : OFFLINE_REFRESH_MS;
}

export interface LiveOptions {
  /** Only events for which this holds make the page refresh (default: every event of the filter). */
  relevant?: (event: ConsoleEvent) => boolean;
  /** Each batch of events, before the refresh (to patch data in place). */
  onEvents?: (events: ConsoleEvent[]) => void;
  /** At most one refresh per this many ms. @default 500 */
  throttleMs?: number;
}

/**
 * Listens to the events of `filter` (none while it is null) and calls `refresh` when relevant ones
 * arrive or the stream (re)opens, at most once every `throttleMs`.
 */
export function useLiveRefresh(filter: EventFilter | null, refresh: () => void, options: LiveOptions = {}): void {
  const latest = useRef({ refresh, options });
  latest.current = { refresh, options };
  const key = filter === null ? null : eventsPath(filter);
  const throttleMs = options.throttleMs ?? 500;
  useEffect(() => {
    if (filter === null) return undefined;
    const throttled = throttle(() => latest.current.refresh(), throttleMs, timers, Date.now);
    const unsubscribe = hub.subscribe(filter, {
      onEvents: (events) => {
        const { onEvents, relevant } = latest.current.options;
        onEvents?.(events);
        if (!relevant || events.some(relevant)) throttled.call();
      },
      onOpen: () => throttled.call(),
    });
    return () => {
      unsubscribe();
      throttled.flush();
    };
    // The filter is compared by its address, `key`.
  }, [key, throttleMs]);
}
