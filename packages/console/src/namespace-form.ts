/**
 * The namespace form's model and its mapping to the body of `PUT /api/v1/namespaces/{name}`.
 *
 * The API takes partial updates (a field left out keeps its stored value, a quota set to null goes
 * back to its default), so an edit sends only what the user changed: two admins editing different
 * quotas of one namespace do not undo each other's change. Form field names follow the body's
 * paths, so the API's field issues (`quotas.minIntervalMs`, `outbound.allow[1]`) land on their fields.
 * The lists (`allowedTargetTypes`, `containerImages`) are empty in the form for no limit, sent as null.
 */
import type { NamespaceListItem, NamespaceQuotas, NamespaceSpecInput, NamespaceTargetType } from '@ecron/contracts';
import { duration, msText, parseSelectorEntry } from './spec.ts';

/** As the contracts' NAMESPACE_TARGET_TYPES (not imported: the contracts' index would bring zod into the bundle). */
export const TARGET_TYPES = ['http', 'grpc', 'executor', 'shell', 'container'] as const satisfies readonly NamespaceTargetType[];

/** The quotas that are counts: empty in the form means no limit. */
export const COUNT_QUOTAS = ['maxConcurrentRuns', 'maxFiresPerMinute', 'maxTasks', 'maxWorkflows'] as const;
type CountQuota = (typeof COUNT_QUOTAS)[number];

export interface NamespaceFormValues {
  name: string;
  description?: string;
  /** `key=value` entries. */
  labels: string[];
  quotas: Partial<Record<CountQuota, number | null>> & {
    /** A duration as typed (`1s`, `500ms`, or digits for milliseconds); empty: the default. */
    minIntervalMs?: string;
    /** Empty: every target type. */
    allowedTargetTypes: NamespaceTargetType[];
    /** `group=N` entries: the most runs of each executor group at once. */
    groupMaxConcurrentRuns?: string[];
    /** Image patterns its container targets may use; empty: any image. */
    containerImages?: string[];
  };
  outbound: { allow: string[]; deny: string[] };
}

export const EMPTY_NAMESPACE_FORM: NamespaceFormValues = {
  name: '', description: '', labels: [], quotas: { allowedTargetTypes: [] }, outbound: { allow: [], deny: [] },
};

/** A namespace's settings in the form. */
export function namespaceToForm(ns: NamespaceListItem): NamespaceFormValues {
  const q = ns.quotas;
  return {
    name: ns.name,
    description: ns.description,
    labels: Object.entries(ns.labels).map(([key, value]) => `${key}=${value}`),
    quotas: {
      maxConcurrentRuns: q.maxConcurrentRuns, maxFiresPerMinute: q.maxFiresPerMinute, maxTasks: q.maxTasks, maxWorkflows: q.maxWorkflows,
      minIntervalMs: msText(q.minIntervalMs), allowedTargetTypes: q.allowedTargetTypes ?? [],
      groupMaxConcurrentRuns: Object.entries(q.groupMaxConcurrentRuns ?? {}).map(([group, max]) => `${group}=${max}`),
      containerImages: [...(q.containerImages ?? [])],
    },
    outbound: { allow: [...ns.outbound.allow], deny: [...ns.outbound.deny] },
  };
}

/** The `key=value` entries as labels; throws on an entry without a key. */
export function labelsOf(entries: string[] | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const entry of entries ?? []) {
    const pair = parseSelectorEntry(entry);
    if (!pair) throw new Error(`labels are key=value, not "${entry}"`);
    labels[pair[0]] = pair[1];
  }
  return labels;
}

/** The `group=N` entries as group limits; throws on an entry that is not one. */
export function groupLimitsOf(entries: string[] | undefined): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const entry of entries ?? []) {
    const match = /^\s*([^=\s]+)\s*=\s*(\d{1,10})\s*$/.exec(entry);
    if (!match) throw new Error(`group limits are group=N, not "${entry}"`);
    limits[match[1]!] = Number(match[2]);
  }
  return limits;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const sortedEntries = (labels: Record<string, string>) => Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const rules = (list: string[] | undefined) => (list ?? []).map((rule) => rule.trim()).filter(Boolean);

