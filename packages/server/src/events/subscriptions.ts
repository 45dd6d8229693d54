/**
 * Delivers event subscriptions (issue 18): every node runs it, and each active subscription is
 * delivered by one node at a time, the holder of its lease (`store/event-subscriptions.ts`).
 *
 * - **Claims.** Every `claimEveryMs` the node claims subscriptions (its own renewed, free or
 *   expired ones taken, by the store's clock) and starts a worker for each it holds; a worker whose
 *   subscription it no longer holds (paused, deleted, lease lost) is stopped.
 * - **A worker** follows the log after the subscription's cursor with the subscription's filter
 *   ({@link EventLog.follow}: from memory when the position is recent, from the store otherwise),
 *   sends the events to the sink in seq order in batches of up to `batchSize`, and moves the
 *   cursor by compare-and-set once `deliver` resolved. A worker that lost its lease writes nothing.
 * - **Failures.** A batch that fails is sent again, the same batch, after an exponential backoff
 *   with jitter (`backoff`): the subscription keeps its order and never skips ahead. After
 *   `maxTries` failed tries of one batch its first event goes to the dead letters, in the
 *   transaction that moves the cursor past it, and delivery goes on with the rest.
 *
 * Delivery is at least once: a batch delivered by a node that stops, crashes or loses its lease
 * before it recorded the delivery is sent again by the next holder, from the stored cursor. A
 * receiver deduplicates by the message id (`<subscription id>:<seq>`).
 */
import { EventEmitter } from 'node:events';
import { retryDelay } from '../core/backoff.ts';
import { systemClock, systemRandom, waitOn, type Clock, type Random, type TimerHandle } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import type { EventSubscriptionRecord } from '../store/event-subscriptions.ts';
import type { EventFilter, EventRecord, Store } from '../store/store.ts';
import type { EventLog } from './event-log.ts';
import { toEventResource } from './event-resource.ts';
import type { EventMessage, EventSink } from './sinks/sink.ts';

export interface SubscriptionDeliveryOptions {
  store: Store;
  /** The log this node follows (started by its owner). */
  events: EventLog;
  /** This node's id: the owner of the leases it takes. */
  nodeId: string;
  /** The sink of a subscription (`sinks/create-sink.ts`); made when its worker first delivers, closed when it stops. */
  createSink: (subscription: EventSubscriptionRecord) => EventSink;
  /** Times the backoff and the claim loop. @default systemClock */
  clock?: Clock;
  /** Jitter of the backoff. @default Math.random */
  random?: Random;
  /** How long a claim holds a subscription without renewal: how soon another node takes over from a node that died. @default 15000 */
  leaseTtlMs?: number;
  /** How often leases are claimed and renewed: how soon a pause, a resume or a new subscription is seen. @default 1000 */
  claimEveryMs?: number;
  /** Events per delivery, at most. @default 100 */
  batchSize?: number;
  /** Failed tries of one batch before its first event goes to the dead letters. @default 10 */
  maxTries?: number;
  /** Delay before the n-th retry: initialMs × 2^(n−1), at most maxMs, shortened by up to half at random. @default 1 s to 5 min */
  backoff?: { initialMs: number; maxMs: number };
  /** Subscriptions one node delivers at most. @default 1000 */
  maxSubscriptions?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

/** What a worker reports (tests and logs wait on these). */
export interface SubscriptionDeliveryEvents {
  delivered: [{ subscriptionId: string; first: number; last: number; count: number }];
  failed: [{ subscriptionId: string; error: string; tries: number; retryInMs: number }];
  'dead-lettered': [{ subscriptionId: string; seq: number; error: string }];
  /** A worker ended: `released` (paused, deleted, lease lost, node stopping) or `error` (the store failed; the next claim starts it again). */
  stopped: [{ subscriptionId: string; reason: 'released' | 'error' }];
}

interface Worker {
  subscription: EventSubscriptionRecord;
  abort: AbortController;
  done: Promise<void>;
}

/** Which events `subscription` receives: its filter, within its namespace scope. */
export function subscriptionEventFilter(subscription: EventSubscriptionRecord): EventFilter {
  const { namespace, filter } = subscription;
  const narrowed = namespace === '*' && filter.namespaces !== undefined && filter.namespaces.length > 0;
  return {
    namespaces: namespace === '*' ? (narrowed ? filter.namespaces! : null) : [namespace],
    // Cluster events belong to no namespace: only a subscription over all of them, not narrowed, gets them.
    clusterEvents: namespace === '*' && !narrowed,
    ...(filter.types && filter.types.length > 0 ? { types: filter.types } : {}),
    ...(filter.taskId !== undefined ? { taskId: filter.taskId } : {}),
  };
}

export function toEventMessage(subscriptionId: string, event: EventRecord): EventMessage {
  return { seq: event.seq, id: `${subscriptionId}:${event.seq}`, type: event.type, body: JSON.stringify(toEventResource(event)) };
}

export class SubscriptionDelivery {
  readonly events = new EventEmitter<SubscriptionDeliveryEvents>();
  readonly #o: Required<Omit<SubscriptionDeliveryOptions, 'backoff'>> & { backoff: { initialMs: number; maxMs: number } };
  readonly #workers = new Map<string, Worker>();
  #timer: TimerHandle | null = null;
  #pass: Promise<void> | null = null;
  #running = false;
  #claimFailing = false;

