/**
 * The chaos run's figures, from the executor's receipts alone: fires expected, delivered, missed,
 * delivered twice; gaps, lags, and how long the cluster took to resume after each fault.
 *
 * - Expected: per task, every instant `first + k × period` up to `endAt`, where `first` is the
 *   earliest fire the executor received for it (tasks are created and all delivered before the
 *   first fault).
 * - A fire is (taskId, scheduledAt). A duplicate FIRE is one with two run ids (two runs recorded
 *   for one instant: the unique key makes it impossible). A duplicate DELIVERY is one fire
 *   received more than once (the same run sent again: at-least-once after a node death).
 * - Missed: expected, never received by the end of the catch-up wait.
 */
import type { Received } from '../lib/api.ts';
import { summarize, type Summary } from '../lib/stats.ts';

export interface Fault {
  kind: 'kill' | 'stop' | 'db-restart';
  slot?: number;
  /** When the fault began (SIGKILL, SIGSTOP, database going down). */
  at: number;
  /** When it was over: the restarted node ready, SIGCONT sent, the database up again. */
  over: number;
}

export interface FaultOutcome extends Fault {
  /**
   * From `over` (db-restart) or `at` (kill, stop) until every task had a delivery for a fire
   * scheduled at or after `at`.
   */
  resumeMs: number;
  /** Longest time without a delivery, across tasks, between this fault and the next (or the end). */
  longestGapMs: number;
}

export interface DeliveryFigures {
  tasks: number;
  expected: number;
  delivered: number;
  missed: number;
  /** Tasks with no delivery at all (their fires cannot be counted: not in `expected`). */
  tasksNeverDelivered: number;
  /** Missed fires (up to 500), for looking them up in the store. */
  missedFires: { taskId: string; scheduledAt: number }[];
  duplicateFires: number;
  duplicateFireList: { taskId: string; scheduledAt: number; runIds: string[] }[];
  /** Fires received more than once: in all, and how many of those were a retry (attempt > 1). */
  duplicateDeliveries: number;
  redeliveredSameAttempt: number;
  redeliveredLaterAttempt: number;
  /** Deliveries for an instant off the expected grid (should be 0). */
  offGrid: number;
  statusRequests: number;
  /** Per task, the longest time between two deliveries; summarized across tasks. */
  longestGapMs: Summary;
  /** First receipt − scheduled instant, over every fire up to endAt. */
  lagMs: Summary;
  faults: FaultOutcome[];
}

interface Fire {
  runIds: Set<string>;
  deliveries: number;
  attempts: Set<string>;
  firstReceivedAt: number;
}

