/**
 * Sessions of users signed in through SSO (state): one row per session, found by the SHA-256 of
 * its cookie's secret. A sign-out deletes the row with its audit entry in one transaction.
 */
import type { GrantRecord, SessionRecord } from '../../core/model.ts';
import type { AuditInput } from '../store.ts';
import type { SqliteConnection } from './connection.ts';
import type { Row } from './rows.ts';
import { insertAudit } from './tokens-audit.ts';

export function toSession(row: Row): SessionRecord {
  const grants = typeof row.grants === 'string' ? JSON.parse(row.grants) as GrantRecord[] : row.grants as GrantRecord[];
  return {
    id: row.id as string,
    secretHash: row.secret_hash as string,
    actor: row.actor as string,
    name: (row.name as string | null) ?? null,
    grants,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  };
}

export function createSession(conn: SqliteConnection, p: { session: SessionRecord; audit: AuditInput }): SessionRecord {
  const { session } = p;
  return conn.transaction(() => {
    conn.statement(`INSERT INTO sessions (id, secret_hash, actor, name, grants, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(
      session.id, session.secretHash, session.actor, session.name, JSON.stringify(session.grants), session.createdAt, session.expiresAt,
    );
    insertAudit(conn, p.audit, session.createdAt, 'session', session.id);
    return toSession(conn.statement('SELECT * FROM sessions WHERE id = ?').get(session.id) as Row);
  });
}

export function findSessionByHash(conn: SqliteConnection, secretHash: string): SessionRecord | null {
  const row = conn.statement('SELECT * FROM sessions WHERE secret_hash = ?').get(secretHash) as Row | undefined;
  return row ? toSession(row) : null;
}

export function deleteSession(conn: SqliteConnection, p: { id: string; at: number; audit: AuditInput }): boolean {
  return conn.transaction(() => {
    const { changes } = conn.statement('DELETE FROM sessions WHERE id = ?').run(p.id);
    if (Number(changes) === 0) return false;
    insertAudit(conn, p.audit, p.at, 'session', p.id);
    return true;
  });
}

export function deleteExpiredSessions(conn: SqliteConnection, p: { before: number; limit: number }): number {
  const { changes } = conn.statement(`DELETE FROM sessions WHERE id IN
    (SELECT id FROM sessions WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`).run(p.before, p.limit);
  return Number(changes);
}

