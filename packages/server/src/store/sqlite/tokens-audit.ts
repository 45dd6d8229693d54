/**
 * API tokens (state) and the audit log (history).
 */
import { isPermanentAdmin, lastAdminError } from '../../core/admin-tokens.ts';
import { EcronError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import type { AuditRecord, TokenRecord } from '../../core/model.ts';
import { checkPageLimit, decodeCursor, toPage } from '../pagination.ts';
import type { AuditInput, ListAuditParams, Page } from '../store.ts';
import type { SqliteConnection } from './connection.ts';
import { groupsJson, toAudit, toToken, type Row } from './rows.ts';

const INSERT_AUDIT = `INSERT INTO audit_log (id, at, actor, action, resource_type, resource_id, details) VALUES (?, ?, ?, ?, ?, ?, ?)`;

function detailsJson(details: unknown): string | null {
  return details === undefined || details === null ? null : JSON.stringify(details);
}

/** Writes an audit entry for a management operation; call it inside that operation's transaction. */
export function insertAudit(conn: SqliteConnection, audit: AuditInput, at: number, resourceType: string, resourceId: string | null): void {
  conn.statement(INSERT_AUDIT).run(newId(), at, audit.actor, audit.action, resourceType, resourceId, detailsJson(audit.details));
}

export function appendAudit(conn: SqliteConnection, entry: Omit<AuditRecord, 'id'> & { id?: string }): void {
  conn.statement(INSERT_AUDIT).run(
    entry.id ?? newId(), entry.at, entry.actor, entry.action, entry.resourceType, entry.resourceId, detailsJson(entry.details),
  );
}

/** Newest first, keyed by id (UUIDv7, so by creation). */
export function listAudit(conn: SqliteConnection, p: ListAuditParams): Page<AuditRecord> {
  const limit = checkPageLimit(p.limit);
  const after = decodeCursor(p.cursor, 'audit', 1);
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (after) { where.push('id < ?'); params.push(after[0]!); }
  if (p.action !== undefined) { where.push('action = ?'); params.push(p.action); }
  if (p.resourceId !== undefined) { where.push('resource_id = ?'); params.push(p.resourceId); }
  const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
  const rows = conn.statement(sql).all(...params, limit + 1) as Row[];
  return toPage(rows.map(toAudit), limit, 'audit', (entry) => [entry.id]);
}

export function createToken(conn: SqliteConnection, p: { token: TokenRecord; audit: AuditInput }): TokenRecord {
  const { token } = p;
  return conn.transaction(() => {
    conn.statement(`INSERT INTO api_tokens (id, name, role, namespaces, executor_groups, secret_hash, created_at, last_used_at, revoked_at, expires_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      token.id, token.name, token.role, JSON.stringify(token.namespaces), groupsJson(token), token.secretHash, token.createdAt, token.lastUsedAt,
      token.revokedAt, token.expiresAt,
    );
    insertAudit(conn, p.audit, token.createdAt, 'token', token.id);
    return getToken(conn, token.id)!;
  });
}

function getToken(conn: SqliteConnection, id: string): TokenRecord | null {
  const row = conn.statement('SELECT * FROM api_tokens WHERE id = ?').get(id) as Row | undefined;
  return row ? toToken(row) : null;
}

export function findTokenByHash(conn: SqliteConnection, secretHash: string): TokenRecord | null {
  const row = conn.statement('SELECT * FROM api_tokens WHERE secret_hash = ?').get(secretHash) as Row | undefined;
  return row ? toToken(row) : null;
}

/** Oldest first. */
export function listTokens(conn: SqliteConnection): TokenRecord[] {
  return (conn.statement('SELECT * FROM api_tokens ORDER BY created_at, id').all() as Row[]).map(toToken);
}

/** Every token, revoked ones included. */
export function countTokens(conn: SqliteConnection): number {
  return (conn.statement('SELECT count(*) AS n FROM api_tokens').get() as { n: number }).n;
}

/**
 * Revoking a revoked token changes nothing and writes no audit entry. With `keepLastAdmin`, the
 * last unrevoked admin token for all namespaces that never expires stays.
 */
export function revokeToken(conn: SqliteConnection, p: { id: string; at: number; audit: AuditInput; keepLastAdmin?: boolean }): TokenRecord {
  return conn.transaction(() => {
    const token = getToken(conn, p.id);
    if (token === null) throw new EcronError('TOKEN_NOT_FOUND', `no token ${p.id}`, { id: p.id });
    if (token.revokedAt !== null) return token;
    if (p.keepLastAdmin && isPermanentAdmin(token)) {
      const admins = (conn.statement(`SELECT * FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL`).all() as Row[]).map(toToken);
      if (admins.filter(isPermanentAdmin).length <= 1) throw lastAdminError(token);
    }
    conn.statement('UPDATE api_tokens SET revoked_at = ? WHERE id = ?').run(p.at, p.id);
    insertAudit(conn, p.audit, p.at, 'token', p.id);
    return { ...token, revokedAt: p.at };
  });
}

/** Records a use; never moves lastUsedAt backwards. */
export function touchToken(conn: SqliteConnection, p: { id: string; at: number }): void {
  conn.statement('UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)').run(p.at, p.id, p.at);
}
