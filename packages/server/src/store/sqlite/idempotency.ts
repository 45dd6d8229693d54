/**
 * Idempotency keys on SQLite. Each verb is one statement or one synchronous transaction on the single
 * connection, so a claim and the read that decides it cannot interleave with another claim.
 */
import type { IdempotencyRecord } from '../store.ts';
import type { SqliteConnection } from './connection.ts';
import type { Row } from './rows.ts';

export function toIdempotencyRecord(row: Row): IdempotencyRecord {
  return {
    scope: row.scope as string,
    key: row.idem_key as string,
    fingerprint: row.fingerprint as string,
    status: row.status === null ? null : Number(row.status),
    body: (row.body as string | null) ?? null,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  };
}

export function claimIdempotencyKey(conn: SqliteConnection, p: {
  scope: string; key: string; fingerprint: string; at: number; expiresAt: number; staleBefore: number;
}): IdempotencyRecord | null {
  return conn.transaction(() => {
    const row = conn.statement('SELECT * FROM idempotency_keys WHERE scope = ? AND idem_key = ?').get(p.scope, p.key) as Row | undefined;
    if (row !== undefined) {
      const existing = toIdempotencyRecord(row);
      const abandoned = existing.status === null && existing.createdAt < p.staleBefore;
      if (existing.expiresAt > p.at && !abandoned) return existing;
      conn.statement('DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ?').run(p.scope, p.key);
    }
    conn.statement(`INSERT INTO idempotency_keys (scope, idem_key, fingerprint, status, body, created_at, expires_at)
      VALUES (?, ?, ?, NULL, NULL, ?, ?)`).run(p.scope, p.key, p.fingerprint, p.at, p.expiresAt);
    return null;
  });
}

export function completeIdempotencyKey(conn: SqliteConnection, p: { scope: string; key: string; fingerprint: string; status: number; body: string }): void {
  conn.statement(`UPDATE idempotency_keys SET status = ?, body = ?
    WHERE scope = ? AND idem_key = ? AND fingerprint = ? AND status IS NULL`).run(p.status, p.body, p.scope, p.key, p.fingerprint);
}

export function releaseIdempotencyKey(conn: SqliteConnection, p: { scope: string; key: string; fingerprint: string }): void {
  conn.statement('DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND fingerprint = ? AND status IS NULL').run(p.scope, p.key, p.fingerprint);
}

export function deleteExpiredIdempotencyKeys(conn: SqliteConnection, p: { before: number; limit: number }): number {
  const { changes } = conn.statement(`DELETE FROM idempotency_keys WHERE rowid IN
    (SELECT rowid FROM idempotency_keys WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`).run(p.before, p.limit);
  return Number(changes);
}
