/**
 * The live executor nodes as this scheduler sees them: the store's registry, read every
 * `refreshMs` (one query for all groups), minus nodes this scheduler found unreachable a moment
 * ago. A suspicion belongs to the address that did not answer: a request that failed at a dead
 * process's address does not keep the node's next process (registered under the same id, at its
 * own address) out of routing, even when the failure is seen after the registry read that brought
 * the new process in. A node that stops heartbeating leaves routing when its registration expires (the store's
 * clock), at most `refreshMs` later here.
 *
 * A group may also have nodes found by discovery (a static list of addresses, or a DNS name:
 * `group-discovery.ts`), read from the store with the registry. They are nodes like the others
 * (routed, suspected, counted), except that an address a registered node of the group has is that
 * node only.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { groupSecret, groupSecretName, type GroupRef } from '../services/executor-registry.ts';
import type { ExecutorNodeRecord, Store } from '../store/store.ts';
import { GroupDiscovery, type DiscoveryStatus, type DnsLookup } from './group-discovery.ts';

export interface DirectoryEvents {
  /** A group had no live node and now has one: runs waiting for an executor can go. */
  'group:alive': [group: string];
  /** A node that was live is gone (expired, removed): its pull deliveries will never be answered. */
  'node:gone': [nodeId: string];
  /** The registry was read (every refreshMs). */
  refreshed: [];
  /** A discovered group's DNS name was resolved (well or not), and routing took the answer. */
  discovered: [group: string];
}

export interface ExecutorDirectoryOptions {
  store: Store;
  clock: Clock;
  /** @default 1000 */
  refreshMs?: number;
  /** How long a node that did not answer at all is left out of routing. @default 3000 */
  suspectMs?: number;
  /** How DNS discovery resolves names. @default a `node:dns/promises` Resolver of the system's servers */
  dns?: DnsLookup;
  log: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export class ExecutorDirectory {
  readonly events = new EventEmitter<DirectoryEvents>();
  readonly #o: Required<Omit<ExecutorDirectoryOptions, 'dns'>>;
  /** Live nodes by group (its secret's name: namespace and group), in id order: registered and discovered. */
  #byGroup = new Map<string, ExecutorNodeRecord[]>();
  /** Live registered nodes by group, as of the last registry read. */
  #registered = new Map<string, ExecutorNodeRecord[]>();
  readonly #discovery: GroupDiscovery;
  /** Nodes left out of routing until `until`, while they are registered at the address that did not answer. */
  readonly #suspects = new Map<string, { until: number; address: string | null }>();
  /** Requests this scheduler has in flight per node (added to the node's own report for least-busy). */
  readonly #sent = new Map<string, number>();
  readonly #secrets = new Map<string, Promise<string>>();
  #timer: TimerHandle | null = null;
  #refreshing: Promise<void> | null = null;
  #stopped = false;

  constructor(options: ExecutorDirectoryOptions) {
    const { dns, ...rest } = options;
    this.#o = { refreshMs: 1000, suspectMs: 3000, ...rest };
    this.#discovery = new GroupDiscovery({
      clock: options.clock, log: options.log, ...(dns ? { dns } : {}),
      onChange: (group) => {
        if (this.#stopped) return;
        this.#rebuild();
        this.events.emit('discovered', group);
      },
    });
  }

  async start(): Promise<void> {
    await this.refresh().catch((error) => this.#o.log('warn', 'reading the executor registry failed', { error: String(error) }));
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) this.#o.clock.clearTimer(this.#timer);
    this.#timer = null;
  }

  /** Live nodes of the group serving `handler` (nodes that declared no handlers serve any), in id order. */
  live(ref: GroupRef, handler?: string): ExecutorNodeRecord[] {
    const nodes = this.#byGroup.get(groupSecretName(ref)) ?? [];
    const now = this.#o.clock.now();
    return nodes.filter((node) => !this.#isSuspect(node, now)
      && (handler === undefined || node.handlers.length === 0 || node.handlers.includes(handler)));
  }

