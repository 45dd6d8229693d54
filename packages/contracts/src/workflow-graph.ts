/**
 * Pure helpers over the dependency graph of a workflow: nodes `{ id, needs: { node }[] }`, where a node
 * needs (runs after) each node it names. Everything is iterative (a 10,000-node chain does not grow the
 * call stack) and O(V + E), except ancestor sets, which are bitsets computed lazily in O(E × V / 32) at worst.
 *
 * Conventions: the first node with a given id wins (later duplicates are ignored, with their needs), a
 * need naming an unknown id is ignored, and a repeated need counts once. A self need is a cycle.
 */

/** What the graph helpers read of a node; `optional` is ignored (an optional need is still an edge). */
export interface GraphNode {
  readonly id: string;
  readonly needs: readonly { readonly node: string; readonly optional?: boolean }[];
}

export interface WorkflowGraph {
  /** Ids of the nodes, in input order (first occurrences). */
  readonly ids: readonly string[];
  /** The nodes each node needs (its direct predecessors), by id. */
  readonly predecessors: ReadonlyMap<string, readonly string[]>;
  /** The nodes that need each node (its direct successors), by id. */
  readonly successors: ReadonlyMap<string, readonly string[]>;
  /** Every id, each after all the nodes it needs; ties keep input order. */
  readonly order: readonly string[];
  /** Every node `id` needs, directly or transitively, in topological order (memoised; empty for an unknown id). */
  ancestorsOf(id: string): ReadonlySet<string>;
  /** Whether `id` needs `ancestor`, directly or transitively (bitset lookup, no set built). */
  isAncestor(ancestor: string, id: string): boolean;
}

interface Indexed {
  ids: string[];
  index: Map<string, number>;
  preds: number[][];
}

function indexNodes(nodes: readonly GraphNode[]): Indexed {
  const ids: string[] = [];
  const index = new Map<string, number>();
  const owners: GraphNode[] = [];
  for (const node of nodes) {
    if (index.has(node.id)) continue;
    index.set(node.id, ids.length);
    ids.push(node.id);
    owners.push(node);
  }
  const stamp = new Int32Array(ids.length).fill(-1);
  const preds = owners.map((node, i) => {
    const out: number[] = [];
    for (const need of node.needs) {
      const p = index.get(need.node);
      if (p === undefined || stamp[p] === i) continue;
      stamp[p] = i;
      out.push(p);
    }
    return out;
  });
  return { ids, index, preds };
}

function cycleOf({ ids, preds }: Indexed): string[] | null {
  const state = new Uint8Array(ids.length); // 0 new, 1 on the stack, 2 done
  const cursor = new Int32Array(ids.length);
  const stack: number[] = [];
  for (let start = 0; start < ids.length; start++) {
    if (state[start] !== 0) continue;
    state[start] = 1;
    stack.push(start);
    while (stack.length > 0) {
      const n = stack[stack.length - 1]!;
      const edges = preds[n]!;
      if (cursor[n]! < edges.length) {
        const p = edges[cursor[n]!++]!;
        if (state[p] === 0) {
          state[p] = 1;
          stack.push(p);
        } else if (state[p] === 1) {
          const cycle = stack.slice(stack.lastIndexOf(p)).map((i) => ids[i]!);
          cycle.push(ids[p]!);
          return cycle;
        }
      } else {
        state[n] = 2;
        stack.pop();
      }
    }
  }
  return null;
}

/**
 * A cycle of the graph as ids `[a, b, c, a]`, each needing the next (so the last need, c → a, closes it),
 * or null when the graph is acyclic. A node needing itself gives `[a, a]`.
 */
export function findCycle(nodes: readonly GraphNode[]): string[] | null {
  return cycleOf(indexNodes(nodes));
}

/** Formats a cycle from findCycle: "a → b → c → a". */
export function formatCycle(cycle: readonly string[]): string {
  return cycle.join(' → ');
}

