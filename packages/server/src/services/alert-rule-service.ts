/**
 * Alert rules (issue 19): the operations behind `/api/v1/alert-rules`. An editor (or admin) of a
 * namespace manages its rules; a viewer reads them. A rule names channels of its own namespace
 * (checked by the store, in the transaction of the write) and watches a task or a workflow of its
 * namespace, tasks with labels, or the namespace itself. Incidents are the evaluator's.
 */
import { AlertRuleSpecSchema, type AlertRuleKind, type AlertRuleSpec, type FieldIssue } from '@ecron/contracts';
import { ruleFieldsOf } from '../alerts/rule-spec.ts';
import type { Clock } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { AlertRuleRecord } from '../store/alerts-config.ts';
import type { Page, Store } from '../store/store.ts';
import { checkNamespaceAccess, namespaceFilter, type Caller } from './access.ts';
import { sameNamespace, writableFields } from './alert-channel-service.ts';
import { validationError } from './task-spec-input.ts';

export interface ListAlertRulesInput {
  namespace?: string;
  on?: AlertRuleKind;
  enabled?: boolean;
  cursor?: string;
  limit: number;
}

export interface AlertRuleService {
  create(caller: Caller, spec: AlertRuleSpec): Promise<AlertRuleRecord>;
  list(caller: Caller, p: ListAlertRulesInput): Promise<Page<AlertRuleRecord>>;
  get(caller: Caller, id: string): Promise<AlertRuleRecord>;
  /** `body`: the whole rule as `create` takes it (not yet validated); its namespace may be left out. */
  update(caller: Caller, id: string, body: unknown): Promise<AlertRuleRecord>;
  setEnabled(caller: Caller, id: string, enabled: boolean): Promise<AlertRuleRecord>;
  delete(caller: Caller, id: string): Promise<void>;
}

export interface AlertRuleServiceDeps {
  store: Store;
  clock: Clock;
}

/** Fields of a rule as read that an update ignores. */
const READ_ONLY_FIELDS = ['id', 'revision', 'createdAt', 'updatedAt'];

const notFound = (id: string) => new EcronError('ALERT_RULE_NOT_FOUND', `no alert rule ${id}`, { id });

export function createAlertRuleService(deps: AlertRuleServiceDeps): AlertRuleService {
  const { store, clock } = deps;

  async function load(caller: Caller, id: string, needed: 'viewer' | 'editor'): Promise<AlertRuleRecord> {
    const rule = await store.getAlertRule(id);
    if (!rule) throw notFound(id);
    checkNamespaceAccess(caller, rule.namespace, needed, () => notFound(id));
    return rule;
  }

  /** VALIDATION_FAILED unless the task or workflow of the scope is one of the rule's namespace. */
  async function checkScope(spec: AlertRuleSpec): Promise<void> {
    const scope = spec.scope;
    let issue: FieldIssue | null = null;
    if (scope.taskId !== undefined) {
      const task = await store.getTask(scope.taskId);
      if (task?.namespace !== spec.namespace) {
        issue = { path: 'scope.taskId', code: 'TASK_NOT_FOUND', message: `no task ${scope.taskId} in namespace ${JSON.stringify(spec.namespace)}` };
      }
    } else if (scope.workflowId !== undefined) {
      const workflow = await store.getWorkflow(scope.workflowId);
      if (workflow?.namespace !== spec.namespace) {
        issue = { path: 'scope.workflowId', code: 'WORKFLOW_NOT_FOUND', message: `no workflow ${scope.workflowId} in namespace ${JSON.stringify(spec.namespace)}` };
      }
    }
    if (issue) throw new EcronError('VALIDATION_FAILED', `${issue.path}: ${issue.message}`, { issues: [issue] });
  }

  const summary = (spec: AlertRuleSpec) => ({ namespace: spec.namespace, name: spec.name, on: spec.on });

  return {
    async create(caller, spec) {
      checkNamespaceAccess(caller, spec.namespace, 'editor', () => new EcronError('FORBIDDEN', `this token may not manage namespace ${JSON.stringify(spec.namespace)}`));
      await checkScope(spec);
      const now = clock.now();
      return store.createAlertRule({
        rule: { id: newId(), namespace: spec.namespace, ...ruleFieldsOf(spec), revision: 1, createdAt: now, updatedAt: now },
        audit: { actor: caller.actor, action: 'alert-rule.create', details: summary(spec) },
      });
    },

    list(caller, p) {
      return store.listAlertRules({
        namespaces: namespaceFilter(caller, 'viewer'), limit: p.limit, cursor: p.cursor ?? null,
        ...(p.namespace ? { namespace: p.namespace } : {}), ...(p.on ? { on: p.on } : {}), ...(p.enabled === undefined ? {} : { enabled: p.enabled }),
      });
    },

    get: (caller, id) => load(caller, id, 'viewer'),

    async update(caller, id, body) {
      const stored = await load(caller, id, 'editor');
      const fields = writableFields(body, READ_ONLY_FIELDS);
      sameNamespace(fields, stored.namespace, 'an alert rule');
      const parsed = AlertRuleSpecSchema.safeParse({ ...fields, namespace: stored.namespace });
      if (!parsed.success) throw validationError(parsed.error);
      await checkScope(parsed.data);
      const rule = await store.updateAlertRule({
        id, at: clock.now(), changes: ruleFieldsOf(parsed.data),
        audit: { actor: caller.actor, action: 'alert-rule.update', details: { ...summary(parsed.data), revision: stored.revision + 1 } },
      });
      if (!rule) throw notFound(id);
      return rule;
    },

    async setEnabled(caller, id, enabled) {
      await load(caller, id, 'editor');
      const rule = await store.setAlertRuleEnabled({ id, enabled, at: clock.now(), audit: { actor: caller.actor, action: enabled ? 'alert-rule.enable' : 'alert-rule.disable' } });
      if (!rule) throw notFound(id);
      return rule;
    },

    async delete(caller, id) {
      await load(caller, id, 'editor');
      if (!(await store.deleteAlertRule({ id, at: clock.now(), audit: { actor: caller.actor, action: 'alert-rule.delete' } }))) throw notFound(id);
    },
  };
}
