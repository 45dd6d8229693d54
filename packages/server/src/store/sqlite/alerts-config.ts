/**
 * Alert channels and alert rules on SQLite (see `store/alerts-config.ts`). Each verb is one
 * transaction on the single connection, so the checks between rules and their channels (a rule's
 * channels exist, a channel in use stays) cannot race.
 */
import type { AlertChannelRecord, AlertRuleRecord, ListAlertConfigParams, ListAlertRulesParams } from '../alerts-config.ts';
import {
  CHANNEL_COLUMNS, RULE_COLUMNS, assertChannelUnused, assertChannelsExist, channelNameTaken, channelValues, ruleNameTaken, ruleValues, toAlertChannel, toAlertRule,
} from '../alert-config-rows.ts';
import { checkPageLimit, decodeCursor, toPage } from '../pagination.ts';
import type { AuditInput, Page } from '../store.ts';
import type { SqliteConnection } from './connection.ts';
import { namespaceScope, type Row } from './rows.ts';
import { insertAudit } from './tokens-audit.ts';

const CHANNEL = 'alert-channel';
const RULE = 'alert-rule';
const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

function channel(conn: SqliteConnection, id: string): AlertChannelRecord | null {
  const row = conn.statement('SELECT * FROM alert_channels WHERE id = ?').get(id) as Row | undefined;
  return row ? toAlertChannel(row) : null;
}

function rule(conn: SqliteConnection, id: string): AlertRuleRecord | null {
  const row = conn.statement('SELECT * FROM alert_rules WHERE id = ?').get(id) as Row | undefined;
  return row ? toAlertRule(row) : null;
}

function nameExists(conn: SqliteConnection, table: 'alert_channels' | 'alert_rules', namespace: string, name: string, except: string | null): boolean {
  return conn.statement(`SELECT 1 FROM ${table} WHERE namespace = ? AND name = ? AND id <> ?`).get(namespace, name, except ?? '') !== undefined;
}

/** Rows (name, channels) of the namespace's rules: what the in-use check reads. */
const rulesOf = (conn: SqliteConnection, namespace: string): Row[] =>
  conn.statement('SELECT name, channels FROM alert_rules WHERE namespace = ?').all(namespace) as Row[];

function checkChannels(conn: SqliteConnection, namespace: string, names: readonly string[]): void {
  const found = names.length === 0 ? [] : (conn.statement(`SELECT name FROM alert_channels WHERE namespace = ? AND name IN (${placeholders(names.length)})`)
    .all(namespace, ...names) as Row[]).map((row) => row.name as string);
  assertChannelsExist(namespace, names, found);
}

/** WHERE conditions and their parameters shared by the two listings. */
function listWhere(p: ListAlertConfigParams, kind: string): { where: string[]; params: (string | number)[]; limit: number } | null {
  const limit = checkPageLimit(p.limit);
  const after = decodeCursor(p.cursor, kind, 2);
  const scope = namespaceScope(p.namespaces ? [...p.namespaces] : null);
  if (scope === 'none') return null;
  const where: string[] = scope ? [scope.clause] : [];
  const params: (string | number)[] = scope ? [scope.param] : [];
  if (p.namespace !== undefined) { where.push('namespace = ?'); params.push(p.namespace); }
  if (after) { where.push('(namespace, name) > (?, ?)'); params.push(after[0]!, after[1]!); }
  return { where, params, limit };
}

const whereSql = (where: string[]): string => (where.length ? `WHERE ${where.join(' AND ')}` : '');

// ---- channels

export function createAlertChannel(conn: SqliteConnection, p: { channel: AlertChannelRecord; audit: AuditInput }): AlertChannelRecord {
  const c = p.channel;
  return conn.transaction(() => {
    if (nameExists(conn, 'alert_channels', c.namespace, c.name, null)) throw channelNameTaken(c.namespace, c.name);
    conn.statement(`INSERT INTO alert_channels (${CHANNEL_COLUMNS}) VALUES (${placeholders(12)})`).run(...channelValues(c));
    insertAudit(conn, p.audit, c.createdAt, CHANNEL, c.id);
    return channel(conn, c.id)!;
  });
}

export const getAlertChannel = (conn: SqliteConnection, id: string): AlertChannelRecord | null => channel(conn, id);

export function getAlertChannelsByName(conn: SqliteConnection, p: { namespace: string; names: readonly string[] }): AlertChannelRecord[] {
  if (p.names.length === 0) return [];
  return (conn.statement(`SELECT * FROM alert_channels WHERE namespace = ? AND name IN (${placeholders(p.names.length)}) ORDER BY name`)
    .all(p.namespace, ...p.names) as Row[]).map(toAlertChannel);
}

export function listAlertChannels(conn: SqliteConnection, p: ListAlertConfigParams): Page<AlertChannelRecord> {
  const list = listWhere(p, CHANNEL);
  if (list === null) return { items: [], nextCursor: null };
  const rows = conn.statement(`SELECT * FROM alert_channels ${whereSql(list.where)} ORDER BY namespace, name LIMIT ?`).all(...list.params, list.limit + 1) as Row[];
  return toPage(rows.map(toAlertChannel), list.limit, CHANNEL, (c) => [c.namespace, c.name]);
}

