/**
 * Namespace management: the operations behind `/api/v1/namespaces`. A namespace's settings are
 * stored once it is PUT; before that it exists implicitly while tasks or workflows name it (and
 * `default` always does), with the default settings. As for tasks, every input is validated here,
 * every change is audited in its store transaction, and a namespace outside the caller's scope does
 * not exist for it (reads) or may not be changed by it (writes).
 *
 * What the settings demand of tasks is checked where tasks are written (`namespace-limits.ts`).
 */
import {
  DEFAULT_NAMESPACE, describeFieldIssues, formatPath, NamespaceSpecSchema, type FieldIssue, type NamespaceListItem, type NamespaceResource, type NamespaceSpec,
} from '@ecron/contracts';
import type { Clock } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import type { NamespaceRecord } from '../core/model.ts';
import { effectiveQuotas } from '../core/namespaces.ts';
import { OutboundPolicy } from '../dispatch/outbound-policy.ts';
import type { NamespaceUsageCounts, Store } from '../store/store.ts';
import { callerAllows, callerNoun, canAccessNamespace, highestRoleOf, namespaceFilter, type Caller } from './access.ts';
import { iso } from './resources.ts';
import { validationError } from './task-spec-input.ts';

/** `usage.firesLastMinute` counts the runs created in this window, up to now. */
export const USAGE_WINDOW_MS = 60_000;
/** Tries of a PUT whose namespace was created or deleted by another request between its read and its write. */
const PUT_TRIES = 5;

/** A namespace as the service sees it: its stored settings, or null while it is implicit. */
export interface NamespaceView {
  name: string;
  record: NamespaceRecord | null;
}

export interface NamespaceService {
  /** Creates or changes namespace `name` (admin, scope covering it); `created` when it had no stored settings. */
  put(caller: Caller, name: string, input: unknown): Promise<{ namespace: NamespaceView; usage: NamespaceUsageCounts; created: boolean }>;
  /** Throws NAMESPACE_NOT_FOUND when it is neither stored nor implicit, or lies outside the caller's scope. */
  get(caller: Caller, name: string): Promise<{ namespace: NamespaceView; usage: NamespaceUsageCounts }>;
  /** The stored namespaces the caller may see, and `default` when it may, by name. */
  list(caller: Caller): Promise<NamespaceView[]>;
  /** Deletes the stored settings (admin). NAMESPACE_NOT_EMPTY while tasks or workflows name it; NAMESPACE_NOT_FOUND when none are stored. */
  delete(caller: Caller, name: string): Promise<void>;
}

/**
 * One issue per outbound rule the server's outbound policy would refuse, at its JSON path
 * (`outbound.allow[1]`): the rules are checked by the policy itself, so a namespace stores only
 * rules it can enforce.
 */
function outboundIssues(spec: NamespaceSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const list of ['allow', 'deny'] as const) {
    (spec.outbound?.[list] ?? []).forEach((rule, i) => {
      try {
        new OutboundPolicy({ [list]: [rule] });
      } catch (error) {
        if (!(error instanceof EcronError) || error.code !== 'CONFIG_INVALID') throw error;
        issues.push({ path: formatPath(['outbound', list, i]), code: 'INVALID_OUTBOUND_RULE', message: error.message });
      }
    });
  }
  return issues;
}

/** Validates a namespace spec as written by a user (absent: an empty spec). Throws VALIDATION_FAILED. */
export function parseNamespaceSpec(input: unknown): NamespaceSpec {
  const parsed = NamespaceSpecSchema.safeParse(input ?? {});
  if (!parsed.success) throw validationError(parsed.error);
  const issues = outboundIssues(parsed.data);
  if (issues.length > 0) throw new EcronError('VALIDATION_FAILED', describeFieldIssues(issues), { issues });
  return parsed.data;
}

/** The namespace as the API lists it: settings in force (defaults filled in), without usage. */
export function toNamespaceListItem(view: NamespaceView): NamespaceListItem {
  const { record } = view;
  return {
    name: view.name,
    description: record?.description ?? '',
    labels: record?.labels ?? {},
    quotas: effectiveQuotas(record?.quotas),
    outbound: record?.outbound ?? { allow: [], deny: [] },
    implicit: record === null,
    createdAt: record ? iso(record.createdAt) : null,
    updatedAt: record ? iso(record.updatedAt) : null,
  };
}

