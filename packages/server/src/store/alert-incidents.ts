/**
 * The storage verbs of alert incidents and their notifications (issue 19). Part of the `Store`
 * port (`store.ts` extends {@link AlertIncidentVerbs}); every store passes
 * `conformance/alert-incidents.ts`.
 *
 * Concurrency contract:
 * - **One evaluator for the cluster.** The evaluator reads the event log from a cursor kept in the
 *   store, under a lease (`alert_state`, one row): {@link AlertIncidentVerbs.claimAlertEvaluator}
 *   gives it to one node at a time, compared with the store's clock.
 * - **An evaluation is applied once.** {@link AlertIncidentVerbs.applyAlertChanges} is one
 *   transaction that checks the lease and moves the cursor from `from` to `to` (compare-and-set),
 *   opens and resolves incidents, and writes the notifications of each change of state. A node that
 *   lost the lease, or that evaluates a stretch of the log already applied, changes nothing. So an
 *   event is evaluated once for the cluster, through crashes and failovers.
 * - **One open incident per rule and subject.** `open_key` (the rule and subject while the
 *   incident is not resolved) is unique: a second `fire` of an open pair changes nothing.
 * - **A notification is sent by one node at a time.** {@link AlertIncidentVerbs.claimAlertNotifications}
 *   leases due notifications to one caller; {@link AlertIncidentVerbs.finishAlertNotification} is a
 *   compare-and-set on that lease. A node that crashes after a receiver accepted a notification and
 *   before recording it leaves it to be sent again when the lease expires (with the same id, that
 *   receivers deduplicate on): the store holds exactly one notification per change of state.
 */
import type { AlertNotification, AlertRuleKind, AlertSeverity, AlertSubjectKind } from '@ecron/contracts';

export type IncidentState = 'open' | 'acknowledged' | 'resolved';
export type NotificationKind = 'firing' | 'resolved' | 'repeat';
export type NotificationState = 'pending' | 'sent' | 'failed';

export interface AlertSubject {
  kind: AlertSubjectKind;
  id: string;
  name: string;
}

export interface IncidentRecord {
  id: string;
  ruleId: string;
  ruleName: string;
  on: AlertRuleKind;
  namespace: string;
  subject: AlertSubject;
  state: IncidentState;
  severity: AlertSeverity;
  /** One sentence: what happened (of the change that opened it; a resolution keeps it). */
  summary: string;
  /** The condition's figures (error, runId, count, failureRate, lagMs, scheduledAt…). */
  details: Record<string, unknown>;
  openedAt: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  resolvedAt: number | null;
  /** `condition` when the condition cleared, else the actor who resolved it. */
  resolvedBy: string | null;
  /** When the last firing or repeat notification was written (repeats count from it). */
  lastNotifiedAt: number | null;
  updatedAt: number;
}

export interface NotificationRecord {
  id: string;
  incidentId: string;
  channelId: string;
  kind: NotificationKind;
  state: NotificationState;
  /** What is sent, as built when the incident changed state. */
  payload: AlertNotification;
  attempts: number;
  nextAttemptAt: number;
  owner: string | null;
  leaseExpiresAt: number | null;
  lastError: string | null;
  createdAt: number;
  sentAt: number | null;
}

/** A channel a notification goes to (the rule's channels, resolved to ids when the change is applied). */
export interface NotificationTarget {
  channelId: string;
}

/** The parts of a notification the evaluator builds; the store gives `id` and `incidentId`. */
export type NotificationDraft = Omit<AlertNotification, 'id' | 'incidentId'>;

/** One observation of the evaluator about a rule and a subject. */
export type AlertChange =
  | {
    /** The condition holds: open an incident unless one is open for the pair. */
    kind: 'fire';
    ruleId: string;
    ruleName: string;
    on: AlertRuleKind;
    namespace: string;
    subject: AlertSubject;
    severity: AlertSeverity;
    summary: string;
    details: Record<string, unknown>;
    /** Where its firing notification goes (none while silenced). */
    targets: NotificationTarget[];
    notification: NotificationDraft;
  }
  | {
    /** The condition cleared: resolve the open incident of the pair, if any. */
    kind: 'clear';
    ruleId: string;
    subject: AlertSubject;
    summary: string;
    details: Record<string, unknown>;
    /** Where its resolved notification goes (none when the rule sends no resolved notification). */
    targets: NotificationTarget[];
    /** Built from the open incident by the store when it resolves one: state `resolved`. */
    notification: Omit<NotificationDraft, 'state' | 'severity' | 'subject' | 'rule' | 'namespace'>;
  };

export interface AlertEvaluatorState {
  /** The seq of the last event evaluated. */
  cursor: number;
  /**
   * The time (ms) through which the periodic checks have looked (the schedule's instants for
   * missed fires): after an outage of the whole cluster, the next check starts there. Null before
   * the first check.
   */
  checkedThrough: number | null;
  owner: string | null;
  leaseExpiresAt: number | null;
}

