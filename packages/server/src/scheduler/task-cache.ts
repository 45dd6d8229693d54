/**
 * The tasks whose runs this scheduler holds, kept in memory to avoid a store read per attempt,
 * and the views of inline workflow nodes the runs execute.
 */
import type { RunRecord, ScheduledRecord, TaskRecord, WorkflowRecord } from '../core/model.ts';
import { nodeTaskView } from '../core/workflow/activation.ts';
import type { Store } from '../store/store.ts';

/** Workflow revisions kept for the runs of their inline nodes. */
const MAX_REVISIONS = 256;

export class TaskCache {
  readonly #store: Store;
  readonly #tasks = new Map<string, ScheduledRecord>();
  /** Workflow specs of past revisions, for the runs of inline nodes, by `id:revision`. */
  readonly #revisions = new Map<string, WorkflowRecord>();

  constructor(store: Store) {
    this.#store = store;
  }

  get(taskId: string): ScheduledRecord | undefined {
    return this.#tasks.get(taskId);
  }

  set(task: ScheduledRecord): void {
    this.#tasks.set(task.id, task);
  }

  delete(taskId: string): void {
    this.#tasks.delete(taskId);
  }

  clear(): void {
    this.#tasks.clear();
  }

  /** The task (or workflow), from memory or else the store. */
  async scheduled(taskId: string): Promise<ScheduledRecord | null> {
    const cached = this.#tasks.get(taskId);
    if (cached) return cached;
    const task = await this.#store.getScheduled(taskId);
    if (task) this.#tasks.set(taskId, task);
    return task;
  }

  /**
   * The task a run executes: its task's, or for a node's run of an inline node, the node's target
   * and policies in the workflow revision the workflow run was fired with.
   */
  async of(run: RunRecord): Promise<TaskRecord | null> {
    const task = await this.scheduled(run.taskId);
    if (task?.kind === 'task') return task;
    if (run.nodeId === null) return null;
    const key = `${run.taskId}:${run.taskRevision}`;
    let workflow = this.#revisions.get(key) ?? (task?.revision === run.taskRevision ? task : undefined);
    if (!workflow) {
      const revision = await this.#store.getTaskRevision({ taskId: run.taskId, revision: run.taskRevision });
      if (!revision || !('nodes' in revision.spec)) return null;
      workflow = { ...(task ?? { id: run.taskId, kind: 'workflow', state: 'active', nextFireAt: null, lastFireAt: null, lastRunStatus: null, skippedFires: 0, anchorAt: 0, createdAt: 0, updatedAt: 0 }),
        kind: 'workflow', namespace: revision.spec.namespace, name: revision.spec.name, revision: revision.revision, spec: revision.spec };
      if (this.#revisions.size > MAX_REVISIONS) this.#revisions.clear();
    }
    this.#revisions.set(key, workflow);
    return nodeTaskView(workflow, run.nodeId, workflow);
  }
}
