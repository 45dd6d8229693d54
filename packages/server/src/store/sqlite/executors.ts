/**
 * The executor registry on SQLite: executor nodes register and heartbeat, leave, and are listed.
 * Instants are the store's clock (`dbNow`), as for the cluster's own nodes (`cluster.ts`).
 */
import type { ExecutorNodeRecord } from '../store.ts';
import type { SqliteConnection } from './connection.ts';
import { dbNow } from './fence.ts';
import type { Row } from './rows.ts';

/** Executor nodes dead for longer than this are forgotten. */
const FORGET_DEAD_EXECUTORS_MS = 3_600_000;

/**
 * UPSERT_EXECUTOR — in: id, namespace, group, mode, transport, address, labels, weight, handlers,
 * version, inflight, owner, started_at, heartbeat_at, expires_at, then now. A registered node keeps
 * its started_at; a live node of another owner or namespace is not updated (no takeover).
 */
const UPSERT_EXECUTOR = `INSERT INTO executor_nodes (id, namespace, "group", mode, transport, address, labels, weight, handlers, version, inflight,
  owner, started_at, heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET namespace = excluded.namespace, "group" = excluded."group", mode = excluded.mode, transport = excluded.transport,
  address = excluded.address, labels = excluded.labels, weight = excluded.weight, handlers = excluded.handlers,
  version = excluded.version, inflight = excluded.inflight, owner = excluded.owner, heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at, suspected_at = NULL
  WHERE executor_nodes.expires_at < ? OR ((executor_nodes.owner IS NULL OR executor_nodes.owner = excluded.owner) AND executor_nodes.namespace = excluded.namespace)`;

export function toExecutorNode(row: Row): ExecutorNodeRecord {
  return {
    id: row.id as string,
    namespace: row.namespace as string,
    group: row.group as string,
    mode: row.mode as ExecutorNodeRecord['mode'],
    transport: row.transport as ExecutorNodeRecord['transport'],
    address: (row.address as string | null) ?? null,
    labels: JSON.parse(row.labels as string) as Record<string, string>,
    weight: row.weight as number,
    handlers: JSON.parse(row.handlers as string) as string[],
    version: row.version as string,
    inflight: row.inflight as number,
    owner: (row.owner as string | null) ?? null,
    startedAt: row.started_at as number,
    heartbeatAt: row.heartbeat_at as number,
    expiresAt: row.expires_at as number,
  };
}

export function heartbeatExecutor(conn: SqliteConnection, p: { node: Omit<ExecutorNodeRecord, 'startedAt' | 'heartbeatAt' | 'expiresAt'>; ttlMs: number }): ExecutorNodeRecord {
  return conn.transaction(() => {
    const now = dbNow(conn);
    const { node } = p;
    // Forgetting first: a node is never forgotten by its own heartbeat.
    conn.statement('DELETE FROM executor_nodes WHERE expires_at < ?').run(now - FORGET_DEAD_EXECUTORS_MS);
    conn.statement(UPSERT_EXECUTOR).run(node.id, node.namespace, node.group, node.mode, node.transport, node.address, JSON.stringify(node.labels), node.weight,
      JSON.stringify(node.handlers), node.version, node.inflight, node.owner, now, now, now + p.ttlMs, now);
    return toExecutorNode(conn.statement('SELECT * FROM executor_nodes WHERE id = ?').get(node.id) as Row);
  });
}

export function removeExecutor(conn: SqliteConnection, id: string): boolean {
  return conn.statement('DELETE FROM executor_nodes WHERE id = ?').run(id).changes > 0;
}

export function listExecutors(conn: SqliteConnection, p: { group?: string } = {}): ExecutorNodeRecord[] {
  const rows = p.group === undefined
    ? conn.statement('SELECT * FROM executor_nodes ORDER BY "group", id').all()
    : conn.statement('SELECT * FROM executor_nodes WHERE "group" = ? ORDER BY id').all(p.group);
  return (rows as Row[]).map(toExecutorNode);
}

/** Marks the nodes whose lease expired and are not marked yet (the store's clock); returns how many. */
export function markSuspectedExecutors(conn: SqliteConnection): number {
  const now = dbNow(conn);
  return Number(conn.statement('UPDATE executor_nodes SET suspected_at = ? WHERE expires_at < ? AND suspected_at IS NULL').run(now, now).changes);
}
