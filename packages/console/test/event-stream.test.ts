/**
 * The console's event-stream client (src/event-stream.ts) without a browser: a fake fetch whose
 * answers the test writes, and timers the test fires by hand (no sleeps).
 */
import { describe, expect, it } from 'vitest';
import type { RunResource } from '../src/api.ts';
import {
  EventConnection, EventHub, eventsPath, LINGER_MS, patchRun, reconnectDelay, throttle, typeMatches, type ConsoleEvent, type StreamDeps, type StreamState,
} from '../src/event-stream.ts';

/** Lets the promises that are ready run (the stream's reads and writes), without waiting for time. */
const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

interface Call {
  url: string;
  headers: Record<string, string>;
  signal: AbortSignal;
  /** Writes a chunk of the event stream. */
  write(text: string): void;
  /** Ends the stream (the server closed it). */
  end(): void;
}

/** A fake world: fetch answers what `answers` says (a stream by default), timers fire on `fire()`. */
function world(options: { token?: string | null } = {}) {
  const calls: Call[] = [];
  const answers: (() => Response | Promise<Response>)[] = [];
  const timers = new Map<number, { fn: () => void; ms: number }>();
  let nextTimer = 1;
  let clock = 1_000_000;
  const deps: StreamDeps = {
    fetch: async (url, init) => {
      const encoder = new TextEncoder();
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({ start: (c) => { controller = c; } });
      const signal = init.signal!;
      signal.addEventListener('abort', () => {
        try {
          controller.error(new DOMException('aborted', 'AbortError'));
        } catch { /* closed already */ }
      });
      calls.push({
        url, headers: init.headers as Record<string, string>, signal,
        write: (text) => controller.enqueue(encoder.encode(text)),
        end: () => controller.close(),
      });
      const answer = answers.shift();
      if (answer) return answer();
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    },
    timers: {
      setTimeout: (fn, ms) => {
        const id = nextTimer++;
        timers.set(id, { fn, ms });
        return id;
      },
      clearTimeout: (id) => void timers.delete(id as number),
    },
    now: () => clock,
    token: () => (options.token === undefined ? 'ecr_test_token' : options.token),
    random: () => 0,
  };
  return {
    deps, calls, answers, timers,
    advance: (ms: number) => { clock += ms; },
    /** The delays of the timers set now. */
    pending: () => [...timers.values()].map((t) => t.ms),
    /** Fires every timer set now. */
    fire: () => {
      const due = [...timers.entries()];
      timers.clear();
      for (const [, t] of due) t.fn();
    },
  };
}

const sse = (event: Partial<ConsoleEvent> & { seq: number }) => `id: ${event.seq}\ndata: ${JSON.stringify({ type: 'run.started', at: '2026-01-01T00:00:00.000Z', namespace: 'default', ...event })}\n\n`;

function connect(w: ReturnType<typeof world>, path = '/api/v1/events?type=run.*') {
  const events: ConsoleEvent[] = [];
  const states: StreamState[] = [];
  let opens = 0;
  const connection = new EventConnection(path, w.deps, {
    onEvents: (batch) => events.push(...batch),
    onOpen: () => { opens += 1; },
    onState: (state) => states.push(state),
  });
  const done = connection.start();
  return { connection, events, states, opens: () => opens, done };
}

