/**
 * The alert conditions checked on a timer rather than read from the event log (issue 19):
 *
 * - **missed-fire**: an instant of a task's schedule with no run started within `grace` after it.
 *   The instants come from the schedule itself (cron in its time zone, DST rules included, or a
 *   fixed rate from its anchor), between the last check and now − grace. The last check's time is
 *   kept in the store (`checkedThrough`), so instants that passed while the whole cluster was down
 *   are checked when it comes back. A run counts as started when it has a start (`startedAt`) at or
 *   before the instant + grace. Fixed-delay schedules (whose instants depend on when runs end),
 *   `at` schedules of the past and paused tasks are left out. Clears when an instant of the task is
 *   met on time.
 * - **long-running**: a run of the task still running `after` its start; clears when none is.
 * - **no-executor**: no live executor node in `group` for `for`; clears when one is live.
 */
import type { RunStatus } from '@ecron/contracts';
import { firesBetween } from '../core/schedule/next-fire.ts';
import type { RunRecord, ScheduledRecord } from '../core/model.ts';
import type { AlertRuleRecord } from '../store/alerts-config.ts';
import type { ExecutorNodeRecord } from '../store/store.ts';
import { ruleCovers, taskSubject, type Observation, type ScopedTask } from './conditions.ts';

/** Instants looked at per task per check, at most (a check after a long outage takes the latest ones). */
const MAX_INSTANTS_PER_TASK = 1000;

/** A task's or workflow's identity as rules' scopes match it. */
export function scopedTask(record: ScheduledRecord): ScopedTask {
  return { id: record.id, namespace: record.namespace, name: record.name, kind: record.kind, labels: (record.spec as { labels?: Record<string, string> }).labels ?? {} };
}

/** The instants of `task`'s schedule in (after, through], ascending (none for the schedules left out). */
export function scheduleInstants(task: ScheduledRecord, after: number, through: number): number[] {
  const schedule = task.spec.schedule;
  if (task.state !== 'active' || 'manual' in schedule) return [];
  if ('every' in schedule && schedule.mode === 'fixed-delay') return [];
  // Not before the task existed in its current form (created, resumed or changed).
  const from = Math.max(after, task.updatedAt, task.createdAt);
  if (from >= through) return [];
  const range = firesBetween(schedule, from, through, MAX_INSTANTS_PER_TASK, { anchor: task.anchorAt });
  return range.fires;
}

export interface MissedFireInput {
  rule: AlertRuleRecord;
  tasks: readonly ScheduledRecord[];
  /** The last check looked at instants up to `previous − grace`. */
  previous: number;
  now: number;
  /** The runs of the tasks scheduled in the window, by task. */
  runsOf(taskId: string): readonly Pick<RunRecord, 'scheduledAt' | 'startedAt' | 'status'>[];
}

/**
 * The instants of every task in `rule`'s scope to look at in this check: (previous − grace,
 * now − grace], and none from before the rule existed.
 */
export function missedFireWindow(rule: AlertRuleRecord, previous: number, now: number): { after: number; through: number } {
  const grace = Number(rule.params.graceMs ?? 60_000);
  return { after: Math.max(previous - grace, rule.createdAt), through: now - grace };
}

/** Per task in scope with instants in the window: fire for the missed ones, or clear when all were met. */
export function observeMissedFires(input: MissedFireInput): Observation[] {
  const { rule } = input;
  const grace = Number(rule.params.graceMs ?? 60_000);
  const window = missedFireWindow(rule, input.previous, input.now);
  const observations: Observation[] = [];
  for (const task of input.tasks) {
    const scoped = scopedTask(task);
    if (!ruleCovers(rule, scoped)) continue;
    const instants = scheduleInstants(task, window.after, window.through);
    if (instants.length === 0) continue;
    const started = new Set<number>();
    for (const run of input.runsOf(task.id)) {
      if (run.startedAt !== null && run.startedAt <= run.scheduledAt + grace && run.status !== 'skipped') started.add(run.scheduledAt);
    }
    const missed = instants.filter((instant) => !started.has(instant));
    const subject = taskSubject(scoped);
    const noun = `${task.kind} ${task.namespace}/${task.name}`;
    if (missed.length > 0) {
      observations.push({
        rule, subject, kind: 'fire',
        summary: `${noun} did not start within ${grace} ms of ${missed.length === 1 ? 'its instant' : `${missed.length} instants`} ${new Date(missed[0]!).toISOString()}${missed.length > 1 ? ` … ${new Date(missed.at(-1)!).toISOString()}` : ''}`,
        details: { missed: missed.length, firstMissedAt: new Date(missed[0]!).toISOString(), lastMissedAt: new Date(missed.at(-1)!).toISOString(), graceMs: grace },
      });
    } else {
      observations.push({ rule, subject, kind: 'clear', summary: `${noun} started on time`, details: { graceMs: grace } });
    }
  }
  return observations;
}

/** long-running: per task in scope, fire when one of its runs has been running longer than `after`. */
export function observeLongRunning(rule: AlertRuleRecord, running: readonly RunRecord[], tasks: ReadonlyMap<string, ScopedTask>, now: number): Observation[] {
  const limit = Number(rule.params.afterMs);
  const byTask = new Map<string, RunRecord>();
  for (const run of running) {
    if (run.status !== ('running' satisfies RunStatus) || run.startedAt === null || now - run.startedAt <= limit) continue;
    const oldest = byTask.get(run.taskId);
    if (!oldest || run.startedAt < oldest.startedAt!) byTask.set(run.taskId, run);
  }
  const observations: Observation[] = [];
  for (const [taskId, run] of byTask) {
    const task = tasks.get(taskId);
    if (!task || !ruleCovers(rule, task)) continue;
    observations.push({
      rule, subject: taskSubject(task), kind: 'fire',
      summary: `a run of ${task.kind} ${task.namespace}/${task.name} has been running for ${now - run.startedAt!} ms (limit ${limit} ms)`,
      details: { runId: run.id, startedAt: new Date(run.startedAt!).toISOString(), runningMs: now - run.startedAt!, limitMs: limit },
    });
  }
  return observations;
}

/** no-executor: the group's live nodes (expiresAt after now) in the rule's namespace. */
export function liveExecutors(rule: AlertRuleRecord, nodes: readonly ExecutorNodeRecord[], now: number): number {
  return nodes.filter((node) => node.namespace === rule.namespace && node.group === rule.params.group && node.expiresAt > now).length;
}
