/**
 * The bulk task verbs of the SQLite store: read many tasks by id, and change the state of many, or
 * delete many, in ONE transaction. Each item runs the statements `setTaskState` and `deleteTask`
 * run (prepared once, reused row after row), so the row triggers write the same events and each
 * item gets the same audit entry; an item whose task is missing answers in its place and the
 * others go on.
 */
import type { TaskRecord } from '../../core/model.ts';
import type { DeleteParams, StateParams } from '../store.ts';
import type { SqliteConnection } from './connection.ts';
import { toScheduled, type Row } from './rows.ts';
import { insertAudit } from './tokens-audit.ts';

const SET_STATE = `UPDATE tasks SET state = ?, next_fire_at = ?, updated_at = ? WHERE id = ? AND kind = 'task' RETURNING *`;

/** The tasks of these ids, through one statement over a JSON array. */
export function getTasks(conn: SqliteConnection, p: { ids: string[] }): TaskRecord[] {
  if (p.ids.length === 0) return [];
  const rows = conn.statement(`SELECT * FROM tasks WHERE kind = 'task' AND id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(p.ids)) as Row[];
  return rows.map((row) => toScheduled(row) as TaskRecord);
}

export function setTaskStates(conn: SqliteConnection, p: { items: StateParams[] }): (TaskRecord | null)[] {
  if (p.items.length === 0) return [];
  return conn.transaction(() => {
    const last = new Map<string, TaskRecord>();
    const found = p.items.map((item) => {
      const row = conn.statement(SET_STATE).get(item.state, item.nextFireAt, item.at, item.id) as Row | undefined;
      if (row === undefined) return false;
      insertAudit(conn, item.audit, item.at, 'task', item.id);
      last.set(item.id, toScheduled(row) as TaskRecord);
      return true;
    });
    return p.items.map((item, i) => (found[i] ? last.get(item.id)! : null));
  });
}

export function deleteTasks(conn: SqliteConnection, p: { items: DeleteParams[] }): boolean[] {
  if (p.items.length === 0) return [];
  return conn.transaction(() => p.items.map((item) => {
    const { changes } = conn.statement(`DELETE FROM tasks WHERE id = ? AND kind = 'task'`).run(item.id);
    if (changes === 0) return false;
    insertAudit(conn, item.audit, item.at, 'task', item.id);
    return true;
  }));
}
