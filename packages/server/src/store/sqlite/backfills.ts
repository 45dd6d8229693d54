/** Backfill verbs on SQLite (see the Store interface). */
import type { BackfillRecord } from '../../core/model.ts';
import { BACKFILL_COLUMNS, backfillPatch, backfillValues, toBackfill } from '../backfill-rows.ts';
import type { AuditInput, Store } from '../store.ts';
import type { SqliteConnection } from './connection.ts';
import { insertAudit } from './tokens-audit.ts';

type Row = Record<string, unknown>;

export function createBackfill(conn: SqliteConnection, p: { backfill: BackfillRecord; audit: AuditInput }): BackfillRecord {
  return conn.transaction(() => {
    conn.statement(`INSERT INTO backfills (${BACKFILL_COLUMNS.join(', ')}) VALUES (${BACKFILL_COLUMNS.map(() => '?').join(', ')})`).run(...backfillValues(p.backfill));
    insertAudit(conn, p.audit, p.backfill.createdAt, 'backfill', p.backfill.id);
    return getBackfill(conn, p.backfill.id)!;
  });
}

export function getBackfill(conn: SqliteConnection, id: string): BackfillRecord | null {
  const row = conn.statement('SELECT * FROM backfills WHERE id = ?').get(id) as Row | undefined;
  return row ? toBackfill(row) : null;
}

export function listBackfills(conn: SqliteConnection, p: { taskId?: string; running?: boolean; limit: number }): BackfillRecord[] {
  const rows = p.running
    ? conn.statement(`SELECT * FROM backfills WHERE status = 'running' ORDER BY id LIMIT ?`).all(p.limit)
    : conn.statement('SELECT * FROM backfills WHERE task_id = ? ORDER BY id DESC LIMIT ?').all(p.taskId ?? '', p.limit);
  return (rows as Row[]).map(toBackfill);
}

export function updateBackfill(conn: SqliteConnection, p: Parameters<Store['updateBackfill']>[0]): BackfillRecord | null {
  return conn.transaction(() => {
    const set = backfillPatch(p.patch, p.at);
    const owner = p.owner === undefined ? '' : ' AND owner = ?';
    const { changes } = conn.statement(`UPDATE backfills SET ${set.map(([column]) => `${column} = ?`).join(', ')} WHERE id = ? AND status = 'running'${owner}`)
      .run(...set.map(([, value]) => value), p.id, ...(p.owner === undefined ? [] : [p.owner]));
    if (changes === 0) return null;
    if (p.audit) insertAudit(conn, p.audit, p.at, 'backfill', p.id);
    return getBackfill(conn, p.id);
  });
}

export function adoptBackfills(conn: SqliteConnection, p: { nodeId: string; liveNodeIds: string[] }): BackfillRecord[] {
  return conn.transaction(() => {
    const live = new Set(p.liveNodeIds);
    const orphans = listBackfills(conn, { running: true, limit: 10_000 }).filter((b) => b.owner === null || (b.owner !== p.nodeId && !live.has(b.owner)));
    const adopted: BackfillRecord[] = [];
    for (const b of orphans) {
      const { changes } = conn.statement('UPDATE backfills SET owner = ? WHERE id = ? AND owner IS ?').run(p.nodeId, b.id, b.owner);
      if (changes > 0) adopted.push({ ...b, owner: p.nodeId });
    }
    return adopted;
  });
}

export function countBackfillRuns(conn: SqliteConnection, backfillId: string): { active: number; succeeded: number; failed: number } {
  const row = conn.statement(`SELECT
    coalesce(sum(CASE WHEN finished_at IS NULL THEN 1 ELSE 0 END), 0) AS active,
    coalesce(sum(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END), 0) AS succeeded,
    coalesce(sum(CASE WHEN finished_at IS NOT NULL AND status <> 'succeeded' THEN 1 ELSE 0 END), 0) AS failed
    FROM runs WHERE backfill_id = ?`).get(backfillId) as Row;
  return { active: Number(row.active), succeeded: Number(row.succeeded), failed: Number(row.failed) };
}
