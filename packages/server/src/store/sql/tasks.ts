/**
 * Task management verbs of the SQL stores. Each runs in one transaction with its audit entry.
 * A taken (namespace, name) is found by the unique index `tasks_name` itself, so two concurrent
 * creations of one name cannot both succeed.
 */
import type { TaskSpec, WorkflowSpec } from '@ecron/contracts';
import { sql, type Kysely } from 'kysely';
import { bucketOf } from '../../core/buckets.ts';
import { EcronError } from '../../core/errors.ts';
import type { ScheduledRecord, TaskRecord, TaskRevisionRecord, WorkflowRecord } from '../../core/model.ts';
import { checkPageLimit, decodeCursor, toPage } from '../pagination.ts';
import { toScheduled, toTaskRevision } from '../sqlite/rows.ts';
import type { AuditInput, ListTasksParams, Page, StateParams, UpdateParams } from '../store.ts';
import { logChanges } from './change-feed.ts';
import { affected, firstRow, inList, inTransaction, rows, whereAll, type SqlContext } from './context.ts';
import { assertNamespaceRoom } from './namespaces.ts';
import { auditOf, insertAudit } from './tokens-audit.ts';

/** The unique index on tasks (namespace, name), in every dialect's schema. */
const NAME_INDEX = 'tasks_name';

type Kind = ScheduledRecord['kind'];
type RecordOf<K extends Kind> = K extends 'task' ? TaskRecord : WorkflowRecord;

function notFound(id: string, kind: Kind): EcronError {
  return kind === 'task' ? new EcronError('TASK_NOT_FOUND', `no task ${id}`, { id }) : new EcronError('WORKFLOW_NOT_FOUND', `no workflow ${id}`, { id });
}

/** Runs a write that may break the name index, turning that into TASK_NAME_TAKEN. */
async function guardName<T>(ctx: SqlContext, namespace: string, name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (ctx.dialect.uniqueViolation(error) === NAME_INDEX) {
      throw new EcronError('TASK_NAME_TAKEN', `a task or workflow named ${namespace}/${name} exists`, { namespace, name });
    }
    throw error;
  }
}

async function readTask(db: Kysely<unknown>, id: string, lock = false): Promise<ScheduledRecord | null> {
  const row = await firstRow(db, sql`SELECT * FROM tasks WHERE id = ${id} ${lock ? sql`FOR UPDATE` : sql``}`);
  return row ? toScheduled(row) : null;
}

async function readOfKind<K extends Kind>(db: Kysely<unknown>, id: string, kind: K, lock = false): Promise<RecordOf<K> | null> {
  const found = await readTask(db, id, lock);
  return found?.kind === kind ? found as RecordOf<K> : null;
}

async function insertRevision(db: Kysely<unknown>, taskId: string, revision: number, spec: string, at: number, actor: string): Promise<void> {
  await sql`INSERT INTO task_revisions (task_id, revision, spec, created_at, actor) VALUES (${taskId}, ${revision}, ${spec}, ${at}, ${actor})`.execute(db);
}

export function getScheduled(ctx: SqlContext, id: string): Promise<ScheduledRecord | null> {
  return readTask(ctx.db, id);
}

export function getOfKind<K extends Kind>(ctx: SqlContext, id: string, kind: K): Promise<RecordOf<K> | null> {
  return readOfKind(ctx.db, id, kind);
}

export async function getByName<K extends Kind>(ctx: SqlContext, namespace: string, name: string, kind: K): Promise<RecordOf<K> | null> {
  const row = await firstRow(ctx.db, sql`SELECT * FROM tasks WHERE namespace = ${namespace} AND name = ${name}`);
  const found = row ? toScheduled(row) : null;
  return found?.kind === kind ? found as RecordOf<K> : null;
}

