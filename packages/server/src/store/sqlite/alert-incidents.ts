/**
 * Alert incidents and notifications on SQLite (see `store/alert-incidents.ts`). One process serves
 * the file and every verb runs from `BEGIN IMMEDIATE` to `COMMIT` without yielding, so no two
 * writers interleave; the verbs still keep the port's leases (compared with the database clock in
 * each transaction) and compare-and-set writes. The row mapping and the payload builders at the
 * end are shared with the SQL stores (`store/sql/alert-incidents.ts`).
 */
import type { AlertNotification } from '@ecron/contracts';
import { newId } from '../../core/ids.ts';
import type {
  AlertChange, AlertEvaluatorState, AlertIncidentVerbs, AlertSubject, ApplyAlertChangesResult, IncidentQuery, IncidentRecord,
  NotificationDraft, NotificationKind, NotificationRecord, NotificationTarget,
} from '../alert-incidents.ts';
import { checkPageLimit, decodeCursor, toPage } from '../pagination.ts';
import type { SqliteConnection } from './connection.ts';
import { dbNow } from './fence.ts';
import { namespaceScope, type Row } from './rows.ts';

type Params<K extends keyof AlertIncidentVerbs> = Parameters<AlertIncidentVerbs[K]>[0];

function readIncident(conn: SqliteConnection, id: string): IncidentRecord | null {
  const row = conn.statement('SELECT * FROM alert_incidents WHERE id = ?').get(id) as Row | undefined;
  return row ? toIncident(row) : null;
}

function readState(conn: SqliteConnection): AlertEvaluatorState | null {
  const row = conn.statement('SELECT * FROM alert_state WHERE id = 1').get() as Row | undefined;
  return row ? toEvaluatorState(row) : null;
}

export function claimAlertEvaluator(conn: SqliteConnection, p: Params<'claimAlertEvaluator'>): AlertEvaluatorState | null {
  return conn.transaction(() => {
    const now = dbNow(conn);
    conn.statement('INSERT INTO alert_state (id, cursor_seq, owner, lease_expires_at) VALUES (1, ?, NULL, NULL) ON CONFLICT (id) DO NOTHING')
      .run(p.initialCursor);
    const { changes } = conn.statement(`UPDATE alert_state SET owner = ?, lease_expires_at = ?
      WHERE id = 1 AND (owner IS NULL OR owner = ? OR lease_expires_at <= ?)`).run(p.owner, now + p.ttlMs, p.owner, now);
    return Number(changes) === 0 ? null : readState(conn);
  });
}

export function releaseAlertEvaluator(conn: SqliteConnection, p: Params<'releaseAlertEvaluator'>): void {
  conn.statement('UPDATE alert_state SET owner = NULL, lease_expires_at = NULL WHERE id = 1 AND owner = ?').run(p.owner);
}

export function applyAlertChanges(conn: SqliteConnection, p: Params<'applyAlertChanges'>): ApplyAlertChangesResult {
  return conn.transaction(() => {
    const result: ApplyAlertChangesResult = { applied: false, opened: [], resolved: [] };
    const { changes } = conn.statement(`UPDATE alert_state SET cursor_seq = ?, checked_through = coalesce(?, checked_through)
      WHERE id = 1 AND owner = ? AND lease_expires_at > ? AND cursor_seq = ?`).run(p.to, p.checkedThrough ?? null, p.owner, dbNow(conn), p.from);
    if (Number(changes) === 0) return result;
    result.applied = true;
    for (const change of p.changes) {
      if (change.kind === 'fire') {
        const opened = fire(conn, change, p.at);
        if (opened) result.opened.push(opened);
      } else {
        const open = conn.statement('SELECT * FROM alert_incidents WHERE open_key = ?').get(openKey(change.ruleId, change.subject)) as Row | undefined;
        if (!open) continue;
        result.resolved.push(resolve(conn, toIncident(open), { by: 'condition', at: p.at, targets: change.targets, notification: change.notification }));
      }
    }
    return result;
  });
}