export function updateAlertChannel(conn: SqliteConnection, p: {
  id: string; changes: Pick<AlertChannelRecord, 'name' | 'type' | 'config' | 'locale' | 'description'>; at: number; audit: AuditInput;
}): AlertChannelRecord | null {
  return conn.transaction(() => {
    const current = channel(conn, p.id);
    if (current === null) return null;
    const c = p.changes;
    if (c.name !== current.name) {
      if (nameExists(conn, 'alert_channels', current.namespace, c.name, p.id)) throw channelNameTaken(current.namespace, c.name);
      assertChannelUnused(current, rulesOf(conn, current.namespace), 'renamed');
    }
    conn.statement('UPDATE alert_channels SET name = ?, type = ?, config = ?, locale = ?, description = ?, updated_at = ? WHERE id = ?')
      .run(c.name, c.type, JSON.stringify(c.config), c.locale, c.description, p.at, p.id);
    insertAudit(conn, p.audit, p.at, CHANNEL, p.id);
    return channel(conn, p.id);
  });
}

export function deleteAlertChannel(conn: SqliteConnection, p: { id: string; at: number; audit: AuditInput }): boolean {
  return conn.transaction(() => {
    const current = channel(conn, p.id);
    if (current === null) return false;
    assertChannelUnused(current, rulesOf(conn, current.namespace), 'deleted');
    conn.statement('DELETE FROM alert_channels WHERE id = ?').run(p.id);
    insertAudit(conn, p.audit, p.at, CHANNEL, p.id);
    return true;
  });
}

export function recordAlertChannelResult(conn: SqliteConnection, p: { id: string; at: number; error: string | null }): void {
  if (p.error === null) {
    conn.statement('UPDATE alert_channels SET last_sent_at = ? WHERE id = ? AND (last_sent_at IS NULL OR last_sent_at < ?)').run(p.at, p.id, p.at);
  } else {
    conn.statement('UPDATE alert_channels SET last_error = ?, last_error_at = ? WHERE id = ? AND (last_error_at IS NULL OR last_error_at <= ?)')
      .run(p.error, p.at, p.id, p.at);
  }
}

// ---- rules

export function createAlertRule(conn: SqliteConnection, p: { rule: AlertRuleRecord; audit: AuditInput }): AlertRuleRecord {
  const r = p.rule;
  return conn.transaction(() => {
    if (nameExists(conn, 'alert_rules', r.namespace, r.name, null)) throw ruleNameTaken(r.namespace, r.name);
    checkChannels(conn, r.namespace, r.channels);
    conn.statement(`INSERT INTO alert_rules (${RULE_COLUMNS}) VALUES (${placeholders(15)})`).run(...ruleValues(r));
    insertAudit(conn, p.audit, r.createdAt, RULE, r.id);
    return rule(conn, r.id)!;
  });
}

export const getAlertRule = (conn: SqliteConnection, id: string): AlertRuleRecord | null => rule(conn, id);

export function listAlertRules(conn: SqliteConnection, p: ListAlertRulesParams): Page<AlertRuleRecord> {
  const list = listWhere(p, RULE);
  if (list === null) return { items: [], nextCursor: null };
  if (p.on !== undefined) { list.where.push('on_kind = ?'); list.params.push(p.on); }
  if (p.enabled !== undefined) { list.where.push('enabled = ?'); list.params.push(p.enabled ? 1 : 0); }
  const rows = conn.statement(`SELECT * FROM alert_rules ${whereSql(list.where)} ORDER BY namespace, name LIMIT ?`).all(...list.params, list.limit + 1) as Row[];
  return toPage(rows.map(toAlertRule), list.limit, RULE, (r) => [r.namespace, r.name]);
}

export function listEnabledAlertRules(conn: SqliteConnection): AlertRuleRecord[] {
  return (conn.statement('SELECT * FROM alert_rules WHERE enabled = 1 ORDER BY namespace, name').all() as Row[]).map(toAlertRule);
}

export function updateAlertRule(conn: SqliteConnection, p: {
  id: string; changes: Omit<AlertRuleRecord, 'id' | 'namespace' | 'revision' | 'createdAt' | 'updatedAt'>; at: number; audit: AuditInput;
}): AlertRuleRecord | null {
  return conn.transaction(() => {
    const current = rule(conn, p.id);
    if (current === null) return null;
    const next: AlertRuleRecord = { ...current, ...p.changes, revision: current.revision + 1, updatedAt: p.at };
    if (next.name !== current.name && nameExists(conn, 'alert_rules', current.namespace, next.name, p.id)) throw ruleNameTaken(current.namespace, next.name);
    checkChannels(conn, current.namespace, next.channels);
    conn.statement(`UPDATE alert_rules SET name = ?, on_kind = ?, scope = ?, params = ?, severity = ?, channels = ?, repeat_interval_ms = ?,
      send_resolved = ?, enabled = ?, description = ?, revision = ?, updated_at = ? WHERE id = ?`).run(...ruleValues(next).slice(2, 13), p.at, p.id);
    insertAudit(conn, p.audit, p.at, RULE, p.id);
    return rule(conn, p.id);
  });
}

export function setAlertRuleEnabled(conn: SqliteConnection, p: { id: string; enabled: boolean; at: number; audit: AuditInput }): AlertRuleRecord | null {
  return conn.transaction(() => {
    const { changes } = conn.statement('UPDATE alert_rules SET enabled = ?, updated_at = ? WHERE id = ?').run(p.enabled ? 1 : 0, p.at, p.id);
    if (Number(changes) === 0) return null;
    insertAudit(conn, p.audit, p.at, RULE, p.id);
    return rule(conn, p.id);
  });
}

export function deleteAlertRule(conn: SqliteConnection, p: { id: string; at: number; audit: AuditInput }): boolean {
  return conn.transaction(() => {
    const { changes } = conn.statement('DELETE FROM alert_rules WHERE id = ?').run(p.id);
    if (Number(changes) === 0) return false;
    insertAudit(conn, p.audit, p.at, RULE, p.id);
    return true;
  });
}
