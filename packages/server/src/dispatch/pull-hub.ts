/**
 * Pull mode: for executors the scheduler cannot reach, the scheduler hands each request to this
 * hub instead of sending it, and the executor takes it with a long poll
 * (`POST /api/v1/executors/{id}/poll`) and answers it with `POST /api/v1/executors/{id}/results`.
 * To the scheduler a pull delivery looks like an HTTP request whose reply comes late: `send`
 * resolves with the same {@link DispatchResult}.
 *
 * Deliveries live in the memory of the scheduler that sent them, so a pull executor polls every
 * scheduler node of a cluster (the SDK does). A delivery whose node leaves the registry before
 * answering resolves as unreachable (the attempt goes to another node).
 *
 * A delivery may be handed in before its instant (`notBefore`) when the node's stream takes runs
 * early ({@link PullHub.attach} with `timed`): such a stream receives it at once with how long to
 * wait (`startInMs`). A poll, or a stream that does not take runs early, never gets it before its
 * instant: it waits in the queue until then.
 */
import { randomBytes } from 'node:crypto';
import type { CancelRequest, PollReply, RunRequest } from '@ecron/contracts';
import type { StreamResult, StreamRun } from '@ecron/contracts/executor-stream';
import type { DispatchResult } from './http-dispatcher.ts';

type CancelReason = CancelRequest['reason'];

interface Delivery {
  id: string;
  nodeId: string;
  request: RunRequest;
  taken: boolean;
  /** Its instant (ms, the hub's clock): not taken before it, except by a stream that starts it then. */
  notBefore: number;
  /** Counted in #early: queued while its instant was ahead. */
  early: boolean;
  /** Called when a poll takes the delivery. */
  onTaken?: () => void;
  resolve: (result: DispatchResult) => void;
}

interface Waiter {
  wake: () => void;
  /** A stream that takes deliveries before their instant (and tells each one's start). */
  timed?: boolean;
}

/** What an executor answered for a delivery (a poll's results, or a stream's). */
export type DeliveryResult = StreamResult;

export class PullHub {
  /** Deliveries by id. */
  readonly #deliveries = new Map<string, Delivery>();
  /** Deliveries not yet taken, by node, oldest first. */
  readonly #queues = new Map<string, Delivery[]>();
  /** Cancels to tell each node at its next poll: delivery id → reason. */
  readonly #cancels = new Map<string, Map<string, CancelReason>>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  /** The server is closing: polls answer at once, so that open long polls do not hold its exit. */
  #closing = false;
  readonly #now: () => number;
  /** Queued deliveries whose instant is still ahead: while there are none, a take skips the check. */
  #early = 0;
  /** Wakes the nodes whose queued deliveries come due (for the takers that wait for their instant). */
  #dueTimer: NodeJS.Timeout | null = null;
  #dueAt = Infinity;
  /**
   * Delivery ids: a counter behind a random prefix drawn once per hub, so that a result meant for
   * a delivery of an earlier process (before a restart) matches no delivery of this one. Cheaper
   * than a UUID per delivery (a getRandomValues call each: ~3 % of the server's CPU in pull mode).
   */
  readonly #idPrefix = randomBytes(12).toString('base64url');
  #idSeq = 0;

