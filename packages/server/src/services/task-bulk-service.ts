/**
 * Bulk task actions: pause, resume, delete or trigger many tasks, named by ids or by a label
 * selector. Each task goes through the same service call as its single route
 * (`POST /api/v1/tasks/{id}/pause` …), so scope, audit and change notices are those of the single
 * action; a task's failure is its item's error and the others go on. A selector matches among the
 * tasks the caller may see; more than MAX_BULK_ITEMS (10,000) matches is BATCH_TOO_LARGE.
 */
import { type BulkActionItemResult, type BulkTaskActionName, type TaskSelector } from '@ecron/contracts';
import { MAX_PAGE_LIMIT } from '../store/pagination.ts';
import type { Caller } from './access.ts';
import { checkBatchSize, itemError } from './task-batch-service.ts';
import type { TaskService } from './task-service.ts';

/** Tasks acted on at once: the store serialises writes anyway, this only overlaps round trips. */
const CONCURRENCY = 16;

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

  async function actOn(caller: Caller, action: BulkTaskActionName, id: string, params?: Record<string, unknown>): Promise<BulkActionItemResult> {
    try {
      switch (action) {
        case 'pause': await tasks.pause(caller, id); break;
        case 'resume': await tasks.resume(caller, id); break;
        case 'delete': await tasks.delete(caller, id); break;
        case 'trigger': return { id, ok: true, runId: (await tasks.trigger(caller, id, params)).id };
      }
      return { id, ok: true };
    } catch (error) {
      return { id, error: itemError(error) };
    }
  }

  return {
    async act(caller, action, targets, params) {
      if ('ids' in targets) checkBatchSize(targets.ids.length, 'ids');
      const ids = 'ids' in targets ? targets.ids : await select(caller, targets.selector);
      const results: BulkActionItemResult[] = new Array(ids.length);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < ids.length) {
          const index = next++;
          results[index] = await actOn(caller, action, ids[index]!, params);
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ids.length) }, worker));
      return results;
    },
  };
}