  constructor(options: SubscriptionDeliveryOptions) {
    this.#o = {
      clock: systemClock, random: systemRandom, leaseTtlMs: 15_000, claimEveryMs: 1000, batchSize: 100, maxTries: 10,
      backoff: { initialMs: 1000, maxMs: 300_000 }, maxSubscriptions: 1000, log: () => {}, ...options,
    };
  }

  /** The ids of the subscriptions this node is delivering now. */
  get delivering(): string[] {
    return [...this.#workers.keys()];
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    await this.refresh();
  }

  /** Claims now (after a subscription was created, paused, resumed or deleted through this node). */
  async refresh(): Promise<void> {
    if (!this.#running) return;
    while (this.#pass) await this.#pass;
    if (this.#timer) this.#o.clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#pass = this.#claim().finally(() => {
      this.#pass = null;
      if (this.#running) this.#timer = this.#o.clock.setTimer(() => void this.refresh(), this.#o.claimEveryMs);
    });
    await this.#pass;
  }

  /** Stops every worker (a delivery under way is abandoned: the next holder sends it again) and releases the leases. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer) this.#o.clock.clearTimer(this.#timer);
    this.#timer = null;
    await this.#pass;
    const workers = [...this.#workers.values()];
    for (const worker of workers) worker.abort.abort();
    await Promise.all(workers.map((worker) => worker.done));
    await this.#o.store.releaseSubscriptions({ nodeId: this.#o.nodeId }).catch((error: unknown) => {
      this.#o.log('warn', 'releasing the event subscriptions failed: other nodes take them over once their leases expire', { error: String(error) });
    });
  }

  async #claim(): Promise<void> {
    let held: EventSubscriptionRecord[];
    try {
      held = await this.#o.store.claimSubscriptions({ nodeId: this.#o.nodeId, ttlMs: this.#o.leaseTtlMs, limit: this.#o.maxSubscriptions });
      if (this.#claimFailing) this.#o.log('info', 'event subscriptions are claimed again');
      this.#claimFailing = false;
    } catch (error) {
      if (!this.#claimFailing) this.#o.log('warn', 'claiming event subscriptions failed; retrying', { error: String(error) });
      this.#claimFailing = true;
      return;
    }
    if (!this.#running) return;
    const ids = new Set(held.map((s) => s.id));
    for (const [id, worker] of this.#workers) if (!ids.has(id)) worker.abort.abort();
    for (const subscription of held) if (!this.#workers.has(subscription.id)) this.#startWorker(subscription);
  }

  #startWorker(subscription: EventSubscriptionRecord): void {
    const abort = new AbortController();
    const worker: Worker = { subscription, abort, done: Promise.resolve() };
    worker.done = this.#deliverAll(subscription, abort.signal)
      .then(() => {
        this.events.emit('stopped', { subscriptionId: subscription.id, reason: 'released' });
      })
      .catch((error: unknown) => {
        this.#o.log('warn', 'an event subscription\'s delivery stopped; the next claim starts it again', { subscriptionId: subscription.id, error: String(error) });
        this.events.emit('stopped', { subscriptionId: subscription.id, reason: 'error' });
      })
      .finally(() => {
        abort.abort();
        if (this.#workers.get(subscription.id) === worker) this.#workers.delete(subscription.id);
      });
    this.#workers.set(subscription.id, worker);
  }

  /** Delivers until `signal` aborts or the subscription is no longer this node's to deliver. */
  async #deliverAll(subscription: EventSubscriptionRecord, signal: AbortSignal): Promise<void> {
    const state: DeliveryState = { subscription, sink: null, cursor: subscription.cursor, failures: subscription.failures };
    try {
      for await (const page of this.#o.events.follow({ after: subscription.cursor, filter: subscriptionEventFilter(subscription), signal })) {
        for (let i = 0; i < page.length; i += this.#o.batchSize) {
          if (!(await this.#deliverBatch(state, page.slice(i, i + this.#o.batchSize), signal))) return;
        }
      }
    } catch (error) {
      if (!(error instanceof EcronError && error.code === 'EVENTS_EXPIRED')) throw error;
      await this.#expired(state, error);
    } finally {
      await state.sink?.close().catch(() => {});
    }
  }

  /**
   * Delivers `batch` whole: sent until the sink acknowledges it, its first event dead-lettered
   * after `maxTries` failed tries (then the rest goes on). False when the worker must stop.
   */
  async #deliverBatch(state: DeliveryState, batch: EventRecord[], signal: AbortSignal): Promise<boolean> {
    const { subscription } = state;
    let pending = batch;
    let tries = 0;
    while (pending.length > 0) {
      if (signal.aborted) return false;
      const error = await this.#send(state, pending, signal);
      if (error === null) {
        if (!(await this.#advance(state, { cursor: pending.at(-1)!.seq }))) return false;
        this.events.emit('delivered', { subscriptionId: subscription.id, first: pending[0]!.seq, last: pending.at(-1)!.seq, count: pending.length });
        return true;
      }
      if (signal.aborted) return false;
      tries++;
      state.failures++;
      const failure = { error, failures: state.failures };
      if (tries >= this.#o.maxTries) {
        const first = pending[0]!;
        const deadLetter = { subscriptionId: subscription.id, seq: first.seq, event: toEventResource(first), error, attempts: tries, at: this.#o.clock.now() };
        if (!(await this.#advance(state, { cursor: first.seq, failure, deadLetter }))) return false;
        this.#o.log('warn', 'an event went to the dead letters of its subscription', { subscriptionId: subscription.id, seq: first.seq, error });
        this.events.emit('dead-lettered', { subscriptionId: subscription.id, seq: first.seq, error });
        pending = pending.slice(1);
        tries = 0;
        continue;
      }
      if (!(await this.#advance(state, { cursor: state.cursor, failure }))) return false;
      const retryInMs = retryDelay({ type: 'exponential', ...this.#o.backoff, multiplier: 2, jitter: 0.5 }, tries, this.#o.random);
      this.events.emit('failed', { subscriptionId: subscription.id, error, tries, retryInMs });
      if (!(await waitOn(this.#o.clock, retryInMs, signal))) return false;
    }
    return true;
  }

  /**
   * Retention deleted events the subscription had not delivered (it was paused, or kept failing,
   * for longer than the log keeps events). They cannot be sent and are not skipped in silence: the
   * subscription is paused with the error as its last error. To go on, delete it and create it
   * again from a position the log still holds.
   */
  async #expired(state: DeliveryState, error: EcronError): Promise<void> {
    const message = `${error.code}: ${error.message}`;
    if (!(await this.#advance(state, { cursor: state.cursor, failure: { error: message, failures: state.failures + 1 } }))) return;
    await this.#o.store.setSubscriptionState({
      id: state.subscription.id, state: 'paused', at: this.#o.clock.now(),
      audit: { actor: 'system', action: 'event-subscription.pause', details: { reason: error.code, ...(error.details as object) } },
    });
    this.#o.log('error', 'an event subscription was paused: retention deleted events it had not delivered', { subscriptionId: state.subscription.id, error: message });
  }

  /** Sends `events` once; null when the sink acknowledged them, else why not. */
  async #send(state: DeliveryState, events: EventRecord[], signal: AbortSignal): Promise<string | null> {
    try {
      state.sink ??= this.#o.createSink(state.subscription);
      await untilAborted(state.sink.deliver(events.map((event) => toEventMessage(state.subscription.id, event))), signal);
      return null;
    } catch (error) {
      return (error instanceof Error ? error.message : String(error)).slice(0, 2000);
    }
  }

  /** Records progress (compare-and-set on the lease); false when the worker must stop (not the holder any more, or paused). */
  async #advance(state: DeliveryState, p: { cursor: number; failure?: { error: string; failures: number }; deadLetter?: Parameters<Store['advanceSubscription']>[0]['deadLetter'] }): Promise<boolean> {
    const stored = await this.#o.store.advanceSubscription({ id: state.subscription.id, nodeId: this.#o.nodeId, at: this.#o.clock.now(), ...p });
    if (stored === null || stored.state !== 'active') return false;
    state.cursor = stored.cursor;
    if (!p.failure) state.failures = 0;
    return true;
  }
}

interface DeliveryState {
  subscription: EventSubscriptionRecord;
  sink: EventSink | null;
  cursor: number;
  /** Failed tries since the last success. */
  failures: number;
}

/** Resolves as `work` does, or rejects once `signal` aborts (the work is abandoned, not awaited). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('stopped'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('stopped'));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