  /** @param options.now the scheduler's clock (instants of deliveries handed in early are on it). */
  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Deliveries waiting to be taken (all nodes). */
  get queued(): number {
    let n = 0;
    for (const queue of this.#queues.values()) n += queue.length;
    return n;
  }

  /**
   * Hands `request` to node `nodeId`; resolves when the node answers, when `signal` aborts, or when
   * the node is gone. `onTaken` is called when a poll of the node takes it. `notBefore`: the
   * request's instant, when it is handed in before it (see {@link timed}).
   */
  send(nodeId: string, request: RunRequest, signal: AbortSignal, onTaken?: () => void, notBefore = 0): Promise<DispatchResult> {
    if (signal.aborted) return Promise.resolve({ kind: 'aborted' });
    return new Promise((resolve) => {
      const delivery: Delivery = {
        id: `${this.#idPrefix}.${(this.#idSeq++).toString(36)}`, nodeId, request, taken: false, notBefore, early: notBefore > this.#now(), ...(onTaken ? { onTaken } : {}), resolve: () => {},
      };
      const onAbort = (): void => {
        if (!this.#deliveries.has(delivery.id)) return;
        if (delivery.taken) this.#cancel(delivery, 'user');
        this.#forget(delivery);
        resolve({ kind: 'aborted' });
      };
      delivery.resolve = (result) => {
        signal.removeEventListener('abort', onAbort);
        this.#forget(delivery);
        resolve(result);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#deliveries.set(delivery.id, delivery);
      let queue = this.#queues.get(nodeId);
      if (!queue) this.#queues.set(nodeId, (queue = []));
      queue.push(delivery);
      if (delivery.early) this.#early += 1;
      this.#wake(nodeId);
    });
  }

  /** True when a stream of the node takes runs before their instant: only then may a delivery be handed in early. */
  timed(nodeId: string): boolean {
    for (const waiter of this.#waiters.get(nodeId) ?? []) if (waiter.timed) return true;
    return false;
  }

  /** Tells the node running `runId`'s attempt to stop it (cancel or deadline); the send still resolves as aborted by its signal. */
  cancelRun(runId: string, attempt: number, reason: CancelReason): void {
    for (const delivery of this.#deliveries.values()) {
      if (delivery.taken && delivery.request.runId === runId && delivery.request.attempt === attempt) this.#cancel(delivery, reason);
    }
  }

  /**
   * A node's long poll: up to `max` deliveries, and the cancels of deliveries it says it runs.
   * Waits up to `waitMs` (or until `signal` aborts, e.g. the poller went away) when there is nothing.
   */
  async poll(nodeId: string, p: { max: number; waitMs: number; running: string[] }, signal: AbortSignal): Promise<PollReply> {
    let reply = this.take(nodeId, p.max, p.running);
    if (reply.deliveries.length > 0 || reply.cancels.length > 0 || p.waitMs === 0 || this.#closing) return reply;
    await new Promise<void>((resolve) => {
      const waiters = this.#waiters.get(nodeId) ?? new Set<Waiter>();
      this.#waiters.set(nodeId, waiters);
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        waiters.delete(waiter);
        if (waiters.size === 0) this.#waiters.delete(nodeId);
        resolve();
      };
      const waiter: Waiter = { wake: done };
      const timer = setTimeout(done, p.waitMs);
      signal.addEventListener('abort', done, { once: true });
      waiters.add(waiter);
    });
    if (signal.aborted) return { deliveries: [], cancels: [] };
    reply = this.take(nodeId, p.max, p.running);
    return reply;
  }

  /**
   * Calls `wake` whenever a delivery or a cancel for the node arrives, until the returned function
   * is called (a stream, which takes them itself with {@link take}). `timed`: the stream takes
   * deliveries before their instant, told when to start each.
   */
  attach(nodeId: string, wake: () => void, timed = false): () => void {
    const waiters = this.#waiters.get(nodeId) ?? new Set<Waiter>();
    this.#waiters.set(nodeId, waiters);
    const waiter: Waiter = { wake, ...(timed ? { timed } : {}) };
    waiters.add(waiter);
    return () => {
      waiters.delete(waiter);
      if (waiters.size === 0 && this.#waiters.get(nodeId) === waiters) this.#waiters.delete(nodeId);
    };
  }

  /** Deliveries waiting to be taken by the node (some may be ahead of their instant). */
  pending(nodeId: string): number {
    return this.#queues.get(nodeId)?.length ?? 0;
  }

  /**
   * Deliveries the node took that will not be answered (the stream they went out on closed): they
   * resolve as unreachable, and the attempt is sent again (to the node when it is back, or to another).
   */
  lost(nodeId: string, ids: Iterable<string>, error: string): void {
    for (const id of ids) {
      const delivery = this.#deliveries.get(id);
      if (delivery?.nodeId === nodeId && delivery.taken) delivery.resolve({ kind: 'failed', error, unreachable: true });
    }
  }

  /**
   * The HTTP server is closing (after the scheduler's drain): every waiting poll answers now with
   * what there is, and later polls do not wait.
   */
  close(): void {
    this.#closing = true;
    if (this.#dueTimer) clearTimeout(this.#dueTimer);
    for (const waiters of [...this.#waiters.values()]) for (const waiter of [...waiters]) waiter.wake();
  }

  /** A node's answers. Unknown ids (answered already, aborted, another node's) are ignored; returns how many were taken. */
  results(nodeId: string, results: readonly DeliveryResult[]): number {
    let taken = 0;
    for (const result of results) {
      const delivery = this.#deliveries.get(result.id);
      if (!delivery || delivery.nodeId !== nodeId) continue;
      taken += 1;
      const span = result.traceparent ? { traceparent: result.traceparent } : {};
      delivery.resolve(result.status === 'succeeded' ? { kind: 'succeeded', output: result.output ?? null, ...span }
        : result.status === 'handed_back' ? { kind: 'handed_back', error: result.error ?? 'handed back' }
          : { kind: 'failed', error: result.error ?? 'failed', output: result.output, ...span });
    }
    return taken;
  }

  /** The node left the registry: its deliveries will not be answered. */
  nodeGone(nodeId: string): void {
    for (const delivery of [...this.#deliveries.values()]) {
      if (delivery.nodeId === nodeId) delivery.resolve({ kind: 'failed', error: `pull executor ${nodeId} is gone`, unreachable: true });
    }
    this.#cancels.delete(nodeId);
  }

  /**
   * Takes up to `max` of the node's deliveries, and the cancels of those among `running`. A taker
   * that is not `timed` gets only deliveries whose instant has come; a `timed` one gets each with
   * its `startInMs` (0 when due).
   */
  take(nodeId: string, max: number, running: Iterable<string>, timed = false): PollReply & { deliveries: StreamRun[] } {
    const queue = this.#queues.get(nodeId) ?? [];
    const now = this.#now();
    let batch: Delivery[];
    if (this.#early === 0 || timed) {
      batch = queue.splice(0, max);
    } else {
      batch = [];
      let kept = 0;
      for (const delivery of queue) {
        if (batch.length < max && delivery.notBefore <= now) batch.push(delivery);
        else queue[kept++] = delivery;
      }
      queue.length = kept;
      this.#armDue(queue, now);
    }
    if (queue.length === 0) this.#queues.delete(nodeId);
    const deliveries: StreamRun[] = [];
    for (const delivery of batch) {
      delivery.taken = true;
      this.#unqueued(delivery);
      delivery.onTaken?.();
      const startInMs = delivery.notBefore - now;
      deliveries.push(startInMs > 0 ? { id: delivery.id, request: delivery.request, startInMs } : { id: delivery.id, request: delivery.request });
    }
    const pending = this.#cancels.get(nodeId);
    const cancels: PollReply['cancels'] = [];
    if (pending) {
      for (const id of running) {
        const reason = pending.get(id);
        if (reason) cancels.push({ id, reason });
      }
      // A cancel is told once for a delivery the node runs, and forgotten for one it no longer runs.
      this.#cancels.delete(nodeId);
    }
    return { deliveries, cancels };
  }

  #unqueued(delivery: Delivery): void {
    if (!delivery.early) return;
    delivery.early = false;
    this.#early -= 1;
  }

  /** Wakes the node when the earliest of its deliveries still ahead of their instant comes due. */
  #armDue(queue: readonly Delivery[], now: number): void {
    let at = Infinity;
    for (const delivery of queue) if (delivery.notBefore > now && delivery.notBefore < at) at = delivery.notBefore;
    if (at === Infinity || at >= this.#dueAt) return;
    if (this.#dueTimer) clearTimeout(this.#dueTimer);
    this.#dueAt = at;
    this.#dueTimer = setTimeout(() => {
      this.#dueTimer = null;
      this.#dueAt = Infinity;
      for (const nodeId of [...this.#queues.keys()]) this.#wake(nodeId);
    }, at - now);
    this.#dueTimer.unref?.();
  }

  #cancel(delivery: Delivery, reason: CancelReason): void {
    let pending = this.#cancels.get(delivery.nodeId);
    if (!pending) this.#cancels.set(delivery.nodeId, (pending = new Map()));
    pending.set(delivery.id, reason);
    this.#wake(delivery.nodeId);
  }

  #forget(delivery: Delivery): void {
    this.#deliveries.delete(delivery.id);
    const queue = this.#queues.get(delivery.nodeId);
    if (!queue || delivery.taken) return;
    this.#unqueued(delivery);
    const index = queue.indexOf(delivery);
    if (index >= 0) queue.splice(index, 1);
    if (queue.length === 0) this.#queues.delete(delivery.nodeId);
  }

  #wake(nodeId: string): void {
    const waiters = this.#waiters.get(nodeId);
    if (!waiters) return;
    for (const waiter of [...waiters]) waiter.wake();
  }
}