/**
 * The body of the PUT: for a new namespace (`before` undefined) the fields filled in; for an edit,
 * the fields whose value differs from `before` (null for a quota emptied: back to its default).
 */
export function namespaceBody(values: NamespaceFormValues, before?: NamespaceListItem): NamespaceSpecInput {
  const body: NamespaceSpecInput = {};
  const description = values.description?.trim() ?? '';
  if (before ? description !== before.description : description !== '') body.description = description;

  const labels = labelsOf(values.labels);
  if (before ? !same(sortedEntries(labels), sortedEntries(before.labels)) : Object.keys(labels).length > 0) body.labels = labels;

  const quotas: NonNullable<NamespaceSpecInput['quotas']> = {};
  const q = values.quotas ?? { allowedTargetTypes: [] };
  for (const key of COUNT_QUOTAS) {
    const value = q[key] ?? null;
    if (before ? value !== before.quotas[key] : value !== null) quotas[key] = value;
  }
  // Compared as typed: "1s" shown for 1000 ms and left alone is not sent.
  const interval = q.minIntervalMs?.trim() ?? '';
  if (before ? interval !== (msText(before.quotas.minIntervalMs) ?? '') : interval !== '') quotas.minIntervalMs = duration(interval) ?? null;
  const types = q.allowedTargetTypes?.length ? [...q.allowedTargetTypes] : null;
  const beforeTypes: NamespaceQuotas['allowedTargetTypes'] = before?.quotas.allowedTargetTypes?.length ? before.quotas.allowedTargetTypes : null;
  if (before ? !same(types && [...types].sort(), beforeTypes && [...beforeTypes].sort()) : types !== null) quotas.allowedTargetTypes = types;
  const groups = groupLimitsOf(q.groupMaxConcurrentRuns);
  const sortedLimits = (limits: Record<string, number>) => Object.entries(limits).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hasGroups = Object.keys(groups).length > 0;
  if (before ? !same(sortedLimits(groups), sortedLimits(before.quotas.groupMaxConcurrentRuns ?? {})) : hasGroups) {
    quotas.groupMaxConcurrentRuns = hasGroups ? groups : null;
  }
  // As the target types: an allowlist, whose order does not matter; empty is any image (null).
  const images = rules(q.containerImages);
  const beforeImages = before?.quotas.containerImages?.length ? before.quotas.containerImages : null;
  if (before ? !same(images.length ? [...images].sort() : null, beforeImages && [...beforeImages].sort()) : images.length > 0) {
    quotas.containerImages = images.length ? images : null;
  }
  if (Object.keys(quotas).length > 0) body.quotas = quotas;

  const outbound: NonNullable<NamespaceSpecInput['outbound']> = {};
  for (const list of ['allow', 'deny'] as const) {
    const value = rules(values.outbound?.[list]);
    if (before ? !same(value, before.outbound[list]) : value.length > 0) outbound[list] = value;
  }
  if (Object.keys(outbound).length > 0) body.outbound = outbound;
  return body;
}

const QUOTA_FIELDS = new Set<string>([...COUNT_QUOTAS, 'minIntervalMs', 'allowedTargetTypes', 'groupMaxConcurrentRuns', 'containerImages']);

/**
 * The form field an API issue path names, or null when the form has none: `outbound.allow[1]` →
 * the allow list, `labels["a b"]` → the labels, `quotas.minIntervalMs` → that quota, and
 * `params.name` (a bad name in the URL) → the name.
 */
export function namespaceFieldOf(path: string): string[] | null {
  const [first, second] = path.replace(/\[[^\]]*\]/g, '').split('.');
  if (first === 'params' && second === 'name') return ['name'];
  if (first === 'description' || first === 'labels') return [first];
  if (first === 'quotas' && second && QUOTA_FIELDS.has(second)) return ['quotas', second];
  if (first === 'outbound' && (second === 'allow' || second === 'deny')) return ['outbound', second];
  return null;
}
