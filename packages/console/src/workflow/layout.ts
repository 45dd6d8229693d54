/**
 * Left-to-right layout of a workflow graph with dagre (pure: runs in the page, in a worker, or
 * in a test).
 *
 * dagre's default ranker (network simplex) gives the most compact drawing, but its cost grows
 * fast (about a minute for 2,000 nodes) and it recurses as deep as the graph is long, overflowing
 * the stack at a few thousand nodes. Past {@link COMPACT_LIMIT} nodes the layout ranks by longest
 * path (each node one column right of its deepest need); at {@link LARGE_DAG} nodes and more it
 * also keeps dagre's first ordering of each column instead of sweeping for fewer crossings.
 */
import dagre from '@dagrejs/dagre';

export const NODE_WIDTH = 184;
export const NODE_HEIGHT = 56;
/** From this many nodes a graph is "large": lists by default, no animation, layout once and off the page's thread. */
export const LARGE_DAG = 1000;
/** Up to this many nodes, dagre's network-simplex ranker. */
export const COMPACT_LIMIT = 150;

export interface LayoutInput {
  nodes: readonly { id: string }[];
  edges: readonly { source: string; target: string }[];
}

export interface Point {
  x: number;
  y: number;
}

/** Top-left corners by node id (what @xyflow/react's `position` is), and the drawing's size. */
export interface Layout {
  positions: Record<string, Point>;
  width: number;
  height: number;
}

export function layoutDag(graph: LayoutInput): Layout {
  const count = graph.nodes.length;
  const g = new dagre.graphlib.Graph();
  g.setGraph({
    rankdir: 'LR',
    nodesep: 24,
    ranksep: 72,
    marginx: 16,
    marginy: 16,
    ...(count > COMPACT_LIMIT ? { ranker: 'longest-path' as const } : {}),
  });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of graph.nodes) g.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const edge of graph.edges) {
    // A self-loop or an edge to a node not drawn would make dagre invent a node.
    if (edge.source !== edge.target && g.hasNode(edge.source) && g.hasNode(edge.target)) g.setEdge(edge.source, edge.target);
  }
  dagre.layout(g, count >= LARGE_DAG ? { disableOptimalOrderHeuristic: true } : {});
  const positions: Record<string, Point> = {};
  for (const node of graph.nodes) {
    const label = g.node(node.id) as { x: number; y: number };
    positions[node.id] = { x: label.x - NODE_WIDTH / 2, y: label.y - NODE_HEIGHT / 2 };
  }
  const size = g.graph() as { width?: number; height?: number };
  return { positions, width: size.width ?? 0, height: size.height ?? 0 };
}
