/**
 * Alert silences on SQLite (see `store/alert-silences.ts`). Each write is one transaction on the
 * single connection, with its audit entry.
 */
import type { AlertSilenceRecord, ListAlertSilencesParams } from '../alert-silences.ts';
import { SILENCE_COLUMNS, SILENCE_CURSOR, assertEndsAfterStart, silenceCursorKey, silenceValues, toAlertSilence } from '../alert-silence-rows.ts';
import { checkPageLimit, decodeCursor, toPage } from '../pagination.ts';
import type { AuditInput, Page } from '../store.ts';
import type { SqliteConnection } from './connection.ts';
import { namespaceScope, type Row } from './rows.ts';
import { insertAudit } from './tokens-audit.ts';

const RESOURCE = 'alert-silence';

function silence(conn: SqliteConnection, id: string): AlertSilenceRecord | null {
  const row = conn.statement('SELECT * FROM alert_silences WHERE id = ?').get(id) as Row | undefined;
  return row ? toAlertSilence(row) : null;
}

export function createAlertSilence(conn: SqliteConnection, p: { silence: AlertSilenceRecord; audit: AuditInput }): AlertSilenceRecord {
  const s = p.silence;
  assertEndsAfterStart(s, s.endsAt);
  return conn.transaction(() => {
    conn.statement(`INSERT INTO alert_silences (${SILENCE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(...silenceValues(s));
    insertAudit(conn, p.audit, s.createdAt, RESOURCE, s.id);
    return silence(conn, s.id)!;
  });
}

export const getAlertSilence = (conn: SqliteConnection, id: string): AlertSilenceRecord | null => silence(conn, id);

export function listAlertSilences(conn: SqliteConnection, p: ListAlertSilencesParams): Page<AlertSilenceRecord> {
  const limit = checkPageLimit(p.limit);
  const after = decodeCursor(p.cursor, SILENCE_CURSOR, 2);
  const scope = namespaceScope(p.namespaces ? [...p.namespaces] : null);
  if (scope === 'none') return { items: [], nextCursor: null };
  const where: string[] = scope ? [scope.clause] : [];
  const params: (string | number)[] = scope ? [scope.param] : [];
  if (p.namespace !== undefined) { where.push('namespace = ?'); params.push(p.namespace); }
  if (p.activeAt !== undefined) { where.push('ends_at > ? AND starts_at <= ?'); params.push(p.activeAt, p.activeAt); }
  if (after) { where.push('(starts_at < ? OR (starts_at = ? AND id < ?))'); params.push(Number(after[0]), Number(after[0]), after[1]!); }
  const rows = conn.statement(`SELECT * FROM alert_silences ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY starts_at DESC, id DESC LIMIT ?`)
    .all(...params, limit + 1) as Row[];
  return toPage(rows.map(toAlertSilence), limit, SILENCE_CURSOR, silenceCursorKey);
}

export function updateAlertSilence(conn: SqliteConnection, p: {
  id: string; changes: Pick<AlertSilenceRecord, 'endsAt' | 'comment'>; at: number; audit: AuditInput;
}): AlertSilenceRecord | null {
  return conn.transaction(() => {
    const current = silence(conn, p.id);
    if (current === null) return null;
    assertEndsAfterStart(current, p.changes.endsAt);
    conn.statement('UPDATE alert_silences SET ends_at = ?, comment = ?, updated_at = ? WHERE id = ?').run(p.changes.endsAt, p.changes.comment, p.at, p.id);
    insertAudit(conn, p.audit, p.at, RESOURCE, p.id);
    return silence(conn, p.id);
  });
}

export function deleteAlertSilence(conn: SqliteConnection, p: { id: string; at: number; audit: AuditInput }): boolean {
  return conn.transaction(() => {
    const { changes } = conn.statement('DELETE FROM alert_silences WHERE id = ?').run(p.id);
    if (Number(changes) === 0) return false;
    insertAudit(conn, p.audit, p.at, RESOURCE, p.id);
    return true;
  });
}

export function listActiveAlertSilences(conn: SqliteConnection, p: { at: number }): AlertSilenceRecord[] {
  return (conn.statement('SELECT * FROM alert_silences WHERE ends_at > ? AND starts_at <= ? ORDER BY starts_at, id').all(p.at, p.at) as Row[]).map(toAlertSilence);
}
