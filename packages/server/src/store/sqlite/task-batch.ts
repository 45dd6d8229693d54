/**
 * The batch task verbs of the SQLite store: lookup by many names and `upsertTasks`, which checks
 * every item's expectation and then writes the whole chunk in ONE transaction (prepared statements
 * reused row after row), with a revision row and an audit entry per item, as `createTask` and
 * `updateTask` write them.
 */
import type { ScheduledRecord, TaskRecord } from '../../core/model.ts';
import type { TaskKey, TaskUpsert, UpsertTasksResult } from '../store.ts';
import type { SqliteConnection } from './connection.ts';
import { TASK_COLUMNS, taskParams, toScheduled, type Row } from './rows.ts';
import { namespaceRoom } from './namespaces.ts';
import { getOfKind } from './tasks.ts';
import { insertAudit } from './tokens-audit.ts';

const INSERT_TASK = `INSERT INTO tasks (${TASK_COLUMNS}) VALUES (${TASK_COLUMNS.split(',').map(() => '?').join(', ')})`;
const INSERT_REVISION = 'INSERT INTO task_revisions (task_id, revision, spec, created_at, actor) VALUES (?, ?, ?, ?, ?)';
const UPDATE_TASK = `UPDATE tasks SET revision = ?, state = ?, spec = ?, next_fire_at = ?, anchor_at = ?, updated_at = ?
  WHERE id = ? AND kind = 'task' AND revision = ?`;

/** The tasks and workflows with these keys, through one statement over a JSON array of pairs. */
export function getScheduledByNames(conn: SqliteConnection, p: { keys: TaskKey[] }): ScheduledRecord[] {
  if (p.keys.length === 0) return [];
  const pairs = JSON.stringify(p.keys.map((key) => [key.namespace, key.name]));
  const rows = conn.statement(`SELECT t.* FROM json_each(?) k JOIN tasks t
    ON t.namespace = json_extract(k.value, '$[0]') AND t.name = json_extract(k.value, '$[1]')`).all(pairs) as Row[];
  return rows.map(toScheduled);
}

/** Creates whose name is taken (by a task or a workflow); updates whose task is gone, a workflow, or at another revision. */
function conflictsOf(conn: SqliteConnection, items: readonly TaskUpsert[]): UpsertTasksResult['conflicts'] {
  const creates = items.flatMap((item) => (item.op === 'create' ? [item.task] : []));
  const taken = new Set(getScheduledByNames(conn, { keys: creates }).map((row) => `${row.namespace}\u0000${row.name}`));
  const conflicts: UpsertTasksResult['conflicts'] = [];
  /** Creates each namespace with a maxTasks quota may still take, used up in item order. */
  const room = new Map<string, number | null>();
  items.forEach((item, index) => {
    if (item.op === 'create') {
      const key = `${item.task.namespace}\u0000${item.task.name}`;
      if (taken.has(key)) conflicts.push({ index, code: 'TASK_NAME_TAKEN' });
      taken.add(key); // a second create of one name in the chunk
      const { namespace } = item.task;
      if (!room.has(namespace)) room.set(namespace, namespaceRoom(conn, namespace, 'task')?.left ?? null);
      const left = room.get(namespace)!;
      if (left !== null) {
        if (left <= 0) conflicts.push({ index, code: 'QUOTA_EXCEEDED' });
        room.set(namespace, left - 1);
      }
      return;
    }
    const current = getOfKind(conn, item.update.id, 'task');
    if (current === null) conflicts.push({ index, code: 'TASK_NOT_FOUND' });
    else if (current.revision !== item.update.expectedRevision) conflicts.push({ index, code: 'TASK_VERSION_CONFLICT' });
  });
  return conflicts;
}

export function upsertTasks(conn: SqliteConnection, p: { items: TaskUpsert[] }): UpsertTasksResult {
  if (p.items.length === 0) return { tasks: [], conflicts: [] };
  return conn.transaction(() => {
    const conflicts = conflictsOf(conn, p.items);
    if (conflicts.length > 0) return { tasks: [], conflicts };
    const tasks: TaskRecord[] = [];
    for (const item of p.items) {
      if (item.op === 'create') {
        const { task } = item;
        conn.statement(INSERT_TASK).run(...taskParams(task));
        conn.statement(INSERT_REVISION).run(task.id, task.revision, JSON.stringify(task.spec), task.createdAt, item.audit.actor);
        insertAudit(conn, item.audit, task.createdAt, 'task', task.id);
        // The row is the record as given (no column has a default the record lacks): not read back.
        tasks.push(task);
        continue;
      }
      const u = item.update;
      const revision = u.expectedRevision + 1;
      const spec = JSON.stringify(u.spec);
      conn.statement(UPDATE_TASK).run(revision, u.state, spec, u.nextFireAt, u.anchorAt, u.at, u.id, u.expectedRevision);
      conn.statement(INSERT_REVISION).run(u.id, revision, spec, u.at, u.audit.actor);
      insertAudit(conn, u.audit, u.at, 'task', u.id);
      tasks.push(getOfKind(conn, u.id, 'task')!);
    }
    return { tasks, conflicts: [] };
  });
}
