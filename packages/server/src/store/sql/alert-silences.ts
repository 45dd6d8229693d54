/**
 * Alert silences on PostgreSQL and MySQL (see `store/alert-silences.ts`). Each write is one
 * transaction with its audit entry; an update locks the silence's row (`FOR UPDATE`) before it
 * checks the new end against the start.
 */
import { sql, type Kysely } from 'kysely';
import type { AlertSilenceRecord, ListAlertSilencesParams } from '../alert-silences.ts';
import { SILENCE_CURSOR, assertEndsAfterStart, silenceCursorKey, silenceValues, toAlertSilence } from '../alert-silence-rows.ts';
import { checkPageLimit, decodeCursor, toPage } from '../pagination.ts';
import type { AuditInput, Page } from '../store.ts';
import { affected, firstRow, inTransaction, rows, whereAll, type SqlContext } from './context.ts';
import { namespaceScope } from './tasks.ts';
import { auditOf, insertAudit } from './tokens-audit.ts';

const RESOURCE = 'alert-silence';

async function silence(db: Kysely<unknown>, id: string, lock = false): Promise<AlertSilenceRecord | null> {
  const row = await firstRow(db, sql`SELECT * FROM alert_silences WHERE id = ${id} ${lock ? sql`FOR UPDATE` : sql``}`);
  return row ? toAlertSilence(row) : null;
}

export async function createAlertSilence(ctx: SqlContext, p: { silence: AlertSilenceRecord; audit: AuditInput }): Promise<AlertSilenceRecord> {
  const s = p.silence;
  assertEndsAfterStart(s, s.endsAt);
  return inTransaction(ctx, async (trx) => {
    await sql`INSERT INTO alert_silences (id, namespace, scope, rule_ids, starts_at, ends_at, comment, created_by, created_at, updated_at)
      VALUES (${sql.join(silenceValues(s))})`.execute(trx);
    await insertAudit(trx, auditOf(p.audit, s.createdAt, RESOURCE, s.id));
    return (await silence(trx, s.id))!;
  });
}

export const getAlertSilence = (ctx: SqlContext, id: string): Promise<AlertSilenceRecord | null> => silence(ctx.db, id);

export async function listAlertSilences(ctx: SqlContext, p: ListAlertSilencesParams): Promise<Page<AlertSilenceRecord>> {
  const limit = checkPageLimit(p.limit);
  const after = decodeCursor(p.cursor, SILENCE_CURSOR, 2);
  const scope = namespaceScope(ctx, p.namespaces ? [...p.namespaces] : null);
  if (scope === 'none') return { items: [], nextCursor: null };
  const where = scope ? [scope] : [];
  if (p.namespace !== undefined) where.push(sql`namespace = ${p.namespace}`);
  if (p.activeAt !== undefined) where.push(sql`ends_at > ${p.activeAt} AND starts_at <= ${p.activeAt}`);
  if (after) where.push(sql`(starts_at < ${Number(after[0])} OR (starts_at = ${Number(after[0])} AND id < ${after[1]!}))`);
  const found = await rows(ctx.db, sql`SELECT * FROM alert_silences ${whereAll(where)} ORDER BY starts_at DESC, id DESC LIMIT ${limit + 1}`);
  return toPage(found.map(toAlertSilence), limit, SILENCE_CURSOR, silenceCursorKey);
}

export async function updateAlertSilence(ctx: SqlContext, p: {
  id: string; changes: Pick<AlertSilenceRecord, 'endsAt' | 'comment'>; at: number; audit: AuditInput;
}): Promise<AlertSilenceRecord | null> {
  return inTransaction(ctx, async (trx) => {
    const current = await silence(trx, p.id, true);
    if (current === null) return null;
    assertEndsAfterStart(current, p.changes.endsAt);
    await sql`UPDATE alert_silences SET ends_at = ${p.changes.endsAt}, comment = ${p.changes.comment}, updated_at = ${p.at} WHERE id = ${p.id}`.execute(trx);
    await insertAudit(trx, auditOf(p.audit, p.at, RESOURCE, p.id));
    return silence(trx, p.id);
  });
}

export async function deleteAlertSilence(ctx: SqlContext, p: { id: string; at: number; audit: AuditInput }): Promise<boolean> {
  return inTransaction(ctx, async (trx) => {
    if (await affected(trx, sql`DELETE FROM alert_silences WHERE id = ${p.id}`) === 0) return false;
    await insertAudit(trx, auditOf(p.audit, p.at, RESOURCE, p.id));
    return true;
  });
}

export async function listActiveAlertSilences(ctx: SqlContext, p: { at: number }): Promise<AlertSilenceRecord[]> {
  return (await rows(ctx.db, sql`SELECT * FROM alert_silences WHERE ends_at > ${p.at} AND starts_at <= ${p.at} ORDER BY starts_at, id`)).map(toAlertSilence);
}
