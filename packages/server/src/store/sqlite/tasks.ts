/**
 * Task management verbs. Each runs in one transaction with its audit entry.
 */
import type { TaskSpec, WorkflowSpec } from '@ecron/contracts';
import { EcronError } from '../../core/errors.ts';
import type { ScheduledRecord, TaskRecord, TaskRevisionRecord, WorkflowRecord } from '../../core/model.ts';
import { checkPageLimit, decodeCursor, toPage } from '../pagination.ts';
import type { AuditInput, ListTasksParams, Page, StateParams, UpdateParams } from '../store.ts';
import type { SqliteConnection } from './connection.ts';
import { namespaceScope, TASK_COLUMNS, taskParams, toScheduled, toTaskRevision, type Row } from './rows.ts';
import { assertNamespaceRoom } from './namespaces.ts';
import { insertAudit } from './tokens-audit.ts';

const INSERT_TASK = `INSERT INTO tasks (${TASK_COLUMNS}) VALUES (${TASK_COLUMNS.split(',').map(() => '?').join(', ')})`;
const INSERT_REVISION = 'INSERT INTO task_revisions (task_id, revision, spec, created_at, actor) VALUES (?, ?, ?, ?, ?)';

type Kind = ScheduledRecord['kind'];
type RecordOf<K extends Kind> = K extends 'task' ? TaskRecord : WorkflowRecord;

function notFound(id: string, kind: Kind): EcronError {
  return kind === 'task' ? new EcronError('TASK_NOT_FOUND', `no task ${id}`, { id }) : new EcronError('WORKFLOW_NOT_FOUND', `no workflow ${id}`, { id });
}

function nameTaken(namespace: string, name: string): EcronError {
  return new EcronError('TASK_NAME_TAKEN', `a task or workflow named ${namespace}/${name} exists`, { namespace, name });
}

/** A task or workflow of any kind. */
export function getScheduled(conn: SqliteConnection, id: string): ScheduledRecord | null {
  const row = conn.statement('SELECT * FROM tasks WHERE id = ?').get(id) as Row | undefined;
  return row ? toScheduled(row) : null;
}

export function getOfKind<K extends Kind>(conn: SqliteConnection, id: string, kind: K): RecordOf<K> | null {
  const row = conn.statement('SELECT * FROM tasks WHERE id = ? AND kind = ?').get(id, kind) as Row | undefined;
  return row ? toScheduled(row) as RecordOf<K> : null;
}

function byName(conn: SqliteConnection, namespace: string, name: string): ScheduledRecord | null {
  const row = conn.statement('SELECT * FROM tasks WHERE namespace = ? AND name = ?').get(namespace, name) as Row | undefined;
  return row ? toScheduled(row) : null;
}

export function getByName<K extends Kind>(conn: SqliteConnection, namespace: string, name: string, kind: K): RecordOf<K> | null {
  const found = byName(conn, namespace, name);
  return found?.kind === kind ? found as RecordOf<K> : null;
}

export function createTask<R extends ScheduledRecord>(conn: SqliteConnection, p: { task: R; audit: AuditInput }): R {
  const { task } = p;
  return conn.transaction(() => {
    if (byName(conn, task.namespace, task.name)) throw nameTaken(task.namespace, task.name);
    assertNamespaceRoom(conn, task.namespace, task.kind, 1);
    conn.statement(INSERT_TASK).run(...taskParams(task));
    conn.statement(INSERT_REVISION).run(task.id, task.revision, JSON.stringify(task.spec), task.createdAt, p.audit.actor);
    insertAudit(conn, p.audit, task.createdAt, task.kind, task.id);
    return getScheduled(conn, task.id) as R;
  });
}

/** Namespace and name follow the spec, so an update may rename or move the task. */
export function updateTask<K extends Kind>(conn: SqliteConnection, kind: K, p: UpdateParams<K extends 'task' ? TaskSpec : WorkflowSpec>): RecordOf<K> {
  return conn.transaction(() => {
    const current = getOfKind(conn, p.id, kind);
    if (current === null) throw notFound(p.id, kind);
    if (p.expectedRevision !== undefined && p.expectedRevision !== current.revision) {
      throw new EcronError('TASK_VERSION_CONFLICT', `task ${p.id} is at revision ${current.revision}, not ${p.expectedRevision}`, {
        id: p.id, revision: current.revision, expectedRevision: p.expectedRevision,
      });
    }
    const { namespace, name } = p.spec;
    const holder = byName(conn, namespace, name);
    if (holder !== null && holder.id !== p.id) throw nameTaken(namespace, name);
    if (namespace !== current.namespace) assertNamespaceRoom(conn, namespace, kind, 1);
    const revision = current.revision + 1;
    const spec = JSON.stringify(p.spec);
    conn.statement(`UPDATE tasks SET namespace = ?, name = ?, revision = ?, state = ?, spec = ?, next_fire_at = ?, anchor_at = ?, updated_at = ?
      WHERE id = ?`).run(namespace, name, revision, p.state, spec, p.nextFireAt, p.anchorAt, p.at, p.id);
    conn.statement(INSERT_REVISION).run(p.id, revision, spec, p.at, p.audit.actor);
    insertAudit(conn, p.audit, p.at, kind, p.id);
    return getOfKind(conn, p.id, kind)!;
  });
}

