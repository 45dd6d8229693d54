/**
 * The transport of the modes in which the executor opens the connections (pull and stream):
 * deliveries live in the memory of the scheduler node that made them, so the executor must reach
 * every node of the cluster. It reads `GET /api/v1/nodes` at start and every few seconds, and
 * keeps one member (a poll loop, a stream) per node address: just the configured server when
 * there is one node, or when the list cannot be read. The members share one concurrency budget.
 * A member of a node that left is retired: quiesced at once, closed with the others.
 */
import type { NodeList } from '@ecron/contracts';
import { apiRequest, type ApiConnection } from './api-request.ts';
import { describeError } from './log.ts';
import { SlotBudget } from './slot-budget.ts';
import type { ExecutorTransport, RunHost } from './transport.ts';

/** How often the list of API nodes is read again. */
const DISCOVERY_INTERVAL_MS = 5000;
const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 10_000;

/** The pause after a failure that followed a pause of `previous` ms (0: none): 1 s doubling to 10 s. */
export function nextBackoff(previous: number): number {
  return previous === 0 ? MIN_BACKOFF_MS : Math.min(previous * 2, MAX_BACKOFF_MS);
}

export interface NodeMember {
  start(): void;
  /** Takes no more runs; runs in flight go on and are answered. */
  quiesce(): Promise<void>;
  /** Resolves once the answers of its runs went out (or were given up). */
  close(): Promise<void>;
}

export interface PerNodeOptions<T extends NodeMember> {
  /** The configured server and the executor's token. */
  connection: ApiConnection;
  /** Most runs in flight at once, over all nodes. */
  maxConcurrency: number;
  /** A member for the node at `connection.server`. */
  create(connection: ApiConnection, budget: SlotBudget): T;
}

export abstract class PerNodeTransport<T extends NodeMember> implements ExecutorTransport {
  abstract readonly kind: 'pull' | 'stream';
  readonly #host: RunHost;
  readonly #options: PerNodeOptions<T>;
  readonly #budget: SlotBudget;
  /** Current members, by node base URL. */
  readonly #members = new Map<string, T>();
  readonly #retired: T[] = [];
  #stopped = false;
  #timer: NodeJS.Timeout | null = null;

  constructor(host: RunHost, options: PerNodeOptions<T>) {
    this.#host = host;
    this.#options = options;
    this.#budget = new SlotBudget(options.maxConcurrency);
  }

  /** The node base URLs served now. */
  get nodes(): string[] {
    return [...this.#members.keys()];
  }

  async start(): Promise<null> {
    await this.#discover();
    this.#arm();
    return null;
  }

  /** Stops discovery, reserves no more slots, and quiesces every member. */
  async quiesce(): Promise<void> {
    this.#stopped = true;
    this.#budget.close();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await Promise.all(this.#all().map((member) => member.quiesce()));
  }

  async close(): Promise<void> {
    await this.quiesce();
    await Promise.all(this.#all().map((member) => member.close()));
  }

  #all(): T[] {
    return [...this.#members.values(), ...this.#retired];
  }

  #arm(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#discover().finally(() => this.#arm());
    }, DISCOVERY_INTERVAL_MS);
  }

  /** Starts a member for each live API node, and retires the members of nodes that left. */
  async #discover(): Promise<void> {
    const { connection } = this.#options;
    let bases: string[] | null = null;
    let failure: unknown = null;
    // The configured server first, then the nodes known: a cluster whose configured node is down
    // (or restarted at another address) is still followed through the others.
    for (const server of [connection.server, ...[...this.#members.keys()].filter((base) => base !== connection.server)]) {
      try {
        const list = await apiRequest<NodeList>({ ...connection, server }, { method: 'GET', path: '/api/v1/nodes' });
        const addresses = [...new Set((list?.items ?? []).filter((node) => node.alive && node.address).map((node) => node.address!.replace(/\/+$/, '')))];
        bases = addresses.length > 1 ? addresses : [server];
        break;
      } catch (error) {
        failure ??= error;
      }
    }
    if (bases === null) {
      if (this.#members.size > 0) {
        this.#host.log('debug', 'reading the list of API nodes failed; serving the same nodes', { error: describeError(failure) });
        return;
      }
      bases = [connection.server];
    }
    if (this.#stopped) return;
    const added: T[] = [];
    for (const base of bases) {
      if (this.#members.has(base)) continue;
      const member = this.#options.create({ ...connection, server: base }, this.#budget);
      this.#members.set(base, member);
      added.push(member);
    }
    for (const [base, member] of this.#members) {
      if (bases.includes(base)) continue;
      this.#members.delete(base);
      this.#retired.push(member);
      void member.quiesce();
    }
    // Started once all are counted, so that each takes its share of the budget.
    this.#budget.holders = this.#members.size;
    for (const member of added) member.start();
  }
}
