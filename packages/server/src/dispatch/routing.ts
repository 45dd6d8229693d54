/**
 * Routing: which live executor nodes an attempt goes to. Pure, apart from the round-robin
 * counters kept in {@link RouterState}; randomness is injected.
 *
 * - unicast picks one node with a strategy (see {@link pickNode});
 * - broadcast sends to every matching node, multicast to `count` of them;
 * - sharding sends `total` shards, spread over the matching nodes round-robin.
 *
 * A `selector` (label equality) narrows the nodes first, in every mode. Nodes are always considered
 * in id order, so that every scheduler node routes a group the same way.
 */
import { fnv1a32 } from '../core/buckets.ts';
import type { Random } from '../core/clock.ts';

export type RoutingStrategy = 'round-robin' | 'weighted-round-robin' | 'random' | 'least-busy' | 'consistent-hash' | 'first' | 'failover';

export interface Routing {
  strategy?: RoutingStrategy;
  /** consistent-hash: the param whose value is hashed; default the task id. */
  hashKey?: string;
  broadcast?: boolean;
  selector?: Record<string, string>;
  /** multicast: how many of the matching nodes (all when absent). */
  count?: number;
  sharding?: { total: number };
}

export interface RouteNode {
  id: string;
  weight: number;
  labels: Record<string, string>;
  /** Runs in flight on the node: its last report plus what this scheduler sent since. */
  inflight: number;
}

/** One request of an attempt: a shard index of a total. Unicast is one leg `0/1`. */
export interface Leg {
  index: number;
  total: number;
}

/** Round-robin counters and smooth weighted round-robin credits, by routing key (group/handler). */
export class RouterState {
  readonly #counters = new Map<string, number>();
  readonly #credits = new Map<string, Map<string, number>>();

  next(key: string): number {
    const n = this.#counters.get(key) ?? 0;
    this.#counters.set(key, n + 1);
    return n;
  }

  /** Smooth weighted round-robin (as nginx does): each pick adds weights, takes the top, subtracts the total. */
  weighted(key: string, nodes: RouteNode[]): RouteNode {
    let credits = this.#credits.get(key);
    if (!credits) this.#credits.set(key, (credits = new Map()));
    const total = nodes.reduce((sum, node) => sum + node.weight, 0);
    let best: RouteNode | null = null;
    let bestCredit = -Infinity;
    for (const node of nodes) {
      const credit = (credits.get(node.id) ?? 0) + node.weight;
      credits.set(node.id, credit);
      if (credit > bestCredit) {
        best = node;
        bestCredit = credit;
      }
    }
    credits.set(best!.id, bestCredit - total);
    // Forget nodes that left, so that the map does not grow with churn.
    if (credits.size > nodes.length * 2) for (const id of credits.keys()) if (!nodes.some((n) => n.id === id)) credits.delete(id);
    return best!;
  }
}

export function matchesSelector(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector)) if (labels[key] !== value) return false;
  return true;
}

export interface PickContext {
  state: RouterState;
  /** Round-robin key: one counter per group and handler. */
  key: string;
  /** consistent-hash input. */
  hashInput: string;
  random: Random;
}

/**
 * Picks one node of `nodes` (already filtered, in id order) with `strategy`, skipping those in
 * `avoid` while another remains (a retry avoids the node that just failed). Null when `nodes` is empty.
 */
export function pickNode(strategy: RoutingStrategy, nodes: RouteNode[], avoid: ReadonlySet<string>, ctx: PickContext): RouteNode | null {
  if (nodes.length === 0) return null;
  const usable = nodes.some((n) => !avoid.has(n.id)) ? nodes.filter((n) => !avoid.has(n.id)) : nodes;
  switch (strategy) {
    case 'round-robin':
      return usable[ctx.state.next(ctx.key) % usable.length]!;
    case 'weighted-round-robin':
      return ctx.state.weighted(ctx.key, usable);
    case 'random': {
      const total = usable.reduce((sum, n) => sum + n.weight, 0);
      let r = ctx.random() * total;
      for (const node of usable) if ((r -= node.weight) < 0) return node;
      return usable[usable.length - 1]!;
    }
    case 'least-busy':
      return usable.reduce((best, n) => (n.inflight / n.weight < best.inflight / best.weight ? n : best));
    case 'consistent-hash':
      return rendezvous(usable, ctx.hashInput);
    case 'first':
      return usable[0]!;
    case 'failover':
      // Highest weight first (the primary), id order among equals; the next one when it fails.
      return usable.reduce((best, n) => (n.weight > best.weight ? n : best));
  }
}

/**
 * Plans the legs of an attempt and their first nodes. Broadcast and multicast give each chosen
 * node one leg (`index/total` over the chosen nodes); sharding gives `total` legs spread over the
 * nodes round-robin (starting after the last spread, so that consecutive runs rotate).
 */
export function planLegs(routing: Routing | undefined, nodes: RouteNode[], ctx: PickContext): { leg: Leg; node: RouteNode }[] {
  const matching = nodes.filter((n) => matchesSelector(n.labels, routing?.selector));
  if (matching.length === 0) return [];
  if (routing?.sharding) {
    const total = routing.sharding.total;
    const start = ctx.state.next(`${ctx.key}#shards`);
    return Array.from({ length: total }, (_, index) => ({ leg: { index, total }, node: matching[(start + index) % matching.length]! }));
  }
  if (routing?.broadcast || routing?.count !== undefined) {
    let chosen = matching;
    if (routing.count !== undefined && routing.count < matching.length) {
      const start = ctx.state.next(`${ctx.key}#multicast`);
      chosen = Array.from({ length: routing.count }, (_, i) => matching[(start + i) % matching.length]!);
    }
    return chosen.map((node, index) => ({ leg: { index, total: chosen.length }, node }));
  }
  const node = pickNode(routing?.strategy ?? 'round-robin', matching, new Set(), ctx);
  return node ? [{ leg: { index: 0, total: 1 }, node }] : [];
}

/** True when the routing sends more than one leg per attempt (broadcast, multicast, sharding). */
export function isFanOut(routing: Routing | undefined): boolean {
  return Boolean(routing?.sharding || routing?.broadcast || routing?.count !== undefined);
}

/** Rendezvous (highest random weight) hashing, weighted: the node with the top score for the key. */
function rendezvous(nodes: RouteNode[], key: string): RouteNode {
  let best = nodes[0]!;
  let bestScore = -Infinity;
  for (const node of nodes) {
    const u = (mixedHash(`${key}\u0000${node.id}`) + 0.5) / 4294967296;
    const score = node.weight / -Math.log(u);
    if (score > bestScore) {
      best = node;
      bestScore = score;
    }
  }
  return best;
}

/** FNV-1a finalised with murmur3's fmix32, so that keys differing in one character spread well. */
function mixedHash(text: string): number {
  let hash = fnv1a32(text);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b) >>> 0;
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35) >>> 0;
  hash ^= hash >>> 16;
  return hash >>> 0;
}
