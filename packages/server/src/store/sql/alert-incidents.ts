/**
 * Alert incidents and notifications on PostgreSQL and MySQL (see `store/alert-incidents.ts`).
 *
 * - An evaluation locks the one `alert_state` row (`FOR UPDATE`) and checks owner, lease (against
 *   the database clock read in the same transaction) and cursor before it writes anything, so
 *   evaluations are applied one after another and one that lost the lease or the cursor changes
 *   nothing.
 * - A `fire` inserts with duplicates ignored (`ON CONFLICT DO NOTHING` / `INSERT IGNORE`) on the
 *   unique `open_key`: of two transactions opening one pair, the second waits for the first and
 *   inserts nothing. A `clear` and a resolve by hand lock the incident (`FOR UPDATE`, a current
 *   read on MySQL too) before they resolve it.
 * - A repeat is one compare-and-set `UPDATE` per incident; a claim of notifications locks the rows
 *   it takes with `FOR UPDATE SKIP LOCKED` and tests the lease again in its `UPDATE`, so claimers
 *   split the due rows; a finish is a compare-and-set on the owner.
 */
import type { AlertNotification } from '@ecron/contracts';
import { sql, type Kysely } from 'kysely';
import { newId } from '../../core/ids.ts';
import type {
  AlertChange, AlertEvaluatorState, AlertIncidentVerbs, ApplyAlertChangesResult, IncidentQuery, IncidentRecord, NotificationKind,
  NotificationRecord, NotificationTarget,
} from '../alert-incidents.ts';
import { checkPageLimit, decodeCursor, toPage } from '../pagination.ts';
import {
  finishSet, firingPayload, INCIDENT_CURSOR, incidentCursorKey, openKey, resolvedPayload, toEvaluatorState, toIncident, toNotification,
  type ResolvedDraft,
} from '../sqlite/alert-incidents.ts';
import { dbNow } from './cluster.ts';
import { affected, firstRow, inList, inTransaction, rows, whereAll, type SqlContext } from './context.ts';
import type { Column } from './dialect.ts';
import { namespaceScope } from './tasks.ts';

type Params<K extends keyof AlertIncidentVerbs> = Parameters<AlertIncidentVerbs[K]>[0];

const INCIDENT_COLUMNS: readonly Column[] = [
  { name: 'id', type: 'text' }, { name: 'rule_id', type: 'text' }, { name: 'rule_name', type: 'text' }, { name: 'on_kind', type: 'text' },
  { name: 'namespace', type: 'text' }, { name: 'subject_kind', type: 'text' }, { name: 'subject_id', type: 'text' },
  { name: 'subject_name', type: 'text' }, { name: 'open_key', type: 'text' }, { name: 'state', type: 'text' }, { name: 'severity', type: 'text' },
  { name: 'summary', type: 'text' }, { name: 'details', type: 'json' }, { name: 'opened_at', type: 'bigint' },
  { name: 'last_notified_at', type: 'bigint' }, { name: 'updated_at', type: 'bigint' },
];

const NOTIFICATION_COLUMNS: readonly Column[] = [
  { name: 'id', type: 'text' }, { name: 'incident_id', type: 'text' }, { name: 'channel_id', type: 'text' }, { name: 'kind', type: 'text' },
  { name: 'state', type: 'text' }, { name: 'payload', type: 'json' }, { name: 'attempts', type: 'int' }, { name: 'next_attempt_at', type: 'bigint' },
  { name: 'created_at', type: 'bigint' },
];

async function readIncident(db: Kysely<unknown>, id: string, lock = false): Promise<IncidentRecord | null> {
  const row = await firstRow(db, sql`SELECT * FROM alert_incidents WHERE id = ${id} ${lock ? sql`FOR UPDATE` : sql``}`);
  return row ? toIncident(row) : null;
}

export async function claimAlertEvaluator(ctx: SqlContext, p: Params<'claimAlertEvaluator'>): Promise<AlertEvaluatorState | null> {
  return inTransaction(ctx, async (trx) => {
    const now = await dbNow(ctx, trx);
    await ctx.dialect.insertRows(trx, {
      table: 'alert_state', columns: [{ name: 'id', type: 'int' }, { name: 'cursor_seq', type: 'bigint' }], rows: [[1, p.initialCursor]], ignoreDuplicates: true,
    });
    const state = toEvaluatorState((await firstRow(trx, sql`SELECT * FROM alert_state WHERE id = 1 FOR UPDATE`))!);
    if (state.owner !== null && state.owner !== p.owner && (state.leaseExpiresAt ?? 0) > now) return null;
    const until = now + p.ttlMs;
    await sql`UPDATE alert_state SET owner = ${p.owner}, lease_expires_at = ${until} WHERE id = 1`.execute(trx);
    return { ...state, owner: p.owner, leaseExpiresAt: until };
  });
}

