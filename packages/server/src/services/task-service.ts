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

/** The task verbs {@link TaskService.changeMany} applies to many tasks at once. */
export type BulkChange = 'pause' | 'resume' | 'delete';

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
  /**
   * Pauses, resumes or deletes many tasks, each as {@link pause}, {@link resume} or {@link delete}
   * does one (the same scope check, change, audit entry and scheduler notice), written in ONE store
   * transaction: callers keep `ids` to a chunk (about five hundred). Per id, in order: null when
   * done, or the error the single verb would have thrown. An id given twice is acted on twice, as two
   * single calls one after the other would.
   */
  changeMany(caller: Caller, action: BulkChange, ids: readonly string[]): Promise<(EcronError | null)[]>;
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

const taskNotFound = (id: string): EcronError => new EcronError('TASK_NOT_FOUND', `no task with id ${JSON.stringify(id)}`);

export function createTaskService(deps: { store: Store; control: RunControl; clock: Clock }): TaskService {
  const { store, control, clock } = deps;

  /**
   * Task `id`, for an operation that needs `needed` in its namespace: TASK_NOT_FOUND when it does
   * not exist or lies outside what the caller may see, FORBIDDEN when the caller may see it but not
   * do this there.
   */
  async function load(caller: Caller, id: string, needed: RoleRequirement): Promise<TaskRecord> {
    return checkLoaded(caller, id, await store.getTask(id), needed);
  }

  /** As {@link load}, given what the store holds under `id`. */
  function checkLoaded(caller: Caller, id: string, task: TaskRecord | null, needed: RoleRequirement): TaskRecord {
    if (!task) throw taskNotFound(id);
    checkNamespaceAccess(caller, task.namespace, needed, () => taskNotFound(id));
    return task;
  }

  const changeAudit = (caller: Caller, action: BulkChange, task: TaskRecord): AuditInput => (
    { actor: caller.actor, action: `task.${action}`, details: { namespace: task.namespace, name: task.name } });

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
        audit: changeAudit(caller, 'pause', existing),
      });
      control.taskChanged(id);
      return paused;
    },

    async resume(caller, id) {
      const existing = await load(caller, id, 'operator');
      const now = clock.now();
      const resumed = await store.setTaskState({
        id, ...resumedFireState(existing, now), at: now,
        audit: changeAudit(caller, 'resume', existing),
      });
      control.taskChanged(id);
      return resumed;
    },

    async delete(caller, id) {
      const existing = await load(caller, id, 'editor');
      await store.deleteTask({
        id, at: clock.now(),
        audit: changeAudit(caller, 'delete', existing),
      });
      control.taskChanged(id);
    },

    async changeMany(caller, action, ids) {
      const found = new Map((await store.getTasks({ ids: [...new Set(ids)] })).map((task) => [task.id, task]));
      const needed: RoleRequirement = action === 'delete' ? 'editor' : 'operator';
      const outcomes: (EcronError | null)[] = [];
      const accepted: { index: number; task: TaskRecord }[] = [];
      ids.forEach((id, index) => {
        try {
          accepted.push({ index, task: checkLoaded(caller, id, found.get(id) ?? null, needed) });
          outcomes.push(null);
        } catch (error) {
          if (!(error instanceof EcronError)) throw error;
          outcomes.push(error);
        }
      });
      const at = clock.now();
      // A task gone since it was read answers TASK_NOT_FOUND, as the single verb's store call does.
      if (action === 'delete') {
        const deleted = await store.deleteTasks({ items: accepted.map(({ task }) => ({ id: task.id, at, audit: changeAudit(caller, action, task) })) });
        accepted.forEach(({ index, task }, i) => { if (!deleted[i]) outcomes[index] = taskNotFound(task.id); });
        for (const id of new Set(accepted.filter((_, i) => deleted[i]).map(({ task }) => task.id))) control.taskChanged(id);
        return outcomes;
      }
      const stored = await store.setTaskStates({
        items: accepted.map(({ task }) => ({
          id: task.id, ...(action === 'pause' ? { state: 'paused' as const, nextFireAt: null } : resumedFireState(task, at)), at,
          audit: changeAudit(caller, action, task),
        })),
      });
      const changed = new Map<string, TaskRecord>();
      accepted.forEach(({ index, task }, i) => {
        const now = stored[i];
        if (now) changed.set(now.id, now);
        else outcomes[index] = taskNotFound(task.id);
      });
      for (const [id, task] of changed) control.taskChanged(id, task);
      return outcomes;
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
