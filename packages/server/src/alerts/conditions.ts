/**
 * What each alert rule watches (issue 19), as observations: the condition of a rule holds for a
 * subject (`fire`) or has cleared (`clear`). Event-driven kinds read the event log; the others are
 * checked periodically (`periodic-checks.ts`). The evaluator turns observations into incidents
 * (`evaluator.ts`).
 *
 * | on | subject | fires on | clears on |
 * | --- | --- | --- | --- |
 * | failure | task / workflow | `run.failed` (`attempts: every`: also an attempt that failed and will be retried) | a success |
 * | timeout | task / workflow | `run.timed_out` | a success |
 * | consecutive-failures | task / workflow | the last `count` runs that ended all failed | a success |
 * | failure-rate | task / workflow | failures / runs ended in `window` ≥ `rate`, with ≥ `minRuns` runs | the rate below it |
 * | late-start | task / workflow | a scheduled run started (`run.started`, or an end straight from `dispatched`) more than `lag` after its instant | a start on time |
 * | node-lost | scheduler node | `node.left` | `node.joined` of the node |
 */
import type { AlertRuleKind, AlertSubjectKind } from '@ecron/contracts';
import type { RunStatus } from '@ecron/contracts';
import type { AlertRuleRecord } from '../store/alerts-config.ts';
import type { AlertSubject } from '../store/alert-incidents.ts';
import type { EventRecord } from '../store/store.ts';

export interface Observation {
  rule: AlertRuleRecord;
  subject: AlertSubject;
  kind: 'fire' | 'clear';
  summary: string;
  details: Record<string, unknown>;
}

/** A task's or workflow's identity, as rules' scopes match it. */
export interface ScopedTask {
  id: string;
  namespace: string;
  name: string;
  kind: 'task' | 'workflow';
  labels: Record<string, string>;
}

/** Statuses a run ends with that count as failures (a lost run ended abnormally too). */
export const FAILED_STATUSES: readonly RunStatus[] = ['failed', 'timed_out', 'lost'];
/** Every status a run ends with. */
export const FINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'];

/** The kinds the event log drives; the others are checked periodically. */
export const EVENT_KINDS: ReadonlySet<AlertRuleKind> = new Set(['failure', 'timeout', 'consecutive-failures', 'failure-rate', 'late-start', 'node-lost']);

type RuleScope = { taskId: string } | { workflowId: string } | { labels: Record<string, string> } | { namespace: string };

/** Whether `rule`'s scope covers `task` (always within the rule's own namespace). */
export function ruleCovers(rule: AlertRuleRecord, task: ScopedTask): boolean {
  if (task.namespace !== rule.namespace) return false;
  const scope = rule.scope as RuleScope;
  if ('taskId' in scope) return task.kind === 'task' && task.id === scope.taskId;
  if ('workflowId' in scope) return task.kind === 'workflow' && task.id === scope.workflowId;
  if ('labels' in scope) return Object.entries(scope.labels).every(([key, value]) => task.labels[key] === value);
  return true;
}

export function taskSubject(task: ScopedTask): AlertSubject {
  return { kind: task.kind as AlertSubjectKind, id: task.id, name: task.name };
}

/** A run event: `run.failed` → { prefix: 'run', what: 'failed' }; `workflow.failed` (a workflow's own run) too. Null otherwise. */
export function runEvent(event: EventRecord): { what: string; workflow: boolean } | null {
  if (event.runId === null || event.taskId === null) return null;
  if (event.type.startsWith('run.')) return { what: event.type.slice(4), workflow: false };
  if (event.type.startsWith('workflow.') && !event.type.startsWith('workflow.node.')) return { what: event.type.slice(9), workflow: true };
  return null;
}

/** The run ended (any final status). */
export function isRunEnd(what: string): boolean {
  return ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'].includes(what);
}

