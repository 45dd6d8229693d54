/**
 * The batch task verbs of the SQL stores: lookup by many names, and `upsertTasks`, which writes a
 * chunk in ONE transaction with multi-row statements: one INSERT of the new tasks (duplicates of the
 * name index skipped, so a name taken since the caller looked is found, not thrown), one
 * `UPDATE … FROM` of the updated ones (their rows locked and checked first), one INSERT each of
 * revision rows, audit entries and change-log rows. Any conflict rolls the whole chunk back.
 */
import { sql, type Kysely } from 'kysely';
import { bucketOf } from '../../core/buckets.ts';
import { newId } from '../../core/ids.ts';
import type { ScheduledRecord, TaskRecord } from '../../core/model.ts';
import { toScheduled } from '../sqlite/rows.ts';
import type { TaskKey, TaskUpsert, UpsertTasksResult } from '../store.ts';
import { logChanges } from './change-feed.ts';
import { inList, inTransaction, jsonOrNull, rows, updateRows, type SqlContext } from './context.ts';
import type { Column, SqlValue } from './dialect.ts';
import { namespaceRoom } from './namespaces.ts';

const text = (name: string): Column => ({ name, type: 'text' });
const bigint = (name: string): Column => ({ name, type: 'bigint' });
const int = (name: string): Column => ({ name, type: 'int' });
const json = (name: string): Column => ({ name, type: 'json' });

const TASK_COLUMNS: readonly Column[] = [
  text('id'), text('namespace'), text('name'), int('revision'), text('state'), json('spec'), bigint('next_fire_at'), bigint('last_fire_at'),
  text('last_run_status'), bigint('skipped_fires'), bigint('anchor_at'), bigint('created_at'), bigint('updated_at'), int('bucket'), text('kind'),
];
const UPDATE_COLUMNS: readonly Column[] = [
  text('id'), int('revision'), text('state'), json('spec'), bigint('next_fire_at'), bigint('anchor_at'), bigint('updated_at'),
];
const REVISION_COLUMNS: readonly Column[] = [text('task_id'), int('revision'), json('spec'), bigint('created_at'), text('actor')];
const AUDIT_COLUMNS: readonly Column[] = [
  text('id'), bigint('at'), text('actor'), text('action'), text('resource_type'), text('resource_id'), json('details'),
];

/** Thrown inside the transaction to roll it back; caught outside it. */
class ChunkConflict extends Error {
  readonly conflicts: UpsertTasksResult['conflicts'];
  constructor(conflicts: UpsertTasksResult['conflicts']) {
    super('the chunk conflicted');
    this.conflicts = conflicts;
  }
}

export async function getScheduledByNames(ctx: SqlContext, p: { keys: TaskKey[] }): Promise<ScheduledRecord[]> {
  if (p.keys.length === 0) return [];
  const keys = ctx.dialect.rowsTable('k', [text('namespace'), text('name')], p.keys.map((key) => [key.namespace, key.name]));
  const found = await rows(ctx.db, sql`SELECT t.* FROM tasks t JOIN ${keys} ON t.namespace = k.namespace AND t.name = k.name`);
  return found.map(toScheduled);
}

/** Locks the rows the updates expect and lists the updates whose row is gone, a workflow, or at another revision. */
async function checkUpdates(ctx: SqlContext, trx: Kysely<unknown>, items: readonly TaskUpsert[]): Promise<UpsertTasksResult['conflicts']> {
  const updates = items.flatMap((item, index) => (item.op === 'update' ? [{ index, ...item.update }] : []));
  if (updates.length === 0) return [];
  const ids = [...updates.map((u) => u.id)].sort();
  const locked = await rows<{ id: string; revision: number | string; kind: string }>(trx,
    sql`SELECT id, revision, kind FROM tasks WHERE ${inList(ctx, 'id', ids)} ORDER BY id FOR UPDATE`);
  const byId = new Map(locked.map((row) => [row.id, row]));
  return updates.flatMap((u): UpsertTasksResult['conflicts'] => {
    const row = byId.get(u.id);
    if (row === undefined || row.kind !== 'task') return [{ index: u.index, code: 'TASK_NOT_FOUND' as const }];
    return Number(row.revision) === u.expectedRevision ? [] : [{ index: u.index, code: 'TASK_VERSION_CONFLICT' as const }];
  });
}

