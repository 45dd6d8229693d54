/**
 * The bulk task verbs of the SQL stores: read many tasks by id, and change the state of many, or
 * delete many, in ONE transaction of multi-row statements. The tasks' rows are locked first, in id
 * order (two bulk calls over the same tasks wait for each other rather than deadlock); then one
 * `UPDATE … FROM` (or one `DELETE … IN`) changes them, and one INSERT each writes the audit entries
 * and the change-log rows. The UPDATE and the DELETE touch each row as `setTaskState` and
 * `deleteTask` do, so the row triggers write the same event for each task.
 *
 * An id given more than once: its items apply in order, in rounds of distinct ids (one UPDATE per
 * round), so the row ends as its last item left it and each change is an event of its own.
 */
import { sql, type Kysely } from 'kysely';
import { newId } from '../../core/ids.ts';
import type { TaskRecord } from '../../core/model.ts';
import { toScheduled } from '../sqlite/rows.ts';
import type { AuditInput, DeleteParams, StateParams } from '../store.ts';
import { logChanges } from './change-feed.ts';
import { inList, inTransaction, jsonOrNull, rows, updateRows, type SqlContext } from './context.ts';
import type { Column } from './dialect.ts';

const text = (name: string): Column => ({ name, type: 'text' });
const bigint = (name: string): Column => ({ name, type: 'bigint' });
const json = (name: string): Column => ({ name, type: 'json' });

const STATE_COLUMNS: readonly Column[] = [text('id'), text('state'), bigint('next_fire_at'), bigint('updated_at')];
const AUDIT_COLUMNS: readonly Column[] = [
  text('id'), bigint('at'), text('actor'), text('action'), text('resource_type'), text('resource_id'), json('details'),
];

export async function getTasks(ctx: SqlContext, p: { ids: string[] }): Promise<TaskRecord[]> {
  if (p.ids.length === 0) return [];
  const found = await rows(ctx.db, sql`SELECT * FROM tasks WHERE kind = 'task' AND ${inList(ctx, 'id', [...new Set(p.ids)])}`);
  return found.map((row) => toScheduled(row) as TaskRecord);
}

/** Locks the rows of the tasks among `ids` (in id order) and returns the ids of those that exist. */
async function lockTasks(ctx: SqlContext, trx: Kysely<unknown>, ids: readonly string[]): Promise<Set<string>> {
  const locked = await rows<{ id: string }>(trx,
    sql`SELECT id FROM tasks WHERE kind = 'task' AND ${inList(ctx, 'id', [...new Set(ids)].sort())} ORDER BY id FOR UPDATE`);
  return new Set(locked.map((row) => row.id));
}

/** The items split into rounds in which each id appears once: the k-th item of an id goes to round k. */
function rounds<T extends { id: string }>(items: readonly T[]): T[][] {
  const result: T[][] = [];
  const seen = new Map<string, number>();
  for (const item of items) {
    const round = seen.get(item.id) ?? 0;
    seen.set(item.id, round + 1);
    (result[round] ??= []).push(item);
  }
  return result;
}

/** One audit entry per item (resourceType "task"), and one change-log row per task. */
async function record(ctx: SqlContext, trx: Kysely<unknown>, items: readonly { id: string; at: number; audit: AuditInput }[]): Promise<void> {
  if (items.length === 0) return;
  await ctx.dialect.insertRows(trx, {
    table: 'audit_log', columns: AUDIT_COLUMNS,
    rows: items.map((item) => [newId(), item.at, item.audit.actor, item.audit.action, 'task', item.id, jsonOrNull(item.audit.details)]),
  });
  await logChanges(ctx, trx, [...new Set(items.map((item) => item.id))].map((id) => ({ kind: 'task' as const, id })));
}

export async function setTaskStates(ctx: SqlContext, p: { items: StateParams[] }): Promise<(TaskRecord | null)[]> {
  if (p.items.length === 0) return [];
  return inTransaction(ctx, async (trx) => {
    const present = await lockTasks(ctx, trx, p.items.map((item) => item.id));
    const applied = p.items.filter((item) => present.has(item.id));
    for (const round of rounds(applied)) {
      await updateRows(ctx, trx, {
        table: 'tasks', alias: 't', columns: STATE_COLUMNS, on: 't.id = v.id',
        rows: round.map((item) => [item.id, item.state, item.nextFireAt, item.at]),
        set: [['state', 'v.state'], ['next_fire_at', 'v.next_fire_at'], ['updated_at', 'v.updated_at']],
      });
    }
    await record(ctx, trx, applied);
    if (present.size === 0) return p.items.map(() => null);
    const stored = new Map((await rows(trx, sql`SELECT * FROM tasks WHERE ${inList(ctx, 'id', [...present])}`))
      .map((row) => [row.id as string, toScheduled(row) as TaskRecord]));
    return p.items.map((item) => stored.get(item.id) ?? null);
  });
}

export async function deleteTasks(ctx: SqlContext, p: { items: DeleteParams[] }): Promise<boolean[]> {
  if (p.items.length === 0) return [];
  return inTransaction(ctx, async (trx) => {
    const present = await lockTasks(ctx, trx, p.items.map((item) => item.id));
    const deletedIds = new Set<string>();
    const deleted = p.items.map((item) => {
      if (!present.has(item.id) || deletedIds.has(item.id)) return false;
      deletedIds.add(item.id);
      return true;
    });
    if (deletedIds.size === 0) return deleted;
    // Revisions go with the tasks (ON DELETE CASCADE); runs stay as history.
    await sql`DELETE FROM tasks WHERE ${inList(ctx, 'id', [...deletedIds])}`.execute(trx);
    await record(ctx, trx, p.items.filter((_, i) => deleted[i]));
    return deleted;
  });
}