const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** The history the streak and rate conditions read (the store's runs). */
export interface RunHistory {
  /** The statuses of the last `limit` runs of `taskId` that ended, newest first. */
  lastEnded(taskId: string, limit: number): Promise<RunStatus[]>;
  /** How many runs of `taskId` scheduled since `since` ended, and how many of them failed (at most `cap` read). */
  endedSince(taskId: string, since: number, cap: number): Promise<{ ended: number; failed: number }>;
}

/**
 * The observations of event-driven `rule` about one run event of `task` (already known to be in
 * its scope), or null when the event says nothing to the rule.
 */
export async function observeRunEvent(rule: AlertRuleRecord, task: ScopedTask, event: EventRecord, history: RunHistory, now: number): Promise<Observation | null> {
  const run = runEvent(event);
  if (!run) return null;
  const subject = taskSubject(task);
  const data = event.data;
  const base = { rule, subject, details: { runId: event.runId, attempt: data.attempt, scheduledAt: data.scheduledAt } };
  const fire = (summary: string, details: Record<string, unknown> = {}): Observation => ({ ...base, kind: 'fire', summary, details: { ...base.details, ...details } });
  const clear = (summary: string): Observation => ({ ...base, kind: 'clear', summary });
  const noun = `${subject.kind} ${task.namespace}/${task.name}`;
  const error = typeof data.error === 'string' ? data.error : undefined;
  switch (rule.on) {
    case 'failure': {
      if (run.what === 'failed' || run.what === 'lost') return fire(`a run of ${noun} ${run.what === 'lost' ? 'was lost' : 'failed'}${error ? `: ${error}` : ''}`, { error, final: true });
      const retried = run.what === 'pending' && error !== undefined && (data.previousStatus === 'running' || data.previousStatus === 'dispatched');
      if (retried && rule.params.attempts === 'every') return fire(`attempt ${String(data.attempt)} of a run of ${noun} failed and will be retried: ${error}`, { error, final: false });
      return run.what === 'succeeded' ? clear(`a run of ${noun} succeeded`) : null;
    }
    case 'timeout':
      if (run.what === 'timed_out') return fire(`a run of ${noun} timed out`, { error });
      return run.what === 'succeeded' ? clear(`a run of ${noun} succeeded`) : null;
    case 'consecutive-failures': {
      if (run.what === 'succeeded') return clear(`a run of ${noun} succeeded`);
      if (!['failed', 'timed_out', 'lost'].includes(run.what)) return null;
      const count = Number(rule.params.count);
      const last = await history.lastEnded(task.id, count);
      if (last.length < count || !last.every((status) => FAILED_STATUSES.includes(status))) return null;
      return fire(`the last ${count} runs of ${noun} failed`, { count, error });
    }
    case 'failure-rate': {
      if (!isRunEnd(run.what)) return null;
      return observeFailureRate(rule, task, history, now);
    }
    case 'late-start': {
      // The executor's start report; a run whose executor answered at once (a plain HTTP target)
      // ends with no `started`: its end, from `dispatched`, stands for it.
      const started = run.what === 'started' || (isRunEnd(run.what) && data.previousStatus === 'dispatched');
      if (!started || data.trigger !== 'schedule') return null;
      const scheduledAt = num(data.scheduledAt);
      const startedAt = num(data.startedAt) ?? event.at;
      if (scheduledAt === null) return null;
      const lagMs = startedAt - scheduledAt;
      const limit = Number(rule.params.lagMs);
      if (lagMs > limit) return fire(`a run of ${noun} started ${lagMs} ms after its scheduled instant (limit ${limit} ms)`, { lagMs, limitMs: limit });
      return clear(`a run of ${noun} started on time (${lagMs} ms after its instant)`);
    }
    default:
      return null;
  }
}

/** The failure rate of `task` over the rule's window, now: fire, or clear when below. */
export async function observeFailureRate(rule: AlertRuleRecord, task: ScopedTask, history: RunHistory, now: number): Promise<Observation> {
  const windowMs = Number(rule.params.windowMs);
  const { ended, failed } = await history.endedSince(task.id, now - windowMs, 10_000);
  const rate = ended === 0 ? 0 : failed / ended;
  const threshold = Number(rule.params.rate);
  const minRuns = Number(rule.params.minRuns ?? 1);
  const subject = taskSubject(task);
  const noun = `${subject.kind} ${task.namespace}/${task.name}`;
  const details = { failed, ended, failureRate: Number(rate.toFixed(4)), rate: threshold, windowMs, minRuns };
  if (ended >= minRuns && rate >= threshold) {
    return { rule, subject, kind: 'fire', summary: `${failed} of the last ${ended} runs of ${noun} failed (${(rate * 100).toFixed(1)} %, limit ${(threshold * 100).toFixed(1)} %)`, details };
  }
  return { rule, subject, kind: 'clear', summary: `the failure rate of ${noun} is ${(rate * 100).toFixed(1)} % over ${ended} runs`, details };
}

/** node-lost: a scheduler node left (its lease lapsed or it stopped); cleared when it joins again. */
export function observeNodeEvent(rule: AlertRuleRecord, event: EventRecord): Observation | null {
  if (rule.on !== 'node-lost' || (event.type !== 'node.left' && event.type !== 'node.joined')) return null;
  const id = String(event.data.schedulerNodeId ?? '');
  if (!id) return null;
  const subject: AlertSubject = { kind: 'node', id, name: String(event.data.address ?? id) };
  return event.type === 'node.left'
    ? { rule, subject, kind: 'fire', summary: `scheduler node ${id} left the cluster`, details: { address: event.data.address } }
    : { rule, subject, kind: 'clear', summary: `scheduler node ${id} joined the cluster again`, details: { address: event.data.address } };
}
