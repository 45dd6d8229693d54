/**
 * API tokens (state) and the audit log (history), for the SQL stores.
 */
import { sql, type Kysely } from 'kysely';
import { isPermanentAdmin, lastAdminError } from '../../core/admin-tokens.ts';
import { EcronError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import type { AuditRecord, TokenRecord } from '../../core/model.ts';
import { checkPageLimit, decodeCursor, toPage } from '../pagination.ts';
import { groupsJson, toAudit, toToken } from '../sqlite/rows.ts';
import type { AuditInput, ListAuditParams, Page } from '../store.ts';
import { affected, firstRow, inTransaction, jsonOrNull, rows, whereAll, type SqlContext } from './context.ts';

/** Writes an audit entry; call it inside the transaction of the operation it records. */
export async function insertAudit(db: Kysely<unknown>, entry: Omit<AuditRecord, 'id'> & { id?: string }): Promise<void> {
  const details = jsonOrNull(entry.details);
  await sql`INSERT INTO audit_log (id, at, actor, action, resource_type, resource_id, details)
    VALUES (${entry.id ?? newId()}, ${entry.at}, ${entry.actor}, ${entry.action}, ${entry.resourceType}, ${entry.resourceId}, ${details})`.execute(db);
}

/** The audit entry of a management verb on one resource. */
export function auditOf(audit: AuditInput, at: number, resourceType: string, resourceId: string | null): Omit<AuditRecord, 'id'> {
  return { at, actor: audit.actor, action: audit.action, resourceType, resourceId, details: audit.details ?? null };
}

export async function appendAudit(ctx: SqlContext, entry: Omit<AuditRecord, 'id'> & { id?: string }): Promise<void> {
  await insertAudit(ctx.db, entry);
}

/** Newest first, keyed by id (UUIDv7, so by creation). */
export async function listAudit(ctx: SqlContext, p: ListAuditParams): Promise<Page<AuditRecord>> {
  const limit = checkPageLimit(p.limit);
  const after = decodeCursor(p.cursor, 'audit', 1);
  const where = [];
  if (after) where.push(sql`id < ${after[0]!}`);
  if (p.action !== undefined) where.push(sql`action = ${p.action}`);
  if (p.resourceId !== undefined) where.push(sql`resource_id = ${p.resourceId}`);
  const found = await rows(ctx.db, sql`SELECT * FROM audit_log ${whereAll(where)} ORDER BY id DESC LIMIT ${limit + 1}`);
  return toPage(found.map(toAudit), limit, 'audit', (entry) => [entry.id]);
}

async function getToken(db: Kysely<unknown>, id: string): Promise<TokenRecord | null> {
  const row = await firstRow(db, sql`SELECT * FROM api_tokens WHERE id = ${id}`);
  return row ? toToken(row) : null;
}

export async function createToken(ctx: SqlContext, p: { token: TokenRecord; audit: AuditInput }): Promise<TokenRecord> {
  const { token } = p;
  return inTransaction(ctx, async (trx) => {
    await sql`INSERT INTO api_tokens (id, name, role, namespaces, executor_groups, secret_hash, created_at, last_used_at, revoked_at, expires_at)
      VALUES (${token.id}, ${token.name}, ${token.role}, ${JSON.stringify(token.namespaces)}, ${groupsJson(token)}, ${token.secretHash},
      ${token.createdAt}, ${token.lastUsedAt}, ${token.revokedAt}, ${token.expiresAt})`.execute(trx);
    await insertAudit(trx, auditOf(p.audit, token.createdAt, 'token', token.id));
    return (await getToken(trx, token.id))!;
  });
}

export async function findTokenByHash(ctx: SqlContext, secretHash: string): Promise<TokenRecord | null> {
  const row = await firstRow(ctx.db, sql`SELECT * FROM api_tokens WHERE secret_hash = ${secretHash}`);
  return row ? toToken(row) : null;
}

/** Oldest first. */
export async function listTokens(ctx: SqlContext): Promise<TokenRecord[]> {
  return (await rows(ctx.db, sql`SELECT * FROM api_tokens ORDER BY created_at, id`)).map(toToken);
}

/** Every token, revoked ones included. */
export async function countTokens(ctx: SqlContext): Promise<number> {
  const row = await firstRow<{ n: number | string }>(ctx.db, sql`SELECT count(*) AS n FROM api_tokens`);
  return Number(row!.n);
}

/**
 * Revoking a revoked token changes nothing and writes no audit entry. With `keepLastAdmin`, the
 * revocation of an unrevoked admin token for all namespaces that never expires first locks every
 * unrevoked admin token, in id order (so two revocations wait for each other instead of
 * deadlocking), and counts those of its kind left: of two revocations that race, the second sees
 * the first's.
 */
export async function revokeToken(ctx: SqlContext, p: { id: string; at: number; audit: AuditInput; keepLastAdmin?: boolean }): Promise<TokenRecord> {
  return inTransaction(ctx, async (trx) => {
    if (p.keepLastAdmin) {
      const seen = await getToken(trx, p.id);
      if (seen !== null && seen.revokedAt === null && isPermanentAdmin(seen)) {
        const admins = (await rows(trx, sql`SELECT * FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL ORDER BY id FOR UPDATE`)).map(toToken);
        const permanent = admins.filter(isPermanentAdmin);
        const target = permanent.find((t) => t.id === p.id);
        if (target !== undefined && permanent.length <= 1) throw lastAdminError(target);
      }
    }
    const row = await firstRow(trx, sql`SELECT * FROM api_tokens WHERE id = ${p.id} FOR UPDATE`);
    if (row === null) throw new EcronError('TOKEN_NOT_FOUND', `no token ${p.id}`, { id: p.id });
    const token = toToken(row);
    if (token.revokedAt !== null) return token;
    await sql`UPDATE api_tokens SET revoked_at = ${p.at} WHERE id = ${p.id}`.execute(trx);
    await insertAudit(trx, auditOf(p.audit, p.at, 'token', p.id));
    return { ...token, revokedAt: p.at };
  });
}

/** Records a use; never moves lastUsedAt backwards. */
export async function touchToken(ctx: SqlContext, p: { id: string; at: number }): Promise<void> {
  await affected(ctx.db, sql`UPDATE api_tokens SET last_used_at = ${p.at} WHERE id = ${p.id} AND (last_used_at IS NULL OR last_used_at < ${p.at})`);
}
