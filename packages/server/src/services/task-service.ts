/**
 * Task management: the operations behind the REST API (and anything else that manages tasks).
 * Every input is validated here, every mutation is audited by the store in the same
 * transaction, and the scheduler is told about each change through {@link RunControl.taskChanged}.
 * Namespace scope is enforced here too: a task outside the caller's scope does not exist for it.
 * A spec written must keep to its namespace's settings (`namespace-limits.ts`).
 */
import type { RunStatus, Schedule, TaskSpec, TaskState } from '@ecron/contracts';
import type { Clock } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { RunRecord, TaskRecord, TaskRevisionRecord } from '../core/model.ts';
import { previewFires } from '../core/schedule/next-fire.ts';
import type { RunControl } from '../scheduler/run-control.ts';
import type { AuditInput, Page, Store } from '../store/store.ts';
import { callerNoun, checkNamespaceAccess, namespaceFilter, type Caller, type RoleRequirement } from './access.ts';
import { checkNamespaceLimits } from './namespace-limits.ts';
import { initialFireState, resumedFireState, updatedFireState } from './schedule-state.ts';
import { mergeSecrets, normalizeNewSpec, parseTaskSpec, scheduleTimeZone } from './task-spec-input.ts';

export interface ListTasksQuery {
  namespace?: string;
  state?: TaskState;
  /** Exact name. */
  name?: string;
  /** Case-insensitive substring of the name. */
  q?: string;
  lastRunStatus?: RunStatus;
  /** Only tasks whose labels hold every one of these pairs. */
  labels?: Record<string, string>;
  cursor?: string | null;
  limit: number;
}

export interface SchedulePreview {
  /** Epoch milliseconds of the next fires, earliest first. */
  fires: number[];
  timezone: string;
}

export interface TaskService {
  create(caller: Caller, input: unknown): Promise<TaskRecord>;
  /**
   * A new task with the spec of task `id` (its target's secret included) under another name, and
   * in `namespace` when given: created as by {@link create}, so it fires on its own schedule.
   */
  clone(caller: Caller, id: string, as: { name: string; namespace?: string }): Promise<TaskRecord>;
  /** Throws TASK_NOT_FOUND when the task does not exist or lies outside the caller's scope. */
  get(caller: Caller, id: string): Promise<TaskRecord>;
  list(caller: Caller, query: ListTasksQuery): Promise<Page<TaskRecord>>;
  /** Replaces the spec. `expectedRevision` makes it a compare-and-set (TASK_VERSION_CONFLICT). */
  update(caller: Caller, id: string, input: unknown, options?: { expectedRevision?: number }): Promise<TaskRecord>;
  pause(caller: Caller, id: string): Promise<TaskRecord>;
  resume(caller: Caller, id: string): Promise<TaskRecord>;
  delete(caller: Caller, id: string): Promise<void>;
  /** Creates a manual run now (task params shallow-merged with `params`) and returns it: `RunControl.trigger`. */
  trigger(caller: Caller, id: string, params?: Record<string, unknown>): Promise<RunRecord>;
  revisions(caller: Caller, id: string): Promise<TaskRevisionRecord[]>;
  /** The task's next `count` fires from now. */
  preview(caller: Caller, id: string, count: number): Promise<SchedulePreview>;
}

/** The next `count` fires of a validated schedule from `from`, counting `every` from `anchor`. */
export function previewSchedule(schedule: Schedule, from: number, count: number, anchor: number = from): SchedulePreview {
  return { fires: previewFires(schedule, from, count, { anchor }), timezone: scheduleTimeZone(schedule) };
}

/** A new task of `spec` (validated), created at `now`: revision 1, its first fire from now. */
export function newTaskRecord(spec: TaskSpec, now: number, id: string = newId()): TaskRecord {
  return {
    id,
    kind: 'task',
    namespace: spec.namespace,
    name: spec.name,
    revision: 1,
    ...initialFireState(spec.schedule, now),
    spec,
    lastFireAt: null,
    lastRunStatus: null,
    skippedFires: 0,
    createdAt: now,
    updatedAt: now,
  };
}

/** The audit entry of a task's creation. */
export function createAudit(caller: Caller, spec: TaskSpec): AuditInput {
  return { actor: caller.actor, action: 'task.create', details: { namespace: spec.namespace, name: spec.name } };
}