export async function releaseAlertEvaluator(ctx: SqlContext, p: Params<'releaseAlertEvaluator'>): Promise<void> {
  await sql`UPDATE alert_state SET owner = NULL, lease_expires_at = NULL WHERE id = 1 AND owner = ${p.owner}`.execute(ctx.db);
}

export async function applyAlertChanges(ctx: SqlContext, p: Params<'applyAlertChanges'>): Promise<ApplyAlertChangesResult> {
  return inTransaction(ctx, async (trx) => {
    const result: ApplyAlertChangesResult = { applied: false, opened: [], resolved: [] };
    const row = await firstRow(trx, sql`SELECT * FROM alert_state WHERE id = 1 FOR UPDATE`);
    if (row === null) return result;
    const state = toEvaluatorState(row);
    if (state.owner !== p.owner || (state.leaseExpiresAt ?? 0) <= await dbNow(ctx, trx) || state.cursor !== p.from) return result;
    if (p.to !== p.from || p.checkedThrough !== undefined) {
      await sql`UPDATE alert_state SET cursor_seq = ${p.to}, checked_through = ${p.checkedThrough ?? state.checkedThrough} WHERE id = 1`.execute(trx);
    }
    result.applied = true;
    for (const change of p.changes) {
      if (change.kind === 'fire') {
        const opened = await fire(ctx, trx, change, p.at);
        if (opened) result.opened.push(opened);
      } else {
        const open = await firstRow(trx, sql`SELECT * FROM alert_incidents WHERE open_key = ${openKey(change.ruleId, change.subject)} FOR UPDATE`);
        if (open === null) continue;
        result.resolved.push(await resolve(ctx, trx, toIncident(open), {
          by: 'condition', at: p.at, targets: change.targets, notification: change.notification,
        }));
      }
    }
    return result;
  });
}

async function fire(ctx: SqlContext, trx: Kysely<unknown>, change: Extract<AlertChange, { kind: 'fire' }>, at: number): Promise<IncidentRecord | null> {
  const id = newId();
  const { inserted } = await ctx.dialect.insertRows(trx, {
    table: 'alert_incidents', columns: INCIDENT_COLUMNS, ignoreDuplicates: true,
    rows: [[
      id, change.ruleId, change.ruleName, change.on, change.namespace, change.subject.kind, change.subject.id, change.subject.name,
      openKey(change.ruleId, change.subject), 'open', change.severity, change.summary, JSON.stringify(change.details), at,
      change.targets.length > 0 ? at : null, at,
    ]],
  });
  if (inserted === 0) return null;
  await insertNotifications(ctx, trx, id, 'firing', change.targets, at, (notificationId) => firingPayload(change.notification, notificationId, id));
  return readIncident(trx, id);
}

/** Resolves `incident` (open or acknowledged, locked by the caller) and writes its resolved notifications. */
async function resolve(ctx: SqlContext, trx: Kysely<unknown>, incident: IncidentRecord, p: {
  by: string; at: number; targets: NotificationTarget[]; notification: ResolvedDraft; summary?: string; details?: Record<string, unknown>;
}): Promise<IncidentRecord> {
  await sql`UPDATE alert_incidents SET state = 'resolved', open_key = NULL, resolved_at = ${p.at}, resolved_by = ${p.by},
    summary = ${p.summary ?? incident.summary}, details = ${JSON.stringify(p.details ?? incident.details)}, updated_at = ${p.at}
    WHERE id = ${incident.id}`.execute(trx);
  await insertNotifications(ctx, trx, incident.id, 'resolved', p.targets, p.at, (id) => resolvedPayload(incident, p.notification, id));
  return (await readIncident(trx, incident.id))!;
}

async function insertNotifications(ctx: SqlContext, trx: Kysely<unknown>, incidentId: string, kind: NotificationKind, targets: NotificationTarget[],
  at: number, payload: (id: string) => AlertNotification): Promise<void> {
  if (targets.length === 0) return;
  await ctx.dialect.insertRows(trx, {
    table: 'alert_notifications', columns: NOTIFICATION_COLUMNS,
    rows: targets.map((target) => {
      const id = newId();
      return [id, incidentId, target.channelId, kind, 'pending', JSON.stringify(payload(id)), 0, at, at];
    }),
  });
}

export async function repeatAlertIncidents(ctx: SqlContext, p: Params<'repeatAlertIncidents'>): Promise<string[]> {
  return inTransaction(ctx, async (trx) => {
    const repeated = new Set<string>();
    // In id order: repeaters racing over the same incidents lock them in one order.
    for (const item of [...p.items].sort((a, b) => (a.incidentId < b.incidentId ? -1 : a.incidentId > b.incidentId ? 1 : 0))) {
      if (await affected(trx, sql`UPDATE alert_incidents SET last_notified_at = ${p.at}
        WHERE id = ${item.incidentId} AND state = 'open' AND coalesce(last_notified_at, opened_at) <= ${item.notifiedBefore}`) === 0) continue;
      await insertNotifications(ctx, trx, item.incidentId, 'repeat', item.targets, p.at, (id) => firingPayload(item.notification, id, item.incidentId));
      repeated.add(item.incidentId);
    }
    return p.items.map((item) => item.incidentId).filter((id) => repeated.has(id));
  });
}

