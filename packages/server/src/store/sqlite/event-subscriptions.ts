/**
 * Event subscriptions on SQLite (see `store/event-subscriptions.ts`). One process serves the file,
 * so claims never race across nodes; the verbs still keep the port's lease and compare-and-set
 * semantics (a stopped deliverer's lease, a restarted node's takeover), checked against the
 * database clock in each transaction.
 */
import { EcronError } from '../../core/errors.ts';
import type { AdvanceSubscriptionParams, DeadLetterRecord, EventSubscriptionRecord, SubscriptionState } from '../event-subscriptions.ts';
import type { AuditInput } from '../store.ts';
import { toDeadLetter, toSubscription } from '../subscription-rows.ts';
import type { SqliteConnection } from './connection.ts';
import { dbNow } from './fence.ts';
import type { Row } from './rows.ts';
import { insertAudit } from './tokens-audit.ts';

const RESOURCE = 'event-subscription';

function get(conn: SqliteConnection, id: string): EventSubscriptionRecord | null {
  const row = conn.statement('SELECT * FROM event_subscriptions WHERE id = ?').get(id) as Row | undefined;
  return row ? toSubscription(row) : null;
}

export function createSubscription(conn: SqliteConnection, p: { subscription: EventSubscriptionRecord; audit: AuditInput }): EventSubscriptionRecord {
  const s = p.subscription;
  return conn.transaction(() => {
    if (conn.statement('SELECT 1 FROM event_subscriptions WHERE namespace = ? AND name = ?').get(s.namespace, s.name)) {
      throw new EcronError('SUBSCRIPTION_NAME_TAKEN', `an event subscription named ${s.namespace}/${s.name} exists`, { namespace: s.namespace, name: s.name });
    }
    conn.statement(`INSERT INTO event_subscriptions (id, namespace, name, type, config, event_filter, state, cursor_seq, owner, lease_expires_at,
      last_error, last_error_at, failures, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, 0, ?, ?)`).run(
      s.id, s.namespace, s.name, s.type, JSON.stringify(s.config), JSON.stringify(s.filter), s.state, s.cursor, s.createdAt, s.updatedAt,
    );
    insertAudit(conn, p.audit, s.createdAt, RESOURCE, s.id);
    return get(conn, s.id)!;
  });
}

export function getSubscription(conn: SqliteConnection, id: string): EventSubscriptionRecord | null {
  return get(conn, id);
}

export function listSubscriptions(conn: SqliteConnection, p: { namespaces?: readonly string[] | null } = {}): EventSubscriptionRecord[] {
  if (p.namespaces === undefined || p.namespaces === null) {
    return (conn.statement('SELECT * FROM event_subscriptions ORDER BY namespace, name').all() as Row[]).map(toSubscription);
  }
  if (p.namespaces.length === 0) return [];
  return (conn.statement(`SELECT * FROM event_subscriptions WHERE namespace IN (${p.namespaces.map(() => '?').join(', ')}) ORDER BY namespace, name`)
    .all(...p.namespaces) as Row[]).map(toSubscription);
}

export function setSubscriptionState(conn: SqliteConnection, p: { id: string; state: SubscriptionState; at: number; audit: AuditInput }): EventSubscriptionRecord | null {
  return conn.transaction(() => {
    const { changes } = conn.statement(`UPDATE event_subscriptions SET state = ?, updated_at = ?,
      failures = CASE WHEN ? = 'active' THEN 0 ELSE failures END WHERE id = ?`).run(p.state, p.at, p.state, p.id);
    if (Number(changes) === 0) return null;
    insertAudit(conn, p.audit, p.at, RESOURCE, p.id);
    return get(conn, p.id);
  });
}

