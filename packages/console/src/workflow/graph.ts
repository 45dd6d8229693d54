/**
 * A workflow spec as a graph, and the editor's changes to a spec (pure: no browser, no server).
 *
 * An edge goes from a need to the node that needs it (upstream → downstream), so a DAG reads left
 * to right. Needs are written back in the short form a user would write: a node id for a required
 * need, `{ node, optional: true }` for an optional one.
 *
 * A spec typed in the editor may be anything YAML parses to: nodes without an id, needs naming no
 * node, a node needing itself. The graph leaves such parts out (the API's validation names them);
 * nothing here throws on a malformed spec.
 */
import type { TFunction } from 'i18next';
import { describeTarget } from '../spec.ts';
import type { WorkflowNeed, WorkflowNodeSpec, WorkflowSpec, WrittenNeed } from './types.ts';

export interface DagNode {
  id: string;
  /** Its index in `spec.nodes` (the first one, when ids repeat). */
  index: number;
  spec: WorkflowNodeSpec;
}

export interface DagEdge {
  id: string;
  /** The need (upstream). */
  source: string;
  /** The node that needs it (downstream). */
  target: string;
  optional: boolean;
}

export interface Dag {
  nodes: DagNode[];
  edges: DagEdge[];
}

export const edgeId = (source: string, target: string): string => `${source}->${target}`;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A need in its long form, or null when it is neither a node id nor `{ node }`. */
export function readNeed(need: unknown): WorkflowNeed | null {
  if (typeof need === 'string') return need ? { node: need, optional: false } : null;
  if (isObject(need) && typeof need.node === 'string' && need.node) return { node: need.node, optional: need.optional === true };
  return null;
}

/** A need in the short form a user writes. */
export function writeNeed(node: string, optional: boolean): WrittenNeed {
  return optional ? { node, optional: true } : node;
}

/** The spec's nodes that are objects with an id (the others cannot be drawn). */
export function specNodes(spec: unknown): WorkflowNodeSpec[] {
  const nodes = isObject(spec) ? spec.nodes : undefined;
  if (!Array.isArray(nodes)) return [];
  return nodes.filter((node): node is WorkflowNodeSpec => isObject(node) && typeof node.id === 'string' && node.id !== '');
}

/** The needs of a node in their long form, unreadable ones left out. */
export function needsOf(node: WorkflowNodeSpec): WorkflowNeed[] {
  if (!Array.isArray(node.needs)) return [];
  return node.needs.map(readNeed).filter((need): need is WorkflowNeed => need !== null);
}

/**
 * The nodes and edges of a spec. A need on an unknown node or on the node itself gives no edge,
 * a repeated need one edge (required if any of its copies is), a repeated node id one node.
 */
export function specToDag(spec: unknown): Dag {
  const raw = isObject(spec) && Array.isArray(spec.nodes) ? spec.nodes : [];
  const nodes: DagNode[] = [];
  const byId = new Map<string, DagNode>();
  raw.forEach((node, index) => {
    if (!isObject(node) || typeof node.id !== 'string' || node.id === '' || byId.has(node.id)) return;
    const dagNode = { id: node.id, index, spec: node as WorkflowNodeSpec };
    byId.set(node.id, dagNode);
    nodes.push(dagNode);
  });
  const edges = new Map<string, DagEdge>();
  for (const node of nodes) {
    for (const need of needsOf(node.spec)) {
      if (need.node === node.id || !byId.has(need.node)) continue;
      const id = edgeId(need.node, node.id);
      const seen = edges.get(id);
      if (seen) seen.optional &&= need.optional;
      else edges.set(id, { id, source: need.node, target: node.id, optional: need.optional });
    }
  }
  return { nodes, edges: [...edges.values()] };
}

function withNodes(spec: WorkflowSpec, nodes: WorkflowNodeSpec[]): WorkflowSpec {
  return { ...spec, nodes };
}

/** The spec with its nodes (whatever they are) mapped; non-array nodes count as none. */
function mapNodes(spec: WorkflowSpec, fn: (node: WorkflowNodeSpec) => WorkflowNodeSpec): WorkflowSpec {
  const nodes = Array.isArray(spec.nodes) ? spec.nodes : [];
  return withNodes(spec, nodes.map((node) => (isObject(node) && typeof node.id === 'string' ? fn(node) : node)));
}

