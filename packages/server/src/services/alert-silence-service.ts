/**
 * Alert silences (issue 19): the operations behind `/api/v1/alert-silences`. An operator (or any
 * higher role) of a namespace creates, changes, expires and deletes its silences; a viewer reads
 * them. A silence's scope names a task or a workflow of its own namespace, labels, or the namespace;
 * its `ruleIds` name rules of the namespace. After it is created only its end and its comment
 * change; expiring ends it now. Which incidents it covers is `alerts/silences.ts`'s.
 */
import {
  AlertSilenceUpdateSchema, alertSilenceWindow, type AlertSilenceSpec, type FieldIssue,
} from '@ecron/contracts';
import { silenceState, type AlertSilenceState } from '../alerts/silences.ts';
import type { Clock } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { AlertSilenceRecord } from '../store/alert-silences.ts';
import type { Page, Store } from '../store/store.ts';
import { checkNamespaceAccess, namespaceFilter, type Caller } from './access.ts';
import { writableFields } from './alert-channel-service.ts';
import { validationError } from './task-spec-input.ts';

export interface ListAlertSilencesInput {
  namespace?: string;
  /** Only those in force now. */
  active?: boolean;
  cursor?: string;
  limit: number;
}

export interface AlertSilenceService {
  create(caller: Caller, spec: AlertSilenceSpec): Promise<AlertSilenceRecord>;
  list(caller: Caller, p: ListAlertSilencesInput): Promise<Page<AlertSilenceRecord>>;
  get(caller: Caller, id: string): Promise<AlertSilenceRecord>;
  /** `body`: `{ endsAt?, comment? }`, or the silence as read with those changed (not yet validated). */
  update(caller: Caller, id: string, body: unknown): Promise<AlertSilenceRecord>;
  /** Ends it now (a silence not yet started ends at its start: it is never in force). ALERT_SILENCE_ENDED when it is over. */
  expire(caller: Caller, id: string): Promise<AlertSilenceRecord>;
  delete(caller: Caller, id: string): Promise<void>;
  /** Where it stands now, by the server's clock. */
  state(silence: AlertSilenceRecord): AlertSilenceState;
}

export interface AlertSilenceServiceDeps {
  store: Store;
  clock: Clock;
}

/** Fields of a silence as read that an update ignores. */
const READ_ONLY_FIELDS = ['id', 'state', 'createdBy', 'createdAt', 'updatedAt'];
/** Fields fixed at create: an update may send them back, unchanged. */
const FIXED_FIELDS = ['namespace', 'scope', 'ruleIds', 'startsAt'] as const;

const notFound = (id: string) => new EcronError('ALERT_SILENCE_NOT_FOUND', `no alert silence ${id}`, { id });
const iso = (ms: number): string => new Date(ms).toISOString();
const invalid = (issues: FieldIssue[]) => new EcronError('VALIDATION_FAILED', issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });

/** JSON with object keys sorted: equal for equal scopes whatever the order of their labels. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Whether `given` (a field of an update's body) is what `stored` holds. */
function sameAsStored(field: (typeof FIXED_FIELDS)[number], given: unknown, stored: AlertSilenceRecord): boolean {
  if (field === 'startsAt') return typeof given === 'string' && Date.parse(given) === stored.startsAt;
  return canonical(given) === canonical(stored[field]);
}