/** Changes state and next fire only: the spec and revision stay. */
export function setTaskState<K extends Kind>(conn: SqliteConnection, kind: K, p: StateParams): RecordOf<K> {
  return conn.transaction(() => {
    const row = conn.statement('UPDATE tasks SET state = ?, next_fire_at = ?, updated_at = ? WHERE id = ? AND kind = ? RETURNING *')
      .get(p.state, p.nextFireAt, p.at, p.id, kind) as Row | undefined;
    if (row === undefined) throw notFound(p.id, kind);
    insertAudit(conn, p.audit, p.at, kind, p.id);
    return toScheduled(row) as RecordOf<K>;
  });
}

/** Revisions go with the task (ON DELETE CASCADE); runs stay as history. */
export function deleteTask(conn: SqliteConnection, kind: Kind, p: { id: string; at: number; audit: AuditInput }): void {
  conn.transaction(() => {
    const { changes } = conn.statement('DELETE FROM tasks WHERE id = ? AND kind = ?').run(p.id, kind);
    if (changes === 0) throw notFound(p.id, kind);
    insertAudit(conn, p.audit, p.at, kind, p.id);
  });
}

export function getTaskRevision(conn: SqliteConnection, p: { taskId: string; revision: number }): TaskRevisionRecord | null {
  const row = conn.statement('SELECT * FROM task_revisions WHERE task_id = ? AND revision = ?').get(p.taskId, p.revision) as Row | undefined;
  return row ? toTaskRevision(row) : null;
}

/** Oldest revision first. */
export function listTaskRevisions(conn: SqliteConnection, taskId: string): TaskRevisionRecord[] {
  const rows = conn.statement('SELECT * FROM task_revisions WHERE task_id = ? ORDER BY revision').all(taskId) as Row[];
  return rows.map(toTaskRevision);
}

/** Ordered by (namespace, name), keyed by the same pair. */
export function listTasks<K extends Kind>(conn: SqliteConnection, kind: K, p: ListTasksParams): Page<RecordOf<K>> {
  const limit = checkPageLimit(p.limit);
  const after = decodeCursor(p.cursor, 'task', 2);
  const scope = namespaceScope(p.namespaces);
  if (scope === 'none') return { items: [], nextCursor: null };
  const where: string[] = ['kind = ?', ...(scope ? [scope.clause] : [])];
  const params: (string | number)[] = [kind, ...(scope ? [scope.param] : [])];
  if (p.namespace !== undefined) { where.push('namespace = ?'); params.push(p.namespace); }
  if (p.name !== undefined) { where.push('name = ?'); params.push(p.name); }
  if (p.state !== undefined) {
    // SQLite has no statistics (no ANALYZE): given `state` and a name or a last run status, it took
    // `tasks_state` and walked every active task. A state is the filter that selects least (most
    // tasks are active), so `+state` (the same test) keeps it out of the index choice then.
    where.push(p.name !== undefined || p.lastRunStatus !== undefined ? '+state = ?' : 'state = ?');
    params.push(p.state);
  }
  if (p.lastRunStatus !== undefined) { where.push('last_run_status = ?'); params.push(p.lastRunStatus); }
  for (const [key, value] of Object.entries(p.labels ?? {})) {
    // Label keys are checked by the spec schema (TASK_LABEL_KEY): never a quote.
    where.push('json_extract(spec, ?) = ?');
    params.push(`$.labels."${key}"`, value);
  }
  if (p.nameContains !== undefined && p.nameContains !== '') {
    where.push('instr(lower(name), lower(?)) > 0');
    params.push(p.nameContains);
  }
  if (after) { where.push('(namespace, name) > (?, ?)'); params.push(after[0]!, after[1]!); }
  const sql = `SELECT * FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY namespace, name LIMIT ?`;
  const rows = conn.statement(sql).all(...params, limit + 1) as Row[];
  return toPage(rows.map((row) => toScheduled(row) as RecordOf<K>), limit, 'task', (task) => [task.namespace, task.name]);
}
