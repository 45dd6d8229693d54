/**
 * Alert channels and alert rules on PostgreSQL and MySQL (see `store/alerts-config.ts`). A rule's
 * create or update locks the rows of the channels it names (`FOR UPDATE`) before it is written,
 * and a channel's delete or rename locks that channel's row before it reads the rules that name
 * it: the two meet on the row, so a rule is never left naming a channel deleted at the same time.
 * Both stores run READ COMMITTED, so the read after the lock sees what the other committed.
 */
import { sql, type Kysely } from 'kysely';
import { EcronError } from '../../core/errors.ts';
import type { AlertChannelRecord, AlertRuleRecord, ListAlertConfigParams, ListAlertRulesParams } from '../alerts-config.ts';
import {
  assertChannelUnused, assertChannelsExist, channelNameTaken, channelValues, ruleNameTaken, ruleValues, toAlertChannel, toAlertRule,
} from '../alert-config-rows.ts';
import { checkPageLimit, decodeCursor, toPage } from '../pagination.ts';
import type { AuditInput, Page } from '../store.ts';
import { affected, firstRow, inList, inTransaction, rows, whereAll, type SqlContext } from './context.ts';
import { namespaceScope } from './tasks.ts';
import { auditOf, insertAudit } from './tokens-audit.ts';

const CHANNEL = 'alert-channel';
const RULE = 'alert-rule';

async function channel(db: Kysely<unknown>, id: string, lock = false): Promise<AlertChannelRecord | null> {
  const row = await firstRow(db, sql`SELECT * FROM alert_channels WHERE id = ${id} ${lock ? sql`FOR UPDATE` : sql``}`);
  return row ? toAlertChannel(row) : null;
}

async function rule(db: Kysely<unknown>, id: string, lock = false): Promise<AlertRuleRecord | null> {
  const row = await firstRow(db, sql`SELECT * FROM alert_rules WHERE id = ${id} ${lock ? sql`FOR UPDATE` : sql``}`);
  return row ? toAlertRule(row) : null;
}

async function nameExists(db: Kysely<unknown>, table: 'alert_channels' | 'alert_rules', namespace: string, name: string, except: string | null): Promise<boolean> {
  return (await firstRow(db, sql`SELECT id FROM ${sql.table(table)} WHERE namespace = ${namespace} AND name = ${name} AND id <> ${except ?? ''}`)) !== null;
}

/** Locks the rows of the namespace's channels named `names`, and refuses the names without one. */
async function lockChannels(ctx: SqlContext, trx: Kysely<unknown>, namespace: string, names: readonly string[]): Promise<void> {
  const found = names.length === 0 ? [] : await rows<{ name: string }>(trx,
    sql`SELECT name FROM alert_channels WHERE namespace = ${namespace} AND ${inList(ctx, 'name', names)} ORDER BY name FOR UPDATE`);
  assertChannelsExist(namespace, names, found.map((row) => row.name));
}

const rulesOf = (trx: Kysely<unknown>, namespace: string) => rows(trx, sql`SELECT name, channels FROM alert_rules WHERE namespace = ${namespace}`);

/** A unique key refusing a write that the check before it let through (two writes at once): the name is taken. */
async function orNameTaken<T>(ctx: SqlContext, taken: () => EcronError, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!(error instanceof EcronError) && ctx.dialect.uniqueViolation(error) !== null) throw taken();
    throw error;
  }
}

function listWhere(ctx: SqlContext, p: ListAlertConfigParams, kind: string) {
  const limit = checkPageLimit(p.limit);
  const after = decodeCursor(p.cursor, kind, 2);
  const scope = namespaceScope(ctx, p.namespaces ? [...p.namespaces] : null);
  if (scope === 'none') return null;
  const where = scope ? [scope] : [];
  if (p.namespace !== undefined) where.push(sql`namespace = ${p.namespace}`);
  if (after) where.push(sql`(namespace, name) > (${after[0]!}, ${after[1]!})`);
  return { where, limit };
}

// ---- channels

