/**
 * Pull mode, for networks where only the executor can open connections: long-poll
 * `POST /api/v1/executors/{id}/poll` for deliveries, run them like pushed runs (logs still go to
 * each run's callback), and post their outcomes in batches to `/results`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PollReply, PollRequest, PollResults } from '@ecron/contracts';
import { apiRequest, type ApiConnection } from './api-request.ts';
import { EcronApiError } from './errors.ts';
import { describeError } from './log.ts';
import { HANDED_BACK_ERROR, type RunAnswer, type RunExecution, type RunOutcome } from './run-execution.ts';
import { parseRunRequest, type ExecutorTransport, type RunHost } from './transport.ts';

type PollResult = PollResults['results'][number];

/** Most deliveries asked for, and most results posted, in one request. */
const MAX_BATCH = 1000;
const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 10_000;
/** Result posts tried at close before the rest is given up (and logged). */
const CLOSE_RESULT_TRIES = 3;

export interface PullTransportOptions {
  connection: ApiConnection;
  id: string;
  /** Most deliveries in flight at once. */
  maxConcurrency: number;
  /** Longest wait of one poll, in ms. */
  waitMs: number;
  onPolled(reply: PollReply): void;
  onPollFailed(error: Error): void;
  onResultsPosted(results: PollResult[]): void;
}

export class PullTransport implements ExecutorTransport {
  readonly kind = 'pull' as const;
  readonly #host: RunHost;
  readonly #options: PullTransportOptions;
  /** delivery id → its run, until answered. */
  readonly #running = new Map<string, RunExecution>();
  #results: PollResult[] = [];
  #posting: Promise<void> | null = null;
  #loop: Promise<void> | null = null;
  readonly #stop = new AbortController();
  #closing = false;
  #wakeSlot: (() => void) | null = null;

  constructor(host: RunHost, options: PullTransportOptions) {
    this.#host = host;
    this.#options = options;
  }

  /** Delivery ids in flight. */
  get running(): string[] {
    return [...this.#running.keys()];
  }

  async start(): Promise<null> {
    this.#loop ??= this.#pollLoop();
    return null;
  }

  /** Stops polling now (a poll in progress is abandoned); runs in flight go on. */
  async quiesce(): Promise<void> {
    this.#stop.abort();
    this.#wakeSlot?.();
    await this.#loop;
  }

  /** Posts the results still queued (a few tries), after the runs were answered or handed back. */
  async close(): Promise<void> {
    await this.quiesce();
    this.#closing = true;
    while (this.#posting || this.#results.length > 0) await (this.#posting ?? this.#postResults());
  }

  async #pollLoop(): Promise<void> {
    const { connection, id, maxConcurrency, waitMs } = this.#options;
    let backoff = 0;
    while (!this.#stop.signal.aborted) {
      if (this.#running.size >= maxConcurrency) {
        await new Promise<void>((resolve) => { this.#wakeSlot = resolve; });
        this.#wakeSlot = null;
        continue;
      }
      const body: PollRequest = { max: Math.min(MAX_BATCH, maxConcurrency - this.#running.size), waitMs, running: this.running };
      try {
        const reply = await apiRequest<PollReply>(connection, {
          method: 'POST', path: `/api/v1/executors/${encodeURIComponent(id)}/poll`, body,
          signal: this.#stop.signal, timeoutMs: waitMs + 15_000,
        });
        backoff = 0;
        this.#take(reply ?? { deliveries: [], cancels: [] });
      } catch (error) {
        if (this.#stop.signal.aborted) break;
        backoff = backoff === 0 ? MIN_BACKOFF_MS : Math.min(backoff * 2, MAX_BACKOFF_MS);
        this.#host.log('warn', 'poll failed; polling again after a pause', { error: describeError(error), retryInMs: backoff });
        this.#options.onPollFailed(error as Error);
        await sleep(backoff, undefined, { signal: this.#stop.signal }).catch(() => {});
      }
    }
  }

  #take(reply: PollReply): void {
    for (const cancel of reply.cancels ?? []) this.#running.get(cancel.id)?.abort('cancelled');
    for (const delivery of reply.deliveries ?? []) {
      if (!this.#host.accepting) {
        this.#queue({ id: delivery.id, status: 'failed', error: HANDED_BACK_ERROR });
        continue;
      }
      const request = parseRunRequest(delivery.request);
      if (typeof request === 'string') {
        this.#queue({ id: delivery.id, status: 'failed', error: `invalid run request: ${request}` });
        continue;
      }
      const started = this.#host.startRun(request, { acceptDetached: false });
      if (started.kind === 'no-handler') this.#queue({ id: delivery.id, status: 'failed', error: started.message });
      else if (started.kind === 'recent') this.#queue(toResult(delivery.id, started.outcome));
      else {
        this.#running.set(delivery.id, started.execution);
        void started.execution.answer.then((answer) => {
          this.#running.delete(delivery.id);
          this.#wakeSlot?.();
          this.#queue(toResult(delivery.id, answer));
        });
      }
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
        const batch = this.#results.splice(0, MAX_BATCH);
        try {
          await apiRequest(connection, { method: 'POST', path: `/api/v1/executors/${encodeURIComponent(id)}/results`, body: { results: batch } satisfies PollResults });
          this.#options.onResultsPosted(batch);
          backoff = 0;
          failures = 0;
        } catch (error) {
          const fields = { error: describeError(error), results: batch.length };
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
          backoff = backoff === 0 ? MIN_BACKOFF_MS : Math.min(backoff * 2, MAX_BACKOFF_MS);
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

function toResult(id: string, answer: RunAnswer | RunOutcome): PollResult {
  switch (answer.status) {
    case 'succeeded':
      return { id, status: 'succeeded', output: answer.output };
    case 'failed':
      return { id, status: 'failed', error: answer.error };
    case 'handed-back':
    case 'accepted':
      return { id, status: 'failed', error: HANDED_BACK_ERROR };
  }
}
