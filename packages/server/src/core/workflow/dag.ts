/**
 * The edges of a workflow spec, indexed for the planner: each node's predecessors (with whether
 * each is optional) and successors, and every node's descendants. Built once per spec object
 * (specs are immutable once stored, and a revision's spec is cached by the caller).
 */
import type { WorkflowSpec } from '@ecron/contracts';

export type WorkflowNodeSpec = WorkflowSpec['nodes'][number];

export interface Dag {
  readonly nodes: ReadonlyMap<string, WorkflowNodeSpec>;
  readonly preds: ReadonlyMap<string, readonly { node: string; optional: boolean }[]>;
  readonly succs: ReadonlyMap<string, readonly string[]>;
  /** Every node, in the order of the spec. */
  readonly ids: readonly string[];
}

const dags = new WeakMap<WorkflowSpec, Dag>();

export function dagOf(spec: WorkflowSpec): Dag {
  let dag = dags.get(spec);
  if (dag) return dag;
  const nodes = new Map<string, WorkflowNodeSpec>();
  const preds = new Map<string, { node: string; optional: boolean }[]>();
  const succs = new Map<string, string[]>();
  for (const node of spec.nodes) {
    nodes.set(node.id, node);
    preds.set(node.id, node.needs);
    succs.set(node.id, []);
  }
  for (const node of spec.nodes) for (const need of node.needs) succs.get(need.node)?.push(node.id);
  dag = { nodes, preds, succs, ids: spec.nodes.map((node) => node.id) };
  dags.set(spec, dag);
  return dag;
}

/** The given nodes and every node downstream of them. */
export function withDescendants(dag: Dag, seeds: Iterable<string>): Set<string> {
  const out = new Set<string>();
  const stack = [...seeds];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (out.has(id)) continue;
    out.add(id);
    for (const next of dag.succs.get(id) ?? []) if (!out.has(next)) stack.push(next);
  }
  return out;
}
