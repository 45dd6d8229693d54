/**
 * Admission of runs under their namespace's run quotas (`maxConcurrentRuns`, `maxFiresPerMinute`),
 * exact across the cluster: every store verb that gives a run its first attempt (`recordFires`,
 * `createRun`, `startAttempts` of attempt 1) admits it here, inside its own transaction, under a
 * lock on the namespace's row. A run refused is stored `throttled` (no attempt) and waits: its
 * supervisor asks again with `startAttempts`. A run admitted gets a slot in `quota_slots`:
 *
 * - the namespace's concurrent runs are its slots whose run is not final (a slot is taken at the
 *   first attempt and held through retries until the run ends, so a retry never needs admission);
 * - its fires of the last minute are its slots admitted within the last 60 s.
 *
 * Slots are written only for namespaces that set one of those quotas; a namespace without them
 * costs one read of its row per batch. Slots whose run ended and that left the minute are pruned
 * by the next admission in their namespace.
 *
 * `groupMaxConcurrentRuns` limits the runs of named executor groups of the namespace the same way,
 * through `group_slots` (one row per run of a limited group, held while the run is not final): a
 * candidate is admitted when both its namespace and its group have room.
 */
import type { NamespaceQuotaSettings } from '../core/model.ts';
import type { NewRun } from './store.ts';

/** The window of `maxFiresPerMinute`. */
export const RATE_WINDOW_MS = 60_000;

export interface RunLimits {
  maxConcurrentRuns: number | null;
  maxFiresPerMinute: number | null;
  /** The most runs at once of each limited executor group. */
  groups: Readonly<Record<string, number>>;
}

/** The run limits of a namespace's stored quotas (JSON), or null when it sets none. */
export function runLimitsOf(quotasJson: string): RunLimits | null {
  const quotas = JSON.parse(quotasJson) as NamespaceQuotaSettings;
  const maxConcurrentRuns = quotas.maxConcurrentRuns ?? null;
  const maxFiresPerMinute = quotas.maxFiresPerMinute ?? null;
  const groups = quotas.groupMaxConcurrentRuns ?? {};
  return maxConcurrentRuns === null && maxFiresPerMinute === null && Object.keys(groups).length === 0 ? null : { maxConcurrentRuns, maxFiresPerMinute, groups };
}

/** True when the namespace itself is limited (its slots are counted), not only some of its groups. */
export function limitsNamespace(limits: RunLimits): boolean {
  return limits.maxConcurrentRuns !== null || limits.maxFiresPerMinute !== null;
}

/** True when stored quotas (JSON) limit the namespace's own runs (`maxConcurrentRuns` or `maxFiresPerMinute`). */
export function namespaceLimited(quotasJson: string): boolean {
  const limits = runLimitsOf(quotasJson);
  return limits !== null && limitsNamespace(limits);
}

export interface QuotaUsage {
  /** Slots whose run is not final. */
  active: number;
  /** Slots admitted after `at − RATE_WINDOW_MS`. */
  recent: number;
  /** Group slots whose run is not final, by limited group. */
  groups?: ReadonlyMap<string, number>;
}

export interface AdmissionCandidate {
  id: string;
  namespace: string;
  /** The executor group the run goes to (executor and shell targets). */
  group?: string | null;
}

/** How many more runs `limits` let start, given `usage`. */
export function roomLeft(limits: RunLimits, usage: QuotaUsage): number {
  const concurrent = limits.maxConcurrentRuns === null ? Infinity : limits.maxConcurrentRuns - usage.active;
  const rate = limits.maxFiresPerMinute === null ? Infinity : limits.maxFiresPerMinute - usage.recent;
  return Math.max(0, Math.min(concurrent, rate));
}

/**
 * Which candidates of limited namespaces are admitted, in input order (the earliest first): as many
 * per namespace as its room allows. Candidates of namespaces absent from `limits` are not limited
 * and are neither admitted (no slot) nor refused. Returns the admitted ids and the refused ids.
 */
export function admit(candidates: readonly AdmissionCandidate[], limits: ReadonlyMap<string, RunLimits>,
  usage: ReadonlyMap<string, QuotaUsage>): { admitted: Set<string>; refused: Set<string> } {
  const room = new Map([...limits].map(([namespace, limit]) => [namespace, roomLeft(limit, usage.get(namespace) ?? { active: 0, recent: 0 })]));
  const groupRoom = new Map<string, number>();
  const admitted = new Set<string>();
  const refused = new Set<string>();
  for (const candidate of candidates) {
    const left = room.get(candidate.namespace);
    if (left === undefined) continue;
    const groupKey = limitedGroupKey(candidate, limits);
    let groupLeft = Infinity;
    if (groupKey !== null) {
      const known = groupRoom.get(groupKey);
      groupLeft = known ?? Math.max(0, limits.get(candidate.namespace)!.groups[candidate.group!]! - (usage.get(candidate.namespace)?.groups?.get(candidate.group!) ?? 0));
    }
    if (left > 0 && groupLeft > 0) {
      admitted.add(candidate.id);
      room.set(candidate.namespace, left - 1);
      if (groupKey !== null) groupRoom.set(groupKey, groupLeft - 1);
    } else {
      refused.add(candidate.id);
      if (groupKey !== null) groupRoom.set(groupKey, groupLeft);
    }
  }
  return { admitted, refused };
}

/** `namespace/group` of a candidate whose executor group its namespace limits, else null. */
export function limitedGroupKey(candidate: AdmissionCandidate, limits: ReadonlyMap<string, RunLimits>): string | null {
  const group = candidate.group;
  if (group === undefined || group === null) return null;
  return limits.get(candidate.namespace)?.groups[group] === undefined ? null : `${candidate.namespace}/${group}`;
}

/** A run that takes part in admission: one about to get its first attempt, not a workflow's own run (which executes nothing). */
export function needsAdmission(run: { id: string; workflowRunId?: string | null }): boolean {
  return run.workflowRunId !== run.id;
}

/** The new runs that ask for admission: those created dispatched (with their first attempt). */
export function admissionCandidates(runs: readonly NewRun[]): AdmissionCandidate[] {
  return runs.filter((run) => run.status === 'dispatched' && needsAdmission(run))
    .map((run) => ({ id: run.id, namespace: run.namespace, group: run.executorGroup ?? null }));
}

/** The instant new runs are admitted at: the latest start of their first attempts. */
export function admissionTime(runs: readonly NewRun[]): number {
  let at = 0;
  for (const run of runs) if (run.attempt && run.attempt.startedAt > at) at = run.attempt.startedAt;
  return at;
}

/** A new run refused admission: it waits as `throttled`, without its first attempt. */
export function throttledRun(run: NewRun): NewRun {
  const { attempt: _attempt, ...rest } = run;
  return { ...rest, status: 'throttled' };
}
