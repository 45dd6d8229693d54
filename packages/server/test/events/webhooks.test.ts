/**
 * Event subscriptions delivered to a webhook (issue 18), end to end: the real API over a real
 * SQLite store, the event log, the deliverer (`events/subscriptions.ts`) and the webhook sink,
 * against an HTTP receiver run here that verifies every signature and fails a seeded quarter of
 * the requests (some after it kept their events, as a receiver that crashes before answering).
 *
 * - every event of the subscription's namespace and types arrives exactly once after dedup by id,
 *   in seq order, none missing and none of another namespace, across a pause and resume and a
 *   restart of the deliverer (a new one on the same store takes over from the stored cursor);
 * - a receiver that always fails: each event goes to the dead letters after its tries, and a
 *   replay delivers them (a failed replay keeps them);
 * - the outbound policy: a webhook to a denied address is refused at create, and a policy that
 *   denies it later stops its deliveries.
 *
 * Nothing sleeps: the test waits on the receiver's requests and the deliverer's events.
 */
import { once } from 'node:events';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER } from '@ecron/contracts';
import { verifySignature } from '@ecron/contracts/signature';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { systemClock } from '../../src/core/clock.ts';
import { OutboundPolicy } from '../../src/dispatch/outbound-policy.ts';
import { EventLog } from '../../src/events/event-log.ts';
import { createSink } from '../../src/events/sinks/create-sink.ts';
import { DELIVERY_HEADER, SEQ_RANGE_HEADER, SUBSCRIPTION_HEADER } from '../../src/events/sinks/webhook.ts';
import { SubscriptionDelivery, subscriptionEventFilter, type SubscriptionDeliveryEvents, type SubscriptionDeliveryOptions } from '../../src/events/subscriptions.ts';
import { seedTask } from '../../src/store/conformance/fixtures.ts';
import { ApiHarness } from '../api/api-harness.ts';

type Json = Record<string, any>;

/** A small seeded generator (mulberry32): the same failures at every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A webhook receiver: verifies each request's signature, fails some, and keeps what it accepted. */
class Receiver {
  readonly requests = new EventEmitter<{ request: [] }>();
  /** Every event received in a request it kept (accepted, or kept and then failed), in arrival order, duplicates included. */
  readonly arrivals: Json[] = [];
  readonly problems: string[] = [];
  requestCount = 0;
  /** Requests answered 5xx on purpose. */
  failedCount = 0;
  /** `ok`: 200; `fail`: 500 to everything; `flaky`: a seeded 12 % answered 500 (events dropped), 13 % 503 after the events were kept. */
  mode: 'flaky' | 'ok' | 'fail' = 'ok';
  secret = '';
  url = '';
  #server: Server | null = null;
  readonly #random = seeded(18);

  async start(): Promise<this> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
    return this;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }

  /** Distinct events by id, in the order each first arrived. */
  get distinct(): Json[] {
    const seen = new Map<string, Json>();
    for (const event of this.arrivals) if (!seen.has(event.id)) seen.set(event.id, event);
    return [...seen.values()];
  }

  /** Resolves once `done()` holds (checked now and after each request); rejects after `timeoutMs`. */
  until(what: string, done: () => boolean, timeoutMs = 20_000): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.requests.off('request', check);
        reject(new Error(`${what}: not in time (${this.distinct.length} distinct events, ${this.requestCount} requests; ${this.problems.join('; ')})`));
      }, timeoutMs);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.requests.off('request', check);
        resolve();
      };
      this.requests.on('request', check);
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    this.requestCount++;
    const check = verifySignature(this.secret, body, req.headers[SIGNATURE_HEADER] as string | undefined, Date.now());
    let status = 200;
    if (!check.ok) {
      this.problems.push(`bad signature: ${check.code}`);
      status = 401;
    } else {
      const parsed = JSON.parse(body) as { subscriptionId: string; events: Json[] };
      const seqs = parsed.events.map((e) => e.seq);
      if (req.headers[SEQ_RANGE_HEADER] !== `${seqs[0]}-${seqs.at(-1)}`) this.problems.push(`seq range header ${String(req.headers[SEQ_RANGE_HEADER])} for ${seqs.join(',')}`);
      if (req.headers[DELIVERY_HEADER] !== `${parsed.subscriptionId}:${seqs[0]}-${seqs.at(-1)}`) this.problems.push('delivery header');
      if (req.headers[SUBSCRIPTION_HEADER] !== parsed.subscriptionId) this.problems.push('subscription header');
      for (const event of parsed.events) if (event.id !== `${parsed.subscriptionId}:${event.seq}`) this.problems.push(`event id ${event.id}`);
      if (seqs.some((seq, i) => i > 0 && seq <= seqs[i - 1]!)) this.problems.push(`a batch out of order: ${seqs.join(',')}`);
      const r = this.mode === 'flaky' ? this.#random() : 1;
      if (this.mode === 'fail' || r < 0.12) status = 500;
      else if (r < 0.25) status = 503;
      // A 503 here is a receiver that handled the events and failed before it answered: they come again.
      if (status === 200 || status === 503) this.arrivals.push(...parsed.events);
      if (status !== 200) this.failedCount++;
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    this.requests.emit('request');
  }
}