function taskRow(task: TaskRecord): SqlValue[] {
  return [
    task.id, task.namespace, task.name, task.revision, task.state, JSON.stringify(task.spec), task.nextFireAt, task.lastFireAt,
    task.lastRunStatus, task.skippedFires, task.anchorAt, task.createdAt, task.updatedAt, bucketOf(task.id), task.kind,
  ];
}

async function writeChunk(ctx: SqlContext, trx: Kysely<unknown>, items: readonly TaskUpsert[]): Promise<TaskRecord[]> {
  const conflicts = await checkUpdates(ctx, trx, items);
  const creates = items.flatMap((item, index) => (item.op === 'create' ? [{ index, ...item }] : []));
  // Namespaces with a maxTasks quota: their rows locked, the creates past the quota refused, in item order.
  const room = new Map<string, number | null>();
  for (const namespace of [...new Set(creates.map((c) => c.task.namespace))].sort()) room.set(namespace, (await namespaceRoom(trx, namespace, 'task'))?.left ?? null);
  for (const c of creates) {
    const left = room.get(c.task.namespace)!;
    if (left === null) continue;
    if (left <= 0) conflicts.push({ index: c.index, code: 'QUOTA_EXCEEDED' });
    room.set(c.task.namespace, left - 1);
  }
  if (creates.length > 0) {
    const { ids } = await ctx.dialect.insertRows(trx, {
      table: 'tasks', columns: TASK_COLUMNS, rows: creates.map((c) => taskRow(c.task)), ignoreDuplicates: true, returnIds: true,
    });
    for (const c of creates) if (!ids!.has(c.task.id)) conflicts.push({ index: c.index, code: 'TASK_NAME_TAKEN' });
  }
  if (conflicts.length > 0) throw new ChunkConflict(conflicts.sort((a, b) => a.index - b.index));

  const updates = items.flatMap((item) => (item.op === 'update' ? [item.update] : []));
  await updateRows(ctx, trx, {
    table: 'tasks', alias: 't', columns: UPDATE_COLUMNS, on: 't.id = v.id',
    rows: updates.map((u) => [u.id, u.expectedRevision + 1, u.state, JSON.stringify(u.spec), u.nextFireAt, u.anchorAt, u.at]),
    set: [['revision', 'v.revision'], ['state', 'v.state'], ['spec', 'v.spec'], ['next_fire_at', 'v.next_fire_at'], ['anchor_at', 'v.anchor_at'], ['updated_at', 'v.updated_at']],
  });
  const written = items.map((item) => (item.op === 'create'
    ? { id: item.task.id, revision: item.task.revision, spec: item.task.spec, at: item.task.createdAt, audit: item.audit }
    : { id: item.update.id, revision: item.update.expectedRevision + 1, spec: item.update.spec, at: item.update.at, audit: item.update.audit }));
  await ctx.dialect.insertRows(trx, {
    table: 'task_revisions', columns: REVISION_COLUMNS, rows: written.map((w) => [w.id, w.revision, JSON.stringify(w.spec), w.at, w.audit.actor]),
  });
  await ctx.dialect.insertRows(trx, {
    table: 'audit_log', columns: AUDIT_COLUMNS,
    rows: written.map((w) => [newId(), w.at, w.audit.actor, w.audit.action, 'task', w.id, jsonOrNull(w.audit.details)]),
  });
  await logChanges(ctx, trx, written.map((w) => ({ kind: 'task', id: w.id })));
  const stored = new Map((await rows(trx, sql`SELECT * FROM tasks WHERE ${inList(ctx, 'id', written.map((w) => w.id))}`))
    .map((row) => [row.id as string, toScheduled(row) as TaskRecord]));
  return written.map((w) => stored.get(w.id)!);
}

export async function upsertTasks(ctx: SqlContext, p: { items: TaskUpsert[] }): Promise<UpsertTasksResult> {
  if (p.items.length === 0) return { tasks: [], conflicts: [] };
  try {
    return { tasks: await inTransaction(ctx, (trx) => writeChunk(ctx, trx, p.items)), conflicts: [] };
  } catch (error) {
    if (error instanceof ChunkConflict) return { tasks: [], conflicts: error.conflicts };
    throw error;
  }
}
