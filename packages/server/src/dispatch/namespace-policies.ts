/**
 * The outbound policy of each namespace: the server's (`--outbound-allow/--outbound-deny`), and
 * under it the namespace's own rules (`PUT /api/v1/namespaces/{name}` `outbound`), which may only
 * narrow it (an address must pass both). Namespaces are read from the store every `refreshMs` (one
 * query), and at once after a namespace is written through this node's API, so that a rule an
 * admin adds holds here for the next connection and on the cluster's other nodes within
 * `refreshMs`. A namespace with no rules of its own uses the server's policy itself.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Store } from '../store/store.ts';
import { OutboundPolicy, type OutboundPolicies } from './outbound-policy.ts';

export interface NamespacePoliciesOptions {
  store: Pick<Store, 'listNamespaces'>;
  clock: Clock;
  /** The server-wide policy: the parent of every namespace's. */
  server: OutboundPolicy;
  /** @default 2000 */
  refreshMs?: number;
  log: (level: 'warn', message: string, fields?: Record<string, unknown>) => void;
}

export class NamespacePolicies implements OutboundPolicies {
  readonly #o: Required<NamespacePoliciesOptions>;
  /** Namespaces with rules of their own: their policy, and the rules it was made from (to keep it while they do not change). */
  #byName = new Map<string, { key: string; policy: OutboundPolicy }>();
  #timer: TimerHandle | null = null;
  #refreshing: Promise<void> | null = null;
  #stopped = false;

  constructor(options: NamespacePoliciesOptions) {
    this.#o = { refreshMs: 2000, ...options };
  }

  get server(): OutboundPolicy {
    return this.#o.server;
  }

  /** The policy of connections made for `namespace`'s tasks and executors. */
  of(namespace: string): OutboundPolicy {
    return this.#byName.get(namespace)?.policy ?? this.#o.server;
  }

  async start(): Promise<void> {
    await this.refresh();
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) this.#o.clock.clearTimer(this.#timer);
    this.#timer = null;
  }

  /** Reads the namespaces now (after a write through this node's API, and every refreshMs). */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#read()
      .catch((error) => this.#o.log('warn', 'reading the namespaces\' outbound rules failed', { error: String(error) }))
      .finally(() => { this.#refreshing = null; });
    return this.#refreshing;
  }

  async #read(): Promise<void> {
    const next = new Map<string, { key: string; policy: OutboundPolicy }>();
    for (const namespace of await this.#o.store.listNamespaces()) {
      const { allow, deny } = namespace.outbound;
      if (allow.length === 0 && deny.length === 0) continue;
      const key = JSON.stringify([allow, deny]);
      const known = this.#byName.get(namespace.name);
      // Rules stored were checked when written; a rule this version refuses leaves the namespace on the server's policy.
      try {
        next.set(namespace.name, known?.key === key ? known : { key, policy: new OutboundPolicy({ allow, deny }, this.#o.server) });
      } catch (error) {
        this.#o.log('warn', 'a namespace\'s outbound rules are invalid: its connections follow the server\'s policy only', { namespace: namespace.name, error: String(error) });
      }
    }
    this.#byName = next;
  }

  #arm(): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.setTimer(() => void this.refresh().finally(() => this.#arm()), this.#o.refreshMs);
  }
}
