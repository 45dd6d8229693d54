/**
 * Which silence, if any, covers an incident's change of state (issue 19, docs/alerts.md "Silences
 * and maintenance windows"). Pure: the evaluator reads the silences in force
 * (`store.listActiveAlertSilences({ at })`) and asks, for each incident it opens, repeats or
 * resolves, whether one covers it; while one does, the incident still opens and resolves, but no
 * notification is written for it.
 */
import type { AlertSubjectKind } from '@ecron/contracts';
import type { AlertSilenceRecord } from '../store/alert-silences.ts';

/** What is about to be notified: one rule's incident on one subject, at one instant. */
export interface SilenceQuery {
  ruleId: string;
  /** The rule's (and so the incident's) namespace. */
  namespace: string;
  subject: { kind: AlertSubjectKind; id: string };
  /** The task or workflow behind the subject, with its labels; null or absent for a group or a node. */
  task?: { id: string; kind: 'task' | 'workflow'; labels: Record<string, string> } | null;
  /** Epoch ms. */
  at: number;
}

type Scope = { taskId: string } | { workflowId: string } | { labels: Record<string, string> } | { namespace: string };

function scopeCovers(scope: Scope, p: SilenceQuery): boolean {
  if ('taskId' in scope) return isThe('task', scope.taskId, p);
  if ('workflowId' in scope) return isThe('workflow', scope.workflowId, p);
  if ('labels' in scope) {
    const labels = p.task?.labels;
    return labels !== undefined && Object.entries(scope.labels).every(([key, value]) => labels[key] === value);
  }
  return scope.namespace === p.namespace;
}

/** Whether the subject, or the task behind it, is the task (or workflow) `id`. */
function isThe(kind: 'task' | 'workflow', id: string, p: SilenceQuery): boolean {
  return (p.subject.kind === kind && p.subject.id === id) || (p.task?.kind === kind && p.task.id === id);
}

/** Whether `silence` covers `p`: same namespace, in force at `p.at`, of this rule, over this subject. */
export function silenceCovers(silence: AlertSilenceRecord, p: SilenceQuery): boolean {
  return silence.namespace === p.namespace
    && silence.startsAt <= p.at && p.at < silence.endsAt
    && (silence.ruleIds === null || silence.ruleIds.includes(p.ruleId))
    && scopeCovers(silence.scope as Scope, p);
}

/**
 * The first of `silences` (in their order) that covers `p`, or null: the silence is of `p`'s
 * namespace; `p.at` is within `[startsAt, endsAt)`; it names no rules, or `p.ruleId` among them; and
 * its scope is the namespace (every subject of it: tasks, workflows, executor groups, nodes), the
 * task or workflow of the subject, or labels that the subject's task or workflow holds, every pair.
 */
export function silencedBy(silences: readonly AlertSilenceRecord[], p: SilenceQuery): AlertSilenceRecord | null {
  return silences.find((silence) => silenceCovers(silence, p)) ?? null;
}

/** Where a silence stands at `now`: not started, in force, or over (also one ended before it started). */
export type AlertSilenceState = 'pending' | 'active' | 'expired';

export function silenceState(silence: Pick<AlertSilenceRecord, 'startsAt' | 'endsAt'>, now: number): AlertSilenceState {
  if (silence.endsAt <= now || silence.endsAt <= silence.startsAt) return 'expired';
  return now < silence.startsAt ? 'pending' : 'active';
}
