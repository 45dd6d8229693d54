/**
 * Bulk task actions: pause, resume, delete or trigger many tasks, named by ids or by a label
 * selector. Pause, resume and delete go through {@link TaskService.changeMany} in chunks of
 * {@link CHUNK_SIZE} ids, each chunk one store transaction that applies, task by task, the change,
 * scope check, audit entry and change notice of the single route (`POST /api/v1/tasks/{id}/pause` …).
 * Trigger goes through the single service call for each task (a run is created and dispatched per
 * task anyway). A task's failure is its item's error and the others go on; a chunk the store fails
 * to write answers that failure for each of its items, and the chunks before it stand. A selector
 * matches among the tasks the caller may see; more than MAX_BULK_ITEMS (10,000) matches is
 * BATCH_TOO_LARGE.
 */
import { type BulkActionItemResult, type BulkTaskActionName, type TaskSelector } from '@ecron/contracts';
import { MAX_PAGE_LIMIT } from '../store/pagination.ts';
import type { Caller } from './access.ts';
import { CHUNK_SIZE, checkBatchSize, itemError } from './task-batch-service.ts';
import type { BulkChange, TaskService } from './task-service.ts';

/** Triggers run at once: the store serialises writes anyway, this only overlaps round trips. */
const TRIGGER_CONCURRENCY = 16;

export type BulkTargets = { ids: string[] } | { selector: TaskSelector };

export interface TaskBulkService {
  /** One result per task, in the order of `ids` (or of the selector's matches: by namespace, then name). */
  act(caller: Caller, action: BulkTaskActionName, targets: BulkTargets, params?: Record<string, unknown>): Promise<BulkActionItemResult[]>;
}

export function createTaskBulkService(deps: { tasks: TaskService }): TaskBulkService {
  const { tasks } = deps;

  async function select(caller: Caller, selector: TaskSelector): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await tasks.list(caller, { labels: selector.labels, namespace: selector.namespace, cursor, limit: MAX_PAGE_LIMIT });
      ids.push(...page.items.map((task) => task.id));
      cursor = page.nextCursor;
      checkBatchSize(ids.length, 'tasks match the selector');
    } while (cursor !== null);
    return ids;
  }

  async function change(caller: Caller, action: BulkChange, ids: string[]): Promise<BulkActionItemResult[]> {
    const results: BulkActionItemResult[] = [];
    for (let start = 0; start < ids.length; start += CHUNK_SIZE) {
      const chunk = ids.slice(start, start + CHUNK_SIZE);
      try {
        const outcomes = await tasks.changeMany(caller, action, chunk);
        chunk.forEach((id, k) => {
          const error = outcomes[k];
          results.push(error ? { id, error: itemError(error) } : { id, ok: true });
        });
      } catch (error) {
        // The chunk was not written (a store failure): its items say so; chunks before it stand.
        const failure = itemError(error);
        for (const id of chunk) results.push({ id, error: failure });
      }
    }
    return results;
  }

  async function triggerAll(caller: Caller, ids: string[], params?: Record<string, unknown>): Promise<BulkActionItemResult[]> {
    const results: BulkActionItemResult[] = new Array(ids.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length) {
        const index = next++;
        const id = ids[index]!;
        try {
          results[index] = { id, ok: true, runId: (await tasks.trigger(caller, id, params)).id };
        } catch (error) {
          results[index] = { id, error: itemError(error) };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(TRIGGER_CONCURRENCY, ids.length) }, worker));
    return results;
  }

  return {
    async act(caller, action, targets, params) {
      if ('ids' in targets) checkBatchSize(targets.ids.length, 'ids');
      const ids = 'ids' in targets ? targets.ids : await select(caller, targets.selector);
      return action === 'trigger' ? triggerAll(caller, ids, params) : change(caller, action, ids);
    },
  };
}