/** The graph of the nodes, or the first cycle found (as findCycle gives it) when there is one. */
export function analyseWorkflowGraph(nodes: readonly GraphNode[]): { graph: WorkflowGraph; cycle: null } | { graph: null; cycle: string[] } {
  const indexed = indexNodes(nodes);
  const { ids, index, preds } = indexed;
  const count = ids.length;
  const succs: number[][] = ids.map(() => []);
  const pending = new Int32Array(count);
  preds.forEach((edges, n) => {
    pending[n] = edges.length;
    for (const p of edges) succs[p]!.push(n);
  });

  // Kahn's algorithm: a FIFO of ready nodes, seeded in input order.
  const order: number[] = [];
  for (let n = 0; n < count; n++) if (pending[n] === 0) order.push(n);
  for (let head = 0; head < order.length; head++) {
    for (const s of succs[order[head]!]!) if (--pending[s]! === 0) order.push(s);
  }
  if (order.length < count) return { graph: null, cycle: cycleOf(indexed)! };

  // Ancestor bitsets are indexed by topological position: a node's ancestors all come before it, so the
  // bitset of the node at position t has ceil(t / 32) words.
  const position = new Int32Array(count);
  order.forEach((n, t) => { position[n] = t; });
  const bits: (Uint32Array | undefined)[] = new Array<Uint32Array | undefined>(count);
  const state = new Uint8Array(count); // 0 new, 1 expanding, 2 bits computed
  // Bitsets are carved out of shared slabs: one buffer per 1 MiB rather than one per node.
  let slab = new Uint32Array(0);
  let used = 0;
  const allocate = (words: number): Uint32Array => {
    if (used + words > slab.length) {
      slab = new Uint32Array(Math.max(1 << 18, words));
      used = 0;
    }
    used += words;
    return slab.subarray(used - words, used);
  };

  /** The ancestor bitset of root, computing those of its ancestors first (iterative post-order). */
  const bitsOf = (root: number): Uint32Array => {
    const stack = [root];
    while (stack.length > 0) {
      const n = stack[stack.length - 1]!;
      if (state[n] === 2) {
        stack.pop();
      } else if (state[n] === 0) {
        state[n] = 1;
        for (const p of preds[n]!) if (state[p] === 0) stack.push(p);
      } else {
        const set = allocate((position[n]! + 31) >>> 5);
        for (const p of preds[n]!) {
          const at = position[p]!;
          set[at >>> 5]! |= 1 << (at & 31);
          const above = bits[p]!;
          for (let w = 0; w < above.length; w++) set[w]! |= above[w]!;
        }
        bits[n] = set;
        state[n] = 2;
        stack.pop();
      }
    }
    return bits[root]!;
  };

  const sets = new Map<number, ReadonlySet<string>>();
  const byId = (lists: number[][]) => new Map(ids.map((id, n) => [id, lists[n]!.map((i) => ids[i]!)] as const));
  let predecessors: ReadonlyMap<string, readonly string[]> | undefined;
  let successors: ReadonlyMap<string, readonly string[]> | undefined;
  let sorted: readonly string[] | undefined;

  const graph: WorkflowGraph = {
    ids,
    get predecessors() { return (predecessors ??= byId(preds)); },
    get successors() { return (successors ??= byId(succs)); },
    get order() { return (sorted ??= order.map((n) => ids[n]!)); },
    ancestorsOf(id) {
      const n = index.get(id);
      if (n === undefined) return new Set();
      let set = sets.get(n);
      if (!set) {
        const found: string[] = [];
        const words = bitsOf(n);
        for (let w = 0; w < words.length; w++) {
          for (let word = words[w]!; word !== 0; word &= word - 1) found.push(ids[order[(w << 5) + (31 - Math.clz32(word & -word))]!]!);
        }
        set = new Set(found);
        sets.set(n, set);
      }
      return set;
    },
    isAncestor(ancestor, id) {
      const a = index.get(ancestor);
      const n = index.get(id);
      if (a === undefined || n === undefined) return false;
      const at = position[a]!;
      return ((bitsOf(n)[at >>> 5] ?? 0) & (1 << (at & 31))) !== 0;
    },
  };
  return { graph, cycle: null };
}

/** Builds the graph of the nodes. Throws an Error naming the cycle if there is one: call findCycle first. */
export function workflowGraph(nodes: readonly GraphNode[]): WorkflowGraph {
  const { graph, cycle } = analyseWorkflowGraph(nodes);
  if (!graph) throw new Error(`dependency cycle: ${formatCycle(cycle)}`);
  return graph;
}
