/**
 * One pull loop against one API node: long-polls `POST {base}/api/v1/executors/{id}/poll`, starts
 * the deliveries it gets, and posts their outcomes to the same node's `/results` (deliveries live
 * in the memory of the scheduler node that made them).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PollReply, PollRequest, PollResults } from '@ecron/contracts';
import { apiRequest, type ApiConnection } from './api-request.ts';
import { EcronApiError } from './errors.ts';
import { describeError } from './log.ts';
import { startDelivery } from './delivery.ts';
import { nextBackoff } from './per-node-transport.ts';
import { HANDED_BACK_ERROR, type RunExecution } from './run-execution.ts';
import type { SlotBudget } from './slot-budget.ts';
import type { RunHost } from './transport.ts';

export type PollResult = PollResults['results'][number];

/** Most deliveries asked for in one poll. */
const MAX_PER_POLL = 1000;
/** Most results posted in one request. */
const MAX_RESULTS_PER_POST = 1000;
/** Result posts tried at close before the rest is given up (and logged). */
const CLOSE_RESULT_TRIES = 3;

export interface PollLoopOptions {
  /** The API node polled (its base URL), with the executor's token. */
  connection: ApiConnection;
  id: string;
  waitMs: number;
  /** The concurrency budget shared by the loops of one executor; a poll holds its reservation until it answers. */
  slots: SlotBudget;
  onPolled(reply: PollReply): void;
  onPollFailed(error: Error): void;
  onResultsPosted(results: PollResult[]): void;
}

export class PollLoop {
  readonly #host: RunHost;
  readonly #options: PollLoopOptions;
  /** delivery id → its run, until answered. */
  readonly #running = new Map<string, RunExecution>();
  #results: PollResult[] = [];
  #posting: Promise<void> | null = null;
  readonly #stop = new AbortController();
  #loop: Promise<void> | null = null;
  #closing = false;

  constructor(host: RunHost, options: PollLoopOptions) {
    this.#host = host;
    this.#options = options;
  }

  get base(): string {
    return this.#options.connection.server;
  }

  /** Deliveries in flight. */
  get running(): number {
    return this.#running.size;
  }

  start(): void {
    this.#loop ??= this.#pollLoop();
  }

  /** Stops polling now (a poll in progress is abandoned); runs in flight go on. */
  async quiesce(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  /** Posts the results still queued (a few tries). */
  async close(): Promise<void> {
    await this.quiesce();
    this.#closing = true;
    while (this.#posting || this.#results.length > 0) await (this.#posting ?? this.#postResults());
  }

  async #pollLoop(): Promise<void> {
    const { connection, id, waitMs, slots } = this.#options;
    const signal = this.#stop.signal;
    let backoff = 0;
    while (!signal.aborted) {
      const max = await slots.reserve(signal, { most: MAX_PER_POLL });
      if (max === 0 || signal.aborted) {
        slots.release(max);
        break;
      }
      const body: PollRequest = { max, waitMs, running: [...this.#running.keys()] };
      try {
        const reply = await apiRequest<PollReply>(connection, {
          method: 'POST', path: `/api/v1/executors/${encodeURIComponent(id)}/poll`, body, signal, timeoutMs: waitMs + 15_000,
        });
        backoff = 0;
        const deliveries = reply?.deliveries ?? [];
        slots.release(Math.max(0, max - deliveries.length));
        this.#take(reply ?? { deliveries: [], cancels: [] });
      } catch (error) {
        slots.release(max);
        if (signal.aborted) break;
        backoff = nextBackoff(backoff);
        this.#host.log('warn', 'poll failed; polling again after a pause', { node: connection.server, error: describeError(error), retryInMs: backoff });
        this.#options.onPollFailed(error as Error);
        await sleep(backoff, undefined, { signal }).catch(() => {});
      }
    }
  }

  #take(reply: PollReply): void {
    for (const cancel of reply.cancels ?? []) this.#running.get(cancel.id)?.abort('cancelled');
    for (const delivery of reply.deliveries ?? []) {
      const execution = startDelivery(this.#host, delivery.id, delivery.request, (result) => {
        this.#running.delete(delivery.id);
        this.#options.slots.release(1);
        // Pull results predate `handed_back`: a handed-back run fails with a fixed error.
        this.#queue(result.status === 'handed_back' ? { id: result.id, status: 'failed', error: HANDED_BACK_ERROR } : result as PollResult);
      });
      if (execution) this.#running.set(delivery.id, execution);
    }
    this.#options.onPolled(reply);
  }

  #queue(result: PollResult): void {
    this.#results.push(result);
    if (!this.#posting) void this.#postResults();
  }

  /** Posts queued results in batches, one post at a time; failures are retried with backoff. */
  #postResults(): Promise<void> {
    this.#posting ??= (async () => {
      const { connection, id } = this.#options;
      let backoff = 0;
      let failures = 0;
      while (this.#results.length > 0) {
        const batch = this.#results.splice(0, MAX_RESULTS_PER_POST);
        try {
          await apiRequest(connection, { method: 'POST', path: `/api/v1/executors/${encodeURIComponent(id)}/results`, body: { results: batch } satisfies PollResults });
          this.#options.onResultsPosted(batch);
          backoff = 0;
          failures = 0;
        } catch (error) {
          const fields = { node: connection.server, error: describeError(error), results: batch.length };
          if (error instanceof EcronApiError && !error.retryable) {
            this.#host.log('error', 'the server refused a batch of results; they are dropped', { ...fields, code: error.code });
            continue;
          }
          this.#results.unshift(...batch);
          if (this.#closing && ++failures >= CLOSE_RESULT_TRIES) {
            this.#host.log('error', 'results could not be posted before the executor stopped; they are lost', { ...fields, results: this.#results.length });
            this.#results = [];
            break;
          }
          backoff = nextBackoff(backoff);
          this.#host.log('warn', 'posting results failed; trying again after a pause', { ...fields, retryInMs: backoff });
          await sleep(this.#closing ? Math.min(backoff, 1000) : backoff);
        }
      }
    })().finally(() => {
      this.#posting = null;
      if (this.#results.length > 0 && !this.#closing) void this.#postResults();
    });
    return this.#posting;
  }
}