let h: ApiHarness;
let receiver: Receiver;
let events: EventLog;
const deliverers: SubscriptionDelivery[] = [];
const allowAll = new OutboundPolicy();

function deliverer(nodeId: string, options: Partial<SubscriptionDeliveryOptions> = {}): SubscriptionDelivery {
  const delivery = new SubscriptionDelivery({
    store: h.store, events, nodeId, clock: systemClock, random: seeded(7), claimEveryMs: 25, leaseTtlMs: 5000, batchSize: 5,
    maxTries: 30, backoff: { initialMs: 2, maxMs: 20 },
    createSink: (subscription) => createSink(subscription, { outbound: allowAll, clock: systemClock }), ...options,
  });
  deliverers.push(delivery);
  return delivery;
}

/** The next `event` of `delivery` that `match` accepts. */
function next<E extends keyof SubscriptionDeliveryEvents>(delivery: SubscriptionDelivery, event: E, match: (...args: SubscriptionDeliveryEvents[E]) => boolean = () => true): Promise<SubscriptionDeliveryEvents[E][0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event`)), 20_000);
    const listener = (...args: SubscriptionDeliveryEvents[E]) => {
      if (!match(...args)) return;
      clearTimeout(timer);
      delivery.events.off(event, listener as never);
      resolve(args[0]);
    };
    delivery.events.on(event, listener as never);
  });
}

/** Resolves once the stored cursor of `id` reaches `seq` (checked now and after each delivery). */
async function cursorAt(delivery: SubscriptionDelivery, id: string, seq: number): Promise<void> {
  const reached = async () => ((await h.store.getSubscription(id))?.cursor ?? 0) >= seq;
  if (await reached()) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the cursor did not reach ${seq}`)), 20_000);
    const check = () => void reached().then((done) => {
      if (!done) return;
      clearTimeout(timer);
      delivery.events.off('delivered', check);
      resolve();
    });
    delivery.events.on('delivered', check);
    void check();
  });
}

/** The app with the subscriptions' sinks signing on the system clock, and `onChange` calling every deliverer. */
async function rebuildApp(outbound: OutboundPolicy = allowAll): Promise<void> {
  await h.app.close();
  h.app = await buildApp({
    store: h.store, control: h.scheduler, clock: h.clock, version: '0.0.0-test', events,
    subscriptions: { sinks: { outbound, clock: systemClock }, onChange: async () => { await Promise.all(deliverers.map((d) => d.refresh())); } },
  });
}