export function deleteSubscription(conn: SqliteConnection, p: { id: string; at: number; audit: AuditInput }): boolean {
  return conn.transaction(() => {
    const { changes } = conn.statement('DELETE FROM event_subscriptions WHERE id = ?').run(p.id);
    if (Number(changes) === 0) return false;
    conn.statement('DELETE FROM event_dead_letters WHERE subscription_id = ?').run(p.id);
    insertAudit(conn, p.audit, p.at, RESOURCE, p.id);
    return true;
  });
}

export function claimSubscriptions(conn: SqliteConnection, p: { nodeId: string; ttlMs: number; limit: number }): EventSubscriptionRecord[] {
  return conn.transaction(() => {
    const now = dbNow(conn);
    const until = now + p.ttlMs;
    conn.statement(`UPDATE event_subscriptions SET lease_expires_at = ? WHERE owner = ? AND state = 'active'`).run(until, p.nodeId);
    const held = Number((conn.statement(`SELECT count(*) AS n FROM event_subscriptions WHERE owner = ? AND state = 'active'`).get(p.nodeId) as Row).n);
    const room = p.limit - held;
    if (room > 0) {
      conn.statement(`UPDATE event_subscriptions SET owner = ?, lease_expires_at = ? WHERE id IN (SELECT id FROM event_subscriptions
        WHERE state = 'active' AND (owner IS NULL OR lease_expires_at <= ?) ORDER BY id LIMIT ?)`).run(p.nodeId, until, now, room);
    }
    return (conn.statement(`SELECT * FROM event_subscriptions WHERE owner = ? AND state = 'active' ORDER BY id`).all(p.nodeId) as Row[]).map(toSubscription);
  });
}

export function releaseSubscriptions(conn: SqliteConnection, p: { nodeId: string }): void {
  conn.statement('UPDATE event_subscriptions SET owner = NULL, lease_expires_at = NULL WHERE owner = ?').run(p.nodeId);
}

export function advanceSubscription(conn: SqliteConnection, p: AdvanceSubscriptionParams): EventSubscriptionRecord | null {
  return conn.transaction(() => {
    const current = get(conn, p.id);
    if (current === null || current.owner !== p.nodeId || (current.leaseExpiresAt ?? 0) <= dbNow(conn)) return null;
    if (p.deadLetter && p.deadLetter.seq > current.cursor) insertDeadLetter(conn, p.id, p.deadLetter);
    if (p.failure) {
      conn.statement(`UPDATE event_subscriptions SET cursor_seq = max(cursor_seq, ?), last_error = ?, last_error_at = ?, failures = ? WHERE id = ?`)
        .run(p.cursor, p.failure.error, p.at, p.failure.failures, p.id);
    } else {
      conn.statement('UPDATE event_subscriptions SET cursor_seq = max(cursor_seq, ?), failures = 0 WHERE id = ?').run(p.cursor, p.id);
    }
    return get(conn, p.id);
  });
}

function insertDeadLetter(conn: SqliteConnection, subscriptionId: string, letter: DeadLetterRecord): void {
  conn.statement(`INSERT INTO event_dead_letters (subscription_id, seq, event, error, attempts, at) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (subscription_id, seq) DO NOTHING`).run(subscriptionId, letter.seq, JSON.stringify(letter.event), letter.error, letter.attempts, letter.at);
}

export function listDeadLetters(conn: SqliteConnection, p: { subscriptionId: string; after?: number; limit: number }): DeadLetterRecord[] {
  return (conn.statement('SELECT * FROM event_dead_letters WHERE subscription_id = ? AND seq > ? ORDER BY seq LIMIT ?')
    .all(p.subscriptionId, p.after ?? 0, p.limit) as Row[]).map(toDeadLetter);
}

export function deleteDeadLetters(conn: SqliteConnection, p: { subscriptionId: string; seqs: readonly number[] }): number {
  if (p.seqs.length === 0) return 0;
  const { changes } = conn.statement(`DELETE FROM event_dead_letters WHERE subscription_id = ? AND seq IN (${p.seqs.map(() => '?').join(', ')})`)
    .run(p.subscriptionId, ...p.seqs);
  return Number(changes);
}
