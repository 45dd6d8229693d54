/**
 * Workflow management and workflow runs: the operations behind `/api/v1/workflows` and
 * `/api/v1/workflow-runs`. As for tasks, every input is validated here, every mutation is audited
 * in its store transaction, and a workflow outside the caller's namespaces does not exist for it.
 */
import { describeFieldIssues, WorkflowSpecSchema, type FieldIssue, type RunStatus, type TaskSpec, type TaskState, type WorkflowRunStatus, type WorkflowSpec } from '@ecron/contracts';
import type { Clock } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { RunRecord, TaskRevisionRecord, WorkflowRecord } from '../core/model.ts';
import type { WorkflowNodeRecord } from '../core/workflow/node-state.ts';
import type { WorkflowAction } from '../core/workflow/transaction.ts';
import type { RunControl } from '../scheduler/run-control.ts';
import type { Page, Store } from '../store/store.ts';
import { callerNoun, checkNamespaceAccess, namespaceFilter, type Caller, type RoleRequirement } from './access.ts';
import { namespaceLimitIssues } from './namespace-limits.ts';
import { initialFireState, resumedFireState, updatedFireState } from './schedule-state.ts';
import { maskedHeaderIssues, mergeSecrets, SUPPORTED_TARGET_TYPES, validationError } from './task-spec-input.ts';

export interface ListWorkflowsQuery {
  namespace?: string;
  name?: string;
  state?: TaskState;
  q?: string;
  lastRunStatus?: RunStatus;
  cursor?: string | null;
  limit: number;
}

export interface ListWorkflowRunsQuery {
  workflowId?: string;
  namespace?: string;
  status?: WorkflowRunStatus;
  cursor?: string | null;
  limit: number;
}

export interface WorkflowRunView {
  run: RunRecord;
  nodes: WorkflowNodeRecord[];
}

/** A recovery action on a workflow run, as the API names them. */
export type RecoveryAction =
  | { kind: 'rerun-failed' }
  | { kind: 'rerun-node'; nodeId: string }
  | { kind: 'succeed-node'; nodeId: string; output: unknown }
  | { kind: 'skip-node'; nodeId: string };

export interface WorkflowService {
  /** Validates a spec as `create` would (task references included), storing nothing. */
  validate(caller: Caller, input: unknown): Promise<WorkflowSpec>;
  create(caller: Caller, input: unknown): Promise<WorkflowRecord>;
  get(caller: Caller, id: string): Promise<WorkflowRecord>;
  list(caller: Caller, query: ListWorkflowsQuery): Promise<Page<WorkflowRecord>>;
  update(caller: Caller, id: string, input: unknown, options?: { expectedRevision?: number }): Promise<WorkflowRecord>;
  pause(caller: Caller, id: string): Promise<WorkflowRecord>;
  resume(caller: Caller, id: string): Promise<WorkflowRecord>;
  delete(caller: Caller, id: string): Promise<void>;
  revisions(caller: Caller, id: string): Promise<TaskRevisionRecord[]>;
  revision(caller: Caller, id: string, revision: number): Promise<TaskRevisionRecord>;
  trigger(caller: Caller, id: string, params?: Record<string, unknown>): Promise<WorkflowRunView>;
  getRun(caller: Caller, id: string): Promise<WorkflowRunView>;
  listRuns(caller: Caller, query: ListWorkflowRunsQuery): Promise<Page<RunRecord>>;
  cancelRun(caller: Caller, id: string): Promise<WorkflowRunView>;
  recover(caller: Caller, id: string, action: RecoveryAction): Promise<WorkflowRunView>;
}

/** The statuses of a workflow run's own run that show as each workflow run status (see `workflowRunStatus`). */
const RUN_STATUSES_OF: Record<WorkflowRunStatus, RunStatus[]> = {
  pending: ['pending', 'dispatched', 'no_executor', 'throttled'],
  running: ['running'],
  succeeded: ['succeeded'],
  cancelled: ['cancelled'],
  failed: ['failed', 'timed_out', 'lost', 'skipped'],
};

const RECOVERY_AUDIT: Record<RecoveryAction['kind'], string> = {
  'rerun-failed': 'workflow_run.rerun_failed',
  'rerun-node': 'workflow_run.node_rerun',
  'succeed-node': 'workflow_run.node_succeed',
  'skip-node': 'workflow_run.node_skip',
};

