/**
 * Task management verbs. Each runs in one transaction with its audit entry.
 */
import type { TaskSpec, TaskState } from '@ecron/contracts';
import { EcronError } from '../../core/errors.ts';
import type { TaskRecord, TaskRevisionRecord } from '../../core/model.ts';
import { checkPageLimit, decodeCursor, toPage } from '../pagination.ts';
import type { AuditInput, ListTasksParams, Page } from '../store.ts';
import type { SqliteConnection } from './connection.ts';
import { namespaceScope, TASK_COLUMNS, taskParams, toTask, toTaskRevision, type Row } from './rows.ts';
import { insertAudit } from './tokens-audit.ts';

const INSERT_TASK = `INSERT INTO tasks (${TASK_COLUMNS}) VALUES (${TASK_COLUMNS.split(',').map(() => '?').join(', ')})`;
const INSERT_REVISION = 'INSERT INTO task_revisions (task_id, revision, spec, created_at, actor) VALUES (?, ?, ?, ?, ?)';

function notFound(id: string): EcronError {
  return new EcronError('TASK_NOT_FOUND', `no task ${id}`, { id });
}

function nameTaken(namespace: string, name: string): EcronError {
  return new EcronError('TASK_NAME_TAKEN', `a task named ${namespace}/${name} exists`, { namespace, name });
}

export function getTask(conn: SqliteConnection, id: string): TaskRecord | null {
  const row = conn.statement('SELECT * FROM tasks WHERE id = ?').get(id) as Row | undefined;
  return row ? toTask(row) : null;
}

export function getTaskByName(conn: SqliteConnection, namespace: string, name: string): TaskRecord | null {
  const row = conn.statement('SELECT * FROM tasks WHERE namespace = ? AND name = ?').get(namespace, name) as Row | undefined;
  return row ? toTask(row) : null;
}

export function createTask(conn: SqliteConnection, p: { task: TaskRecord; audit: AuditInput }): TaskRecord {
  const { task } = p;
  return conn.transaction(() => {
    if (getTaskByName(conn, task.namespace, task.name)) throw nameTaken(task.namespace, task.name);
    conn.statement(INSERT_TASK).run(...taskParams(task));
    conn.statement(INSERT_REVISION).run(task.id, task.revision, JSON.stringify(task.spec), task.createdAt, p.audit.actor);
    insertAudit(conn, p.audit, task.createdAt, 'task', task.id);
    return getTask(conn, task.id)!;
  });
}

/** Namespace and name follow the spec, so an update may rename or move the task. */
export function updateTask(conn: SqliteConnection, p: {
  id: string; expectedRevision?: number; spec: TaskSpec; nextFireAt: number | null; anchorAt: number; state: TaskState; at: number; audit: AuditInput;
}): TaskRecord {
  return conn.transaction(() => {
    const current = getTask(conn, p.id);
    if (current === null) throw notFound(p.id);
    if (p.expectedRevision !== undefined && p.expectedRevision !== current.revision) {
      throw new EcronError('TASK_VERSION_CONFLICT', `task ${p.id} is at revision ${current.revision}, not ${p.expectedRevision}`, {
        id: p.id, revision: current.revision, expectedRevision: p.expectedRevision,
      });
    }
    const { namespace, name } = p.spec;
    const holder = getTaskByName(conn, namespace, name);
    if (holder !== null && holder.id !== p.id) throw nameTaken(namespace, name);
    const revision = current.revision + 1;
    const spec = JSON.stringify(p.spec);
    conn.statement(`UPDATE tasks SET namespace = ?, name = ?, revision = ?, state = ?, spec = ?, next_fire_at = ?, anchor_at = ?, updated_at = ?
      WHERE id = ?`).run(namespace, name, revision, p.state, spec, p.nextFireAt, p.anchorAt, p.at, p.id);
    conn.statement(INSERT_REVISION).run(p.id, revision, spec, p.at, p.audit.actor);
    insertAudit(conn, p.audit, p.at, 'task', p.id);
    return getTask(conn, p.id)!;
  });
}

/** Changes state and next fire only: the spec and revision stay. */
export function setTaskState(conn: SqliteConnection, p: { id: string; state: TaskState; nextFireAt: number | null; at: number; audit: AuditInput }): TaskRecord {
  return conn.transaction(() => {
    const row = conn.statement('UPDATE tasks SET state = ?, next_fire_at = ?, updated_at = ? WHERE id = ? RETURNING *')
      .get(p.state, p.nextFireAt, p.at, p.id) as Row | undefined;
    if (row === undefined) throw notFound(p.id);
    insertAudit(conn, p.audit, p.at, 'task', p.id);
    return toTask(row);
  });
}

/** Revisions go with the task (ON DELETE CASCADE); runs stay as history. */
export function deleteTask(conn: SqliteConnection, p: { id: string; at: number; audit: AuditInput }): void {
  conn.transaction(() => {
    const { changes } = conn.statement('DELETE FROM tasks WHERE id = ?').run(p.id);
    if (changes === 0) throw notFound(p.id);
    insertAudit(conn, p.audit, p.at, 'task', p.id);
  });
}

/** Oldest revision first. */
export function listTaskRevisions(conn: SqliteConnection, taskId: string): TaskRevisionRecord[] {
  const rows = conn.statement('SELECT * FROM task_revisions WHERE task_id = ? ORDER BY revision').all(taskId) as Row[];
  return rows.map(toTaskRevision);
}

/** Ordered by (namespace, name), keyed by the same pair. */
export function listTasks(conn: SqliteConnection, p: ListTasksParams): Page<TaskRecord> {
  const limit = checkPageLimit(p.limit);
  const after = decodeCursor(p.cursor, 'task', 2);
  const scope = namespaceScope(p.namespaces);
  if (scope === 'none') return { items: [], nextCursor: null };
  const where: string[] = scope ? [scope.clause] : [];
  const params: (string | number)[] = scope ? [scope.param] : [];
  if (p.namespace !== undefined) { where.push('namespace = ?'); params.push(p.namespace); }
  if (p.name !== undefined) { where.push('name = ?'); params.push(p.name); }
  if (p.state !== undefined) { where.push('state = ?'); params.push(p.state); }
  if (p.lastRunStatus !== undefined) { where.push('last_run_status = ?'); params.push(p.lastRunStatus); }
  if (p.nameContains !== undefined && p.nameContains !== '') {
    where.push('instr(lower(name), lower(?)) > 0');
    params.push(p.nameContains);
  }
  if (after) { where.push('(namespace, name) > (?, ?)'); params.push(after[0]!, after[1]!); }
  const sql = `SELECT * FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY namespace, name LIMIT ?`;
  const rows = conn.statement(sql).all(...params, limit + 1) as Row[];
  return toPage(rows.map(toTask), limit, 'task', (task) => [task.namespace, task.name]);
}
