/**
 * The spec of a workflow: a graph of nodes, each running a task (by name) or an inline target after the
 * nodes it needs. Node params may hold templates (workflow-template.ts) naming upstream nodes.
 *
 * Stable codes, besides those of a task spec: WORKFLOW_TOO_LARGE, NODE_TARGET_REQUIRED,
 * NODE_TARGET_CONFLICT, DUPLICATE_NODE_ID, UNKNOWN_NODE, SELF_DEPENDENCY, DUPLICATE_NEED,
 * DEPENDENCY_CYCLE, TEMPLATE_INVALID, TEMPLATE_NOT_ANCESTOR.
 */
import { z } from 'zod';
import { duration } from './duration.ts';
import { MAX_PARAMS_BYTES, RetrySchema, ScheduleSchema, TargetSchema, TaskSpecSchema, type RetryPolicy, type Target } from './task-spec.ts';
import { analyseWorkflowGraph, formatCycle, type GraphNode } from './workflow-graph.ts';
import { scanTemplates, type JsonPath, type TemplateRef } from './workflow-template.ts';

/** Most nodes in one workflow. */
export const MAX_WORKFLOW_NODES = 10_000;
/** A node id: an identifier, so that a template path can name it (`nodes.<id>.output`). */
export const NODE_ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;
export const NODE_RUN_CONDITIONS = ['on-success', 'always', 'on-failure'] as const;

const NODE_ID_MESSAGE = 'must be 1-128 characters: letters, digits, "_" or "-", starting with a letter or "_"';
const issue = (message: string, ecronCode: string, path?: JsonPath) =>
  ({ code: 'custom' as const, message, params: { ecronCode }, ...(path ? { path } : {}) });

const nodeId = z.string().regex(NODE_ID_PATTERN, NODE_ID_MESSAGE);
const NeedSchema = z.union([
  nodeId,
  z.strictObject({ node: nodeId, optional: z.boolean().default(false).describe('the node runs even if this one did not succeed') }),
], { error: 'expected a node id or { "node": "<id>", "optional": true|false }' })
  .transform((need) => (typeof need === 'string' ? { node: need, optional: false } : need));

const DEFAULT_RETRY: RetryPolicy = RetrySchema.parse({});
const defaultRetry = (): RetryPolicy => ({ ...DEFAULT_RETRY, backoff: { ...DEFAULT_RETRY.backoff } });

/** The template references found in each parsed node's params, kept for the whole-graph checks. */
const nodeRefs = new WeakMap<object, TemplateRef[]>();

/** A node's params: as a task's (PARAMS_TOO_LARGE past 64 KiB of JSON), with templates checked. */
const nodeParamsSchema = z.record(z.string(), z.unknown()).default({}).superRefine((params, ctx) => {
  const json = JSON.stringify(params);
  // A UTF-16 code unit is at most 3 bytes of UTF-8: only a long text needs encoding to be measured.
  if (json.length * 3 > MAX_PARAMS_BYTES && new TextEncoder().encode(json).length > MAX_PARAMS_BYTES) {
    ctx.addIssue(issue(`params exceed ${MAX_PARAMS_BYTES} bytes of JSON`, 'PARAMS_TOO_LARGE'));
  }
  if (!json.includes('{{')) return;
  const { refs, issues } = scanTemplates(params);
  for (const found of issues) ctx.addIssue(issue(found.message, found.code, found.path));
  nodeRefs.set(params, refs);
});

const RawNodeSchema = z.strictObject({
  id: nodeId,
  description: z.string().max(2000).optional(),
  task: TaskSpecSchema.shape.name.optional().describe('name of a task of the same namespace; the node uses its target and policies'),
  target: TargetSchema.optional().describe('an inline target; exclusive with task'),
  retry: RetrySchema.optional().describe('only with target'),
  timeoutMs: duration({ min: 1, max: 7 * 86_400_000 }).optional().describe('deadline of each attempt; only with target'),
  needs: z.array(NeedSchema).default([]).describe('nodes that must finish first'),
  params: nodeParamsSchema,
  run: z.enum(NODE_RUN_CONDITIONS).default('on-success').describe('runs when its required needs all succeeded, always, or when one failed'),
});
type RawNode = z.output<typeof RawNodeSchema>;

export type NodeRunCondition = (typeof NODE_RUN_CONDITIONS)[number];
export interface WorkflowNeed {
  node: string;
  optional: boolean;
}
interface NodeBase {
  id: string;
  description?: string;
  needs: WorkflowNeed[];
  params: Record<string, unknown>;
  run: NodeRunCondition;
}
/** A node running a task of the workflow's namespace, with that task's target and policies. */
export type TaskWorkflowNode = NodeBase & { task: string };
/** A node running an inline target, with its own retry policy and attempt deadline. */
export type TargetWorkflowNode = NodeBase & { target: Target; retry: RetryPolicy; timeoutMs?: number };
export type WorkflowNode = TaskWorkflowNode | TargetWorkflowNode;

function checkNode(raw: RawNode, ctx: z.RefinementCtx): void {
  if (raw.task === undefined && raw.target === undefined) {
    ctx.addIssue(issue('a node needs either "task" (a task name) or "target"', 'NODE_TARGET_REQUIRED'));
    return;
  }
  if (raw.task !== undefined && raw.target !== undefined) {
    ctx.addIssue(issue('a node has either "task" or "target", not both', 'NODE_TARGET_CONFLICT', ['target']));
  } else if (raw.task !== undefined) {
    for (const field of ['retry', 'timeoutMs'] as const) {
      if (raw[field] !== undefined) ctx.addIssue(issue(`"${field}" applies only to a node with a target: a task node uses the task's own policies`, 'NODE_TARGET_CONFLICT', [field]));
    }
  }
}