function fire(conn: SqliteConnection, change: Extract<AlertChange, { kind: 'fire' }>, at: number): IncidentRecord | null {
  const id = newId();
  const { changes } = conn.statement(`INSERT INTO alert_incidents (id, rule_id, rule_name, on_kind, namespace, subject_kind, subject_id, subject_name,
    open_key, state, severity, summary, details, opened_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, last_notified_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, NULL, NULL, NULL, NULL, ?, ?) ON CONFLICT (open_key) DO NOTHING`).run(
    id, change.ruleId, change.ruleName, change.on, change.namespace, change.subject.kind, change.subject.id, change.subject.name,
    openKey(change.ruleId, change.subject), change.severity, change.summary, JSON.stringify(change.details), at,
    change.targets.length > 0 ? at : null, at,
  );
  if (Number(changes) === 0) return null;
  insertNotifications(conn, id, 'firing', change.targets, at, (notificationId) => firingPayload(change.notification, notificationId, id));
  return readIncident(conn, id);
}

/** Resolves `incident` (open or acknowledged, read in this transaction) and writes its resolved notifications. */
function resolve(conn: SqliteConnection, incident: IncidentRecord, p: {
  by: string; at: number; targets: NotificationTarget[]; notification: ResolvedDraft; summary?: string; details?: Record<string, unknown>;
}): IncidentRecord {
  conn.statement(`UPDATE alert_incidents SET state = 'resolved', open_key = NULL, resolved_at = ?, resolved_by = ?, summary = ?, details = ?, updated_at = ?
    WHERE id = ?`).run(p.at, p.by, p.summary ?? incident.summary, JSON.stringify(p.details ?? incident.details), p.at, incident.id);
  insertNotifications(conn, incident.id, 'resolved', p.targets, p.at, (notificationId) => resolvedPayload(incident, p.notification, notificationId));
  return readIncident(conn, incident.id)!;
}

function insertNotifications(conn: SqliteConnection, incidentId: string, kind: NotificationKind, targets: NotificationTarget[], at: number,
  payload: (id: string) => AlertNotification): void {
  const insert = conn.statement(`INSERT INTO alert_notifications (id, incident_id, channel_id, kind, state, payload, attempts, next_attempt_at, owner,
    lease_expires_at, last_error, created_at, sent_at) VALUES (?, ?, ?, ?, 'pending', ?, 0, ?, NULL, NULL, NULL, ?, NULL)`);
  for (const target of targets) {
    const id = newId();
    insert.run(id, incidentId, target.channelId, kind, JSON.stringify(payload(id)), at, at);
  }
}

export function repeatAlertIncidents(conn: SqliteConnection, p: Params<'repeatAlertIncidents'>): string[] {
  return conn.transaction(() => {
    const repeated: string[] = [];
    const claim = conn.statement(`UPDATE alert_incidents SET last_notified_at = ?
      WHERE id = ? AND state = 'open' AND coalesce(last_notified_at, opened_at) <= ?`);
    for (const item of p.items) {
      if (Number(claim.run(p.at, item.incidentId, item.notifiedBefore).changes) === 0) continue;
      insertNotifications(conn, item.incidentId, 'repeat', item.targets, p.at, (id) => firingPayload(item.notification, id, item.incidentId));
      repeated.push(item.incidentId);
    }
    return repeated;
  });
}

export function getIncident(conn: SqliteConnection, id: string): IncidentRecord | null {
  return readIncident(conn, id);
}

