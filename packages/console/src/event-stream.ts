/**
 * The console's live updates: the event log's Server-Sent Events stream (`GET /api/v1/events`,
 * docs/observability.md "Events"), read through fetch as the run log is (an EventSource cannot
 * send the bearer token; signed in with SSO, the browser sends the session cookie by itself).
 *
 * One connection per filter, shared by every page part that asks for the same one, and filtered
 * by the server: a run's page asks for that run's events only, not for the whole cluster's run
 * traffic. A page asks for one or two filters at a time (a run's page has its log stream too),
 * far below the six connections per origin a browser allows over HTTP/1.1. A connection that
 * drops opens again after a backoff with `Last-Event-ID` (the server then sends every event after
 * it once, in order), and closes a moment after its last subscriber leaves (so that a remount or
 * a quick return reuses it).
 *
 * Nothing here knows React or the browser (see use-events.ts): timers, fetch, the clock and the
 * token are injected, so the reconnection logic is tested without a browser or a sleep.
 */
import { createParser } from 'eventsource-parser';
import type { EventResource, RunResource } from '@ecron/contracts';

/** A stream that could not be opened: the API's status and code (0, NETWORK: no answer). */
export class StreamError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** An event of the log, with the run fields the console reads typed. */
export interface ConsoleEvent extends EventResource {
  status?: string;
  attempt?: number;
  progress?: number | null;
}

/** What a stream asks the server for (see the route's filters). */
export interface EventFilter {
  /** One namespace; null or absent: every namespace the caller sees. */
  namespace?: string | null;
  /** Exact types (`run.failed`) or prefixes (`run.*`). */
  types?: readonly string[];
  taskId?: string;
  runId?: string;
  workflowRunId?: string;
}

/** connecting: the first connection; live: connected; reconnecting: dropped, opening again; off: refused, given up. */
export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'off';

export interface StreamListener {
  /** Each batch of events as it arrives, in seq order, each event once. */
  onEvents?(events: ConsoleEvent[]): void;
  /**
   * The connection is open (again): events from now on will come. Data fetched before may have
   * missed what changed while it was being opened, so a page fetches it again.
   */
  onOpen?(): void;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface StreamDeps {
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  timers: Timers;
  now: () => number;
  /** The bearer token, read at each connection (none: the SSO session cookie). */
  token: () => string | null;
  /** In [0, 1): spreads the reconnections of many tabs. */
  random: () => number;
}

/** The wait before reconnection `n` (1, 2, …): 500 ms doubling up to 15 s, plus up to a fifth more. */
export function reconnectDelay(n: number, random: number): number {
  const base = Math.min(500 * 2 ** (n - 1), 15_000);
  return Math.round(base * (1 + random / 5));
}

/** A connection that lasted this long was a good one: the next drop starts the backoff over. */
export const STABLE_MS = 10_000;

/** How long a connection stays open after its last subscriber left. */
export const LINGER_MS = 2_000;

/** The stream's address for `filter`; equal filters give the same address (it keys the shared connections). */
export function eventsPath(filter: EventFilter): string {
  const params = new URLSearchParams();
  if (filter.namespace) params.set('namespace', filter.namespace);
  if (filter.types && filter.types.length > 0) params.set('type', [...filter.types].sort().join(','));
  if (filter.taskId) params.set('taskId', filter.taskId);
  if (filter.runId) params.set('runId', filter.runId);
  if (filter.workflowRunId) params.set('workflowRunId', filter.workflowRunId);
  const query = params.toString();
  return `/api/v1/events${query ? `?${query}` : ''}`;
}

/** Whether `type` is one of `patterns` (exact, or `prefix.*`). */
export function typeMatches(type: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.endsWith('.*') ? type.startsWith(p.slice(0, -1)) : type === p));
}

/**
 * One stream: connects at {@link start}, reconnects after a drop (after the last seq received),
 * until {@link close}. An answer that asking again cannot change (401, 403, 400…) turns it off.
 */
export class EventConnection {
  state: StreamState = 'connecting';
  /** The last seq received: the position a reconnection resumes after. */
  lastSeq = 0;
  private readonly controller = new AbortController();
  private failures = 0;

  private readonly path: string;
  private readonly deps: StreamDeps;
  private readonly listener: StreamListener & { onState?(state: StreamState): void };

  constructor(path: string, deps: StreamDeps, listener: StreamListener & { onState?(state: StreamState): void }) {
    this.path = path;
    this.deps = deps;
    this.listener = listener;
  }

  get closed(): boolean {
    return this.controller.signal.aborted;
  }