export async function createTask<R extends ScheduledRecord>(ctx: SqlContext, p: { task: R; audit: AuditInput }): Promise<R> {
  const { task } = p;
  const spec = JSON.stringify(task.spec);
  return guardName(ctx, task.namespace, task.name, () => inTransaction(ctx, async (trx) => {
    await assertNamespaceRoom(trx, task.namespace, task.kind, 1);
    await sql`INSERT INTO tasks (id, namespace, name, revision, state, spec, next_fire_at, last_fire_at, last_run_status, skipped_fires,
      anchor_at, created_at, updated_at, bucket, kind) VALUES (${task.id}, ${task.namespace}, ${task.name}, ${task.revision}, ${task.state}, ${spec},
      ${task.nextFireAt}, ${task.lastFireAt}, ${task.lastRunStatus}, ${task.skippedFires}, ${task.anchorAt}, ${task.createdAt},
      ${task.updatedAt}, ${bucketOf(task.id)}, ${task.kind})`.execute(trx);
    await insertRevision(trx, task.id, task.revision, spec, task.createdAt, p.audit.actor);
    await insertAudit(trx, auditOf(p.audit, task.createdAt, task.kind, task.id));
    await logChanges(ctx, trx, [{ kind: 'task', id: task.id }]);
    return (await readTask(trx, task.id)) as R;
  }));
}

/** Namespace and name follow the spec, so an update may rename or move the task. */
export async function updateTask<K extends Kind>(ctx: SqlContext, kind: K, p: UpdateParams<K extends 'task' ? TaskSpec : WorkflowSpec>): Promise<RecordOf<K>> {
  const { namespace, name } = p.spec;
  const spec = JSON.stringify(p.spec);
  return guardName(ctx, namespace, name, () => inTransaction(ctx, async (trx) => {
    const current = await readOfKind(trx, p.id, kind, true);
    if (current === null) throw notFound(p.id, kind);
    if (p.expectedRevision !== undefined && p.expectedRevision !== current.revision) {
      throw new EcronError('TASK_VERSION_CONFLICT', `task ${p.id} is at revision ${current.revision}, not ${p.expectedRevision}`, {
        id: p.id, revision: current.revision, expectedRevision: p.expectedRevision,
      });
    }
    if (namespace !== current.namespace) await assertNamespaceRoom(trx, namespace, kind, 1);
    const revision = current.revision + 1;
    await sql`UPDATE tasks SET namespace = ${namespace}, name = ${name}, revision = ${revision}, state = ${p.state}, spec = ${spec},
      next_fire_at = ${p.nextFireAt}, anchor_at = ${p.anchorAt}, updated_at = ${p.at} WHERE id = ${p.id}`.execute(trx);
    await insertRevision(trx, p.id, revision, spec, p.at, p.audit.actor);
    await insertAudit(trx, auditOf(p.audit, p.at, kind, p.id));
    await logChanges(ctx, trx, [{ kind: 'task', id: p.id }]);
    return (await readOfKind(trx, p.id, kind))!;
  }));
}

/** Changes state and next fire only: the spec and revision stay. */
export async function setTaskState<K extends Kind>(ctx: SqlContext, kind: K, p: StateParams): Promise<RecordOf<K>> {
  return inTransaction(ctx, async (trx) => {
    const changed = await affected(trx, sql`UPDATE tasks SET state = ${p.state}, next_fire_at = ${p.nextFireAt}, updated_at = ${p.at}
      WHERE id = ${p.id} AND kind = ${kind}`);
    if (changed === 0) throw notFound(p.id, kind);
    await insertAudit(trx, auditOf(p.audit, p.at, kind, p.id));
    await logChanges(ctx, trx, [{ kind: 'task', id: p.id }]);
    return (await readOfKind(trx, p.id, kind))!;
  });
}

/** Revisions go with the task (ON DELETE CASCADE); runs stay as history. */
export async function deleteTask(ctx: SqlContext, kind: Kind, p: { id: string; at: number; audit: AuditInput }): Promise<void> {
  await inTransaction(ctx, async (trx) => {
    if (await affected(trx, sql`DELETE FROM tasks WHERE id = ${p.id} AND kind = ${kind}`) === 0) throw notFound(p.id, kind);
    await insertAudit(trx, auditOf(p.audit, p.at, kind, p.id));
    await logChanges(ctx, trx, [{ kind: 'task', id: p.id }]);
  });
}

