/**
 * A namespace's settings as pure functions: the defaults of what a namespace did not set, and how
 * a PUT changes a stored namespace. The stores apply {@link applyNamespaceSpec} inside their
 * transaction, on the locked row, so that two partial PUTs at once both take effect.
 */
import { DEFAULT_MIN_INTERVAL_MS, type NamespaceQuotas, type NamespaceSpec } from '@ecron/contracts';
import { EcronError } from './errors.ts';
import type { NamespaceQuotaSettings, NamespaceRecord } from './model.ts';

/** The quotas of a namespace that set none: no limit, and the default minimum interval. */
export const DEFAULT_NAMESPACE_QUOTAS: Readonly<NamespaceQuotas> = Object.freeze({
  maxConcurrentRuns: null,
  maxFiresPerMinute: null,
  minIntervalMs: DEFAULT_MIN_INTERVAL_MS,
  maxTasks: null,
  maxWorkflows: null,
  allowedTargetTypes: null,
  groupMaxConcurrentRuns: {},
  containerImages: null,
});

/** The quotas in force: those set, and the defaults of the others. */
export function effectiveQuotas(settings: NamespaceQuotaSettings | undefined): NamespaceQuotas {
  return { ...DEFAULT_NAMESPACE_QUOTAS, ...settings };
}

/** The least time between two fires in `namespace` (null: a namespace never PUT, which has the default). */
export function minIntervalOf(namespace: NamespaceRecord | null): number {
  return namespace?.quotas.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
}

/**
 * The record a PUT of `spec` leaves: `current` (null when the namespace is new) with every field
 * the spec gives replaced. A quota given as null is removed (back to its default); `labels` is
 * replaced whole; `outbound.allow` and `outbound.deny` each replace their list.
 */
export function applyNamespaceSpec(current: NamespaceRecord | null, name: string, spec: NamespaceSpec, at: number): NamespaceRecord {
  const quotas: Record<string, unknown> = { ...current?.quotas };
  for (const [key, value] of Object.entries(spec.quotas ?? {})) {
    if (value === undefined) continue;
    if (value === null) delete quotas[key];
    else quotas[key] = value;
  }
  return {
    name,
    description: spec.description ?? current?.description ?? '',
    labels: spec.labels ?? current?.labels ?? {},
    quotas: quotas as NamespaceQuotaSettings,
    outbound: {
      allow: spec.outbound?.allow ?? current?.outbound.allow ?? [],
      deny: spec.outbound?.deny ?? current?.outbound.deny ?? [],
    },
    createdAt: current?.createdAt ?? at,
    updatedAt: at,
  };
}

/**
 * The error of a write that would put more tasks (or workflows) in `namespace` than its quota
 * allows: `count` there now, `adding` more. Null when they fit (or no quota is set). The stores
 * count inside the transaction that writes, under the namespace row's lock, so that writers on
 * several nodes never pass the quota together.
 */
export function capacityError(namespace: string, kind: 'task' | 'workflow', quotas: NamespaceQuotaSettings | undefined, count: number, adding: number): EcronError | null {
  const max = kind === 'task' ? quotas?.maxTasks : quotas?.maxWorkflows;
  if (max === undefined || max === null || count + adding <= max) return null;
  const quota = kind === 'task' ? 'maxTasks' : 'maxWorkflows';
  return new EcronError('QUOTA_EXCEEDED', `namespace ${JSON.stringify(namespace)} holds ${count} ${kind}s, and its quota ${quota} is ${max}: `
    + `delete some, or have an admin raise it (PUT /api/v1/namespaces/${namespace} {"quotas":{"${quota}":…}})`, { namespace, quota, limit: max, count });
}