export async function createAlertChannel(ctx: SqlContext, p: { channel: AlertChannelRecord; audit: AuditInput }): Promise<AlertChannelRecord> {
  const c = p.channel;
  return orNameTaken(ctx, () => channelNameTaken(c.namespace, c.name), () => inTransaction(ctx, async (trx) => {
    if (await nameExists(trx, 'alert_channels', c.namespace, c.name, null)) throw channelNameTaken(c.namespace, c.name);
    await sql`INSERT INTO alert_channels (id, namespace, name, type, config, locale, description, last_error, last_error_at, last_sent_at, created_at, updated_at)
      VALUES (${sql.join(channelValues(c))})`.execute(trx);
    await insertAudit(trx, auditOf(p.audit, c.createdAt, CHANNEL, c.id));
    return (await channel(trx, c.id))!;
  }));
}

export const getAlertChannel = (ctx: SqlContext, id: string): Promise<AlertChannelRecord | null> => channel(ctx.db, id);

export async function getAlertChannelsByName(ctx: SqlContext, p: { namespace: string; names: readonly string[] }): Promise<AlertChannelRecord[]> {
  if (p.names.length === 0) return [];
  return (await rows(ctx.db, sql`SELECT * FROM alert_channels WHERE namespace = ${p.namespace} AND ${inList(ctx, 'name', p.names)} ORDER BY name`)).map(toAlertChannel);
}

export async function listAlertChannels(ctx: SqlContext, p: ListAlertConfigParams): Promise<Page<AlertChannelRecord>> {
  const list = listWhere(ctx, p, CHANNEL);
  if (list === null) return { items: [], nextCursor: null };
  const found = await rows(ctx.db, sql`SELECT * FROM alert_channels ${whereAll(list.where)} ORDER BY namespace, name LIMIT ${list.limit + 1}`);
  return toPage(found.map(toAlertChannel), list.limit, CHANNEL, (c) => [c.namespace, c.name]);
}

export async function updateAlertChannel(ctx: SqlContext, p: {
  id: string; changes: Pick<AlertChannelRecord, 'name' | 'type' | 'config' | 'locale' | 'description'>; at: number; audit: AuditInput;
}): Promise<AlertChannelRecord | null> {
  let namespace = '';
  return orNameTaken(ctx, () => channelNameTaken(namespace, p.changes.name), () => inTransaction(ctx, async (trx) => {
    const current = await channel(trx, p.id, true);
    if (current === null) return null;
    namespace = current.namespace;
    const c = p.changes;
    if (c.name !== current.name) {
      if (await nameExists(trx, 'alert_channels', current.namespace, c.name, p.id)) throw channelNameTaken(current.namespace, c.name);
      assertChannelUnused(current, await rulesOf(trx, current.namespace), 'renamed');
    }
    await sql`UPDATE alert_channels SET name = ${c.name}, type = ${c.type}, config = ${JSON.stringify(c.config)}, locale = ${c.locale},
      description = ${c.description}, updated_at = ${p.at} WHERE id = ${p.id}`.execute(trx);
    await insertAudit(trx, auditOf(p.audit, p.at, CHANNEL, p.id));
    return channel(trx, p.id);
  }));
}

export async function deleteAlertChannel(ctx: SqlContext, p: { id: string; at: number; audit: AuditInput }): Promise<boolean> {
  return inTransaction(ctx, async (trx) => {
    const current = await channel(trx, p.id, true);
    if (current === null) return false;
    assertChannelUnused(current, await rulesOf(trx, current.namespace), 'deleted');
    await sql`DELETE FROM alert_channels WHERE id = ${p.id}`.execute(trx);
    await insertAudit(trx, auditOf(p.audit, p.at, CHANNEL, p.id));
    return true;
  });
}

export async function recordAlertChannelResult(ctx: SqlContext, p: { id: string; at: number; error: string | null }): Promise<void> {
  if (p.error === null) {
    await sql`UPDATE alert_channels SET last_sent_at = ${p.at} WHERE id = ${p.id} AND (last_sent_at IS NULL OR last_sent_at < ${p.at})`.execute(ctx.db);
  } else {
    await sql`UPDATE alert_channels SET last_error = ${p.error}, last_error_at = ${p.at}
      WHERE id = ${p.id} AND (last_error_at IS NULL OR last_error_at <= ${p.at})`.execute(ctx.db);
  }
}

// ---- rules

