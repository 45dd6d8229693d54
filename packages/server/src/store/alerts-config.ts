/**
 * The storage verbs of alert channels and alert rules (issue 19): where notifications go, and what
 * opens incidents. Part of the `Store` port (`store.ts` extends {@link AlertConfigVerbs}); every
 * store passes `conformance/alerts-config.ts`. Incidents and notifications have their own verbs.
 *
 * Integrity contract (each held inside one transaction of the store):
 * - a rule's `channels` name channels of its own namespace, at create and at update: a missing one
 *   is refused with VALIDATION_FAILED, issue `channels[i]` (code ALERT_CHANNEL_NOT_FOUND);
 * - a channel that a rule names is neither deleted nor renamed (ALERT_CHANNEL_IN_USE). On the SQL
 *   stores both sides lock the channel's row, so a rule created at the moment its channel is
 *   deleted either sees the channel gone or stops the delete.
 */
import type { AlertChannelType, AlertLocale, AlertRuleKind, AlertRuleScope, AlertSeverity } from '@ecron/contracts';
import type { AuditInput, Page, PageParams } from './store.ts';

export interface AlertChannelRecord {
  id: string;
  namespace: string;
  /** Unique within the namespace; rules name their channels by it. */
  name: string;
  type: AlertChannelType;
  /** The type's config (`@ecron/contracts` alerts.ts), as validated. Holds secrets: never returned unmasked. */
  config: Record<string, unknown>;
  locale: AlertLocale;
  description: string | null;
  /** The last failed send (a notification or a test) and when; kept after later successes. */
  lastError: string | null;
  lastErrorAt: number | null;
  /** The last send the receiver accepted. */
  lastSentAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** The parameters of each kind of rule, durations in milliseconds (docs/alerts.md "Rules"). */
export interface AlertRuleParamsByKind {
  failure: { attempts: 'final' | 'every' };
  timeout: Record<string, never>;
  'consecutive-failures': { count: number };
  'failure-rate': { rate: number; windowMs: number; minRuns: number };
  'missed-fire': { graceMs: number };
  'late-start': { lagMs: number };
  'long-running': { afterMs: number };
  'no-executor': { group: string; forMs: number };
  'node-lost': Record<string, never>;
}

export interface AlertRuleRecord {
  id: string;
  namespace: string;
  /** Unique within the namespace. */
  name: string;
  on: AlertRuleKind;
  /** Exactly one of taskId, workflowId, labels, namespace (the rule's own). */
  scope: AlertRuleScope;
  /** The kind's parameters: {@link AlertRuleParamsByKind}`[on]`. */
  params: Record<string, unknown>;
  severity: AlertSeverity;
  /** Names of channels of the rule's namespace, in the order given. */
  channels: string[];
  /** Notify again this often while an incident stays open; null: once. */
  repeatIntervalMs: number | null;
  sendResolved: boolean;
  enabled: boolean;
  description: string | null;
  /** 1 at create, one more at each update (enable and disable leave it). */
  revision: number;
  createdAt: number;
  updatedAt: number;
}

export interface ListAlertConfigParams extends PageParams {
  /** Only these namespaces (a caller's scope); null, absent or containing "*": all. */
  namespaces?: readonly string[] | null;
  namespace?: string;
}

export interface ListAlertRulesParams extends ListAlertConfigParams {
  on?: AlertRuleKind;
  enabled?: boolean;
}

export interface AlertConfigVerbs {
  // ---- channels: audit entries have resourceType "alert-channel" and resourceId the channel's id.
  /** Throws ALERT_CHANNEL_NAME_TAKEN when (namespace, name) exists. */
  createAlertChannel(p: { channel: AlertChannelRecord; audit: AuditInput }): Promise<AlertChannelRecord>;
  getAlertChannel(id: string): Promise<AlertChannelRecord | null>;
  /** The channels of `namespace` with these names (those that exist), ordered by name. */
  getAlertChannelsByName(p: { namespace: string; names: readonly string[] }): Promise<AlertChannelRecord[]>;
  /** Ordered by (namespace, name), keyed by that pair. */
  listAlertChannels(p: ListAlertConfigParams): Promise<Page<AlertChannelRecord>>;
  /**
   * Replaces name, type, config, locale and description, sets updatedAt to `at`; the send results
   * stay. Null when there is no such channel. Throws ALERT_CHANNEL_NAME_TAKEN (the new name is
   * another channel's) or ALERT_CHANNEL_IN_USE (renaming a channel rules name).
   */
  updateAlertChannel(p: { id: string; changes: Pick<AlertChannelRecord, 'name' | 'type' | 'config' | 'locale' | 'description'>; at: number; audit: AuditInput }): Promise<AlertChannelRecord | null>;
  /** False when there was none (nothing written). Throws ALERT_CHANNEL_IN_USE (details.rules: names) when a rule names it. */
  deleteAlertChannel(p: { id: string; at: number; audit: AuditInput }): Promise<boolean>;
  /**
   * The outcome of one send: `error` null sets lastSentAt, else lastError and lastErrorAt. An
   * outcome older than the one stored (sends finishing out of order) changes nothing; no audit.
   */
  recordAlertChannelResult(p: { id: string; at: number; error: string | null }): Promise<void>;

  // ---- rules: audit entries have resourceType "alert-rule" and resourceId the rule's id.
  /** Throws ALERT_RULE_NAME_TAKEN, or VALIDATION_FAILED (`channels[i]`) for a channel missing from the namespace. Writes revision 1. */
  createAlertRule(p: { rule: AlertRuleRecord; audit: AuditInput }): Promise<AlertRuleRecord>;
  getAlertRule(id: string): Promise<AlertRuleRecord | null>;
  /** Ordered by (namespace, name), keyed by that pair. */
  listAlertRules(p: ListAlertRulesParams): Promise<Page<AlertRuleRecord>>;
  /** Every enabled rule of every namespace, by (namespace, name): what the evaluator watches. */
  listEnabledAlertRules(): Promise<AlertRuleRecord[]>;
  /**
   * Replaces what a rule says (namespace, id, revision and createdAt stay), one revision more.
   * Null when there is no such rule. Throws as {@link createAlertRule}.
   */
  updateAlertRule(p: {
    id: string; changes: Omit<AlertRuleRecord, 'id' | 'namespace' | 'revision' | 'createdAt' | 'updatedAt'>; at: number; audit: AuditInput;
  }): Promise<AlertRuleRecord | null>;
  /** Enables or disables (the revision stays). Null when there is no such rule. */
  setAlertRuleEnabled(p: { id: string; enabled: boolean; at: number; audit: AuditInput }): Promise<AlertRuleRecord | null>;
  /** False when there was none (nothing written). */
  deleteAlertRule(p: { id: string; at: number; audit: AuditInput }): Promise<boolean>;
}
