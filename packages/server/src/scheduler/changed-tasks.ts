/**
 * What the scheduler does with the store's change notices (other nodes' writes): tasks of the
 * buckets it holds are read back, 500 per query rather than one by one (a bulk pause is one notice
 * per task; what that read does not find, a workflow or a task deleted, is read alone); workflow
 * runs and the runs it tracks are read back and handed over.
 */
import type { RunRecord, ScheduledRecord } from '../core/model.ts';
import type { StoreChange, Store } from '../store/store.ts';

export interface ChangeRouting {
  store: Pick<Store, 'getRun'>;
  log: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /** Whether this node holds the bucket of the task. */
  holds(taskId: string): boolean;
  tasksChanged(ids: string[]): void;
  workflowChanged(run: RunRecord): void;
  tracked(runId: string): boolean;
  runChanged(run: RunRecord): void;
}

export function routeStoreChanges(changes: readonly StoreChange[], r: ChangeRouting): void {
  const tasks: string[] = [];
  const reload = (runId: string, then: (run: RunRecord) => void, what: string) => {
    void r.store.getRun(runId).then((run) => {
      if (run) then(run);
    }).catch((error) => r.log('error', `reloading a changed ${what} failed`, { runId, error: String(error) }));
  };
  for (const change of changes) {
    if (change.kind === 'events') continue;
    if (change.kind === 'task') {
      if (r.holds(change.id)) tasks.push(change.id);
    } else if (change.kind === 'workflow') {
      reload(change.id, r.workflowChanged, 'workflow run');
    } else if (r.tracked(change.id)) {
      // Runs not tracked here: if orphaned, the next sweep (each lease tick) adopts them.
      reload(change.id, r.runChanged, 'run');
    }
  }
  if (tasks.length > 0) r.tasksChanged(tasks);
}

const CHUNK = 500;

/** Calls `consider` with each of `ids` that still exists, as it stands now. */
export async function reloadChangedTasks(store: Pick<Store, 'getTasks' | 'getScheduled'>, ids: readonly string[], consider: (task: ScheduledRecord) => void): Promise<void> {
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = ids.slice(i, i + CHUNK);
    const found = new Map((await store.getTasks({ ids: chunk })).map((task) => [task.id, task as ScheduledRecord]));
    const others = await Promise.all(chunk.filter((id) => !found.has(id)).map((id) => store.getScheduled(id)));
    for (const task of [...found.values(), ...others]) if (task) consider(task);
  }
}