export function listIncidents(conn: SqliteConnection, p: IncidentQuery): { items: IncidentRecord[]; nextCursor: string | null } {
  const limit = checkPageLimit(p.limit);
  const after = decodeCursor(p.cursor, INCIDENT_CURSOR, 2);
  const scope = namespaceScope(p.namespaces);
  if (scope === 'none' || p.states?.length === 0) return { items: [], nextCursor: null };
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (scope) { where.push(scope.clause); params.push(scope.param); }
  if (p.states) { where.push(`state IN (${p.states.map(() => '?').join(', ')})`); params.push(...p.states); }
  if (p.ruleId !== undefined) { where.push('rule_id = ?'); params.push(p.ruleId); }
  if (after) { where.push('(opened_at, id) < (?, ?)'); params.push(Number(after[0]), after[1]!); }
  const rows = conn.statement(`SELECT * FROM alert_incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY opened_at DESC, id DESC LIMIT ?`).all(...params, limit + 1) as Row[];
  return toPage(rows.map(toIncident), limit, INCIDENT_CURSOR, incidentCursorKey);
}

export function listUnresolvedIncidents(conn: SqliteConnection): IncidentRecord[] {
  return (conn.statement(`SELECT * FROM alert_incidents WHERE state <> 'resolved' ORDER BY opened_at, id`).all() as Row[]).map(toIncident);
}

export function acknowledgeIncident(conn: SqliteConnection, p: Params<'acknowledgeIncident'>): IncidentRecord | null {
  return conn.transaction(() => {
    const { changes } = conn.statement(`UPDATE alert_incidents SET state = 'acknowledged', acknowledged_at = ?, acknowledged_by = ?, updated_at = ?
      WHERE id = ? AND state = 'open'`).run(p.at, p.actor, p.at, p.id);
    return Number(changes) === 0 ? null : readIncident(conn, p.id);
  });
}

export function resolveIncident(conn: SqliteConnection, p: Params<'resolveIncident'>): IncidentRecord | null {
  return conn.transaction(() => {
    const incident = readIncident(conn, p.id);
    if (incident === null || incident.state === 'resolved') return null;
    return resolve(conn, incident, { by: p.actor, at: p.at, targets: p.targets, notification: p.notification });
  });
}

export function listIncidentNotifications(conn: SqliteConnection, p: Params<'listIncidentNotifications'>): NotificationRecord[] {
  return (conn.statement('SELECT * FROM alert_notifications WHERE incident_id = ? ORDER BY created_at, id').all(p.incidentId) as Row[]).map(toNotification);
}

export function claimAlertNotifications(conn: SqliteConnection, p: Params<'claimAlertNotifications'>): NotificationRecord[] {
  return conn.transaction(() => {
    const now = dbNow(conn);
    const until = now + p.ttlMs;
    const free = conn.statement(`SELECT id FROM alert_notifications WHERE state = 'pending' AND next_attempt_at <= ?
      AND (owner IS NULL OR lease_expires_at <= ?) ORDER BY next_attempt_at, id LIMIT ?`).all(p.now, now, p.limit) as { id: string }[];
    const take = conn.statement('UPDATE alert_notifications SET owner = ?, lease_expires_at = ? WHERE id = ?');
    const read = conn.statement('SELECT * FROM alert_notifications WHERE id = ?');
    return free.map(({ id }) => {
      take.run(p.owner, until, id);
      return toNotification(read.get(id) as Row);
    });
  });
}

export function finishAlertNotification(conn: SqliteConnection, p: Params<'finishAlertNotification'>): boolean {
  const set = finishSet(p.outcome, p.at);
  const { changes } = conn.statement(`UPDATE alert_notifications SET state = ?, attempts = attempts + 1, next_attempt_at = coalesce(?, next_attempt_at),
    last_error = coalesce(?, last_error), sent_at = ?, owner = NULL, lease_expires_at = NULL WHERE id = ? AND owner = ? AND state = 'pending'`)
    .run(set.state, set.nextAttemptAt, set.error, set.sentAt, p.id, p.owner);
  return Number(changes) > 0;
}

// ---- shared with the SQL stores ---------------------------------------------------------------

/** The draft of a resolved notification: the store fills in the incident's parts. */
export type ResolvedDraft = Omit<NotificationDraft, 'state' | 'severity' | 'subject' | 'rule' | 'namespace'>;

