/**
 * What the stores share about workflow runs: parsed workflow specs by (workflow id, revision),
 * for the transactions that advance workflow runs (a revision never changes once written, so
 * entries never go stale; the map is bounded), and the two small steps every store takes around
 * them.
 */
import type { WorkflowSpec } from '@ecron/contracts';
import type { WorkflowNodeRecord } from '../core/workflow/node-state.ts';
import type { EndedRun } from './store.ts';

const MAX_ENTRIES = 256;

export class WorkflowSpecCache {
  readonly #specs = new Map<string, WorkflowSpec>();

  /**
   * The cached spec, or `load()`'s (a revision's stored JSON text, parsed here); null when the
   * revision is gone (the workflow was deleted: its revisions go with it).
   */
  get(taskId: string, revision: number, load: () => string | null): WorkflowSpec | null;
  get(taskId: string, revision: number, load: () => Promise<string | null>): Promise<WorkflowSpec | null>;
  get(taskId: string, revision: number, load: () => string | null | Promise<string | null>): WorkflowSpec | null | Promise<WorkflowSpec | null> {
    const key = `${taskId}:${revision}`;
    const cached = this.#specs.get(key);
    if (cached) return cached;
    const remember = (text: string | null): WorkflowSpec | null => {
      if (text === null) return null;
      const spec = JSON.parse(text) as WorkflowSpec;
      if (this.#specs.size >= MAX_ENTRIES) this.#specs.delete(this.#specs.keys().next().value!);
      this.#specs.set(key, spec);
      return spec;
    };
    const text = load();
    return typeof text === 'string' || text === null ? remember(text) : text.then(remember);
  }
}

/** Nodes in the order of the spec's `nodes` (as stored, when the spec is gone). */
export function inSpecOrder(nodes: WorkflowNodeRecord[], spec: WorkflowSpec | null): WorkflowNodeRecord[] {
  if (!spec) return nodes;
  const order = new Map(spec.nodes.map((node, i) => [node.id, i]));
  return nodes.sort((a, b) => (order.get(a.nodeId) ?? 0) - (order.get(b.nodeId) ?? 0));
}

/**
 * The node runs among `ended` that ended for good, by workflow run, in workflow run id order (the
 * order their rows are locked in).
 */
export function nodeEndsByWorkflowRun(ended: readonly EndedRun[]): [string, EndedRun[]][] {
  const byWorkflowRun = new Map<string, EndedRun[]>();
  for (const run of ended) {
    if (run.nodeId === null || run.workflowRunId === null || run.finishedAt === null) continue;
    const list = byWorkflowRun.get(run.workflowRunId);
    if (list) list.push(run);
    else byWorkflowRun.set(run.workflowRunId, [run]);
  }
  return [...byWorkflowRun].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
