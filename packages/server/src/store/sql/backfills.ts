/** Backfill verbs on the SQL stores (see the Store interface). */
import { sql } from 'kysely';
import type { BackfillRecord } from '../../core/model.ts';
import { BACKFILL_COLUMNS, backfillPatch, backfillValues, toBackfill } from '../backfill-rows.ts';
import type { AuditInput, Store } from '../store.ts';
import { affected, firstRow, inTransaction, rows, type SqlContext } from './context.ts';
import { auditOf, insertAudit } from './tokens-audit.ts';

export async function createBackfill(ctx: SqlContext, p: { backfill: BackfillRecord; audit: AuditInput }): Promise<BackfillRecord> {
  return inTransaction(ctx, async (trx) => {
    await sql`INSERT INTO backfills (${sql.join(BACKFILL_COLUMNS.map((c) => sql.ref(c)))}) VALUES (${sql.join(backfillValues(p.backfill))})`.execute(trx);
    await insertAudit(trx, auditOf(p.audit, p.backfill.createdAt, 'backfill', p.backfill.id));
    return toBackfill((await firstRow(trx, sql`SELECT * FROM backfills WHERE id = ${p.backfill.id}`))!);
  });
}

export async function getBackfill(ctx: SqlContext, id: string): Promise<BackfillRecord | null> {
  const row = await firstRow(ctx.db, sql`SELECT * FROM backfills WHERE id = ${id}`);
  return row ? toBackfill(row) : null;
}

export async function listBackfills(ctx: SqlContext, p: { taskId?: string; running?: boolean; limit: number }): Promise<BackfillRecord[]> {
  const found = p.running
    ? await rows(ctx.db, sql`SELECT * FROM backfills WHERE status = 'running' ORDER BY id LIMIT ${p.limit}`)
    : await rows(ctx.db, sql`SELECT * FROM backfills WHERE task_id = ${p.taskId ?? ''} ORDER BY id DESC LIMIT ${p.limit}`);
  return found.map(toBackfill);
}

export async function updateBackfill(ctx: SqlContext, p: Parameters<Store['updateBackfill']>[0]): Promise<BackfillRecord | null> {
  return inTransaction(ctx, async (trx) => {
    const set = backfillPatch(p.patch, p.at).map(([column, value]) => sql`${sql.ref(column)} = ${value}`);
    const owner = p.owner === undefined ? sql`` : sql`AND owner = ${p.owner}`;
    if (await affected(trx, sql`UPDATE backfills SET ${sql.join(set)} WHERE id = ${p.id} AND status = 'running' ${owner}`) === 0) return null;
    if (p.audit) await insertAudit(trx, auditOf(p.audit, p.at, 'backfill', p.id));
    return toBackfill((await firstRow(trx, sql`SELECT * FROM backfills WHERE id = ${p.id}`))!);
  });
}

export async function adoptBackfills(ctx: SqlContext, p: { nodeId: string; liveNodeIds: string[] }): Promise<BackfillRecord[]> {
  const live = new Set(p.liveNodeIds);
  const orphans = (await listBackfills(ctx, { running: true, limit: 10_000 })).filter((b) => b.owner === null || (b.owner !== p.nodeId && !live.has(b.owner)));
  const adopted: BackfillRecord[] = [];
  for (const b of orphans) {
    const same = b.owner === null ? sql`owner IS NULL` : sql`owner = ${b.owner}`;
    if (await affected(ctx.db, sql`UPDATE backfills SET owner = ${p.nodeId} WHERE id = ${b.id} AND status = 'running' AND ${same}`) > 0) adopted.push({ ...b, owner: p.nodeId });
  }
  return adopted;
}

export async function countBackfillRuns(ctx: SqlContext, backfillId: string): Promise<{ active: number; succeeded: number; failed: number }> {
  const row = (await firstRow(ctx.db, sql`SELECT
    coalesce(sum(CASE WHEN finished_at IS NULL THEN 1 ELSE 0 END), 0) AS active,
    coalesce(sum(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END), 0) AS succeeded,
    coalesce(sum(CASE WHEN finished_at IS NOT NULL AND status <> 'succeeded' THEN 1 ELSE 0 END), 0) AS failed
    FROM runs WHERE backfill_id = ${backfillId}`))!;
  return { active: Number(row.active), succeeded: Number(row.succeeded), failed: Number(row.failed) };
}
