/**
 * The rule form's model and its mapping to the body of `POST`/`PUT /api/v1/alert-rules`: the kind
 * (`on`) with only its own parameters (another kind's is an unknown field to the API), one scope,
 * the channels, severity, repeat interval and whether resolutions are sent. Field names follow the
 * body's paths (`count`, `scope.taskId`, `channels`), so the API's field issues land on their fields.
 */
import { labelsOf } from '../namespace-form.ts';
import { duration } from '../spec.ts';
import {
  KIND_PARAMS, NAMESPACE_ONLY_KINDS, RULE_PARAMS, type AlertRuleKind, type AlertRuleResource, type AlertSeverity, type RuleParam, type ScopeKind,
} from './types.ts';

export interface RuleFormValues {
  namespace: string;
  name: string;
  description?: string;
  on: AlertRuleKind;
  attempts?: 'final' | 'every';
  count?: number | null;
  rate?: number | null;
  minRuns?: number | null;
  /** Durations as typed: `90m`, `1h`, or digits for milliseconds. */
  window?: string;
  grace?: string;
  lag?: string;
  after?: string;
  for?: string;
  group?: string;
  /** Which key the scope holds (the form's own field). */
  scopeKind: ScopeKind;
  scope: { taskId?: string; workflowId?: string; labels?: string[] };
  channels: string[];
  severity: AlertSeverity;
  /** Empty: notified once. */
  repeatInterval?: string;
  sendResolved: boolean;
  enabled: boolean;
}

export function emptyRuleForm(namespace: string, scope: Partial<Pick<RuleFormValues, 'scopeKind' | 'scope'>> = {}): RuleFormValues {
  return {
    namespace, name: '', description: '', on: 'failure', attempts: 'final', scopeKind: scope.scopeKind ?? 'namespace', scope: scope.scope ?? {},
    channels: [], severity: 'warning', repeatInterval: '', sendResolved: true, enabled: true,
  };
}

const SCOPE_ORDER: ScopeKind[] = ['taskId', 'workflowId', 'labels', 'namespace'];

/** Which key a rule's scope holds. */
export function scopeKindOf(scope: AlertRuleResource['scope']): ScopeKind {
  return SCOPE_ORDER.find((key) => scope[key] !== undefined) ?? 'namespace';
}

/** A rule as read, in the form. */
export function ruleToForm(rule: AlertRuleResource): RuleFormValues {
  const params: Partial<Record<RuleParam, unknown>> = {};
  for (const param of RULE_PARAMS) if (rule[param] !== undefined) params[param] = rule[param];
  return {
    ...(params as Partial<RuleFormValues>),
    namespace: rule.namespace, name: rule.name, description: rule.description ?? '', on: rule.on,
    scopeKind: scopeKindOf(rule.scope),
    scope: {
      taskId: rule.scope.taskId, workflowId: rule.scope.workflowId,
      labels: rule.scope.labels ? Object.entries(rule.scope.labels).map(([key, value]) => `${key}=${value}`) : undefined,
    },
    channels: [...rule.channels], severity: rule.severity, repeatInterval: rule.repeatInterval ?? '', sendResolved: rule.sendResolved, enabled: rule.enabled,
  };
}

const NUMERIC: readonly RuleParam[] = ['count', 'rate', 'minRuns'];

/**
 * The body of a create or an update. A kind that watches a whole namespace gets the namespace
 * scope whatever the form says. Throws when a label entry is not `key=value`.
 */
export function ruleBody(values: RuleFormValues): Record<string, unknown> {
  const namespace = values.namespace.trim();
  const params: Record<string, unknown> = {};
  for (const { param } of KIND_PARAMS[values.on]) {
    const value = values[param];
    if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) continue;
    params[param] = NUMERIC.includes(param) || param === 'attempts' || param === 'group' ? (typeof value === 'string' ? value.trim() : value) : duration(value as string);
  }
  const kind = NAMESPACE_ONLY_KINDS.includes(values.on) ? 'namespace' : values.scopeKind;
  const scope = kind === 'namespace' ? { namespace }
    : kind === 'labels' ? { labels: labelsOf(values.scope.labels) }
      : { [kind]: values.scope[kind] ?? '' };
  const description = values.description?.trim();
  const repeat = duration(values.repeatInterval);
  return {
    namespace, name: values.name.trim(), on: values.on, ...params, scope, channels: values.channels ?? [], severity: values.severity,
    sendResolved: values.sendResolved, enabled: values.enabled,
    ...(repeat === undefined ? {} : { repeatInterval: repeat }), ...(description ? { description } : {}),
  };
}

const TOP_FIELDS = new Set(['namespace', 'name', 'description', 'on', 'channels', 'severity', 'repeatInterval', 'sendResolved', 'enabled', ...RULE_PARAMS]);

/** The form field an API issue path names (`channels[1]` → the channels, `scope` → the scope's kind), or null when the form has none. */
export function ruleFieldOf(path: string): string[] | null {
  const parts = path.replace(/\[[^\]]*\]/g, '').split('.').filter(Boolean);
  const [first, second] = parts;
  if (first === undefined) return null;
  if (first === 'scope') return second === 'taskId' || second === 'workflowId' || second === 'labels' ? ['scope', second] : ['scopeKind'];
  return TOP_FIELDS.has(first) ? [first] : null;
}

/**
 * A rule's parameters in a line, each named by `label` and its value said by `value` (as read when
 * absent): `count 3`, `rate 0.2 · window 1h · minRuns 10`.
 */
export function paramsText(rule: AlertRuleResource, label: (param: RuleParam) => string, value: (param: RuleParam, value: string | number) => string = (_, v) => String(v)): string {
  return KIND_PARAMS[rule.on].filter(({ param }) => rule[param] !== undefined).map(({ param }) => `${label(param)} ${value(param, rule[param]!)}`).join(' · ');
}