/** Oldest revision first. */
export async function listTaskRevisions(ctx: SqlContext, taskId: string): Promise<TaskRevisionRecord[]> {
  return (await rows(ctx.db, sql`SELECT * FROM task_revisions WHERE task_id = ${taskId} ORDER BY revision`)).map(toTaskRevision);
}

export async function getTaskRevision(ctx: SqlContext, p: { taskId: string; revision: number }): Promise<TaskRevisionRecord | null> {
  const row = await firstRow(ctx.db, sql`SELECT * FROM task_revisions WHERE task_id = ${p.taskId} AND revision = ${p.revision}`);
  return row ? toTaskRevision(row) : null;
}

/**
 * The condition limiting a list to a token's namespaces: null for no limit, 'none' when the scope
 * is empty (the list is empty).
 */
export function namespaceScope(ctx: SqlContext, namespaces: string[] | null | undefined) {
  if (!namespaces || namespaces.includes('*')) return null;
  if (namespaces.length === 0) return 'none' as const;
  return inList(ctx, 'namespace', namespaces);
}

/**
 * Ordered by (namespace, name) in byte order (the columns' collation), keyed by the same pair.
 *
 * Indexes (docs/benchmarks.md, "Scale: `GET /api/v1/tasks` on 1,000,000 tasks", for the plans at a
 * million tasks): an exact `name` is a range of `tasks_by_name (name, namespace)`; `lastRunStatus`
 * one of `tasks_last_run_status`; `state` one of `tasks_state` (PostgreSQL: paused and completed
 * only); a label selector is no index's (0024 says why). A substring of the name picks the
 * page's keys first, from a derived table that reads only (kind, namespace, name): PostgreSQL
 * either takes the candidates from the trigram index `tasks_name_trgm` or walks `tasks_name`,
 * whichever it estimates cheaper, and MySQL walks `tasks_kind_name`, which covers the query,
 * without reading a row; only the page's rows are read then.
 */
export async function listTasks<K extends Kind>(ctx: SqlContext, kind: K, p: ListTasksParams): Promise<Page<RecordOf<K>>> {
  const limit = checkPageLimit(p.limit);
  const after = decodeCursor(p.cursor, 'task', 2);
  const scope = namespaceScope(ctx, p.namespaces);
  if (scope === 'none') return { items: [], nextCursor: null };
  const where = [sql`kind = ${kind}`, ...(scope ? [scope] : [])];
  if (p.namespace !== undefined) where.push(sql`namespace = ${p.namespace}`);
  if (p.name !== undefined) where.push(sql`name = ${p.name}`);
  if (p.state !== undefined) where.push(sql`state = ${p.state}`);
  if (p.lastRunStatus !== undefined) where.push(sql`last_run_status = ${p.lastRunStatus}`);
  for (const [key, value] of Object.entries(p.labels ?? {})) where.push(ctx.dialect.labelEquals(key, value));
  const substring = p.nameContains !== undefined && p.nameContains !== '';
  if (substring) where.push(ctx.dialect.nameContains(p.nameContains!));
  if (after) where.push(sql`(namespace, name) > (${after[0]!}, ${after[1]!})`);
  const found = substring
    ? await rows(ctx.db, sql`SELECT t.* FROM (SELECT namespace, name FROM tasks ${whereAll(where)} ORDER BY namespace, name LIMIT ${limit + 1}) page
      JOIN tasks t ON t.namespace = page.namespace AND t.name = page.name ORDER BY t.namespace, t.name`)
    : await rows(ctx.db, sql`SELECT * FROM tasks ${whereAll(where)} ORDER BY namespace, name LIMIT ${limit + 1}`);
  return toPage(found.map((row) => toScheduled(row) as RecordOf<K>), limit, 'task', (task) => [task.namespace, task.name]);
}