export function analyzeDeliveries(records: Received[], taskIds: string[], periodMs: number, endAt: number, faults: Fault[]): DeliveryFigures {
  const byTask = new Map<string, Map<number, Fire>>(taskIds.map((id) => [id, new Map()]));
  let statusRequests = 0;
  let redeliveredSameAttempt = 0;
  let redeliveredLaterAttempt = 0;
  for (const r of records) {
    if (r.event === 'status') statusRequests += 1;
    if (r.event !== 'run' || r.scheduledAt > endAt) continue;
    const fires = byTask.get(r.taskId);
    if (!fires) continue;
    let fire = fires.get(r.scheduledAt);
    if (!fire) {
      fire = { runIds: new Set(), deliveries: 0, attempts: new Set(), firstReceivedAt: r.receivedAt };
      fires.set(r.scheduledAt, fire);
    }
    const attemptKey = `${r.runId}/${r.attempt}`;
    if (fire.deliveries > 0) {
      if (fire.attempts.has(attemptKey)) redeliveredSameAttempt += 1;
      else redeliveredLaterAttempt += 1;
    }
    fire.deliveries += 1;
    fire.runIds.add(r.runId);
    fire.attempts.add(attemptKey);
    fire.firstReceivedAt = Math.min(fire.firstReceivedAt, r.receivedAt);
  }

  let expected = 0;
  let delivered = 0;
  let offGrid = 0;
  let duplicateDeliveries = 0;
  const missedFires: { taskId: string; scheduledAt: number }[] = [];
  let missed = 0;
  let tasksNeverDelivered = 0;
  const duplicateFireList: DeliveryFigures['duplicateFireList'] = [];
  const gaps: number[] = [];
  const lags: number[] = [];
  /** Per task, receipts (first per fire) in order, for gaps and fault outcomes. */
  const timelines = new Map<string, { scheduledAt: number; receivedAt: number }[]>();

  for (const [taskId, fires] of byTask) {
    const instants = [...fires.keys()].sort((a, b) => a - b);
    if (instants.length === 0) {
      tasksNeverDelivered += 1;
      continue;
    }
    const first = instants[0]!;
    for (let at = first; at <= endAt; at += periodMs) {
      expected += 1;
      if (fires.has(at)) continue;
      missed += 1;
      if (missedFires.length < 500) missedFires.push({ taskId, scheduledAt: at });
    }
    for (const [at, fire] of fires) {
      if ((at - first) % periodMs !== 0) offGrid += 1;
      else delivered += 1;
      if (fire.deliveries > 1) duplicateDeliveries += 1;
      if (fire.runIds.size > 1) duplicateFireList.push({ taskId, scheduledAt: at, runIds: [...fire.runIds] });
      lags.push(fire.firstReceivedAt - at);
    }
    const timeline = instants.map((at) => ({ scheduledAt: at, receivedAt: fires.get(at)!.firstReceivedAt })).sort((a, b) => a.receivedAt - b.receivedAt);
    timelines.set(taskId, timeline);
    let gap = 0;
    for (let i = 1; i < timeline.length; i += 1) gap = Math.max(gap, timeline[i]!.receivedAt - timeline[i - 1]!.receivedAt);
    gaps.push(gap);
  }

  const outcomes = faults.map((fault, i): FaultOutcome => {
    const until = faults[i + 1]?.at ?? endAt;
    let resumeAt = fault.at;
    let longestGapMs = 0;
    for (const timeline of timelines.values()) {
      const next = timeline.find((d) => d.scheduledAt >= fault.at);
      resumeAt = Math.max(resumeAt, next ? next.receivedAt : Infinity);
      let previous = timeline.findLast((d) => d.receivedAt <= fault.at)?.receivedAt ?? fault.at;
      for (const d of timeline) {
        if (d.receivedAt <= fault.at) continue;
        longestGapMs = Math.max(longestGapMs, d.receivedAt - previous);
        previous = d.receivedAt;
        if (d.receivedAt > until) break;
      }
    }
    const from = fault.kind === 'db-restart' ? fault.over : fault.at;
    return { ...fault, resumeMs: resumeAt - from, longestGapMs };
  });

  return {
    tasks: taskIds.length, expected, delivered, missed, tasksNeverDelivered, missedFires,
    duplicateFires: duplicateFireList.length, duplicateFireList: duplicateFireList.slice(0, 100),
    duplicateDeliveries, redeliveredSameAttempt, redeliveredLaterAttempt, offGrid, statusRequests,
    longestGapMs: summarize(gaps), lagMs: summarize(lags), faults: outcomes,
  };
}

/** How many expected fires up to `endAt` have no receipt yet (for the catch-up wait). */
export function countMissing(records: Received[], taskIds: string[], periodMs: number, endAt: number): number {
  const seen = new Map<string, Set<number>>(taskIds.map((id) => [id, new Set()]));
  for (const r of records) if (r.event === 'run' && r.scheduledAt <= endAt) seen.get(r.taskId)?.add(r.scheduledAt);
  let missing = 0;
  for (const instants of seen.values()) {
    if (instants.size === 0) {
      missing += 1;
      continue;
    }
    const first = Math.min(...instants);
    for (let at = first; at <= endAt; at += periodMs) if (!instants.has(at)) missing += 1;
  }
  return missing;
}
