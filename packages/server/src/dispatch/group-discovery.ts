/**
 * The nodes of executor groups found by discovery (issue 20), as this scheduler node sees them:
 * a group's static list of base URLs, or the addresses of a DNS name resolved again every
 * `refreshMs`. Each address is one push-mode HTTP node of the group, with the id `static:URL` or
 * `dns:URL` (stable while the address is), the group's labels and weight, and no handler list (it
 * serves any handler). Nothing is stored: every scheduler node resolves for itself.
 *
 * - A static list is taken as it is read from the store.
 * - A DNS name (A and AAAA records of the name at `port`, or the targets and ports of its SRV
 *   records) is resolved at once when its group appears or changes, then again `refreshMs` after
 *   each good answer. A name that has no records (NXDOMAIN, no data) is a good answer: no nodes.
 *   A resolution that fails (timeout, SERVFAIL, refused) keeps the last good answer for `staleMs`
 *   after it was had, then drops it; a failed name is tried again after min(refreshMs, 5 s).
 * - Resolutions run beside the registry reads ({@link GroupDiscovery.sync} starts those due and
 *   does not wait for them); `onChange` hears each one that ended.
 */
import { Resolver } from 'node:dns/promises';
import { discoveredNodeId, type GroupDiscovery as DiscoverySpec } from '@ecron/contracts';
import type { Clock } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import type { ExecutorGroupRecord } from '../store/executor-groups.ts';
import type { ExecutorNodeRecord } from '../store/store.ts';
import { groupSecretName, type GroupRef } from '../services/executor-registry.ts';

type DnsSpec = Extract<DiscoverySpec, { dns: unknown }>['dns'];

/** The look-ups discovery makes: `Resolver` of `node:dns/promises` has them (tests may pass their own). */
export interface DnsLookup {
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
  resolveSrv(name: string): Promise<{ name: string; port: number; priority: number; weight: number }[]>;
}

/** A name that has no such records: a good answer, with no address. */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND']);
/** A failed resolution is tried again this soon at the latest. */
const RETRY_FAILED_MS = 5000;
/** Resolver timeout per try, and tries per query. */
const DNS_TIMEOUT_MS = 2000;
const DNS_TRIES = 2;

/**
 * A resolver of `node:dns/promises` asking `servers` (`host` or `host:port`, `[v6]:port`), or the
 * system's (those of /etc/resolv.conf) when none are given.
 */
export function systemDnsLookup(servers?: readonly string[]): DnsLookup {
  const resolver = new Resolver({ timeout: DNS_TIMEOUT_MS, tries: DNS_TRIES });
  if (servers && servers.length > 0) {
    try {
      resolver.setServers([...servers]);
    } catch (error) {
      throw new EcronError('CONFIG_INVALID', `DNS servers ${servers.join(', ')}: ${(error as Error).message} (expected IP or IP:port, [IPv6]:port)`);
    }
  }
  return resolver;
}

/** What discovery found for one group, for the API. Instants on the scheduler's clock. */
export interface DiscoveryStatus {
  nodes: { id: string; address: string }[];
  /** The last good answer; null before the first. */
  resolvedAt: number | null;
  /** Why the last resolution failed, while it does. */
  error: string | null;
  /** The nodes are the last good answer, kept while resolving fails. */
  stale: boolean;
}

interface GroupState {
  record: ExecutorGroupRecord;
  /** The stored discovery, labels and weight, as text: a change starts over. */
  version: string;
  nodes: ExecutorNodeRecord[];
  resolvedAt: number | null;
  error: string | null;
  stale: boolean;
  /** When the DNS name is due again (0: now). */
  dueAt: number;
  resolving: boolean;
  /** When each address was first found (a node's startedAt). */
  firstSeen: Map<string, number>;
}

export interface GroupDiscoveryOptions {
  clock: Clock;
  /** @default systemDnsLookup() */
  dns?: DnsLookup;
  /** Hears each resolution that ended (good or not), with the group's secret name. */
  onChange?: (group: string) => void;
  log: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export class GroupDiscovery {
  readonly #o: GroupDiscoveryOptions;
  readonly #dns: DnsLookup;
  /** By group secret name (namespace and group). */
  #groups = new Map<string, GroupState>();
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: GroupDiscoveryOptions) {
    this.#o = options;
    this.#dns = options.dns ?? systemDnsLookup();
  }

  /**
   * Takes the stored groups: a new or changed one starts over (a static list is taken at once), a
   * deleted one is dropped, and DNS names that are due are resolved in the background.
   */
  sync(records: readonly ExecutorGroupRecord[]): void {
    const now = this.#o.clock.now();
    const next = new Map<string, GroupState>();
    for (const record of records) {
      const key = groupSecretName(record);
      const version = JSON.stringify([record.discovery, record.labels, record.weight]);
      const known = this.#groups.get(key);
      const state = known?.version === version ? known : this.#fresh(record, version, now);
      next.set(key, state);
    }
    this.#groups = next;
    for (const [key, state] of next) if ('dns' in state.record.discovery && !state.resolving && state.dueAt <= now) this.#resolve(key, state);
  }