/** An id not used yet: `base`, else `base-2`, `base-3`… */
export function uniqueNodeId(spec: WorkflowSpec, base = 'node'): string {
  const taken = new Set(specNodes(spec).map((node) => node.id));
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

export function addNode(spec: WorkflowSpec, node: WorkflowNodeSpec): WorkflowSpec {
  return withNodes(spec, [...(Array.isArray(spec.nodes) ? spec.nodes : []), node]);
}

/**
 * Puts `node` in place of the node with id `id`. When the id changes, the needs that named the
 * old id name the new one.
 */
export function replaceNode(spec: WorkflowSpec, id: string, node: WorkflowNodeSpec): WorkflowSpec {
  return mapNodes(spec, (current) => {
    if (current.id === id) return node;
    if (node.id === id || !Array.isArray(current.needs)) return current;
    const needs = current.needs.map((need) => {
      const read = readNeed(need);
      return read?.node === id ? writeNeed(node.id, read.optional) : need;
    });
    return { ...current, needs };
  });
}

/** Removes the nodes, and every need on them. */
export function removeNodes(spec: WorkflowSpec, ids: Iterable<string>): WorkflowSpec {
  const gone = new Set(ids);
  if (!gone.size) return spec;
  const nodes = (Array.isArray(spec.nodes) ? spec.nodes : []).filter((node) => !(isObject(node) && typeof node.id === 'string' && gone.has(node.id)));
  return mapNodes(withNodes(spec, nodes), (node) => {
    if (!Array.isArray(node.needs)) return node;
    const needs = node.needs.filter((need) => !gone.has(readNeed(need)?.node ?? ''));
    return needs.length === node.needs.length ? node : { ...node, needs };
  });
}

/**
 * `target` needs `source` (an edge dragged from source to target). Nothing changes when either
 * node is missing, when they are the same node, or when the need is there already.
 */
export function addNeed(spec: WorkflowSpec, source: string, target: string, optional = false): WorkflowSpec {
  const ids = new Set(specNodes(spec).map((node) => node.id));
  if (source === target || !ids.has(source) || !ids.has(target)) return spec;
  const node = specNodes(spec).find((n) => n.id === target)!;
  if (needsOf(node).some((need) => need.node === source)) return spec;
  return mapNodes(spec, (n) => (n.id === target ? { ...n, needs: [...(Array.isArray(n.needs) ? n.needs : []), writeNeed(source, optional)] } : n));
}

/** Removes the needs that the edges stand for (every copy of each). */
export function removeNeeds(spec: WorkflowSpec, edges: Iterable<{ source: string; target: string }>): WorkflowSpec {
  const gone = new Set([...edges].map((edge) => edgeId(edge.source, edge.target)));
  if (!gone.size) return spec;
  return mapNodes(spec, (node) => {
    if (!Array.isArray(node.needs)) return node;
    const needs = node.needs.filter((need) => {
      const read = readNeed(need);
      return !read || !gone.has(edgeId(read.node, node.id));
    });
    return needs.length === node.needs.length ? node : { ...node, needs };
  });
}

/** Makes a required need optional and an optional one required. */
export function toggleNeedOptional(spec: WorkflowSpec, source: string, target: string): WorkflowSpec {
  const node = specNodes(spec).find((n) => n.id === target);
  const current = node && needsOf(node).find((need) => need.node === source);
  if (!current) return spec;
  return mapNodes(spec, (n) => {
    if (n.id !== target || !Array.isArray(n.needs)) return n;
    return { ...n, needs: n.needs.map((need) => (readNeed(need)?.node === source ? writeNeed(source, !current.optional) : need)) };
  });
}

/** Every readable need in its short form: what the API returns (`{ node, optional: false }`) reads as a user would write it. */
export function compactNeeds(spec: WorkflowSpec): WorkflowSpec {
  return mapNodes(spec, (node) => {
    if (!Array.isArray(node.needs)) return node;
    return { ...node, needs: node.needs.map((need) => {
      const read = readNeed(need);
      return read ? writeNeed(read.node, read.optional) : need;
    }) };
  });
}

/**
 * An edge that closes a cycle. With `from`, one through that node when there is one: the first
 * edge back into it from a node it reaches. Else the first edge of a depth-first walk that leads
 * back to a node still on the walk's path. Iterative, so a long chain does not overflow the stack.
 */
export function findCycleClosingEdge(dag: Dag, from?: string): DagEdge | null {
  const out = new Map<string, DagEdge[]>();
  for (const edge of dag.edges) {
    const list = out.get(edge.source);
    if (list) list.push(edge);
    else out.set(edge.source, [edge]);
  }
  if (from !== undefined) {
    const reached = new Set<string>([from]);
    const queue = [from];
    for (let i = 0; i < queue.length; i++) {
      for (const edge of out.get(queue[i]!) ?? []) {
        if (edge.target === from) return edge;
        if (!reached.has(edge.target)) {
          reached.add(edge.target);
          queue.push(edge.target);
        }
      }
    }
  }
  const state = new Map<string, 1 | 2>(); // 1: on the path, 2: done
  for (const start of dag.nodes.map((node) => node.id)) {
    if (state.has(start)) continue;
    const stack: { id: string; next: number }[] = [{ id: start, next: 0 }];
    state.set(start, 1);
    while (stack.length) {
      const top = stack.at(-1)!;
      const edges = out.get(top.id) ?? [];
      if (top.next >= edges.length) {
        state.set(top.id, 2);
        stack.pop();
        continue;
      }
      const edge = edges[top.next++]!;
      const seen = state.get(edge.target);
      if (seen === 1) return edge;
      if (seen === undefined) {
        state.set(edge.target, 1);
        stack.push({ id: edge.target, next: 0 });
      }
    }
  }
  return null;
}

/** `nodes[2].needs[0].node` → node 2, need 0. */
export function parseIssuePath(path: string): { node: number; need?: number } | null {
  const match = /^nodes\[(\d+)\](?:\.needs\[(\d+)\])?/.exec(path);
  if (!match) return null;
  return match[2] === undefined ? { node: Number(match[1]) } : { node: Number(match[1]), need: Number(match[2]) };
}

export interface Issue {
  path: string;
  code: string;
  message: string;
}

export interface IssueMarks {
  /** Messages by node id: the node named by an issue's path. */
  nodes: Map<string, string[]>;
  /** Messages by edge id: the edge closing a cycle. */
  edges: Map<string, string[]>;
  /** Issues that name no node drawn (the schedule, the name, a node without an id…). */
  general: Issue[];
}

function push(map: Map<string, string[]>, key: string, message: string): void {
  const list = map.get(key);
  if (list) list.push(message);
  else map.set(key, [message]);
}

/**
 * Where the API's validation issues land on the graph. `spec` is the spec that was validated:
 * the paths' indexes are its (`nodes[i]`), and the marks go by node id, so they still find their
 * nodes on a graph edited since. A DEPENDENCY_CYCLE issue also marks the edge closing the cycle:
 * the need its path names (`nodes[i].needs[j]`), else one found by walking the graph from node i.
 */
export function markIssues(spec: unknown, issues: Issue[]): IssueMarks {
  const marks: IssueMarks = { nodes: new Map(), edges: new Map(), general: [] };
  const raw = isObject(spec) && Array.isArray(spec.nodes) ? spec.nodes : [];
  let dag: Dag | null = null;
  for (const issue of issues) {
    const at = parseIssuePath(issue.path);
    const node = at ? raw[at.node] : undefined;
    if (!at || !isObject(node) || typeof node.id !== 'string' || node.id === '') {
      marks.general.push(issue);
      continue;
    }
    push(marks.nodes, node.id, issue.message);
    if (issue.code !== 'DEPENDENCY_CYCLE') continue;
    const need = at.need !== undefined && Array.isArray(node.needs) ? readNeed(node.needs[at.need]) : null;
    dag ??= specToDag(spec);
    const closing = need && need.node !== node.id ? dag.edges.find((edge) => edge.id === edgeId(need.node, node.id as string)) : findCycleClosingEdge(dag, node.id);
    if (closing) push(marks.edges, closing.id, issue.message);
  }
  return marks;
}

/** What a node runs, in a few words: its task's name, or its target as describeTarget puts it. */
export function nodeRuns(node: WorkflowNodeSpec, t: TFunction): { kind: 'task' | 'target' | 'none'; text: string } {
  if (typeof node.task === 'string' && node.task) return { kind: 'task', text: node.task };
  if (!isObject(node.target)) return { kind: 'none', text: '—' };
  return { kind: 'target', text: describeTarget(node.target, t) };
}
