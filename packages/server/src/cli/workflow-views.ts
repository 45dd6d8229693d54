import type { WorkflowNodeResource, WorkflowResource, WorkflowRunResource } from '@ecron/contracts';
import { formatDuration, formatInstant, formatKeyValues, formatTable, formatValue, indent } from './output.ts';
import { describeSchedule, describeTarget } from './resource-views.ts';

/** How workflows, their graphs and their runs read in human output. */

type Loose = Record<string, unknown>;

/** A node of a spec as the views read it: needs normalised to `{ node, optional }` (plain ids accepted too). */
export interface SpecNode {
  id: string;
  needs: { node: string; optional: boolean }[];
  task?: string;
  target?: unknown;
  run?: string;
}

/** The nodes of a workflow spec as stored (or as written in a file), read defensively. */
export function specNodes(spec: unknown): SpecNode[] {
  const nodes = (spec as { nodes?: unknown } | null | undefined)?.nodes;
  if (!Array.isArray(nodes)) return [];
  return nodes.filter((n): n is Loose => typeof n === 'object' && n !== null && typeof (n as Loose).id === 'string').map((n) => ({
    id: n.id as string,
    needs: (Array.isArray(n.needs) ? n.needs : []).flatMap((need: unknown) => {
      if (typeof need === 'string') return [{ node: need, optional: false }];
      const loose = need as Loose | null;
      return typeof loose?.node === 'string' ? [{ node: loose.node, optional: loose.optional === true }] : [];
    }),
    ...(typeof n.task === 'string' ? { task: n.task } : {}),
    ...(n.target !== undefined ? { target: n.target } : {}),
    ...(typeof n.run === 'string' ? { run: n.run } : {}),
  }));
}

/** One line of a graph drawn as a tree: the node, how deep it sits, and the predecessor it sits under. */
export interface TreeLine {
  node: SpecNode;
  depth: number;
  parent: string | null;
}

/**
 * The nodes as an indented tree, in topological order: every node comes after all the nodes it
 * needs, and sits under the one of them listed last (the others are named beside it). Roots keep
 * the spec's order, and so do the nodes under one parent. A node of a cycle or a dangling need (a
 * spec the server would refuse) is listed at the end, at the top level.
 */
export function graphTree(nodes: readonly SpecNode[]): TreeLine[] {
  const byId = new Map<string, SpecNode>();
  for (const node of nodes) if (!byId.has(node.id)) byId.set(node.id, node);
  const pending = new Map<string, number>();
  const successors = new Map<string, string[]>();
  for (const node of byId.values()) {
    const preds = new Set(node.needs.map((need) => need.node).filter((id) => id !== node.id && byId.has(id)));
    pending.set(node.id, preds.size);
    for (const pred of preds) successors.set(pred, [...(successors.get(pred) ?? []), node.id]);
  }
  const lines: TreeLine[] = [];
  // Depth first with an explicit stack: a chain of 10,000 nodes does not grow the call stack.
  const stack: { id: string; depth: number; parent: string | null }[] = [];
  const pushAll = (ids: string[], depth: number, parent: string | null) => {
    for (let i = ids.length - 1; i >= 0; i--) stack.push({ id: ids[i]!, depth, parent });
  };
  pushAll([...byId.keys()].filter((id) => pending.get(id) === 0), 0, null);
  while (stack.length > 0) {
    const { id, depth, parent } = stack.pop()!;
    lines.push({ node: byId.get(id)!, depth, parent });
    const ready: string[] = [];
    for (const next of successors.get(id) ?? []) {
      const left = pending.get(next)! - 1;
      pending.set(next, left);
      if (left === 0) ready.push(next);
    }
    pushAll(ready, depth + 1, id);
  }
  const placed = new Set(lines.map((line) => line.node.id));
  for (const node of byId.values()) if (!placed.has(node.id)) lines.push({ node, depth: 0, parent: null });
  return lines;
}

/** Deeper levels are drawn at this one, their depth written out (a 10,000-node chain stays readable). */
const MAX_DRAWN_DEPTH = 24;

/** The first cell of a tree line: the node id indented by its depth. */
function treeCell(line: TreeLine): string {
  if (line.depth <= MAX_DRAWN_DEPTH) return `${'  '.repeat(line.depth)}${line.node.id}`;
  return `${'  '.repeat(MAX_DRAWN_DEPTH)}[${line.depth}] ${line.node.id}`;
}

/**
 * The needs of a node that its place in the tree does not show: all of them, optional ones marked,
 * when it has several or an optional one; empty when it has only the one it sits under.
 */
export function needsText(line: TreeLine): string {
  const { needs } = line.node;
  if (needs.length === 0 || (needs.length === 1 && !needs[0]!.optional && needs[0]!.node === line.parent)) return '';
  return needs.map((need) => (need.optional ? `${need.node} (optional)` : need.node)).join(', ');
}

/** What a node runs: `task NAME`, or its inline target. */
function nodeWork(node: SpecNode): string {
  if (node.task !== undefined) return `task ${node.task}`;
  return describeTarget(node.target);
}

export function workflowLabel(workflow: Pick<WorkflowResource, 'namespace' | 'name'>): string {
  return `${workflow.namespace}/${workflow.name}`;
}

