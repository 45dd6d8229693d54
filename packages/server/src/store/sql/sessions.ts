/**
 * Sessions of users signed in through SSO, for the SQL stores: one row per session, found by the
 * SHA-256 of its cookie's secret (unique). A sign-out deletes the row with its audit entry in one
 * transaction; of two that race, the second deletes nothing and writes nothing.
 */
import { sql } from 'kysely';
import type { SessionRecord } from '../../core/model.ts';
import { toSession } from '../sqlite/sessions.ts';
import type { AuditInput } from '../store.ts';
import { auditOf, insertAudit } from './tokens-audit.ts';
import { affected, firstRow, inTransaction, type SqlContext } from './context.ts';

export async function createSession(ctx: SqlContext, p: { session: SessionRecord; audit: AuditInput }): Promise<SessionRecord> {
  const { session } = p;
  return inTransaction(ctx, async (trx) => {
    await sql`INSERT INTO sessions (id, secret_hash, actor, name, grants, created_at, expires_at)
      VALUES (${session.id}, ${session.secretHash}, ${session.actor}, ${session.name}, ${JSON.stringify(session.grants)}, ${session.createdAt}, ${session.expiresAt})`.execute(trx);
    await insertAudit(trx, auditOf(p.audit, session.createdAt, 'session', session.id));
    return toSession((await firstRow(trx, sql`SELECT * FROM sessions WHERE id = ${session.id}`))!);
  });
}

export async function findSessionByHash(ctx: SqlContext, secretHash: string): Promise<SessionRecord | null> {
  const row = await firstRow(ctx.db, sql`SELECT * FROM sessions WHERE secret_hash = ${secretHash}`);
  return row ? toSession(row) : null;
}

export async function deleteSession(ctx: SqlContext, p: { id: string; at: number; audit: AuditInput }): Promise<boolean> {
  return inTransaction(ctx, async (trx) => {
    if (await affected(trx, sql`DELETE FROM sessions WHERE id = ${p.id}`) === 0) return false;
    await insertAudit(trx, auditOf(p.audit, p.at, 'session', p.id));
    return true;
  });
}

/** Oldest expiry first, `limit` at a time (the index `sessions_expiry`). */
export async function deleteExpiredSessions(ctx: SqlContext, p: { before: number; limit: number }): Promise<number> {
  // A derived table: MySQL can neither read the table a DELETE deletes from in a subquery nor take LIMIT in an IN subquery.
  return affected(ctx.db, sql`DELETE FROM sessions WHERE id IN (SELECT id FROM (SELECT id FROM sessions
    WHERE expires_at < ${p.before} ORDER BY expires_at LIMIT ${p.limit}) AS expired)`);
}