function toNode(raw: RawNode): WorkflowNode {
  const base: NodeBase = { id: raw.id, ...(raw.description !== undefined ? { description: raw.description } : {}), needs: raw.needs, params: raw.params, run: raw.run };
  if (raw.task !== undefined) return { ...base, task: raw.task };
  return { ...base, target: raw.target!, retry: raw.retry ?? defaultRetry(), ...(raw.timeoutMs !== undefined ? { timeoutMs: raw.timeoutMs } : {}) };
}

export const WorkflowNodeSchema = RawNodeSchema.superRefine(checkNode).transform(toNode);

/** The node list: its length is checked before any node is parsed, so a huge body is refused at once. */
const NodesSchema = z.custom<z.input<typeof WorkflowNodeSchema>[]>(() => true)
  .superRefine((value, ctx) => {
    if (Array.isArray(value) && value.length > MAX_WORKFLOW_NODES) {
      ctx.addIssue(issue(`a workflow has at most ${MAX_WORKFLOW_NODES} nodes; got ${value.length}`, 'WORKFLOW_TOO_LARGE'));
    }
  })
  .pipe(z.array(WorkflowNodeSchema).min(1, 'a workflow has at least one node'));

const workflowParamsSchema = TaskSpecSchema.shape.params.superRefine((params, ctx) => {
  const { refs, issues } = scanTemplates(params);
  for (const found of issues) ctx.addIssue(issue(found.message, found.code, found.path));
  for (const ref of refs) {
    if (ref.root === 'nodes') {
      ctx.addIssue(issue(`"{{ ${ref.expr} }}": the workflow's params cannot refer to a node, only to workflow.*`, 'TEMPLATE_NOT_ANCESTOR', ref.path));
    } else if (ref.root === 'params') {
      ctx.addIssue(issue(`"{{ ${ref.expr} }}": the workflow's params cannot refer to params, only to workflow.*`, 'TEMPLATE_INVALID', ref.path));
    }
  }
});

/** Whole-graph checks, once every node parsed: ids, needs, cycles, and the nodes templates refer to. */
function checkGraph(spec: { nodes: WorkflowNode[] }, ctx: z.RefinementCtx): void {
  if (ctx.issues.some((found) => found.path?.[0] === 'nodes') || !Array.isArray(spec.nodes)) return;
  const nodes = spec.nodes;
  const first = new Map<string, number>();
  nodes.forEach((node, i) => {
    if (first.has(node.id)) ctx.addIssue(issue(`node id "${node.id}" is already used by nodes[${first.get(node.id)}]`, 'DUPLICATE_NODE_ID', ['nodes', i, 'id']));
    else first.set(node.id, i);
  });

  const graphNodes: GraphNode[] = nodes.map((node, i) => {
    const seen = new Set<string>();
    const needs = node.needs.filter((need, j) => {
      const [message, code] = need.node === node.id ? [`node "${node.id}" cannot need itself`, 'SELF_DEPENDENCY']
        : !first.has(need.node) ? [`no node has the id "${need.node}"`, 'UNKNOWN_NODE']
        : seen.has(need.node) ? [`node "${node.id}" already needs "${need.node}"`, 'DUPLICATE_NEED']
        : [];
      if (code) ctx.addIssue(issue(message!, code, ['nodes', i, 'needs', j]));
      else seen.add(need.node);
      return !code;
    });
    return { id: node.id, needs };
  });

  const { graph, cycle } = analyseWorkflowGraph(graphNodes);
  if (cycle) {
    const [from, to] = cycle.slice(-2) as [string, string];
    const i = first.get(from)!;
    const j = nodes[i]!.needs.findIndex((need) => need.node === to);
    ctx.addIssue(issue(`dependency cycle: ${formatCycle(cycle)}`, 'DEPENDENCY_CYCLE', ['nodes', i, 'needs', j]));
  }

  nodes.forEach((node, i) => {
    for (const ref of nodeRefs.get(node.params) ?? []) {
      if (ref.root !== 'nodes') continue;
      const target = ref.nodeId!;
      if (!first.has(target)) {
        ctx.addIssue(issue(`"{{ ${ref.expr} }}" refers to node "${target}", which does not exist`, 'UNKNOWN_NODE', ['nodes', i, 'params', ...ref.path]));
      } else if (graph && first.get(node.id) === i && !node.needs.some((need) => need.node === target) && !graph.isAncestor(target, node.id)) {
        ctx.addIssue(issue(`"{{ ${ref.expr} }}" refers to node "${target}", which is not upstream of "${node.id}": add it to needs, directly or through another node`, 'TEMPLATE_NOT_ANCESTOR', ['nodes', i, 'params', ...ref.path]));
      }
    }
  });
}

export const WorkflowSpecSchema = z.strictObject({
  namespace: TaskSpecSchema.shape.namespace,
  name: TaskSpecSchema.shape.name,
  description: z.string().max(2000).optional(),
  schedule: ScheduleSchema.default(() => ({ manual: true as const })).describe('when the workflow runs; default: only when triggered'),
  misfire: TaskSpecSchema.shape.misfire,
  overlap: TaskSpecSchema.shape.overlap,
  params: workflowParamsSchema.describe('the run\'s params; templates may refer to workflow.* only'),
  timeoutMs: duration({ min: 1, max: 7 * 86_400_000 }).optional().describe('deadline of the whole workflow run'),
  nodes: NodesSchema,
}).superRefine(checkGraph);

/** A workflow spec as written by a user (durations may be strings, defaults missing, needs as ids). */
export type WorkflowSpecInput = z.input<typeof WorkflowSpecSchema>;
/** A validated workflow spec: durations in milliseconds, defaults filled in, needs normalised. */
export type WorkflowSpec = z.output<typeof WorkflowSpecSchema>;