describe('the event stream connection', () => {
  it('connects with the token, passes events on in order once, and resumes after the last one with Last-Event-ID', async () => {
    const w = world();
    const c = connect(w);
    await settle();
    expect(w.calls).toHaveLength(1);
    expect(w.calls[0]!.url).toBe('/api/v1/events?type=run.*');
    expect(w.calls[0]!.headers).toEqual({ accept: 'text/event-stream', authorization: 'Bearer ecr_test_token' });
    expect(c.connection.state).toBe('live');
    expect(c.opens()).toBe(1);

    w.calls[0]!.write(sse({ seq: 5, runId: 'r1' }) + sse({ seq: 6, runId: 'r1' }).slice(0, 10));
    await settle();
    expect(c.events.map((e) => e.seq)).toEqual([5]);
    w.calls[0]!.write(sse({ seq: 6, runId: 'r1' }).slice(10) + ': keep-alive\n\n');
    await settle();
    expect(c.events.map((e) => e.seq)).toEqual([5, 6]);

    // The server closes the stream: one reconnection, after 500 ms, from seq 6.
    w.calls[0]!.end();
    await settle();
    expect(c.connection.state).toBe('reconnecting');
    expect(w.pending()).toEqual([500]);
    w.fire();
    await settle();
    expect(w.calls).toHaveLength(2);
    expect(w.calls[1]!.headers['last-event-id']).toBe('6');
    expect(c.connection.state).toBe('live');
    expect(c.opens()).toBe(2);
    // An event sent again (a server that resumed too early) is not passed on twice.
    w.calls[1]!.write(sse({ seq: 6 }) + sse({ seq: 7 }));
    await settle();
    expect(c.events.map((e) => e.seq)).toEqual([5, 6, 7]);
    expect(c.states).toEqual(['live', 'reconnecting', 'live']);

    c.connection.close();
    await c.done;
    expect(w.calls[1]!.signal.aborted).toBe(true);
    expect(w.pending()).toEqual([]);
  });

  it('backs off, doubling up to 15 s, while it cannot connect; a connection that brought events starts the backoff over', async () => {
    const w = world();
    for (let i = 0; i < 7; i++) w.answers.push(() => Promise.reject(new TypeError('Failed to fetch')));
    w.answers.push(() => new Response(JSON.stringify({ error: { code: 'UNAVAILABLE', message: 'draining' } }), { status: 503 }));
    const c = connect(w);
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      await settle();
      delays.push(...w.pending());
      w.fire();
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
    expect(c.connection.state).toBe('reconnecting');
    expect(c.opens()).toBe(0);

    // Connected at last: an event, then a drop: the next wait is the first again.
    await settle();
    expect(c.connection.state).toBe('live');
    w.calls.at(-1)!.write(sse({ seq: 1 }));
    await settle();
    w.calls.at(-1)!.end();
    await settle();
    expect(w.pending()).toEqual([500]);

    // A connection that opens and drops at once, with no event, does not: 1000 ms next.
    w.fire();
    await settle();
    w.calls.at(-1)!.end();
    await settle();
    expect(w.pending()).toEqual([1000]);
    // One that stayed open long enough does.
    w.fire();
    await settle();
    w.advance(10_000);
    w.calls.at(-1)!.end();
    await settle();
    expect(w.pending()).toEqual([500]);
    c.connection.close();
    await c.done;
    expect(w.pending()).toEqual([]);
  });

  it('stops, off, on an answer that asking again cannot change (401, 403)', async () => {
    for (const status of [401, 403, 400]) {
      const w = world({ token: null });
      w.answers.push(() => new Response(JSON.stringify({ error: { code: 'UNAUTHENTICATED', message: 'no' } }), { status }));
      const c = connect(w);
      await c.done;
      expect(c.connection.state).toBe('off');
      expect(w.calls).toHaveLength(1);
      // Signed in with SSO: no authorization header, the cookie goes by itself.
      expect(w.calls[0]!.headers.authorization).toBeUndefined();
      expect(w.pending()).toEqual([]);
    }
  });

  it('is closed while it waits to reconnect, and connects no more', async () => {
    const w = world();
    w.answers.push(() => Promise.reject(new TypeError('Failed to fetch')));
    const c = connect(w);
    await settle();
    expect(w.pending()).toEqual([500]);
    c.connection.close();
    await c.done;
    expect(w.pending()).toEqual([]);
    expect(w.calls).toHaveLength(1);
  });

  it('spreads the waits of many clients by up to a fifth', () => {
    expect(reconnectDelay(1, 0)).toBe(500);
    expect(reconnectDelay(1, 0.99)).toBe(599);
    expect(reconnectDelay(10, 0.5)).toBe(16_500);
  });
});