export function createWorkflowService(deps: { store: Store; control: RunControl; clock: Clock }): WorkflowService {
  const { store, control, clock } = deps;

  /** Workflow `id` for an operation that needs `needed` in its namespace (see `checkNamespaceAccess`). */
  async function load(caller: Caller, id: string, needed: RoleRequirement): Promise<WorkflowRecord> {
    const workflow = await store.getWorkflow(id);
    const notFound = () => new EcronError('WORKFLOW_NOT_FOUND', `no workflow with id ${JSON.stringify(id)}`);
    if (!workflow) throw notFound();
    checkNamespaceAccess(caller, workflow.namespace, needed, notFound);
    return workflow;
  }

  function checkNamespace(caller: Caller, namespace: string, needed: RoleRequirement): void {
    checkNamespaceAccess(caller, namespace, needed, () => new EcronError('FORBIDDEN', `${callerNoun(caller)} cannot manage workflows in namespace ${JSON.stringify(namespace)}`));
  }

  /**
   * Schema, then what only the server knows: target types it runs, the tasks nodes name, and the
   * namespace's limits. `needed`: the role the caller must hold in the spec's namespace (editor to
   * write it, viewer to validate it).
   */
  async function parse(caller: Caller, input: unknown, needed: RoleRequirement): Promise<WorkflowSpec> {
    const parsed = WorkflowSpecSchema.safeParse(input);
    if (!parsed.success) throw validationError(parsed.error);
    const spec = parsed.data;
    checkNamespace(caller, spec.namespace, needed);
    const issues: FieldIssue[] = [];
    const names = new Set<string>();
    spec.nodes.forEach((node, i) => {
      if ('task' in node) names.add(node.task);
      else if (!SUPPORTED_TARGET_TYPES.includes(node.target.type)) {
        issues.push({ path: `nodes[${i}].target.type`, code: 'TARGET_NOT_SUPPORTED', message: `target type "${node.target.type}" is not available on this server` });
      } else issues.push(...maskedHeaderIssues(node.target, ['nodes', i, 'target']));
    });
    const missing = new Set<string>();
    await Promise.all([...names].map(async (name) => {
      if (!await store.getTaskByName(spec.namespace, name)) missing.add(name);
    }));
    spec.nodes.forEach((node, i) => {
      if ('task' in node && missing.has(node.task)) {
        issues.push({ path: `nodes[${i}].task`, code: 'TASK_NOT_FOUND', message: `no task named ${JSON.stringify(node.task)} in namespace ${JSON.stringify(spec.namespace)}` });
      }
    });
    issues.push(...(await namespaceLimitIssues(store, [spec], clock.now()))[0]!);
    if (issues.length > 0) throw new EcronError('VALIDATION_FAILED', describeFieldIssues(issues), { issues });
    return spec;
  }

  /** Inline HTTP targets keep their secret across an update that omits it (by node id), as tasks do. */
  function keepSecrets(next: WorkflowSpec, previous: WorkflowSpec): WorkflowSpec {
    const before = new Map(previous.nodes.map((node) => [node.id, node]));
    return {
      ...next,
      nodes: next.nodes.map((node) => {
        if (!('target' in node)) return node;
        const old = before.get(node.id);
        const oldTarget = old && 'target' in old ? old.target : node.target;
        const merged = mergeSecrets({ target: node.target } as TaskSpec, { target: oldTarget } as TaskSpec);
        return { ...node, target: merged.target };
      }),
    };
  }

  async function loadRun(caller: Caller, id: string, needed: RoleRequirement): Promise<RunRecord> {
    const run = await store.getRun(id);
    const notFound = () => new EcronError('WORKFLOW_RUN_NOT_FOUND', `no workflow run with id ${JSON.stringify(id)}`);
    if (!run || run.workflowRunId !== run.id) throw notFound();
    checkNamespaceAccess(caller, run.namespace, needed, notFound);
    return run;
  }

  async function view(run: RunRecord): Promise<WorkflowRunView> {
    return { run, nodes: await store.listWorkflowNodes(run.id) };
  }

  async function act(caller: Caller, id: string, action: WorkflowAction, audit: string, details: Record<string, unknown> = {}): Promise<WorkflowRunView> {
    const run = await loadRun(caller, id, 'operator');
    const changed = await control.actOnWorkflowRun({
      runId: run.id, action, audit: { actor: caller.actor, action: audit, details: { workflowId: run.taskId, ...details } },
    });
    return view(changed ?? (await store.getRun(run.id))!);
  }

  const service: WorkflowService = {
    async validate(caller, input) {
      return parse(caller, input, 'viewer');
    },

    async create(caller, input) {
      const spec = await parse(caller, input, 'editor');
      const now = clock.now();
      const workflow: WorkflowRecord = {
        id: newId(), kind: 'workflow', namespace: spec.namespace, name: spec.name, revision: 1, ...initialFireState(spec.schedule, now), spec,
        lastFireAt: null, lastRunStatus: null, skippedFires: 0, createdAt: now, updatedAt: now,
      };
      const created = await store.createTask({
        task: workflow, audit: { actor: caller.actor, action: 'workflow.create', details: { namespace: spec.namespace, name: spec.name, nodes: spec.nodes.length } },
      });
      control.taskChanged(created.id);
      return created;
    },

    get: (caller, id) => load(caller, id, 'viewer'),

    async list(caller, query) {
      return store.listWorkflows({
        namespaces: namespaceFilter(caller, 'viewer'), namespace: query.namespace, name: query.name, state: query.state, nameContains: query.q, lastRunStatus: query.lastRunStatus,
        cursor: query.cursor, limit: query.limit,
      });
    },

    async update(caller, id, input, options = {}) {
      const existing = await load(caller, id, 'editor');
      const spec = keepSecrets(await parse(caller, input, 'editor'), existing.spec);
      const now = clock.now();
      const updated = await store.updateWorkflow({
        id, expectedRevision: options.expectedRevision, spec, ...updatedFireState(existing, spec.schedule, now), at: now,
        audit: { actor: caller.actor, action: 'workflow.update', details: { namespace: spec.namespace, name: spec.name, fromRevision: existing.revision } },
      });
      control.taskChanged(id);
      return updated;
    },

    async pause(caller, id) {
      const existing = await load(caller, id, 'operator');
      const paused = await store.setWorkflowState({
        id, state: 'paused', nextFireAt: null, at: clock.now(),
        audit: { actor: caller.actor, action: 'workflow.pause', details: { namespace: existing.namespace, name: existing.name } },
      });
      control.taskChanged(id);
      return paused;
    },

    async resume(caller, id) {
      const existing = await load(caller, id, 'operator');
      const now = clock.now();
      const resumed = await store.setWorkflowState({
        id, ...resumedFireState(existing, now), at: now,
        audit: { actor: caller.actor, action: 'workflow.resume', details: { namespace: existing.namespace, name: existing.name } },
      });
      control.taskChanged(id);
      return resumed;
    },

    async delete(caller, id) {
      const existing = await load(caller, id, 'editor');
      // Its runs in progress end first (cancelled): once deleted, its revisions are gone.
      const active = (await store.listActiveRuns({ taskId: id, limit: 10_000 })).filter((run) => run.workflowRunId === run.id);
      for (const run of active) {
        await control.actOnWorkflowRun({
          runId: run.id, action: { kind: 'cancel', status: 'cancelled', error: 'the workflow was deleted' },
          audit: { actor: caller.actor, action: 'run.cancel', details: { workflowId: id, reason: 'workflow.delete' } },
        }).catch((error: unknown) => {
          if (!(error instanceof EcronError && (error.code === 'RUN_ALREADY_FINISHED' || error.code === 'WORKFLOW_RUN_NOT_STARTED'))) throw error;
        });
      }
      await store.deleteWorkflow({
        id, at: clock.now(), audit: { actor: caller.actor, action: 'workflow.delete', details: { namespace: existing.namespace, name: existing.name } },
      });
      control.taskChanged(id);
    },

    async revisions(caller, id) {
      await load(caller, id, 'viewer');
      return store.listTaskRevisions(id);
    },

    async revision(caller, id, revision) {
      await load(caller, id, 'viewer');
      const found = await store.getTaskRevision({ taskId: id, revision });
      if (!found) throw new EcronError('NOT_FOUND', `workflow ${id} has no revision ${revision}`);
      return found;
    },

    async trigger(caller, id, params) {
      const workflow = await load(caller, id, 'operator');
      return view(await control.trigger({ task: workflow, ...(params ? { params } : {}), actor: caller.actor }));
    },

    getRun: async (caller, id) => view(await loadRun(caller, id, 'viewer')),

    async listRuns(caller, query) {
      if (query.workflowId !== undefined) await load(caller, query.workflowId, 'viewer');
      return store.listRuns({
        namespaces: namespaceFilter(caller, 'viewer'), workflowRuns: true, taskId: query.workflowId, namespace: query.namespace,
        ...(query.status ? { statuses: RUN_STATUSES_OF[query.status] } : {}),
        cursor: query.cursor, limit: query.limit,
      });
    },

    async cancelRun(caller, id) {
      const run = await loadRun(caller, id, 'operator');
      return view(await control.cancel({ runId: run.id, actor: caller.actor }));
    },

    async recover(caller, id, action) {
      const details = 'nodeId' in action ? { nodeId: action.nodeId } : {};
      return act(caller, id, action, RECOVERY_AUDIT[action.kind], details);
    },
  };
  return service;
}