  /** The discovered nodes of each group with any, by group secret name, in id order. */
  nodesByGroup(): Map<string, ExecutorNodeRecord[]> {
    const out = new Map<string, ExecutorNodeRecord[]>();
    for (const [key, state] of this.#groups) if (state.nodes.length > 0) out.set(key, state.nodes);
    return out;
  }

  /** What was found for a group, or null when it has no discovery (as of the last registry read). */
  status(ref: GroupRef): DiscoveryStatus | null {
    const state = this.#groups.get(groupSecretName(ref));
    if (!state) return null;
    return { nodes: state.nodes.map((n) => ({ id: n.id, address: n.address! })), resolvedAt: state.resolvedAt, error: state.error, stale: state.stale };
  }

  /** Resolves once the resolutions under way have ended (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  #fresh(record: ExecutorGroupRecord, version: string, now: number): GroupState {
    const state: GroupState = { record, version, nodes: [], resolvedAt: null, error: null, stale: false, dueAt: 0, resolving: false, firstSeen: new Map() };
    if ('static' in record.discovery) this.#found(state, 'static', record.discovery.static, now);
    return state;
  }

  #resolve(key: string, state: GroupState): void {
    const dns = (state.record.discovery as { dns: DnsSpec }).dns;
    state.resolving = true;
    const done = resolveDns(this.#dns, dns).then((addresses) => {
      state.error = null;
      state.stale = false;
      this.#found(state, 'dns', addresses, this.#o.clock.now());
      state.dueAt = this.#o.clock.now() + dns.refreshMs;
    }, (error: unknown) => {
      const now = this.#o.clock.now();
      const message = `resolving ${dns.srv ? 'SRV ' : ''}${dns.name} failed: ${describe(error)}`;
      if (state.error !== message) this.#o.log('warn', 'executor group discovery failed', { group: key, error: message });
      state.error = message;
      const keep = state.resolvedAt !== null && now - state.resolvedAt <= dns.staleMs;
      state.stale = keep && state.nodes.length > 0;
      if (!keep) state.nodes = [];
      state.dueAt = now + Math.min(dns.refreshMs, RETRY_FAILED_MS);
    }).finally(() => {
      state.resolving = false;
      this.#inFlight.delete(done);
      // A group changed or deleted meanwhile has another state (or none): its own resolution tells.
      if (this.#groups.get(key) === state) this.#o.onChange?.(key);
    });
    this.#inFlight.add(done);
  }

  #found(state: GroupState, kind: 'static' | 'dns', addresses: readonly string[], now: number): void {
    const { namespace, group, labels, weight } = state.record;
    for (const address of [...state.firstSeen.keys()]) if (!addresses.includes(address)) state.firstSeen.delete(address);
    for (const address of addresses) if (!state.firstSeen.has(address)) state.firstSeen.set(address, now);
    state.resolvedAt = now;
    state.nodes = [...new Set(addresses)].map((address): ExecutorNodeRecord => ({
      id: discoveredNodeId(kind, address), namespace, group, mode: 'push', transport: 'http', address, labels: { ...labels }, weight,
      handlers: [], version: '', inflight: 0, owner: null, startedAt: state.firstSeen.get(address)!, heartbeatAt: now, expiresAt: Number.MAX_SAFE_INTEGER,
    })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

/** The base URLs a DNS discovery names now, sorted. Throws when a look-up failed (not for a name without records). */
export async function resolveDns(lookup: DnsLookup, dns: DnsSpec): Promise<string[]> {
  const url = (host: string, port: number) => `${dns.scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${dns.path === '/' ? '' : dns.path}`;
  const urls = new Set<string>();
  if (dns.srv) {
    const records = await orNone(lookup.resolveSrv(dns.name));
    const hosts = await Promise.all(records.map(async (record) => ({ port: record.port, addresses: await addressesOf(lookup, record.name) })));
    for (const { port, addresses } of hosts) for (const address of addresses) urls.add(url(address, port));
  } else {
    for (const address of await addressesOf(lookup, dns.name)) urls.add(url(address, dns.port!));
  }
  return [...urls].sort();
}

/** The A and AAAA records of `name`. */
async function addressesOf(lookup: DnsLookup, name: string): Promise<string[]> {
  const [v4, v6] = await Promise.all([orNone(lookup.resolve4(name)), orNone(lookup.resolve6(name))]);
  return [...v4, ...v6];
}

/** The answer, or none when the name has no such records; other failures propagate. */
async function orNone<T>(answer: Promise<T[]>): Promise<T[]> {
  try {
    return await answer;
  } catch (error) {
    if (NO_RECORDS.has((error as { code?: string }).code ?? '')) return [];
    throw error;
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: string } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