  /** How many live nodes each group has (suspects left out), for the executor-nodes gauge. */
  liveCounts(): { namespace: string; group: string; live: number }[] {
    const now = this.#o.clock.now();
    const counts: { namespace: string; group: string; live: number }[] = [];
    for (const nodes of this.#byGroup.values()) {
      const live = nodes.filter((node) => !this.#isSuspect(node, now));
      if (live.length > 0) counts.push({ namespace: live[0]!.namespace, group: live[0]!.group, live: live.length });
    }
    return counts;
  }

  /** The live pull-mode node `nodeId` as of the last registry read, or null. */
  livePullNode(nodeId: string): ExecutorNodeRecord | null {
    for (const list of this.#byGroup.values()) for (const node of list) if (node.id === nodeId) return node.mode === 'pull' ? node : null;
    return null;
  }

  /** A node's reported load plus what this scheduler has sent it since. */
  inflight(node: ExecutorNodeRecord): number {
    return node.inflight + (this.#sent.get(node.id) ?? 0);
  }

  /** Counts a request to `nodeId` in flight (+1) or over (−1). */
  track(nodeId: string, delta: 1 | -1): void {
    const n = (this.#sent.get(nodeId) ?? 0) + delta;
    if (n <= 0) this.#sent.delete(nodeId);
    else this.#sent.set(nodeId, n);
  }

  /** Leaves a node that did not answer out of routing for a moment, unless it registers at another address meanwhile. */
  suspect(node: ExecutorNodeRecord): void {
    this.#suspects.set(node.id, { until: this.#o.clock.now() + this.#o.suspectMs, address: node.address });
  }

  #isSuspect(node: ExecutorNodeRecord, now: number): boolean {
    const suspicion = this.#suspects.get(node.id);
    return suspicion !== undefined && suspicion.address === node.address && suspicion.until > now;
  }

  /** What discovery found for a group, or null when it has none (as of the last registry read). */
  discoveryStatus(ref: GroupRef): DiscoveryStatus | null {
    return this.#discovery.status(ref);
  }

  /** Resolves once the DNS resolutions under way have ended. */
  discoverySettled(): Promise<void> {
    return this.#discovery.settled();
  }

  /** The group's HMAC secret (created by the first node or scheduler that asks; shared by the cluster). */
  secret(ref: GroupRef): Promise<string> {
    const name = groupSecretName(ref);
    let secret = this.#secrets.get(name);
    if (!secret) {
      secret = groupSecret(this.#o.store, ref);
      secret.catch(() => this.#secrets.delete(name));
      this.#secrets.set(name, secret);
    }
    return secret;
  }

  /** Reads the registry now (also used by tests and after a dispatch found no node). */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#read().finally(() => { this.#refreshing = null; });
    return this.#refreshing;
  }

  async #read(): Promise<void> {
    // Nodes whose heartbeats stopped are marked once for the cluster (the event log's executor.suspected).
    await this.#o.store.markSuspectedExecutors();
    const [now, nodes, groups] = await Promise.all([this.#o.store.now(), this.#o.store.listExecutors(), this.#o.store.listExecutorGroups()]);
    const registered = new Map<string, ExecutorNodeRecord[]>();
    for (const node of nodes) {
      if (node.expiresAt <= now) continue;
      const key = groupSecretName(node);
      let list = registered.get(key);
      if (!list) registered.set(key, (list = []));
      list.push(node);
    }
    this.#registered = registered;
    this.#discovery.sync(groups);
    this.#rebuild();
    const clockNow = this.#o.clock.now();
    for (const [id, { until }] of this.#suspects) if (until <= clockNow) this.#suspects.delete(id);
    this.events.emit('refreshed');
  }

  /** Routing's view: the registered nodes, and the discovered ones at addresses no registered node of their group has. */
  #rebuild(): void {
    const next = new Map<string, ExecutorNodeRecord[]>();
    for (const [key, list] of this.#registered) next.set(key, [...list]);
    for (const [key, found] of this.#discovery.nodesByGroup()) {
      const list = next.get(key) ?? [];
      const taken = new Set(list.map((node) => node.address));
      for (const node of found) if (!taken.has(node.address)) list.push(node);
      next.set(key, list);
    }
    for (const list of next.values()) list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const before = this.#byGroup;
    this.#byGroup = next;
    const liveIds = new Set([...next.values()].flatMap((list) => list.map((node) => node.id)));
    for (const list of before.values()) for (const node of list) if (!liveIds.has(node.id)) this.events.emit('node:gone', node.id);
    for (const [group, list] of next) if (list.length > 0 && !before.get(group)?.length) this.events.emit('group:alive', group);
  }

  #arm(): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.setTimer(() => {
      void this.refresh()
        .catch((error) => this.#o.log('warn', 'reading the executor registry failed', { error: String(error) }))
        .finally(() => this.#arm());
    }, this.#o.refreshMs);
  }
}
