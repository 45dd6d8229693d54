/**
 * `tasks:batch`: creates or upserts many task specs, keyed by (namespace, name). Each spec is
 * validated, scope-checked and checked against its namespace's settings on its own, as
 * `POST /api/v1/tasks` would (its error stands in its place and the others go on). The valid ones
 * are written in chunks of {@link CHUNK_SIZE}, each chunk in one store transaction
 * (`Store.upsertTasks`) with the audit entries and change notices a single create or update writes;
 * the scheduler is told of every task written, as after a single create.
 *
 * The store compares each item with what was read: a chunk that raced another writer is read and
 * computed again, up to {@link CHUNK_TRIES} times, after which the items still in conflict get their
 * conflict's code and the rest of the chunk is written without them.
 */
import { describeFieldIssues, MAX_BULK_ITEMS, type ItemError, type TaskBatchItemResult, type TaskSpec } from '@ecron/contracts';
import type { Clock } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import type { ScheduledRecord } from '../core/model.ts';
import type { RunControl } from '../scheduler/run-control.ts';
import type { Store, TaskUpsert } from '../store/store.ts';
import type { Caller } from './access.ts';
import { namespaceLimitIssues } from './namespace-limits.ts';
import { updatedFireState } from './schedule-state.ts';
import { checkNamespace, createAudit, newTaskRecord, updateAudit } from './task-service.ts';
import { mergeSecrets, normalizeNewSpec, parseTaskSpec, sameSpec } from './task-spec-input.ts';

/** Items per store transaction: large enough to amortise a round trip, small enough to hold locks briefly. */
export const CHUNK_SIZE = 500;
const CHUNK_TRIES = 3;

export interface TaskBatchService {
  /** One result per input, in input order. Throws BATCH_TOO_LARGE for more than {@link MAX_BULK_ITEMS} inputs. */
  upsertMany(caller: Caller, inputs: readonly unknown[]): Promise<TaskBatchItemResult[]>;
}

/** The item error of a coded failure; anything else is not the item's fault and fails the call. */
export function itemError(error: unknown): ItemError {
  if (!(error instanceof EcronError)) throw error;
  return { code: error.code, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) };
}

/** BATCH_TOO_LARGE beyond {@link MAX_BULK_ITEMS}. */
export function checkBatchSize(count: number, what: string): void {
  if (count > MAX_BULK_ITEMS) throw new EcronError('BATCH_TOO_LARGE', `${count} ${what}: one call takes at most ${MAX_BULK_ITEMS}`, { count, max: MAX_BULK_ITEMS });
}

const keyOf = (spec: { namespace: string; name: string }): string => `${spec.namespace}/${spec.name}`;

interface Pending {
  index: number;
  spec: TaskSpec;
}