/** The cursor kind of {@link listIncidents}: newest first by (openedAt, id). */
export const INCIDENT_CURSOR = 'incident';
export const incidentCursorKey = (incident: IncidentRecord): string[] => [String(incident.openedAt), incident.id];

/** `open_key` of a pair: the rule and the subject (a subject kind has no `:`, a rule id no `|`). */
export const openKey = (ruleId: string, subject: Pick<AlertSubject, 'kind' | 'id'>): string => `${ruleId}|${subject.kind}:${subject.id}`;

/** The payload of a firing or repeat notification: the draft, with its own id and the incident's. */
export function firingPayload(draft: NotificationDraft, id: string, incidentId: string): AlertNotification {
  return { ...draft, id, incidentId };
}

/** The payload of a resolved notification: the draft, with what the incident tells. */
export function resolvedPayload(incident: IncidentRecord, draft: ResolvedDraft, id: string): AlertNotification {
  return {
    ...draft, id, incidentId: incident.id, state: 'resolved', severity: incident.severity, rule: { name: incident.ruleName, on: incident.on },
    subject: { ...incident.subject }, namespace: incident.namespace,
  };
}

/** The columns a finished send sets (null: left as it is, for next_attempt_at and last_error). */
export function finishSet(outcome: Params<'finishAlertNotification'>['outcome'], at: number): {
  state: 'pending' | 'sent' | 'failed'; nextAttemptAt: number | null; error: string | null; sentAt: number | null;
} {
  switch (outcome.kind) {
    case 'sent': return { state: 'sent', nextAttemptAt: null, error: null, sentAt: at };
    case 'retry': return { state: 'pending', nextAttemptAt: outcome.nextAttemptAt, error: outcome.error, sentAt: null };
    case 'failed': return { state: 'failed', nextAttemptAt: null, error: outcome.error, sentAt: null };
  }
}

const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;
const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const textOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : value as string);

export function toIncident(row: Row): IncidentRecord {
  return {
    id: row.id as string,
    ruleId: row.rule_id as string,
    ruleName: row.rule_name as string,
    on: row.on_kind as IncidentRecord['on'],
    namespace: row.namespace as string,
    subject: { kind: row.subject_kind as AlertSubject['kind'], id: row.subject_id as string, name: row.subject_name as string },
    state: row.state as IncidentRecord['state'],
    severity: row.severity as IncidentRecord['severity'],
    summary: row.summary as string,
    details: json<Record<string, unknown>>(row.details),
    openedAt: Number(row.opened_at),
    acknowledgedAt: numberOrNull(row.acknowledged_at),
    acknowledgedBy: textOrNull(row.acknowledged_by),
    resolvedAt: numberOrNull(row.resolved_at),
    resolvedBy: textOrNull(row.resolved_by),
    lastNotifiedAt: numberOrNull(row.last_notified_at),
    updatedAt: Number(row.updated_at),
  };
}

export function toNotification(row: Row): NotificationRecord {
  return {
    id: row.id as string,
    incidentId: row.incident_id as string,
    channelId: row.channel_id as string,
    kind: row.kind as NotificationKind,
    state: row.state as NotificationRecord['state'],
    payload: json<AlertNotification>(row.payload),
    attempts: Number(row.attempts),
    nextAttemptAt: Number(row.next_attempt_at),
    owner: textOrNull(row.owner),
    leaseExpiresAt: numberOrNull(row.lease_expires_at),
    lastError: textOrNull(row.last_error),
    createdAt: Number(row.created_at),
    sentAt: numberOrNull(row.sent_at),
  };
}

export function toEvaluatorState(row: Row): AlertEvaluatorState {
  return {
    cursor: Number(row.cursor_seq), checkedThrough: numberOrNull(row.checked_through), owner: textOrNull(row.owner),
    leaseExpiresAt: numberOrNull(row.lease_expires_at),
  };
}