export function workflowTable(workflows: readonly WorkflowResource[]): string {
  return formatTable(
    ['id', 'namespace', 'name', 'state', 'schedule', 'nodes', 'next fire', 'last status'],
    workflows.map((w) => [
      w.id, w.namespace, w.name, w.state, describeSchedule(w.spec?.schedule), String(specNodes(w.spec).length), formatInstant(w.nextFireAt), formatValue(w.lastRunStatus),
    ]),
  );
}

/** The graph of a spec as a table whose first column is the tree. */
export function graphTable(spec: unknown): string {
  const lines = graphTree(specNodes(spec));
  return formatTable(['node', 'runs', 'when', 'needs'], lines.map((line) => [treeCell(line), nodeWork(line.node), line.node.run ?? 'on-success', needsText(line)]));
}

/** A workflow as `key: value` lines, then its graph as an indented tree. */
export function workflowDetails(workflow: WorkflowResource): string {
  const spec = (workflow.spec ?? {}) as unknown as Loose;
  const entries: [string, string][] = [
    ['id', workflow.id],
    ['namespace', workflow.namespace],
    ['name', workflow.name],
    ['revision', String(workflow.revision)],
    ['state', workflow.state],
    ['schedule', describeSchedule(spec.schedule)],
  ];
  if (typeof spec.description === 'string' && spec.description !== '') entries.push(['description', spec.description]);
  if (typeof spec.timeoutMs === 'number') entries.push(['timeout', formatDuration(spec.timeoutMs)]);
  entries.push(
    ['params', formatValue(spec.params && typeof spec.params === 'object' && Object.keys(spec.params).length > 0 ? spec.params : null)],
    ['next fire', formatInstant(workflow.nextFireAt)],
    ['last fire', formatInstant(workflow.lastFireAt)],
    ['last status', formatValue(workflow.lastRunStatus)],
    ['created', formatInstant(workflow.createdAt)],
    ['updated', formatInstant(workflow.updatedAt)],
  );
  const nodes = specNodes(spec);
  return `${formatKeyValues(entries)}nodes (${nodes.length}):\n${indent(graphTable(spec))}`;
}

/** How long something took: `850ms`, `12.4s`, `3m20s`; `-` when it has not both started and finished. */
export function elapsedText(startedAt: string | null | undefined, finishedAt: string | null | undefined): string {
  if (!startedAt || !finishedAt) return '-';
  const ms = Date.parse(finishedAt) - Date.parse(startedAt);
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(Math.round(ms / 100) / 10).toFixed(1)}s`;
  return formatDuration(Math.round(ms / 1000) * 1000);
}

export function workflowRunTable(runs: readonly WorkflowRunResource[]): string {
  return formatTable(
    ['id', 'workflow', 'revision', 'status', 'trigger', 'scheduled', 'started', 'finished'],
    runs.map((r) => [r.id, `${r.namespace}/${r.workflowName}`, String(r.revision), r.status, r.trigger, formatInstant(r.scheduledAt), formatInstant(r.startedAt), formatInstant(r.finishedAt)]),
  );
}

/** The state of each node, the nodes laid out as the spec's tree (or in the run's order when the spec is unknown). */
function nodeStateTable(nodes: readonly WorkflowNodeResource[], spec: unknown): string {
  const states = new Map(nodes.map((node) => [node.id, node]));
  const fromSpec = spec === undefined ? [] : specNodes(spec);
  const known = new Set(fromSpec.map((node) => node.id));
  // Nodes of the run that the spec does not have (it should have them all) come last, flat.
  const flat = nodes.filter((node) => !known.has(node.id)).map((node): TreeLine => ({ node: { id: node.id, needs: [] }, depth: 0, parent: null }));
  const lines = [...graphTree(fromSpec), ...flat];
  return formatTable(['node', 'status', 'reason', 'duration', 'attempts', 'run', 'needs'], lines.map((line) => {
    const state = states.get(line.node.id);
    return [
      treeCell(line), state?.status ?? '-', formatValue(state?.reason), elapsedText(state?.startedAt, state?.finishedAt),
      state ? String(state.attempts) : '-', formatValue(state?.runId), needsText(line),
    ];
  }));
}

/**
 * A workflow run as `key: value` lines, then its nodes as a tree with their states. `spec` is the
 * spec of the revision the run executes; without it (the workflow was deleted) the nodes are
 * listed flat, in the run's order.
 */
export function workflowRunDetails(run: WorkflowRunResource, spec: unknown): string {
  const entries: [string, string][] = [
    ['id', run.id],
    ['workflow', `${run.namespace}/${run.workflowName} (${run.workflowId}, revision ${run.revision})`],
    ['status', run.status],
    ['trigger', run.trigger],
    ['scheduled', formatInstant(run.scheduledAt)],
    ['started', formatInstant(run.startedAt)],
    ['finished', formatInstant(run.finishedAt)],
    ['duration', elapsedText(run.startedAt, run.finishedAt)],
    ['params', formatValue(run.params && Object.keys(run.params).length > 0 ? run.params : null)],
    ['error', formatValue(run.error)],
  ];
  const nodes = run.nodes ?? [];
  const note = spec === undefined && nodes.length > 0 ? ' (the workflow revision cannot be read: nodes in the run\'s order)' : '';
  return `${formatKeyValues(entries)}nodes (${nodes.length})${note}:\n${indent(nodeStateTable(nodes, spec))}`;
}