export async function createAlertRule(ctx: SqlContext, p: { rule: AlertRuleRecord; audit: AuditInput }): Promise<AlertRuleRecord> {
  const r = p.rule;
  return orNameTaken(ctx, () => ruleNameTaken(r.namespace, r.name), () => inTransaction(ctx, async (trx) => {
    if (await nameExists(trx, 'alert_rules', r.namespace, r.name, null)) throw ruleNameTaken(r.namespace, r.name);
    await lockChannels(ctx, trx, r.namespace, r.channels);
    await sql`INSERT INTO alert_rules (id, namespace, name, on_kind, scope, params, severity, channels, repeat_interval_ms, send_resolved, enabled,
      description, revision, created_at, updated_at) VALUES (${sql.join(ruleValues(r))})`.execute(trx);
    await insertAudit(trx, auditOf(p.audit, r.createdAt, RULE, r.id));
    return (await rule(trx, r.id))!;
  }));
}

export const getAlertRule = (ctx: SqlContext, id: string): Promise<AlertRuleRecord | null> => rule(ctx.db, id);

export async function listAlertRules(ctx: SqlContext, p: ListAlertRulesParams): Promise<Page<AlertRuleRecord>> {
  const list = listWhere(ctx, p, RULE);
  if (list === null) return { items: [], nextCursor: null };
  if (p.on !== undefined) list.where.push(sql`on_kind = ${p.on}`);
  if (p.enabled !== undefined) list.where.push(sql`enabled = ${p.enabled ? 1 : 0}`);
  const found = await rows(ctx.db, sql`SELECT * FROM alert_rules ${whereAll(list.where)} ORDER BY namespace, name LIMIT ${list.limit + 1}`);
  return toPage(found.map(toAlertRule), list.limit, RULE, (r) => [r.namespace, r.name]);
}

export async function listEnabledAlertRules(ctx: SqlContext): Promise<AlertRuleRecord[]> {
  return (await rows(ctx.db, sql`SELECT * FROM alert_rules WHERE enabled = 1 ORDER BY namespace, name`)).map(toAlertRule);
}

export async function updateAlertRule(ctx: SqlContext, p: {
  id: string; changes: Omit<AlertRuleRecord, 'id' | 'namespace' | 'revision' | 'createdAt' | 'updatedAt'>; at: number; audit: AuditInput;
}): Promise<AlertRuleRecord | null> {
  let namespace = '';
  return orNameTaken(ctx, () => ruleNameTaken(namespace, p.changes.name), () => inTransaction(ctx, async (trx) => {
    const current = await rule(trx, p.id, true);
    if (current === null) return null;
    namespace = current.namespace;
    const next: AlertRuleRecord = { ...current, ...p.changes, revision: current.revision + 1, updatedAt: p.at };
    if (next.name !== current.name && await nameExists(trx, 'alert_rules', current.namespace, next.name, p.id)) throw ruleNameTaken(current.namespace, next.name);
    await lockChannels(ctx, trx, current.namespace, next.channels);
    const [, , name, on, scope, params, severity, channels, repeat, sendResolved, enabled, description, revision] = ruleValues(next);
    await sql`UPDATE alert_rules SET name = ${name}, on_kind = ${on}, scope = ${scope}, params = ${params}, severity = ${severity}, channels = ${channels},
      repeat_interval_ms = ${repeat}, send_resolved = ${sendResolved}, enabled = ${enabled}, description = ${description}, revision = ${revision},
      updated_at = ${p.at} WHERE id = ${p.id}`.execute(trx);
    await insertAudit(trx, auditOf(p.audit, p.at, RULE, p.id));
    return rule(trx, p.id);
  }));
}

export async function setAlertRuleEnabled(ctx: SqlContext, p: { id: string; enabled: boolean; at: number; audit: AuditInput }): Promise<AlertRuleRecord | null> {
  return inTransaction(ctx, async (trx) => {
    // updated_at changes, so MySQL counts the row even when `enabled` does not.
    if (await affected(trx, sql`UPDATE alert_rules SET enabled = ${p.enabled ? 1 : 0}, updated_at = ${p.at} WHERE id = ${p.id}`) === 0) {
      if (!(await rule(trx, p.id))) return null;
    }
    await insertAudit(trx, auditOf(p.audit, p.at, RULE, p.id));
    return rule(trx, p.id);
  });
}

export async function deleteAlertRule(ctx: SqlContext, p: { id: string; at: number; audit: AuditInput }): Promise<boolean> {
  return inTransaction(ctx, async (trx) => {
    if (await affected(trx, sql`DELETE FROM alert_rules WHERE id = ${p.id}`) === 0) return false;
    await insertAudit(trx, auditOf(p.audit, p.at, RULE, p.id));
    return true;
  });
}
