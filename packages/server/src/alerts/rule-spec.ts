/**
 * An alert rule between its two shapes: the spec a user writes (`AlertRuleSpecSchema` of
 * `@ecron/contracts`, a kind's parameters at the top level, durations as "30m") and the stored
 * record (`AlertRuleRecord`, the parameters in `params`, durations in milliseconds under `…Ms`
 * keys). The API's resource shows a rule as its spec, so that what one reads can be sent back.
 */
import { formatDuration, type AlertRuleScope, type AlertRuleSpec } from '@ecron/contracts';
import type { AlertRuleRecord } from '../store/alerts-config.ts';

/** Fields every rule has: everything else of a spec is its kind's parameters. */
const COMMON_FIELDS = new Set(['namespace', 'name', 'description', 'scope', 'channels', 'severity', 'enabled', 'repeatInterval', 'sendResolved', 'on']);

/** Duration parameters: the spec's field → the key in `params` (milliseconds). */
const DURATION_PARAMS: Record<string, string> = { window: 'windowMs', grace: 'graceMs', lag: 'lagMs', after: 'afterMs', for: 'forMs' };
const DURATION_FIELDS: Record<string, string> = Object.fromEntries(Object.entries(DURATION_PARAMS).map(([field, key]) => [key, field]));

/** What a rule says, as the store keeps it (all but id, namespace, revision and instants). */
export type AlertRuleFields = Omit<AlertRuleRecord, 'id' | 'namespace' | 'revision' | 'createdAt' | 'updatedAt'>;

/** The record's fields of a validated spec. */
export function ruleFieldsOf(spec: AlertRuleSpec): AlertRuleFields {
  const params: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(spec)) {
    if (!COMMON_FIELDS.has(field) && value !== undefined) params[DURATION_PARAMS[field] ?? field] = value;
  }
  return {
    name: spec.name,
    on: spec.on,
    scope: spec.scope as AlertRuleScope,
    params,
    severity: spec.severity,
    channels: [...spec.channels],
    repeatIntervalMs: spec.repeatInterval ?? null,
    sendResolved: spec.sendResolved,
    enabled: spec.enabled,
    description: spec.description ?? null,
  };
}

/** A rule's parameters as a spec writes them: `windowMs: 3600000` → `window: "1h"`. */
export function ruleParamFields(rule: Pick<AlertRuleRecord, 'params'>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(rule.params).map(([key, value]) => {
    const field = DURATION_FIELDS[key];
    return field === undefined ? [key, value] : [field, formatDuration(value as number)];
  }));
}
