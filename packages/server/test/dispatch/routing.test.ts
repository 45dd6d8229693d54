import { describe, expect, it } from 'vitest';
import { isFanOut, pickNode, planLegs, RouterState, type RouteNode } from '../../src/dispatch/routing.ts';

const node = (id: string, extra: Partial<RouteNode> = {}): RouteNode => ({ id, weight: 1, labels: {}, inflight: 0, ...extra });
const three = [node('a'), node('b'), node('c')];

/** A deterministic random source (a linear congruential generator), so distributions are reproducible. */
function seeded(seed = 42): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

function counts(picks: (RouteNode | null)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of picks) out[p!.id] = (out[p!.id] ?? 0) + 1;
  return out;
}

function ctx(state = new RouterState(), hashInput = 'task-1') {
  return { state, key: 'g/h', hashInput, random: seeded() };
}

describe('routing strategies', () => {
  it('round-robin cycles through the nodes in id order', () => {
    const c = ctx();
    expect(Array.from({ length: 6 }, () => pickNode('round-robin', three, new Set(), c)!.id)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('weighted round-robin follows the weights, smoothly', () => {
    const nodes = [node('a', { weight: 5 }), node('b', { weight: 1 }), node('c', { weight: 1 })];
    const c = ctx();
    const picks = Array.from({ length: 70 }, () => pickNode('weighted-round-robin', nodes, new Set(), c));
    expect(counts(picks)).toEqual({ a: 50, b: 10, c: 10 });
    // Smooth: the heavy node is never picked 5 times in a row at the start of a cycle.
    expect(picks.slice(0, 7).map((p) => p!.id).join('')).not.toContain('aaaaa');
  });

  it('random spreads by weight', () => {
    const nodes = [node('a', { weight: 2 }), node('b'), node('c')];
    const c = ctx();
    const got = counts(Array.from({ length: 4000 }, () => pickNode('random', nodes, new Set(), c)));
    expect(got.a! / 4000).toBeGreaterThan(0.45);
    expect(got.a! / 4000).toBeLessThan(0.55);
    expect(got.b! / 4000).toBeGreaterThan(0.2);
    expect(got.c! / 4000).toBeGreaterThan(0.2);
  });

  it('least-busy takes the node with the fewest runs in flight per weight', () => {
    const nodes = [node('a', { inflight: 4 }), node('b', { inflight: 1 }), node('c', { inflight: 3, weight: 4 })];
    expect(pickNode('least-busy', nodes, new Set(), ctx())!.id).toBe('c');
    expect(pickNode('least-busy', [node('a', { inflight: 2 }), node('b', { inflight: 1 })], new Set(), ctx())!.id).toBe('b');
  });

  it('consistent-hash keeps a key on one node, spreads keys, and moves only the keys of a node that left', () => {
    const keys = Array.from({ length: 600 }, (_, i) => `key-${i}`);
    const before = new Map(keys.map((k) => [k, pickNode('consistent-hash', three, new Set(), ctx(new RouterState(), k))!.id]));
    for (const k of keys.slice(0, 20)) expect(pickNode('consistent-hash', three, new Set(), ctx(new RouterState(), k))!.id).toBe(before.get(k));
    const spread = counts(keys.map((k) => node(before.get(k)!)));
    for (const id of ['a', 'b', 'c']) expect(spread[id]).toBeGreaterThan(140);
    const twoLeft = [node('a'), node('c')];
    for (const k of keys) {
      const after = pickNode('consistent-hash', twoLeft, new Set(), ctx(new RouterState(), k))!.id;
      if (before.get(k) !== 'b') expect(after).toBe(before.get(k));
    }
  });

  it('first takes the first node; failover the heaviest, then the next when it is avoided', () => {
    expect(pickNode('first', three, new Set(), ctx())!.id).toBe('a');
    const nodes = [node('a'), node('b', { weight: 10 }), node('c', { weight: 5 })];
    expect(pickNode('failover', nodes, new Set(), ctx())!.id).toBe('b');
    expect(pickNode('failover', nodes, new Set(['b']), ctx())!.id).toBe('c');
  });

  it('a retry avoids the node that failed when another exists, and falls back to it when none does', () => {
    expect(pickNode('first', three, new Set(['a']), ctx())!.id).toBe('b');
    expect(pickNode('first', [node('a')], new Set(['a']), ctx())!.id).toBe('a');
    expect(pickNode('round-robin', [], new Set(), ctx())).toBeNull();
  });
});

describe('fan-out plans', () => {
  it('broadcast gives every matching node one leg, numbered over the legs', () => {
    const legs = planLegs({ broadcast: true }, three, ctx());
    expect(legs.map((l) => [l.node.id, l.leg.index, l.leg.total])).toEqual([['a', 0, 3], ['b', 1, 3], ['c', 2, 3]]);
    expect(isFanOut({ broadcast: true })).toBe(true);
    expect(isFanOut({ strategy: 'random' })).toBe(false);
  });

  it('multicast takes count of the nodes matching the selector', () => {
    const nodes = [node('a', { labels: { zone: 'x' } }), node('b', { labels: { zone: 'y' } }), node('c', { labels: { zone: 'x' } }), node('d', { labels: { zone: 'x' } })];
    const legs = planLegs({ selector: { zone: 'x' }, count: 2 }, nodes, ctx());
    expect(legs).toHaveLength(2);
    for (const l of legs) expect(['a', 'c', 'd']).toContain(l.node.id);
    expect(planLegs({ selector: { zone: 'z' }, broadcast: true }, nodes, ctx())).toEqual([]);
  });

  it('sharding spreads total shards over the nodes evenly', () => {
    const legs = planLegs({ sharding: { total: 8 } }, three, ctx());
    expect(legs.map((l) => l.leg.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(legs.every((l) => l.leg.total === 8)).toBe(true);
    const got = counts(legs.map((l) => l.node));
    expect(Object.values(got).sort()).toEqual([2, 3, 3]);
  });

  it('a unicast plan with a selector only considers matching nodes', () => {
    const nodes = [node('a', { labels: { gpu: 'no' } }), node('b', { labels: { gpu: 'yes' } })];
    const c = ctx();
    for (let i = 0; i < 4; i++) expect(planLegs({ selector: { gpu: 'yes' } }, nodes, c)[0]!.node.id).toBe('b');
  });
});