export function createTaskBatchService(deps: { store: Store; control: RunControl; clock: Clock }): TaskBatchService {
  const { store, control, clock } = deps;

  /** The store item for `spec` given the row of its name, or the item's result when nothing is to be written. */
  function plan(caller: Caller, spec: TaskSpec, existing: ScheduledRecord | undefined, now: number): TaskUpsert | TaskBatchItemResult {
    if (existing === undefined) return { op: 'create', task: newTaskRecord(spec, now), audit: createAudit(caller, spec) };
    if (existing.kind !== 'task') {
      const error = new EcronError('TASK_NAME_TAKEN', `a task or workflow named ${keyOf(spec)} exists`, { namespace: spec.namespace, name: spec.name });
      return { error: itemError(error) };
    }
    const merged = mergeSecrets(spec, existing.spec);
    if (sameSpec(merged, existing.spec)) return { id: existing.id, action: 'unchanged' };
    return {
      op: 'update',
      update: {
        id: existing.id, expectedRevision: existing.revision, spec: merged, ...updatedFireState(existing, merged.schedule, now), at: now,
        audit: updateAudit(caller, merged, existing.revision),
      },
    };
  }

  /** Writes one chunk, filling `results` for each of its items. */
  async function writeChunk(caller: Caller, chunk: Pending[], results: TaskBatchItemResult[]): Promise<void> {
    let pending = chunk;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const now = clock.now();
      const rows = await store.getScheduledByNames({ keys: pending.map((p) => p.spec) });
      const byKey = new Map(rows.map((row) => [keyOf(row), row]));
      const writes: { index: number; item: TaskUpsert }[] = [];
      for (const p of pending) {
        const planned = plan(caller, p.spec, byKey.get(keyOf(p.spec)), now);
        if ('op' in planned) writes.push({ index: p.index, item: planned });
        else results[p.index] = planned;
      }
      if (writes.length === 0) return;
      const outcome = await store.upsertTasks({ items: writes.map((w) => w.item) });
      if (outcome.conflicts.length === 0) {
        outcome.tasks.forEach((task, i) => {
          results[writes[i]!.index] = { id: task.id, action: writes[i]!.item.op === 'create' ? 'created' : 'updated' };
          control.taskChanged(task.id, task);
        });
        return;
      }
      // A create past its namespace's maxTasks is refused for good; the others are races, tried again.
      const refused = new Set<number>();
      for (const c of outcome.conflicts) {
        if (c.code !== 'QUOTA_EXCEEDED') continue;
        const { index } = writes[c.index]!;
        const { spec } = chunk.find((p) => p.index === index)!;
        refused.add(index);
        results[index] = { error: itemError(new EcronError('QUOTA_EXCEEDED', `${keyOf(spec)}: namespace ${JSON.stringify(spec.namespace)} is at its maxTasks quota`, { namespace: spec.namespace, quota: 'maxTasks' })) };
      }
      const raced = outcome.conflicts.filter((c) => c.code !== 'QUOTA_EXCEEDED');
      const conflicted = new Set(raced.map((c) => writes[c.index]!.index));
      if (attempt >= CHUNK_TRIES) {
        for (const c of raced) {
          const { index } = writes[c.index]!;
          results[index] = { error: itemError(new EcronError(c.code, `${keyOf(chunk.find((p) => p.index === index)!.spec)} changed while this batch was written; send it again`)) };
        }
      }
      // Read again and recompute: every item, or after the last try every item but those in conflict.
      pending = writes.filter((w) => !refused.has(w.index) && (attempt < CHUNK_TRIES || !conflicted.has(w.index))).map((w) => pending.find((p) => p.index === w.index)!);
    }
  }

  return {
    async upsertMany(caller, inputs) {
      checkBatchSize(inputs.length, 'items');
      const results: TaskBatchItemResult[] = new Array(inputs.length);
      const valid: Pending[] = [];
      const firstIndex = new Map<string, number>();
      inputs.forEach((input, index) => {
        try {
          const spec = normalizeNewSpec(parseTaskSpec(input));
          checkNamespace(caller, spec.namespace);
          const earlier = firstIndex.get(keyOf(spec));
          if (earlier !== undefined) {
            throw new EcronError('VALIDATION_FAILED', `item ${index} names the task ${keyOf(spec)} as item ${earlier} does: a batch names each task once`, {
              issues: [{ path: 'name', code: 'DUPLICATE_IN_BATCH', message: `the same task as item ${earlier}` }],
            });
          }
          firstIndex.set(keyOf(spec), index);
          valid.push({ index, spec });
        } catch (error) {
          results[index] = { error: itemError(error) };
        }
      });
      const limitIssues = await namespaceLimitIssues(store, valid.map((p) => p.spec), clock.now());
      const allowed = valid.filter((p, i) => {
        const issues = limitIssues[i]!;
        if (issues.length > 0) results[p.index] = { error: itemError(new EcronError('VALIDATION_FAILED', describeFieldIssues(issues), { issues })) };
        return issues.length === 0;
      });
      for (let start = 0; start < allowed.length; start += CHUNK_SIZE) {
        const chunk = allowed.slice(start, start + CHUNK_SIZE);
        try {
          await writeChunk(caller, chunk, results);
        } catch (error) {
          // The chunk was not written (a store failure): its items say so; chunks before it stand.
          const failure = itemError(error);
          for (const p of chunk) results[p.index] ??= { error: failure };
        }
      }
      return results;
    },
  };
}
