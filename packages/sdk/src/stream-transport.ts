/**
 * Stream mode: the executor registers as a pull node and holds one WebSocket per live API node
 * (see {@link PerNodeTransport}) over which runs come in batches and results go back in batches (see
 * {@link StreamConnection}). The connections share one concurrency budget; each node's connection
 * holds at most its share (granted credit plus runs in flight). A connection that closes is opened
 * again after a pause while the executor runs: 100 ms after an open connection closed (1 s when it
 * never opened), doubling to 10 s while opening fails.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiConnection } from './api-request.ts';
import { nextBackoff, PerNodeTransport, type NodeMember } from './per-node-transport.ts';
import type { SlotBudget } from './slot-budget.ts';
import { StreamConnection, type ConnectionEnd, type ConnectionSlots } from './stream-connection.ts';
import type { RunHost } from './transport.ts';

/** The first pause before opening again a stream that was open: 100 ms, doubling (to 10 s) while it fails. */
const REOPEN_FIRST_MS = 100;

export interface StreamTransportOptions {
  connection: ApiConnection;
  id: string;
  /** Most runs in flight at once, over all nodes. */
  maxConcurrency: number;
  /** Longest wait for more results before a frame goes out, in ms. */
  lingerMs: number;
  /** The group's secret of the latest heartbeat reply (null before the first). */
  secret(): string | null;
  onOpened(node: string): void;
  onClosed(node: string, end: ConnectionEnd): void;
}

export class StreamTransport extends PerNodeTransport<NodeStream> {
  readonly kind = 'stream' as const;

  constructor(host: RunHost, options: StreamTransportOptions) {
    super(host, { ...options, create: (connection, budget) => new NodeStream(host, { ...options, connection }, budget) });
  }
}

/** The stream to one API node: one connection at a time, opened again after a pause when it closes. */
class NodeStream implements NodeMember {
  readonly #host: RunHost;
  readonly #options: StreamTransportOptions;
  readonly #budget: SlotBudget;
  /** Slots of the budget this node holds: credit granted and not used, plus runs in flight. */
  #held = 0;
  #current: StreamConnection | null = null;
  #loop: Promise<void> | null = null;
  readonly #stop = new AbortController();
  /** The node's slots, as its connections see them. */
  readonly #slots: ConnectionSlots = {
    reserve: async (signal) => {
      const count = await this.#budget.reserve(signal, { held: () => this.#held });
      this.#held += count;
      return count;
    },
    release: (count) => {
      this.#held -= count;
      this.#budget.release(count);
    },
    recycle: () => {
      if (this.#held <= this.#budget.share) return true;
      this.#slots.release(1);
      return false;
    },
  };

  constructor(host: RunHost, options: StreamTransportOptions, budget: SlotBudget) {
    this.#host = host;
    this.#options = options;
    this.#budget = budget;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Opens no more connections; the open one grants no more credit and closes once its runs answered. */
  async quiesce(): Promise<void> {
    this.#stop.abort();
    this.#current?.quiesce();
  }

  /** Resolves once the connection closed (after its results went out). */
  async close(): Promise<void> {
    await this.quiesce();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { connection } = this.#options;
    const signal = this.#stop.signal;
    let backoff = 0;
    while (!signal.aborted) {
      const end = await this.#connect();
      if (end) this.#options.onClosed(connection.server, end);
      if (signal.aborted) break;
      // A stream that was open (its server restarting, say) is opened again soon, then less often.
      backoff = end?.opened ? REOPEN_FIRST_MS : nextBackoff(backoff);
      this.#host.log('warn', 'executor stream closed; opening it again after a pause', { node: connection.server, code: end?.code, reason: end?.reason, retryInMs: backoff });
      await sleep(backoff, undefined, { signal }).catch(() => {});
    }
  }

  /** One connection, from its start to its close (null: no secret yet, the node has not registered). */
  async #connect(): Promise<ConnectionEnd | null> {
    const { connection, id, lingerMs } = this.#options;
    const secret = this.#options.secret();
    if (secret === null) return null;
    this.#current = new StreamConnection(this.#host, {
      connection, id, secret, slots: this.#slots, lingerMs, onOpened: () => this.#options.onOpened(connection.server),
    });
    const end = await this.#current.closed;
    this.#current = null;
    return end;
  }
}