/** The namespace as the API returns it one at a time: with its usage. */
export function toNamespaceResource(view: NamespaceView, usage: NamespaceUsageCounts): NamespaceResource {
  return {
    ...toNamespaceListItem(view),
    usage: { tasks: usage.tasks, workflows: usage.workflows, activeRuns: usage.activeRuns, throttledRuns: usage.throttledRuns, firesLastMinute: usage.runsSince },
  };
}

/** FORBIDDEN unless the caller is an admin in namespace `name`. */
function checkAdmin(caller: Caller, name: string): void {
  if (!callerAllows(caller, 'admin')) throw new EcronError('FORBIDDEN', `managing namespaces needs role admin; ${callerNoun(caller)} is ${highestRoleOf(caller)}`);
  if (!canAccessNamespace(caller, name, 'admin')) throw new EcronError('FORBIDDEN', `${callerNoun(caller)} cannot manage namespace ${JSON.stringify(name)}`);
}

const notFound = (name: string) => new EcronError('NAMESPACE_NOT_FOUND', `no namespace ${JSON.stringify(name)}: PUT /api/v1/namespaces/${name} creates it`, { name });

/**
 * @param deps.onChange called after a namespace was written or deleted through this service (this
 *   node's outbound policies read the namespaces again: see dispatch/namespace-policies.ts).
 */
export function createNamespaceService(deps: { store: Store; clock: Clock; onChange?: () => Promise<void> | void }): NamespaceService {
  const { store, clock } = deps;
  const changed = async () => { await deps.onChange?.(); };
  const usageOf = (name: string) => store.getNamespaceUsage({ namespace: name, since: clock.now() - USAGE_WINDOW_MS });

  return {
    async put(caller, name, input) {
      checkAdmin(caller, name);
      const spec = parseNamespaceSpec(input);
      for (let attempt = 1; ; attempt++) {
        const existing = await store.getNamespace(name);
        const record = await store.putNamespace({
          name, spec, exists: existing !== null, at: clock.now(),
          audit: { actor: caller.actor, action: existing ? 'namespace.update' : 'namespace.create', details: { name, spec } },
        });
        if (record !== null) {
          await changed();
          return { namespace: { name, record }, usage: await usageOf(name), created: existing === null };
        }
        if (attempt >= PUT_TRIES) {
          throw new EcronError('STORE_UNAVAILABLE', `namespace ${JSON.stringify(name)} was created or deleted by other requests at each of ${PUT_TRIES} tries: send this one again`);
        }
      }
    },

    async get(caller, name) {
      if (!canAccessNamespace(caller, name, 'viewer')) throw notFound(name);
      const [record, usage] = await Promise.all([store.getNamespace(name), usageOf(name)]);
      if (record === null && name !== DEFAULT_NAMESPACE && usage.tasks === 0 && usage.workflows === 0) throw notFound(name);
      return { namespace: { name, record }, usage };
    },

    async list(caller) {
      const records = await store.listNamespaces({ names: namespaceFilter(caller, 'viewer') });
      const views: NamespaceView[] = records.map((record) => ({ name: record.name, record }));
      if (canAccessNamespace(caller, DEFAULT_NAMESPACE, 'viewer') && !records.some((record) => record.name === DEFAULT_NAMESPACE)) {
        views.push({ name: DEFAULT_NAMESPACE, record: null });
        // Byte order, as the store lists them (names are ASCII).
        views.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      }
      return views;
    },

    async delete(caller, name) {
      checkAdmin(caller, name);
      const deleted = await store.deleteNamespace({ name, at: clock.now(), audit: { actor: caller.actor, action: 'namespace.delete', details: { name } } });
      if (!deleted) throw new EcronError('NAMESPACE_NOT_FOUND', `namespace ${JSON.stringify(name)} has no stored settings to delete`, { name });
      await changed();
    },
  };
}
