/**
 * What the stores share of alert channels and rules: the row → record mapping (JSON columns as
 * text or parsed, booleans as 0/1 or true/false) and the integrity checks of
 * `store/alerts-config.ts`, given what the transaction read.
 */
import type { AlertChannelType, AlertLocale, AlertRuleKind, AlertRuleScope, AlertSeverity } from '@ecron/contracts';
import { EcronError } from '../core/errors.ts';
import type { AlertChannelRecord, AlertRuleRecord } from './alerts-config.ts';

type Row = Record<string, unknown>;

const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;
const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const textOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
const bool = (value: unknown): boolean => value === true || Number(value) === 1;

export function toAlertChannel(row: Row): AlertChannelRecord {
  return {
    id: row.id as string,
    namespace: row.namespace as string,
    name: row.name as string,
    type: row.type as AlertChannelType,
    config: json<Record<string, unknown>>(row.config),
    locale: row.locale as AlertLocale,
    description: textOrNull(row.description),
    lastError: textOrNull(row.last_error),
    lastErrorAt: numberOrNull(row.last_error_at),
    lastSentAt: numberOrNull(row.last_sent_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function toAlertRule(row: Row): AlertRuleRecord {
  return {
    id: row.id as string,
    namespace: row.namespace as string,
    name: row.name as string,
    on: row.on_kind as AlertRuleKind,
    scope: json<AlertRuleScope>(row.scope),
    params: json<Record<string, unknown>>(row.params),
    severity: row.severity as AlertSeverity,
    channels: json<string[]>(row.channels),
    repeatIntervalMs: numberOrNull(row.repeat_interval_ms),
    sendResolved: bool(row.send_resolved),
    enabled: bool(row.enabled),
    description: textOrNull(row.description),
    revision: Number(row.revision),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** The column values of a rule's row, in the order of {@link RULE_COLUMNS}. */
export const RULE_COLUMNS = 'id, namespace, name, on_kind, scope, params, severity, channels, repeat_interval_ms, send_resolved, enabled, description, revision, created_at, updated_at';
export function ruleValues(r: AlertRuleRecord): (string | number | null)[] {
  return [
    r.id, r.namespace, r.name, r.on, JSON.stringify(r.scope), JSON.stringify(r.params), r.severity, JSON.stringify(r.channels),
    r.repeatIntervalMs, r.sendResolved ? 1 : 0, r.enabled ? 1 : 0, r.description, r.revision, r.createdAt, r.updatedAt,
  ];
}

/** The column values of a channel's row, in the order of {@link CHANNEL_COLUMNS}. */
export const CHANNEL_COLUMNS = 'id, namespace, name, type, config, locale, description, last_error, last_error_at, last_sent_at, created_at, updated_at';
export function channelValues(c: AlertChannelRecord): (string | number | null)[] {
  return [
    c.id, c.namespace, c.name, c.type, JSON.stringify(c.config), c.locale, c.description, c.lastError, c.lastErrorAt, c.lastSentAt, c.createdAt, c.updatedAt,
  ];
}

export const channelNameTaken = (namespace: string, name: string): EcronError =>
  new EcronError('ALERT_CHANNEL_NAME_TAKEN', `an alert channel named ${namespace}/${name} exists`, { namespace, name });

export const ruleNameTaken = (namespace: string, name: string): EcronError =>
  new EcronError('ALERT_RULE_NAME_TAKEN', `an alert rule named ${namespace}/${name} exists`, { namespace, name });

/** Throws VALIDATION_FAILED, one issue `channels[i]` per name of `wanted` that is not in `found`. */
export function assertChannelsExist(namespace: string, wanted: readonly string[], found: readonly string[]): void {
  const have = new Set(found);
  const issues = wanted.flatMap((name, i) => (have.has(name) ? [] : [{
    path: `channels[${i}]`, code: 'ALERT_CHANNEL_NOT_FOUND', message: `no alert channel ${JSON.stringify(name)} in namespace ${JSON.stringify(namespace)}`,
  }]));
  if (issues.length > 0) throw new EcronError('VALIDATION_FAILED', issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
}

/**
 * Throws ALERT_CHANNEL_IN_USE when any of `rules` (the rows of the channel's namespace: name and
 * channels) names the channel; `what` says what was refused ("deleted", "renamed").
 */
export function assertChannelUnused(channel: Pick<AlertChannelRecord, 'namespace' | 'name'>, rules: readonly Row[], what: string): void {
  const using = rules.filter((row) => json<string[]>(row.channels).includes(channel.name)).map((row) => row.name as string).sort();
  if (using.length === 0) return;
  const shown = using.slice(0, 10).join(', ') + (using.length > 10 ? `, and ${using.length - 10} more` : '');
  throw new EcronError('ALERT_CHANNEL_IN_USE',
    `alert channel ${channel.namespace}/${channel.name} cannot be ${what}: alert rule${using.length > 1 ? 's' : ''} ${shown} send${using.length > 1 ? '' : 's'} through it; change or delete ${using.length > 1 ? 'them' : 'it'} first`,
    { namespace: channel.namespace, name: channel.name, rules: using });
}
