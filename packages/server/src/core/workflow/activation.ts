/**
 * Turns the nodes the planner found ready into runs: each node gets an ordinary run (pending,
 * attempt 0, owned by the node that recorded the event), its params rendered from the workflow
 * run's params and its ancestors' outputs. A `task` node runs as a run of that task (its target
 * and policies); an inline node as a run of the workflow itself, named `workflow/node`, whose
 * target the supervisor reads from the workflow's revision (`nodeTaskView`).
 */
import { renderTemplates, type WorkflowSpec } from '@ecron/contracts';
import { newId } from '../ids.ts';
import type { RunRecord, TaskRecord } from '../model.ts';
import type { NewRun } from '../../store/store.ts';
import { settle, successorsOf, type WorkflowState } from './step.ts';

/** What a `task` node needs of its task. */
export type NodeTask = Pick<TaskRecord, 'id' | 'name' | 'revision' | 'spec'>;

export interface ActivationContext {
  /** The workflow run (its own run record). */
  driver: RunRecord;
  now: number;
  /** The node that will supervise the new runs. */
  owner: string | null;
}

/** The `task` names of the given nodes (to look up before {@link activate}). */
export function taskNamesOf(state: WorkflowState, ids: readonly string[]): string[] {
  const names = new Set<string>();
  for (const id of ids) {
    const node = state.dag.nodes.get(id);
    if (node && 'task' in node) names.add(node.task);
  }
  return [...names];
}

/**
 * Runs for the ready nodes. A node whose task is missing fails at once (`task_not_found`), and
 * what that decides downstream is returned as `ready` again: call until it is empty.
 */
export function activate(state: WorkflowState, ready: readonly string[], tasks: ReadonlyMap<string, NodeTask>, ctx: ActivationContext): { runs: NewRun[]; ready: string[] } {
  const runs: NewRun[] = [];
  const missing: string[] = [];
  const scope = templateScope(state, ctx.driver);
  for (const id of ready) {
    const node = state.dag.nodes.get(id)!;
    const task = 'task' in node ? tasks.get(node.task) : null;
    if (task === undefined) {
      missing.push(id);
      state.set(id, { status: 'failed', reason: 'task_not_found', finishedAt: ctx.now });
      continue;
    }
    const rendered = renderTemplates(node.params, scope) as Record<string, unknown>;
    const run: NewRun = {
      id: newId(), namespace: ctx.driver.namespace, trigger: 'manual', scheduledAt: ctx.now, createdAt: ctx.now, status: 'pending', owner: ctx.owner,
      workflowRunId: state.runId, nodeId: id,
      ...(task
        ? { taskId: task.id, taskName: task.name, taskRevision: task.revision, params: { ...task.spec.params, ...rendered } }
        : { taskId: ctx.driver.taskId, taskName: `${ctx.driver.taskName}/${id}`, taskRevision: ctx.driver.taskRevision, params: rendered }),
    };
    runs.push(run);
    state.set(id, { runId: run.id });
  }
  return { runs, ready: missing.length === 0 ? [] : settle(state, successorsOf(state, missing), ctx.now) };
}

function templateScope(state: WorkflowState, driver: RunRecord) {
  const nodes: Record<string, { output: unknown; status: string }> = {};
  for (const node of state.nodes.values()) nodes[node.nodeId] = { output: node.output, status: node.status };
  const workflow = { runId: driver.id, scheduledAt: new Date(driver.scheduledAt).toISOString(), name: driver.taskName };
  // The workflow's own params may refer to workflow.* (its run id, its instant).
  const params = renderTemplates(driver.params, { params: {}, nodes: {}, workflow }) as Record<string, unknown>;
  return { params, nodes, workflow };
}

/**
 * The task an inline node's run executes, as the supervisor sees it: the node's target, retry
 * and timeout, under the workflow's namespace and the name `workflow/node`.
 */
export function nodeTaskView(workflow: { id: string; namespace: string; name: string; revision: number; spec: WorkflowSpec }, nodeId: string, base: Omit<TaskRecord, 'kind' | 'spec' | 'id' | 'namespace' | 'name' | 'revision'>): TaskRecord | null {
  const node = workflow.spec.nodes.find((n) => n.id === nodeId);
  if (!node || !('target' in node)) return null;
  return {
    ...base, kind: 'task', id: workflow.id, namespace: workflow.namespace, name: `${workflow.name}/${nodeId}`, revision: workflow.revision,
    spec: {
      namespace: workflow.namespace, name: workflow.name, schedule: { manual: true }, target: node.target,
      retry: node.retry,
      ...(node.timeoutMs !== undefined ? { timeoutMs: node.timeoutMs } : {}),
      overlap: 'allow', misfire: { policy: 'fire-once', maxCatchUp: 100 }, params: {},
    },
  };
}
