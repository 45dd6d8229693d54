import { describe, expect, it } from 'vitest';
import { analyseWorkflowGraph, findCycle, formatCycle, workflowGraph, type GraphNode } from '../src/index.ts';

const node = (id: string, ...needs: string[]): GraphNode => ({ id, needs: needs.map((n) => ({ node: n, optional: false })) });
const chain = (length: number): GraphNode[] => Array.from({ length }, (_, i) => (i === 0 ? node('n0') : node(`n${i}`, `n${i - 1}`)));

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('workflow graph', () => {
  const diamond = [node('d', 'b', 'c'), node('b', 'a'), node('c', 'a'), node('a'), node('e')];

  it('maps predecessors and successors by id and orders the nodes topologically, ties in input order', () => {
    const graph = workflowGraph(diamond);
    expect(graph.ids).toEqual(['d', 'b', 'c', 'a', 'e']);
    expect(Object.fromEntries(graph.predecessors)).toEqual({ d: ['b', 'c'], b: ['a'], c: ['a'], a: [], e: [] });
    expect(Object.fromEntries(graph.successors)).toEqual({ d: [], b: ['d'], c: ['d'], a: ['b', 'c'], e: [] });
    expect(graph.order).toEqual(['a', 'e', 'b', 'c', 'd']);
  });

  it('gives the ancestors of a node, direct and transitive, optional needs included, memoised', () => {
    const graph = workflowGraph([...diamond, { id: 'f', needs: [{ node: 'd', optional: true }] }]);
    expect([...graph.ancestorsOf('f')].sort()).toEqual(['a', 'b', 'c', 'd']);
    expect([...graph.ancestorsOf('b')]).toEqual(['a']);
    expect(graph.ancestorsOf('a').size).toBe(0);
    expect(graph.ancestorsOf('nope').size).toBe(0);
    expect(graph.ancestorsOf('f')).toBe(graph.ancestorsOf('f'));
    expect([graph.isAncestor('a', 'f'), graph.isAncestor('e', 'f'), graph.isAncestor('f', 'a'), graph.isAncestor('f', 'f'), graph.isAncestor('x', 'f')])
      .toEqual([true, false, false, false, false]);
  });

  it('ignores unknown needs, counts a repeated need once and keeps the first node of an id', () => {
    const graph = workflowGraph([node('a'), node('b', 'a', 'a', 'ghost'), { id: 'a', needs: [{ node: 'b', optional: false }] }]);
    expect(graph.ids).toEqual(['a', 'b']);
    expect(graph.predecessors.get('b')).toEqual(['a']);
    expect(graph.successors.get('a')).toEqual(['b']);
    expect(graph.order).toEqual(['a', 'b']);
  });

  it('finds a cycle as ids each needing the next, or null', () => {
    expect(findCycle(diamond)).toBeNull();
    const cycle = findCycle([node('x'), node('a', 'b'), node('b', 'c'), node('c', 'a', 'x')]);
    expect(cycle).toEqual(['a', 'b', 'c', 'a']);
    expect(formatCycle(cycle!)).toBe('a → b → c → a');
    expect(findCycle([node('a', 'a')])).toEqual(['a', 'a']);
    expect(findCycle([node('z'), node('y', 'z', 'w'), node('w', 'v'), node('v', 'y')])).toEqual(['y', 'w', 'v', 'y']);
  });

  it('refuses to build a cyclic graph, naming the cycle', () => {
    expect(() => workflowGraph([node('a', 'b'), node('b', 'a')])).toThrow('dependency cycle: a → b → a');
    expect(analyseWorkflowGraph([node('a', 'b'), node('b', 'a')])).toEqual({ graph: null, cycle: ['a', 'b', 'a'] });
    expect(analyseWorkflowGraph(diamond).cycle).toBeNull();
  });

  it('handles a 10,000-node chain without recursion', () => {
    const nodes = chain(10_000);
    expect(findCycle(nodes)).toBeNull();
    const graph = workflowGraph(nodes);
    expect(graph.order[0]).toBe('n0');
    expect(graph.order[9_999]).toBe('n9999');
    expect(graph.ancestorsOf('n9999').size).toBe(9_999);
    expect(graph.isAncestor('n0', 'n9999')).toBe(true);
    expect(graph.isAncestor('n9999', 'n0')).toBe(false);
    const cyclic = [node('n0', 'n9999'), ...nodes.slice(1)];
    const cycle = findCycle(cyclic);
    expect(cycle).toHaveLength(10_001);
    expect([cycle![0], cycle![1], cycle![10_000]]).toEqual(['n0', 'n9999', 'n0']);
  });

  it('agrees with a brute-force closure on random graphs', () => {
    const next = random(42);
    for (let round = 0; round < 20; round++) {
      const count = 5 + Math.floor(next() * 60);
      // Nodes are shuffled so that input order is not a topological order.
      const ids = Array.from({ length: count }, (_, i) => `v${i}`);
      const nodes = ids.map((id, i) => node(id, ...ids.slice(0, i).filter(() => next() < 0.1)));
      nodes.sort(() => next() - 0.5);
      const graph = workflowGraph(nodes);
      const position = new Map(graph.order.map((id, i) => [id, i]));
      const direct = new Map(nodes.map((n) => [n.id, n.needs.map((need) => need.node)]));
      for (const n of nodes) {
        for (const need of n.needs) expect(position.get(need.node)!).toBeLessThan(position.get(n.id)!);
        const closure = new Set<string>();
        const todo = [...direct.get(n.id)!];
        while (todo.length > 0) {
          const id = todo.pop()!;
          if (!closure.has(id)) {
            closure.add(id);
            todo.push(...direct.get(id)!);
          }
        }
        expect(new Set(graph.ancestorsOf(n.id))).toEqual(closure);
        expect(ids.filter((other) => graph.isAncestor(other, n.id))).toEqual(ids.filter((other) => closure.has(other)));
      }
    }
  });
});
