/**
 * Namespaces on SQLite. Each verb is one synchronous transaction on the single connection, so the
 * read that a change or a delete decides on cannot interleave with another writer.
 */
import type { NamespaceSpec } from '@ecron/contracts';
import { EcronError } from '../../core/errors.ts';
import { idFloor } from '../../core/ids.ts';
import type { NamespaceRecord } from '../../core/model.ts';
import { applyNamespaceSpec, capacityError } from '../../core/namespaces.ts';
import type { AuditInput, NamespaceUsageCounts } from '../store.ts';
import type { SqliteConnection } from './connection.ts';
import { namespaceLimited } from '../quota-admission.ts';
import type { Row } from './rows.ts';
import { insertAudit } from './tokens-audit.ts';

/** A row of `namespaces` as a record (shared with the SQL stores: same columns, JSON as text). */
export function toNamespace(row: Row): NamespaceRecord {
  return {
    name: row.name as string,
    description: row.description as string,
    labels: JSON.parse(row.labels as string) as NamespaceRecord['labels'],
    quotas: JSON.parse(row.quotas as string) as NamespaceRecord['quotas'],
    outbound: JSON.parse(row.outbound as string) as NamespaceRecord['outbound'],
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** The values of a record for the columns (name, description, labels, quotas, outbound, created_at, updated_at). */
export function namespaceParams(ns: NamespaceRecord): (string | number)[] {
  return [ns.name, ns.description, JSON.stringify(ns.labels), JSON.stringify(ns.quotas), JSON.stringify(ns.outbound), ns.createdAt, ns.updatedAt];
}

/** The error of a delete refused because tasks or workflows still name the namespace. */
export function notEmptyError(name: string, counts: { tasks: number; workflows: number }): EcronError {
  return new EcronError('NAMESPACE_NOT_EMPTY', `namespace ${JSON.stringify(name)} still has ${counts.tasks} task(s) and ${counts.workflows} workflow(s): delete them first`,
    { name, ...counts });
}

export function getNamespace(conn: SqliteConnection, name: string): NamespaceRecord | null {
  const row = conn.statement('SELECT * FROM namespaces WHERE name = ?').get(name) as Row | undefined;
  return row ? toNamespace(row) : null;
}

export function listNamespaces(conn: SqliteConnection, p: { names?: readonly string[] | null } = {}): NamespaceRecord[] {
  const rows = p.names === undefined || p.names === null
    ? conn.statement('SELECT * FROM namespaces ORDER BY name').all() as Row[]
    : conn.statement('SELECT * FROM namespaces WHERE name IN (SELECT value FROM json_each(?)) ORDER BY name').all(JSON.stringify(p.names)) as Row[];
  return rows.map(toNamespace);
}

export function putNamespace(conn: SqliteConnection, p: { name: string; spec: NamespaceSpec; exists: boolean; at: number; audit: AuditInput }): NamespaceRecord | null {
  return conn.transaction(() => {
    const current = getNamespace(conn, p.name);
    if ((current !== null) !== p.exists) return null;
    const next = applyNamespaceSpec(current, p.name, p.spec, p.at);
    if (current === null) {
      conn.statement(`INSERT INTO namespaces (name, description, labels, quotas, outbound, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)`).run(...namespaceParams(next));
    } else {
      const [, description, labels, quotas, outbound, , updatedAt] = namespaceParams(next);
      conn.statement('UPDATE namespaces SET description = ?, labels = ?, quotas = ?, outbound = ?, updated_at = ? WHERE name = ?')
        .run(description!, labels!, quotas!, outbound!, updatedAt!, p.name);
    }
    insertAudit(conn, p.audit, p.at, 'namespace', p.name);
    return next;
  });
}

function countScheduled(conn: SqliteConnection, name: string): { tasks: number; workflows: number } {
  const rows = conn.statement('SELECT kind, count(*) AS n FROM tasks WHERE namespace = ? GROUP BY kind').all(name) as { kind: string; n: number }[];
  const of = (kind: string) => Number(rows.find((row) => row.kind === kind)?.n ?? 0);
  return { tasks: of('task'), workflows: of('workflow') };
}

export function deleteNamespace(conn: SqliteConnection, p: { name: string; at: number; audit: AuditInput }): boolean {
  return conn.transaction(() => {
    const counts = countScheduled(conn, p.name);
    if (counts.tasks > 0 || counts.workflows > 0) throw notEmptyError(p.name, counts);
    const { changes } = conn.statement('DELETE FROM namespaces WHERE name = ?').run(p.name);
    if (Number(changes) === 0) return false;
    insertAudit(conn, p.audit, p.at, 'namespace', p.name);
    return true;
  });
}

/**
 * Runs created since `since` have ids from about then on (UUIDv7, by the wall clock that made them):
 * a range of the primary key, not a scan of every run. A minute of slack covers a scheduler clock
 * that runs ahead of the wall clock (tests).
 */
export function recentIdFloor(since: number): string {
  return idFloor(Math.min(since, Date.now()) - 60_000);
}

export function getNamespaceUsage(conn: SqliteConnection, p: { namespace: string; since: number }): NamespaceUsageCounts {
  const counts = countScheduled(conn, p.namespace);
  // `finished_at IS NULL` lets SQLite use the partial index runs_active.
  const active = conn.statement(`SELECT count(*) AS n FROM runs WHERE finished_at IS NULL AND namespace = ? AND status <> 'throttled'`).get(p.namespace) as { n: number };
  const throttled = conn.statement(`SELECT count(*) AS n FROM runs WHERE finished_at IS NULL AND namespace = ? AND status = 'throttled'`).get(p.namespace) as { n: number };
  const limits = conn.statement('SELECT quotas FROM namespaces WHERE name = ?').get(p.namespace) as { quotas: string } | undefined;
  const recent = (limits && namespaceLimited(limits.quotas)
    ? conn.statement('SELECT count(*) AS n FROM quota_slots WHERE namespace = ? AND admitted_at >= ?').get(p.namespace, p.since)
    : conn.statement(`SELECT count(*) AS n FROM runs WHERE id >= ? AND created_at >= ? AND namespace = ? AND status <> 'throttled'`)
      .get(recentIdFloor(p.since), p.since, p.namespace)) as { n: number };
  return { ...counts, activeRuns: Number(active.n), throttledRuns: Number(throttled.n), runsSince: Number(recent.n) };
}

/**
 * Throws QUOTA_EXCEEDED when adding `adding` tasks (or workflows) to `namespace` would pass its
 * quota. Inside the writing transaction (SQLite has one writer: the count cannot move under it).
 */
export function assertNamespaceRoom(conn: SqliteConnection, namespace: string, kind: 'task' | 'workflow', adding: number): void {
  const room = namespaceRoom(conn, namespace, kind);
  if (room !== null && adding > room.left) throw capacityError(namespace, kind, room.quotas, room.count, adding)!;
}

/** How many more tasks (or workflows) `namespace` takes under its quota: null when it has none. */
export function namespaceRoom(conn: SqliteConnection, namespace: string, kind: 'task' | 'workflow'): { left: number; count: number; quotas: NamespaceRecord['quotas'] } | null {
  const row = conn.statement('SELECT quotas FROM namespaces WHERE name = ?').get(namespace) as { quotas: string } | undefined;
  if (row === undefined) return null;
  const quotas = JSON.parse(row.quotas) as NamespaceRecord['quotas'];
  const max = kind === 'task' ? quotas.maxTasks : quotas.maxWorkflows;
  if (max === undefined || max === null) return null;
  const { n } = conn.statement('SELECT count(*) AS n FROM tasks WHERE namespace = ? AND kind = ?').get(namespace, kind) as { n: number };
  return { left: Math.max(0, max - Number(n)), count: Number(n), quotas };
}