  /** Runs until closed or off; never rejects. */
  async start(): Promise<void> {
    const { signal } = this.controller;
    while (!signal.aborted) {
      let openedAt: number | null = null;
      let received = false;
      try {
        await this.readOnce(() => {
          openedAt = this.deps.now();
          this.setState('live');
          this.listener.onOpen?.();
        }, () => {
          received = true;
        });
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof StreamError && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429) {
          this.setState('off');
          return;
        }
      }
      if (signal.aborted) return;
      const stable = received || (openedAt !== null && this.deps.now() - openedAt >= STABLE_MS);
      this.failures = stable ? 1 : this.failures + 1;
      this.setState('reconnecting');
      await this.wait(reconnectDelay(this.failures, this.deps.random()));
    }
  }

  close(): void {
    this.controller.abort();
  }

  private setState(state: StreamState): void {
    if (this.state === state) return;
    this.state = state;
    this.listener.onState?.(state);
  }

  private wait(ms: number): Promise<void> {
    const { signal } = this.controller;
    return new Promise((resolve) => {
      const done = () => {
        this.deps.timers.clearTimeout(handle);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const handle = this.deps.timers.setTimeout(done, ms);
      signal.addEventListener('abort', done);
    });
  }

  /** One connection, until the stream ends; throws when it cannot be opened. */
  private async readOnce(onOpen: () => void, onReceived: () => void): Promise<void> {
    const { signal } = this.controller;
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    const token = this.deps.token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (this.lastSeq > 0) headers['last-event-id'] = String(this.lastSeq);
    let response: Response;
    try {
      response = await this.deps.fetch(this.path, { headers, signal, cache: 'no-store', credentials: 'same-origin' });
    } catch (error) {
      throw new StreamError(0, 'NETWORK', (error as Error).message);
    }
    if (!response.ok || !response.body) {
      const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
      throw new StreamError(response.status, body?.error?.code ?? `HTTP_${response.status}`, body?.error?.message ?? response.statusText);
    }
    onOpen();
    let batch: ConsoleEvent[] = [];
    const parser = createParser({
      onEvent: (message) => {
        let event: ConsoleEvent;
        try {
          event = JSON.parse(message.data) as ConsoleEvent;
        } catch {
          return;
        }
        const seq = typeof event.seq === 'number' ? event.seq : Number(message.id);
        if (!Number.isFinite(seq) || seq <= this.lastSeq) return;
        this.lastSeq = seq;
        batch.push(event);
      },
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        parser.feed(value);
        // One notification per chunk, not per event.
        if (batch.length > 0) {
          const events = batch;
          batch = [];
          onReceived();
          this.listener.onEvents?.(events);
        }
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
  }
}

interface Shared {
  connection: EventConnection;
  listeners: Set<StreamListener>;
  closeTimer: unknown;
}

/** The shared connections, by address, and the state they add up to (for the header's indicator). */
export class EventHub {
  private readonly shared = new Map<string, Shared>();
  private readonly watchers = new Set<() => void>();
  private current: StreamState | null = null;

  private readonly deps: StreamDeps;

  constructor(deps: StreamDeps) {
    this.deps = deps;
  }

  /** Listens to the events of `filter` until the returned function is called. */
  subscribe(filter: EventFilter, listener: StreamListener): () => void {
    const path = eventsPath(filter);
    let entry = this.shared.get(path);
    if (entry) {
      if (entry.closeTimer !== null) this.deps.timers.clearTimeout(entry.closeTimer);
      entry.closeTimer = null;
    } else {
      const listeners = new Set<StreamListener>();
      const connection = new EventConnection(path, this.deps, {
        onEvents: (events) => {
          for (const l of [...listeners]) l.onEvents?.(events);
        },
        onOpen: () => {
          for (const l of [...listeners]) l.onOpen?.();
        },
        onState: () => this.update(),
      });
      entry = { connection, listeners, closeTimer: null };
      this.shared.set(path, entry);
      void connection.start();
      this.update();
    }
    const own = entry;
    own.listeners.add(listener);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      own.listeners.delete(listener);
      if (own.listeners.size > 0) return;
      own.closeTimer = this.deps.timers.setTimeout(() => {
        own.connection.close();
        if (this.shared.get(path) === own) this.shared.delete(path);
        this.update();
      }, LINGER_MS);
    };
  }

  /** The open connections' state: the worst of them (off, reconnecting, connecting, live); null when none is open. */
  state(): StreamState | null {
    return this.current;
  }

  /** Calls `watcher` when {@link state} changes. */
  watch(watcher: () => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /** How many connections are open (for tests). */
  get size(): number {
    return this.shared.size;
  }

  private update(): void {
    const order: StreamState[] = ['off', 'reconnecting', 'connecting', 'live'];
    const states = [...this.shared.values()].map((s) => s.connection.state);
    const next = order.find((state) => states.includes(state)) ?? null;
    if (next === this.current) return;
    this.current = next;
    for (const watcher of [...this.watchers]) watcher();
  }
}

/**
 * Calls `fn` at most once every `ms`: at once when the last call is older, else once at the end
 * of the interval, however many calls came in between.
 */
export function throttle(fn: () => void, ms: number, timers: Timers, now: () => number): { call(): void; flush(): void } {
  let last = -Infinity;
  let pending: unknown = null;
  const run = () => {
    pending = null;
    last = now();
    fn();
  };
  return {
    call() {
      if (pending !== null) return;
      const wait = last + ms - now();
      if (wait <= 0) run();
      else pending = timers.setTimeout(run, wait);
    },
    /** Runs a pending call now (a page that stops listening still gets the change it was told of). */
    flush() {
      if (pending === null) return;
      timers.clearTimeout(pending);
      run();
    },
  };
}

/**
 * `run` with what its events say (status, attempt, progress, start and end), until the page has
 * fetched it again; events of other runs are left out.
 */
export function patchRun(run: RunResource, events: readonly ConsoleEvent[]): RunResource {
  let next = run;
  for (const event of events) {
    if (event.runId !== run.id || !event.type.startsWith('run.')) continue;
    next = { ...next };
    if (typeof event.status === 'string') next.status = event.status as RunResource['status'];
    if (typeof event.attempt === 'number') next.attempt = event.attempt;
    if (typeof event.progress === 'number' || event.progress === null) next.progress = event.progress;
    if (typeof event.startedAt === 'string') next.startedAt = event.startedAt;
    if (typeof event.finishedAt === 'string') next.finishedAt = event.finishedAt;
  }
  return next;
}
