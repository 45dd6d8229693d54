/**
 * Executor group discovery on SQLite (`store/executor-groups.ts`). Each write is one synchronous
 * transaction on the single connection, with its audit entry.
 */
import { executorGroupResourceId, namespacesOfListing, toExecutorGroup, type ExecutorGroupRecord, type ExecutorGroupRef, type ExecutorGroupVerbs } from '../executor-groups.ts';
import type { AuditInput } from '../store.ts';
import type { SqliteConnection } from './connection.ts';
import type { Row } from './rows.ts';
import { insertAudit } from './tokens-audit.ts';

type PutParams = Parameters<ExecutorGroupVerbs['putExecutorGroup']>[0];

export function getExecutorGroup(conn: SqliteConnection, ref: ExecutorGroupRef): ExecutorGroupRecord | null {
  const row = conn.statement('SELECT * FROM executor_groups WHERE namespace = ? AND group_name = ?').get(ref.namespace, ref.group) as Row | undefined;
  return row ? toExecutorGroup(row) : null;
}

export function listExecutorGroups(conn: SqliteConnection, p: { namespaces?: readonly string[] | null; namespace?: string } = {}): ExecutorGroupRecord[] {
  const namespaces = namespacesOfListing(p);
  const rows = namespaces === null
    ? conn.statement('SELECT * FROM executor_groups ORDER BY namespace, group_name').all() as Row[]
    : conn.statement('SELECT * FROM executor_groups WHERE namespace IN (SELECT value FROM json_each(?)) ORDER BY namespace, group_name')
      .all(JSON.stringify(namespaces)) as Row[];
  return rows.map(toExecutorGroup);
}

export function putExecutorGroup(conn: SqliteConnection, p: PutParams): { record: ExecutorGroupRecord; created: boolean } {
  return conn.transaction(() => {
    const current = getExecutorGroup(conn, p.group);
    const record: ExecutorGroupRecord = { ...p.group, createdAt: current?.createdAt ?? p.at, updatedAt: p.at };
    const values = [JSON.stringify(record.discovery), JSON.stringify(record.labels), record.weight] as const;
    if (current === null) {
      conn.statement(`INSERT INTO executor_groups (namespace, group_name, discovery, labels, weight, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)`).run(record.namespace, record.group, ...values, record.createdAt, record.updatedAt);
    } else {
      conn.statement('UPDATE executor_groups SET discovery = ?, labels = ?, weight = ?, updated_at = ? WHERE namespace = ? AND group_name = ?')
        .run(...values, record.updatedAt, record.namespace, record.group);
    }
    insertAudit(conn, p.audit, p.at, 'executor-group', executorGroupResourceId(record));
    return { record, created: current === null };
  });
}

export function deleteExecutorGroup(conn: SqliteConnection, p: ExecutorGroupRef & { at: number; audit: AuditInput }): boolean {
  return conn.transaction(() => {
    const { changes } = conn.statement('DELETE FROM executor_groups WHERE namespace = ? AND group_name = ?').run(p.namespace, p.group);
    if (Number(changes) === 0) return false;
    insertAudit(conn, p.audit, p.at, 'executor-group', executorGroupResourceId(p));
    return true;
  });
}