export interface ApplyAlertChangesResult {
  /** False when the caller does not hold the lease or the cursor was not `from`: nothing changed. */
  applied: boolean;
  opened: IncidentRecord[];
  resolved: IncidentRecord[];
}

export interface IncidentQuery {
  /** Only these namespaces; null (or a list holding `*`, as a token's scope): every namespace. */
  namespaces: string[] | null;
  states?: IncidentState[];
  ruleId?: string;
  /** Newest first: incidents opened before this cursor (from the previous page). */
  cursor?: string | null;
  limit: number;
}

export interface AlertIncidentVerbs {
  /**
   * Takes the evaluator's lease for `owner` for `ttlMs` (store clock) when nobody holds it or it
   * expired, or renews the caller's own. Returns the state when the caller holds it, else null.
   * The first call ever creates the state with `cursor: initialCursor`.
   */
  claimAlertEvaluator(p: { owner: string; ttlMs: number; initialCursor: number }): Promise<AlertEvaluatorState | null>;
  /** Gives the lease up (shutdown); nothing when the caller does not hold it. */
  releaseAlertEvaluator(p: { owner: string }): Promise<void>;
  /**
   * One transaction: when `owner` holds the lease and the cursor is `from`, sets it to `to`, then
   * applies `changes` in order. `fire`: inserts an incident (state open, lastNotifiedAt = at when it
   * has targets) unless one is open for (ruleId, subject.kind, subject.id), and a pending
   * notification (kind firing) per target. `clear`: resolves the open (or acknowledged) incident of
   * the pair (resolvedBy `condition`; its summary and details stay those it opened with), and writes a pending
   * notification (kind resolved) per target. A change for a pair it does not concern (a `fire` of
   * an open pair, a `clear` of a pair with none) changes nothing and writes no notification.
   * `to` may equal `from` (changes seen by a periodic check, not read from the log); a periodic
   * check also sets `checkedThrough` (in the same transaction, under the same compare-and-set).
   */
  applyAlertChanges(p: { owner: string; from: number; to: number; at: number; changes: AlertChange[]; checkedThrough?: number }): Promise<ApplyAlertChangesResult>;
  /**
   * Writes a `repeat` notification per target for each incident still open (not acknowledged, not
   * resolved) whose lastNotifiedAt (openedAt when none was written: it opened while silenced) is at
   * or before `notifiedBefore`, and sets its lastNotifiedAt to `at` (compare-and-set: one repeat per
   * interval whoever calls). Returns the incidents repeated, in the order of `items`.
   */
  repeatAlertIncidents(p: { items: { incidentId: string; notifiedBefore: number; targets: NotificationTarget[]; notification: NotificationDraft }[]; at: number }): Promise<string[]>;

  getIncident(id: string): Promise<IncidentRecord | null>;
  listIncidents(p: IncidentQuery): Promise<{ items: IncidentRecord[]; nextCursor: string | null }>;
  /** Incidents not resolved (open or acknowledged), of every namespace, oldest first: the evaluator's view. */
  listUnresolvedIncidents(): Promise<IncidentRecord[]>;
  /** open → acknowledged (by `actor`); null when it is not open (already acknowledged or resolved) or does not exist. */
  acknowledgeIncident(p: { id: string; actor: string; at: number }): Promise<IncidentRecord | null>;
  /**
   * Resolves by hand (resolvedBy = actor): open or acknowledged → resolved, with a pending
   * resolved notification per target. Null when it is resolved already or does not exist.
   */
  resolveIncident(p: { id: string; actor: string; at: number; targets: NotificationTarget[]; notification: Omit<NotificationDraft, 'state' | 'severity' | 'subject' | 'rule' | 'namespace'> }): Promise<IncidentRecord | null>;
  /** An incident's notifications in the order they were written. */
  listIncidentNotifications(p: { incidentId: string }): Promise<NotificationRecord[]>;

  /**
   * Leases up to `limit` pending notifications due at `now` (nextAttemptAt <= now, store clock for
   * the lease) that nobody holds or whose lease expired, to `owner` for `ttlMs`, oldest first.
   */
  claimAlertNotifications(p: { owner: string; now: number; ttlMs: number; limit: number }): Promise<NotificationRecord[]>;
  /**
   * Records the outcome of one send, if `owner` still holds the notification (its owner, pending;
   * an expired lease nobody took over still counts): `sent` (sentAt = at), `retry` (pending again
   * at nextAttemptAt, lastError), or `failed` (given up, lastError); attempts + 1 and the lease
   * ended in each case. False when the caller no longer holds it (nothing written).
   */
  finishAlertNotification(p: { id: string; owner: string; at: number; outcome: { kind: 'sent' } | { kind: 'retry'; nextAttemptAt: number; error: string } | { kind: 'failed'; error: string } }): Promise<boolean>;
}
