/**
 * Pull mode, for networks where only the executor can open connections. Deliveries live in the
 * memory of the scheduler node that made them, so the executor polls every live node of the
 * cluster: it reads `GET /api/v1/nodes` at start and every few seconds, and runs one
 * {@link PollLoop} per node address (just the configured server when there is one node, or when
 * the list cannot be read). The loops share one concurrency budget.
 */
import type { NodeList, PollReply } from '@ecron/contracts';
import { apiRequest, type ApiConnection } from './api-request.ts';
import { describeError } from './log.ts';
import { PollLoop, type PollResult, type PollSlots } from './poll-loop.ts';
import type { ExecutorTransport, RunHost } from './transport.ts';

/** How often the list of API nodes is read again. */
const DISCOVERY_INTERVAL_MS = 5000;
/** Most deliveries asked for in one poll. */
const MAX_PER_POLL = 1000;

export interface PullTransportOptions {
  connection: ApiConnection;
  id: string;
  /** Most deliveries in flight at once, over all nodes. */
  maxConcurrency: number;
  /** Longest wait of one poll, in ms. */
  waitMs: number;
  onPolled(reply: PollReply): void;
  onPollFailed(error: Error): void;
  onResultsPosted(results: PollResult[]): void;
}

export class PullTransport implements ExecutorTransport, PollSlots {
  readonly kind = 'pull' as const;
  readonly #host: RunHost;
  readonly #options: PullTransportOptions;
  /** Loops polling now, by node base URL. */
  readonly #loops = new Map<string, PollLoop>();
  /** Loops of nodes no longer listed: they poll no more, but post the results of their deliveries. */
  readonly #retired: PollLoop[] = [];
  /** Slots reserved by polls in progress plus deliveries in flight. */
  #used = 0;
  #waiters: (() => void)[] = [];
  readonly #stop = new AbortController();
  #timer: NodeJS.Timeout | null = null;

  constructor(host: RunHost, options: PullTransportOptions) {
    this.#host = host;
    this.#options = options;
  }

  /** The node base URLs polled now. */
  get nodes(): string[] {
    return [...this.#loops.keys()];
  }

  async start(): Promise<null> {
    await this.#discover();
    this.#arm();
    return null;
  }

  async quiesce(): Promise<void> {
    this.#stop.abort();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#wake();
    await Promise.all([...this.#loops.values(), ...this.#retired].map((loop) => loop.quiesce()));
  }

  async close(): Promise<void> {
    await this.quiesce();
    await Promise.all([...this.#loops.values(), ...this.#retired].map((loop) => loop.close()));
  }

  async reserve(signal: AbortSignal): Promise<number> {
    for (;;) {
      if (signal.aborted || this.#stop.signal.aborted) return 0;
      const { maxConcurrency } = this.#options;
      const free = maxConcurrency - this.#used;
      if (free > 0) {
        // A fair share per node: a poll holds its reservation until it answers (up to waitMs).
        const share = Math.max(1, Math.floor(maxConcurrency / Math.max(1, this.#loops.size)));
        const count = Math.min(free, share, MAX_PER_POLL);
        this.#used += count;
        return count;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.#waiters.push(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  release(count: number): void {
    if (count <= 0) return;
    this.#used = Math.max(0, this.#used - count);
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  #arm(): void {
    if (this.#stop.signal.aborted) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#discover().finally(() => this.#arm());
    }, DISCOVERY_INTERVAL_MS);
  }

  /** Starts a loop for each live API node, and retires the loops of nodes that left. */
  async #discover(): Promise<void> {
    const { connection } = this.#options;
    let bases: string[];
    try {
      const list = await apiRequest<NodeList>(connection, { method: 'GET', path: '/api/v1/nodes' });
      const addresses = [...new Set((list?.items ?? []).filter((node) => node.alive && node.address).map((node) => node.address!.replace(/\/+$/, '')))];
      bases = addresses.length > 1 ? addresses : [connection.server];
    } catch (error) {
      if (this.#loops.size > 0) {
        this.#host.log('debug', 'reading the list of API nodes failed; polling the same nodes', { error: describeError(error) });
        return;
      }
      bases = [connection.server];
    }
    if (this.#stop.signal.aborted) return;
    const added: PollLoop[] = [];
    for (const base of bases) {
      if (this.#loops.has(base)) continue;
      const loop = new PollLoop(this.#host, {
        ...this.#options,
        connection: { ...connection, server: base },
        slots: this,
      });
      this.#loops.set(base, loop);
      added.push(loop);
    }
    for (const [base, loop] of this.#loops) {
      if (bases.includes(base)) continue;
      this.#loops.delete(base);
      this.#retired.push(loop);
      void loop.quiesce();
    }
    // Started once all are counted, so that each reserves its share of the budget.
    for (const loop of added) loop.start();
  }
}