export async function getIncident(ctx: SqlContext, id: string): Promise<IncidentRecord | null> {
  return readIncident(ctx.db, id);
}

export async function listIncidents(ctx: SqlContext, p: IncidentQuery): Promise<{ items: IncidentRecord[]; nextCursor: string | null }> {
  const limit = checkPageLimit(p.limit);
  const after = decodeCursor(p.cursor, INCIDENT_CURSOR, 2);
  const scope = namespaceScope(ctx, p.namespaces);
  if (scope === 'none' || p.states?.length === 0) return { items: [], nextCursor: null };
  const where = scope ? [scope] : [];
  if (p.states) where.push(inList(ctx, 'state', p.states));
  if (p.ruleId !== undefined) where.push(sql`rule_id = ${p.ruleId}`);
  if (after) where.push(sql`(opened_at < ${Number(after[0])} OR (opened_at = ${Number(after[0])} AND id < ${after[1]!}))`);
  const found = await rows(ctx.db, sql`SELECT * FROM alert_incidents ${whereAll(where)} ORDER BY opened_at DESC, id DESC LIMIT ${limit + 1}`);
  return toPage(found.map(toIncident), limit, INCIDENT_CURSOR, incidentCursorKey);
}

export async function listUnresolvedIncidents(ctx: SqlContext): Promise<IncidentRecord[]> {
  return (await rows(ctx.db, sql`SELECT * FROM alert_incidents WHERE state <> 'resolved' ORDER BY opened_at, id`)).map(toIncident);
}

export async function acknowledgeIncident(ctx: SqlContext, p: Params<'acknowledgeIncident'>): Promise<IncidentRecord | null> {
  return inTransaction(ctx, async (trx) => {
    // The state changes, so MySQL's count of changed rows tells the match too.
    if (await affected(trx, sql`UPDATE alert_incidents SET state = 'acknowledged', acknowledged_at = ${p.at}, acknowledged_by = ${p.actor},
      updated_at = ${p.at} WHERE id = ${p.id} AND state = 'open'`) === 0) return null;
    return readIncident(trx, p.id);
  });
}

export async function resolveIncident(ctx: SqlContext, p: Params<'resolveIncident'>): Promise<IncidentRecord | null> {
  return inTransaction(ctx, async (trx) => {
    const incident = await readIncident(trx, p.id, true);
    if (incident === null || incident.state === 'resolved') return null;
    return resolve(ctx, trx, incident, { by: p.actor, at: p.at, targets: p.targets, notification: p.notification });
  });
}

export async function listIncidentNotifications(ctx: SqlContext, p: Params<'listIncidentNotifications'>): Promise<NotificationRecord[]> {
  return (await rows(ctx.db, sql`SELECT * FROM alert_notifications WHERE incident_id = ${p.incidentId} ORDER BY created_at, id`)).map(toNotification);
}

export async function claimAlertNotifications(ctx: SqlContext, p: Params<'claimAlertNotifications'>): Promise<NotificationRecord[]> {
  return inTransaction(ctx, async (trx) => {
    const now = await dbNow(ctx, trx);
    const until = now + p.ttlMs;
    const free = await rows<{ id: string }>(trx, sql`SELECT id FROM alert_notifications WHERE state = 'pending' AND next_attempt_at <= ${p.now}
      AND (owner IS NULL OR lease_expires_at <= ${now}) ORDER BY next_attempt_at, id LIMIT ${p.limit} ${ctx.dialect.forUpdateSkipLocked}`);
    if (free.length === 0) return [];
    const ids = free.map((row) => row.id);
    await sql`UPDATE alert_notifications SET owner = ${p.owner}, lease_expires_at = ${until}
      WHERE ${inList(ctx, 'id', ids)} AND state = 'pending' AND (owner IS NULL OR lease_expires_at <= ${now})`.execute(trx);
    return (await rows(trx, sql`SELECT * FROM alert_notifications WHERE ${inList(ctx, 'id', ids)} AND owner = ${p.owner}
      AND lease_expires_at = ${until} ORDER BY next_attempt_at, id`)).map(toNotification);
  });
}

export async function finishAlertNotification(ctx: SqlContext, p: Params<'finishAlertNotification'>): Promise<boolean> {
  const set = finishSet(p.outcome, p.at);
  // The owner goes back to NULL, so MySQL's count of changed rows tells the match too.
  return await affected(ctx.db, sql`UPDATE alert_notifications SET state = ${set.state}, attempts = attempts + 1,
    next_attempt_at = coalesce(${set.nextAttemptAt}, next_attempt_at), last_error = coalesce(${set.error}, last_error), sent_at = ${set.sentAt},
    owner = NULL, lease_expires_at = NULL WHERE id = ${p.id} AND owner = ${p.owner} AND state = 'pending'`) > 0;
}