describe('the shared connections', () => {
  it('opens one connection per filter, shares it, closes it a moment after its last subscriber left, and adds up the states', async () => {
    const w = world();
    const hub = new EventHub(w.deps);
    const states: (StreamState | null)[] = [];
    hub.watch(() => states.push(hub.state()));
    const seen: [string, number][] = [];
    const a = hub.subscribe({ types: ['run.*'], namespace: 'etl' }, { onEvents: (events) => seen.push(...events.map((e) => ['a', e.seq] as [string, number])) });
    const b = hub.subscribe({ namespace: 'etl', types: ['run.*'] }, { onEvents: (events) => seen.push(...events.map((e) => ['b', e.seq] as [string, number])) });
    const c = hub.subscribe({ runId: 'r1' }, {});
    await settle();
    expect(w.calls.map((call) => call.url)).toEqual(['/api/v1/events?namespace=etl&type=run.*', '/api/v1/events?runId=r1']);
    expect(hub.size).toBe(2);
    expect(hub.state()).toBe('live');
    w.calls[0]!.write(sse({ seq: 3 }));
    await settle();
    expect(seen).toEqual([['a', 3], ['b', 3]]);

    // One drops: the whole reads reconnecting until it is back.
    w.calls[1]!.end();
    await settle();
    expect(hub.state()).toBe('reconnecting');
    w.fire();
    await settle();
    expect(hub.state()).toBe('live');

    a();
    a();
    b();
    expect(w.pending()).toEqual([LINGER_MS]);
    // Back within the moment (a remount): the same connection.
    const again = hub.subscribe({ types: ['run.*'], namespace: 'etl' }, {});
    expect(w.pending()).toEqual([]);
    again();
    c();
    w.fire();
    await settle();
    expect(hub.size).toBe(0);
    expect(hub.state()).toBeNull();
    expect(w.calls.every((call) => call.signal.aborted)).toBe(true);
    expect(w.calls).toHaveLength(3);
    expect(states).toEqual(['connecting', 'live', 'reconnecting', 'live', null]);
  });

  it('keys a filter by what it asks, in any order', () => {
    expect(eventsPath({})).toBe('/api/v1/events');
    expect(eventsPath({ namespace: null, types: ['task.*', 'run.*'], taskId: 't 1' })).toBe('/api/v1/events?type=run.*%2Ctask.*&taskId=t+1');
    expect(typeMatches('run.failed', ['run.*'])).toBe(true);
    expect(typeMatches('runner.x', ['run.*'])).toBe(false);
    expect(typeMatches('run.failed', ['run.failed'])).toBe(true);
  });
});

describe('throttle', () => {
  it('calls at once, then at most once per interval, and flushes a pending call', () => {
    const w = world();
    let calls = 0;
    const t = throttle(() => { calls += 1; }, 500, w.deps.timers, w.deps.now);
    t.call();
    expect(calls).toBe(1);
    w.advance(100);
    t.call();
    t.call();
    expect(calls).toBe(1);
    expect(w.pending()).toEqual([400]);
    w.advance(400);
    w.fire();
    expect(calls).toBe(2);
    w.advance(100);
    t.call();
    t.flush();
    expect(calls).toBe(3);
    expect(w.pending()).toEqual([]);
    t.flush();
    expect(calls).toBe(3);
  });
});

describe('patchRun', () => {
  it('applies the events of the run, in order, and leaves the others out', () => {
    const run = { id: 'r1', status: 'dispatched', attempt: 1, progress: null, startedAt: null, finishedAt: null } as unknown as RunResource;
    const patched = patchRun(run, [
      { seq: 1, type: 'run.started', at: '', namespace: 'd', runId: 'r1', status: 'running', attempt: 1, startedAt: '2026-01-01T00:00:00.000Z' },
      { seq: 2, type: 'run.progress', at: '', namespace: 'd', runId: 'r1', status: 'running', progress: 40 },
      { seq: 3, type: 'run.failed', at: '', namespace: 'd', runId: 'r2', status: 'failed' },
      { seq: 4, type: 'workflow.node.failed', at: '', namespace: 'd', runId: 'r1', status: 'failed' },
    ]);
    expect(patched).toMatchObject({ status: 'running', attempt: 1, progress: 40, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: null });
    expect(run.status).toBe('dispatched');
    expect(patchRun(run, [])).toBe(run);
  });
});