export function createAlertSilenceService(deps: AlertSilenceServiceDeps): AlertSilenceService {
  const { store, clock } = deps;

  async function load(caller: Caller, id: string, needed: 'viewer' | 'operator'): Promise<AlertSilenceRecord> {
    const silence = await store.getAlertSilence(id);
    if (!silence) throw notFound(id);
    checkNamespaceAccess(caller, silence.namespace, needed, () => notFound(id));
    return silence;
  }

  /** The issues of the scope's task or workflow and of the rules, which must be of the silence's namespace. */
  async function referenceIssues(spec: AlertSilenceSpec): Promise<FieldIssue[]> {
    const issues: FieldIssue[] = [];
    const { scope, namespace } = spec;
    if (scope.taskId !== undefined && (await store.getTask(scope.taskId))?.namespace !== namespace) {
      issues.push({ path: 'scope.taskId', code: 'TASK_NOT_FOUND', message: `no task ${scope.taskId} in namespace ${JSON.stringify(namespace)}` });
    }
    if (scope.workflowId !== undefined && (await store.getWorkflow(scope.workflowId))?.namespace !== namespace) {
      issues.push({ path: 'scope.workflowId', code: 'WORKFLOW_NOT_FOUND', message: `no workflow ${scope.workflowId} in namespace ${JSON.stringify(namespace)}` });
    }
    for (const [i, ruleId] of (spec.ruleIds ?? []).entries()) {
      if ((await store.getAlertRule(ruleId))?.namespace !== namespace) {
        issues.push({ path: `ruleIds[${i}]`, code: 'ALERT_RULE_NOT_FOUND', message: `no alert rule ${ruleId} in namespace ${JSON.stringify(namespace)}` });
      }
    }
    return issues;
  }

  const ended = (silence: AlertSilenceRecord, now: number) =>
    new EcronError('ALERT_SILENCE_ENDED', `alert silence ${silence.id} ended at ${iso(silence.endsAt)}: create another one`, { id: silence.id, endsAt: iso(silence.endsAt), now: iso(now) });

  return {
    async create(caller, spec) {
      checkNamespaceAccess(caller, spec.namespace, 'operator', () => new EcronError('FORBIDDEN', `this token may not silence alerts in namespace ${JSON.stringify(spec.namespace)}`));
      const now = clock.now();
      const window = alertSilenceWindow(spec, now);
      const issues = [...window.issues, ...await referenceIssues(spec)];
      if (issues.length > 0) throw invalid(issues);
      const silence: AlertSilenceRecord = {
        id: newId(), namespace: spec.namespace, scope: spec.scope as AlertSilenceRecord['scope'], ruleIds: spec.ruleIds ?? null,
        startsAt: window.startsAt, endsAt: window.endsAt, comment: spec.comment, createdBy: caller.actor, createdAt: now, updatedAt: now,
      };
      return store.createAlertSilence({
        silence,
        audit: {
          actor: caller.actor, action: 'alert-silence.create',
          details: { namespace: silence.namespace, scope: silence.scope, ruleIds: silence.ruleIds, startsAt: iso(silence.startsAt), endsAt: iso(silence.endsAt) },
        },
      });
    },

    list(caller, p) {
      return store.listAlertSilences({
        namespaces: namespaceFilter(caller, 'viewer'), limit: p.limit, cursor: p.cursor ?? null,
        ...(p.namespace ? { namespace: p.namespace } : {}), ...(p.active ? { activeAt: clock.now() } : {}),
      });
    },

    get: (caller, id) => load(caller, id, 'viewer'),

    async update(caller, id, body) {
      const stored = await load(caller, id, 'operator');
      const fields = writableFields(body, READ_ONLY_FIELDS);
      const fixed: FieldIssue[] = FIXED_FIELDS.filter((field) => field in fields && !sameAsStored(field, fields[field], stored)).map((field) => ({
        path: field, code: 'INVALID_VALUE', message: `cannot change after the silence is created: create another silence${field === 'namespace' ? ' there' : ''} and expire this one`,
      }));
      if (fixed.length > 0) throw invalid(fixed);
      for (const field of FIXED_FIELDS) delete fields[field];
      const parsed = AlertSilenceUpdateSchema.safeParse(fields);
      if (!parsed.success) throw validationError(parsed.error);
      const now = clock.now();
      let endsAt = stored.endsAt;
      if (parsed.data.endsAt !== undefined && Date.parse(parsed.data.endsAt) !== stored.endsAt) {
        if (silenceState(stored, now) === 'expired') throw ended(stored, now);
        const window = alertSilenceWindow({ startsAt: iso(stored.startsAt), endsAt: parsed.data.endsAt }, now);
        if (window.issues.length > 0) throw invalid(window.issues);
        endsAt = window.endsAt;
      }
      const comment = parsed.data.comment ?? stored.comment;
      const silence = await store.updateAlertSilence({
        id, at: now, changes: { endsAt, comment },
        audit: { actor: caller.actor, action: 'alert-silence.update', details: { endsAt: iso(endsAt), ...(comment === stored.comment ? {} : { comment }) } },
      });
      if (!silence) throw notFound(id);
      return silence;
    },

    async expire(caller, id) {
      const stored = await load(caller, id, 'operator');
      const now = clock.now();
      if (silenceState(stored, now) === 'expired') throw ended(stored, now);
      const endsAt = Math.max(now, stored.startsAt);
      const silence = await store.updateAlertSilence({
        id, at: now, changes: { endsAt, comment: stored.comment },
        audit: { actor: caller.actor, action: 'alert-silence.expire', details: { endsAt: iso(endsAt), was: iso(stored.endsAt) } },
      });
      if (!silence) throw notFound(id);
      return silence;
    },

    async delete(caller, id) {
      await load(caller, id, 'operator');
      if (!(await store.deleteAlertSilence({ id, at: clock.now(), audit: { actor: caller.actor, action: 'alert-silence.delete' } }))) throw notFound(id);
    },

    state: (silence) => silenceState(silence, clock.now()),
  };
}