async function subscribe(body: Json): Promise<{ subscription: Json; secret: string }> {
  const res = await h.call('POST', '/api/v1/event-subscriptions', { body: { type: 'webhook', namespace: 'team-a', config: { url: receiver.url }, ...body } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

/** Writes `n` task.created events in `namespace`. */
async function write(namespace: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await seedTask(h.store, { namespace });
}

beforeEach(async () => {
  h = await new ApiHarness().start();
  events = new EventLog({ store: h.store, pollMs: 5 });
  await events.start();
  receiver = await new Receiver().start();
  await rebuildApp();
});

afterEach(async () => {
  for (const d of deliverers.splice(0)) await d.stop();
  await events.stop();
  await receiver.close();
  await h.close();
});

describe('webhook subscriptions', () => {
  it('deliver every event of the namespace once after dedup, in seq order, across a pause, a resume and a restart of the deliverer', async () => {
    receiver.mode = 'flaky';
    const { subscription, secret } = await subscribe({ name: 'audit-feed', filter: { types: ['task.*'] } });
    receiver.secret = secret;
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(subscription.config.secret, 'the secret is shown once, in `secret`').toBe('***');
    const read = async (): Promise<Json> => (await h.call('GET', `/api/v1/event-subscriptions/${subscription.id}`)).json();
    expect((await read()).config.secret).toBe('***');

    const first = deliverer('node-a');
    await first.start();
    await write('team-a', 30);
    await write('team-b', 10);
    const filter = subscriptionEventFilter({ namespace: 'team-a', filter: { types: ['task.*'] } } as never);
    expect(filter).toEqual({ namespaces: ['team-a'], clusterEvents: false, types: ['task.*'] });
    const expected = () => h.store.readEvents({ after: subscription.cursor, limit: 10_000, filter });
    let want = await expected();
    expect(want.length).toBe(30);
    await receiver.until('the first 30 events', () => receiver.distinct.length >= 30);
    await cursorAt(first, subscription.id, want.at(-1)!.seq);

    // Paused: the worker stops, nothing is delivered, and the cursor stays.
    const stopped = next(first, 'stopped', (e) => e.subscriptionId === subscription.id);
    const paused = await h.call('POST', `/api/v1/event-subscriptions/${subscription.id}/pause`);
    expect(paused.json()).toMatchObject({ state: 'paused' });
    await stopped;
    const requestsWhenPaused = receiver.requestCount;
    await write('team-a', 20);
    await first.refresh();
    expect(first.delivering).toEqual([]);
    expect(receiver.requestCount, 'nothing is sent while paused').toBe(requestsWhenPaused);
    const pausedView = await read();
    expect(pausedView).toMatchObject({ state: 'paused', cursor: want.at(-1)!.seq });
    expect(pausedView.lag).toBeGreaterThanOrEqual(20);

    // Resumed: delivery goes on after the cursor.
    expect((await h.call('POST', `/api/v1/event-subscriptions/${subscription.id}/resume`)).json()).toMatchObject({ state: 'active', failures: 0 });
    await receiver.until('the 20 written while paused', () => receiver.distinct.length >= 50);

    // A restart: stop the deliverer while it delivers, and a new one on the same store goes on from the stored cursor.
    await write('team-a', 40);
    await receiver.until('part of the last 40', () => receiver.distinct.length >= 55);
    await first.stop();
    const second = deliverer('node-b');
    await second.start();
    want = await expected();
    expect(want.length).toBe(90);
    await receiver.until('all 90 events', () => receiver.distinct.length >= 90);
    await cursorAt(second, subscription.id, want.at(-1)!.seq);

    expect(receiver.problems).toEqual([]);
    const got = receiver.distinct;
    expect(got.map((e) => e.seq), 'every event once, in seq order, none of another namespace').toEqual(want.map((e) => e.seq));
    for (const event of got) expect(event).toMatchObject({ type: 'task.created', namespace: 'team-a', id: `${subscription.id}:${event.seq}` });
    expect(receiver.failedCount, 'the receiver failed some requests, which were sent again').toBeGreaterThan(0);
    const final = await read();
    expect(final).toMatchObject({ state: 'active', cursor: want.at(-1)!.seq, owner: 'node-b' });
  });

  it('dead-letters each event of a receiver that always fails, and replays them once it answers', async () => {
    receiver.mode = 'fail';
    const { subscription, secret } = await subscribe({ name: 'failing', filter: { types: ['task.created'] } });
    receiver.secret = secret;
    const delivery = deliverer('node-a', { maxTries: 3, batchSize: 10 });
    await delivery.start();
    const lettered: number[] = [];
    delivery.events.on('dead-lettered', (e) => lettered.push(e.seq));
    const three = new Promise<void>((resolve) => delivery.events.on('dead-lettered', () => { if (lettered.length === 3) resolve(); }));
    await write('team-a', 3);
    await three;
    const want = (await h.store.readEvents({ after: subscription.cursor, limit: 100, filter: { namespaces: ['team-a'] } })).map((e) => e.seq);
    expect(lettered).toEqual(want);
    expect(receiver.requestCount, 'three tries of the batch of 3, of 2, of 1').toBe(9);
    expect(receiver.arrivals).toEqual([]);

    const view = (await h.call('GET', `/api/v1/event-subscriptions/${subscription.id}`)).json();
    expect(view).toMatchObject({ cursor: want.at(-1), lag: 0 });
    expect(view.lastError).toContain('HTTP 500');
    const letters = (await h.call('GET', `/api/v1/event-subscriptions/${subscription.id}/dead-letters`)).json().items;
    expect(letters.map((l: Json) => [l.seq, l.attempts, l.event.type, l.event.seq])).toEqual(want.map((seq) => [seq, 3, 'task.created', seq]));
    expect(letters[0].error).toContain('HTTP 500');

    // A replay that fails keeps them.
    const failed = (await h.call('POST', `/api/v1/event-subscriptions/${subscription.id}/dead-letters/replay`, { body: {} })).json();
    expect(failed).toMatchObject({ replayed: 0, remaining: 3 });
    expect(failed.error).toContain('HTTP 500');

    receiver.mode = 'ok';
    const replay = await h.call('POST', `/api/v1/event-subscriptions/${subscription.id}/dead-letters/replay`, { body: {} });
    expect(replay.json()).toEqual({ replayed: 3, remaining: 0, error: null });
    expect(receiver.distinct.map((e) => e.seq)).toEqual(want);
    expect((await h.call('GET', `/api/v1/event-subscriptions/${subscription.id}/dead-letters`)).json().items).toEqual([]);
    // Live delivery goes on after them.
    await write('team-a', 1);
    await receiver.until('the next event', () => receiver.distinct.length === 4);
    expect(receiver.problems).toEqual([]);
  });

  it('pauses a subscription that retention overtook, with EVENTS_EXPIRED as its last error, and skips nothing in silence', async () => {
    const { subscription, secret } = await subscribe({ name: 'overtaken', state: 'paused' });
    receiver.secret = secret;
    await write('team-a', 5);
    // While it was paused, retention deleted the first 3 events after its cursor.
    const pending = await h.store.readEvents({ after: subscription.cursor, limit: 100 });
    expect(pending).toHaveLength(5);
    const old = await h.store.readEvents({ after: 0, limit: 10_000 });
    expect(await h.store.deleteEvents({ before: Date.now() + 60_000, limit: old.length - 2 })).toBe(old.length - 2);

    const delivery = deliverer('node-a');
    await delivery.start();
    const stopped = next(delivery, 'stopped', (e) => e.subscriptionId === subscription.id);
    expect((await h.call('POST', `/api/v1/event-subscriptions/${subscription.id}/resume`)).statusCode).toBe(200);
    await stopped;
    const after = (await h.call('GET', `/api/v1/event-subscriptions/${subscription.id}`)).json();
    expect(after).toMatchObject({ state: 'paused', cursor: subscription.cursor });
    expect(after.lastError).toMatch(/^EVENTS_EXPIRED: events after seq \d+ were deleted by retention/);
    expect(receiver.requestCount).toBe(0);
  });

  it('refuses a webhook to an address the outbound policy denies, and stops delivering when the policy denies it later', async () => {
    const denying = new OutboundPolicy({ deny: ['127.0.0.0/8'] });
    await rebuildApp(denying);
    const refused = await h.call('POST', '/api/v1/event-subscriptions', { body: { namespace: 'team-a', name: 'local', type: 'webhook', config: { url: receiver.url } } });
    expect(refused.statusCode, refused.body).toBe(422);
    expect(refused.json().error.code).toBe('OUTBOUND_DENIED');
    expect((await h.call('GET', '/api/v1/event-subscriptions')).json().items).toEqual([]);

    await rebuildApp(allowAll);
    const { subscription, secret } = await subscribe({ name: 'later-denied' });
    receiver.secret = secret;
    const delivery = deliverer('node-a', { createSink: (s) => createSink(s, { outbound: denying, clock: systemClock }), maxTries: 1000 });
    await delivery.start();
    const failed = next(delivery, 'failed', (e) => e.subscriptionId === subscription.id);
    await write('team-a', 1);
    expect((await failed).error).toMatch(/OUTBOUND_DENIED.*127\.0\.0\.1/);
    expect(receiver.requestCount).toBe(0);
    const view = (await h.call('GET', `/api/v1/event-subscriptions/${subscription.id}`)).json();
    expect(view.lastError).toContain('OUTBOUND_DENIED');
    expect(view.failures).toBeGreaterThanOrEqual(1);
  });

  it('holds brokers to the outbound policy too: refused at create, and not delivered to once the policy denies them', async () => {
    const denying = new OutboundPolicy({ deny: ['127.0.0.0/8'] });
    await rebuildApp(denying);
    const refused = await h.call('POST', '/api/v1/event-subscriptions', {
      body: { namespace: 'team-a', name: 'local-nats', type: 'nats', config: { url: 'nats://127.0.0.1:4222', subject: 'ecron.test.{type}' } },
    });
    expect(refused.statusCode, refused.body).toBe(422);
    expect(refused.json().error.code).toBe('OUTBOUND_DENIED');

    await rebuildApp(allowAll);
    const created = await h.call('POST', '/api/v1/event-subscriptions', {
      body: { namespace: 'team-a', name: 'later-denied-redis', type: 'redis', config: { url: 'redis://127.0.0.1:6379', stream: `ecron-test-denied-${Date.now()}` } },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().subscription.id as string;
    const delivery = deliverer('node-a', { createSink: (s) => createSink(s, { outbound: denying, clock: systemClock }), maxTries: 1000 });
    await delivery.start();
    const failed = next(delivery, 'failed', (e) => e.subscriptionId === id);
    await write('team-a', 1);
    expect((await failed).error).toMatch(/OUTBOUND_DENIED.*127\.0\.0\.1/);
    expect((await h.call('GET', `/api/v1/event-subscriptions/${id}`)).json().lastError).toContain('OUTBOUND_DENIED');
  });

  it('gives each subscription to one deliverer of two running at once, and masks what a viewer reads', async () => {
    const subs: Json[] = [];
    for (const name of ['one', 'two', 'three', 'four']) subs.push((await subscribe({ name, config: { url: receiver.url, headers: { authorization: 'Bearer x' } } })).subscription);
    const sub = subs[0]!;
    const [a, b] = [deliverer('node-a', { maxSubscriptions: 2 }), deliverer('node-b', { maxSubscriptions: 2 })];
    await Promise.all([a.start(), b.start()]);
    await Promise.all([a.refresh(), b.refresh()]);
    expect([...a.delivering, ...b.delivering].sort()).toEqual(subs.map((s) => s.id).sort());
    expect(a.delivering.filter((id) => b.delivering.includes(id))).toEqual([]);
    expect([a.delivering.length, b.delivering.length]).toEqual([2, 2]);

    const viewer = await h.token('viewer', ['team-a'], 'sub-viewer');
    const seen = (await h.call('GET', `/api/v1/event-subscriptions/${sub.id}`, { token: viewer.secret })).json();
    expect(seen.config).toEqual({ url: receiver.url, secret: '***', headers: { authorization: '***' }, timeoutMs: 10_000 });
    const editor = await h.token('editor', ['team-a'], 'sub-editor');
    expect((await h.call('GET', `/api/v1/event-subscriptions/${sub.id}`, { token: editor.secret })).json().config.headers).toEqual({ authorization: 'Bearer x' });
    const outsider = await h.token('editor', ['team-b'], 'sub-outsider');
    expect((await h.call('GET', `/api/v1/event-subscriptions/${sub.id}`, { token: outsider.secret })).json().error.code).toBe('SUBSCRIPTION_NOT_FOUND');
    expect((await h.call('GET', '/api/v1/event-subscriptions', { token: outsider.secret })).json().items).toEqual([]);
    const everywhere = await h.call('POST', '/api/v1/event-subscriptions', { token: editor.secret, body: { namespace: '*', name: 'all', type: 'webhook', config: { url: receiver.url } } });
    expect(everywhere.json().error.code).toBe('FORBIDDEN');
    const taken = await h.call('POST', '/api/v1/event-subscriptions', { body: { namespace: 'team-a', name: 'one', type: 'webhook', config: { url: receiver.url } } });
    expect(taken.json().error.code).toBe('SUBSCRIPTION_NAME_TAKEN');
    const badConfig = await h.call('POST', '/api/v1/event-subscriptions', { body: { namespace: 'team-a', name: 'bad', type: 'webhook', config: { url: 'ftp://x', extra: 1 } } });
    expect(badConfig.statusCode).toBe(400);
    expect(badConfig.json().error.details.issues.map((i: Json) => [i.path, i.code])).toEqual(expect.arrayContaining([['config.extra', 'UNKNOWN_FIELD']]));

    // Deleted: its deliverer stops.
    const holder = a.delivering.includes(sub.id) ? a : b;
    const stopped = next(holder, 'stopped', (e) => e.subscriptionId === sub.id);
    expect((await h.call('DELETE', `/api/v1/event-subscriptions/${sub.id}`)).statusCode).toBe(204);
    await stopped;
    expect(holder.delivering).not.toContain(sub.id);
  });
});