/** The audit entry of a new revision of a task. */
export function updateAudit(caller: Caller, spec: TaskSpec, fromRevision: number): AuditInput {
  return { actor: caller.actor, action: 'task.update', details: { namespace: spec.namespace, name: spec.name, fromRevision } };
}

/** FORBIDDEN unless the caller may write tasks in `namespace`: an editor there. */
export function checkNamespace(caller: Caller, namespace: string): void {
  checkNamespaceAccess(caller, namespace, 'editor', () => new EcronError('FORBIDDEN', `${callerNoun(caller)} cannot manage tasks in namespace ${JSON.stringify(namespace)}`));
}

export function createTaskService(deps: { store: Store; control: RunControl; clock: Clock }): TaskService {
  const { store, control, clock } = deps;

  /**
   * Task `id`, for an operation that needs `needed` in its namespace: TASK_NOT_FOUND when it does
   * not exist or lies outside what the caller may see, FORBIDDEN when the caller may see it but not
   * do this there.
   */
  async function load(caller: Caller, id: string, needed: RoleRequirement): Promise<TaskRecord> {
    const task = await store.getTask(id);
    const notFound = () => new EcronError('TASK_NOT_FOUND', `no task with id ${JSON.stringify(id)}`);
    if (!task) throw notFound();
    checkNamespaceAccess(caller, task.namespace, needed, notFound);
    return task;
  }

  const service: TaskService = {
    async clone(caller, id, as) {
      const source = await load(caller, id, 'editor');
      return service.create(caller, { ...source.spec, name: as.name, namespace: as.namespace ?? source.namespace });
    },

    async create(caller, input) {
      const spec = normalizeNewSpec(parseTaskSpec(input));
      checkNamespace(caller, spec.namespace);
      const now = clock.now();
      await checkNamespaceLimits(store, spec, now);
      const created = await store.createTask({ task: newTaskRecord(spec, now), audit: createAudit(caller, spec) });
      control.taskChanged(created.id, created);
      return created;
    },

    get: (caller, id) => load(caller, id, 'viewer'),

    async list(caller, query) {
      return store.listTasks({
        namespaces: namespaceFilter(caller, 'viewer'),
        namespace: query.namespace,
        state: query.state,
        name: query.name,
        nameContains: query.q,
        lastRunStatus: query.lastRunStatus,
        labels: query.labels,
        cursor: query.cursor,
        limit: query.limit,
      });
    },

    async update(caller, id, input, options = {}) {
      const existing = await load(caller, id, 'editor');
      const spec = mergeSecrets(parseTaskSpec(input), existing.spec);
      checkNamespace(caller, spec.namespace);
      const now = clock.now();
      await checkNamespaceLimits(store, spec, now);
      const { nextFireAt, anchorAt, state } = updatedFireState(existing, spec.schedule, now);
      const updated = await store.updateTask({
        id, expectedRevision: options.expectedRevision, spec, nextFireAt, anchorAt, state, at: now,
        audit: updateAudit(caller, spec, existing.revision),
      });
      control.taskChanged(id);
      return updated;
    },

    async pause(caller, id) {
      const existing = await load(caller, id, 'operator');
      const paused = await store.setTaskState({
        id, state: 'paused', nextFireAt: null, at: clock.now(),
        audit: { actor: caller.actor, action: 'task.pause', details: { namespace: existing.namespace, name: existing.name } },
      });
      control.taskChanged(id);
      return paused;
    },

    async resume(caller, id) {
      const existing = await load(caller, id, 'operator');
      const now = clock.now();
      const resumed = await store.setTaskState({
        id, ...resumedFireState(existing, now), at: now,
        audit: { actor: caller.actor, action: 'task.resume', details: { namespace: existing.namespace, name: existing.name } },
      });
      control.taskChanged(id);
      return resumed;
    },

    async delete(caller, id) {
      const existing = await load(caller, id, 'editor');
      await store.deleteTask({
        id, at: clock.now(),
        audit: { actor: caller.actor, action: 'task.delete', details: { namespace: existing.namespace, name: existing.name } },
      });
      control.taskChanged(id);
    },

    async trigger(caller, id, params) {
      const task = await load(caller, id, 'operator');
      return control.trigger({ task, params, actor: caller.actor });
    },

    async revisions(caller, id) {
      await load(caller, id, 'viewer');
      return store.listTaskRevisions(id);
    },

    async preview(caller, id, count) {
      const task = await load(caller, id, 'viewer');
      return previewSchedule(task.spec.schedule, clock.now(), count, task.anchorAt);
    },
  };
  return service;
}
