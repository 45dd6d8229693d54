/**
 * What a namespace's settings demand of the specs written into it, checked in this one place by
 * every writer of tasks and workflows: `POST/PUT /tasks` and clone (task-service), `tasks:batch`
 * (task-batch-service) and `POST/PUT /workflows` (workflow-service). Today that is the minimum
 * interval between fires (`quotas.minIntervalMs`, default 1 s; finding F3 in docs/security.md).
 *
 * The settings are read from the store at each write, one primary-key read per namespace, and
 * never cached: a PUT of the namespace holds at once, on this node and on every other. A task
 * stored before its namespace's minimum was raised keeps firing as it is; its next update must
 * keep to the minimum.
 */
import { describeFieldIssues, formatDuration, type FieldIssue, type Schedule } from '@ecron/contracts';
import { EcronError } from '../core/errors.ts';
import { minIntervalOf } from '../core/namespaces.ts';
import { intervalBelow } from '../core/schedule/fire-interval.ts';
import type { Store } from '../store/store.ts';

/** What the check needs of a task or workflow spec. */
export interface ScheduledSpec {
  namespace: string;
  schedule: Schedule;
}

/** The issue of a schedule that fires more often than `minIntervalMs` allows in `namespace`, or null. */
export function intervalIssue(spec: ScheduledSpec, minIntervalMs: number, now: number): FieldIssue | null {
  const gap = intervalBelow(spec.schedule, minIntervalMs, now);
  if (gap === null) return null;
  const kind = 'cron' in spec.schedule ? 'cron' : 'every';
  const fires = kind === 'cron' ? `fires ${formatDuration(gap)} apart (its next fires)` : `fires every ${formatDuration(gap)}`;
  const ns = JSON.stringify(spec.namespace);
  return {
    path: `schedule.${kind}`,
    code: 'INTERVAL_TOO_SHORT',
    message: `${fires}, more often than namespace ${ns} allows: at least ${formatDuration(minIntervalMs)} between fires. `
      + `An admin may lower the minimum: PUT /api/v1/namespaces/${spec.namespace} {"quotas":{"minIntervalMs":${gap}}}`,
  };
}

/** The minimum interval of each namespace named, read once each. */
async function minimumIntervals(store: Store, namespaces: Iterable<string>): Promise<Map<string, number>> {
  const names = [...new Set(namespaces)];
  const records = await Promise.all(names.map((name) => store.getNamespace(name)));
  return new Map(names.map((name, i) => [name, minIntervalOf(records[i] ?? null)]));
}

/** For each spec, in order, the issues its namespace's settings find in it (empty when none). */
export async function namespaceLimitIssues(store: Store, specs: readonly ScheduledSpec[], now: number): Promise<FieldIssue[][]> {
  const minimums = await minimumIntervals(store, specs.map((spec) => spec.namespace));
  return specs.map((spec) => {
    const issue = intervalIssue(spec, minimums.get(spec.namespace)!, now);
    return issue === null ? [] : [issue];
  });
}

/** Throws VALIDATION_FAILED (issue INTERVAL_TOO_SHORT) when `spec` does not keep to its namespace's settings. */
export async function checkNamespaceLimits(store: Store, spec: ScheduledSpec, now: number): Promise<void> {
  const [issues] = await namespaceLimitIssues(store, [spec], now);
  if (issues!.length > 0) throw new EcronError('VALIDATION_FAILED', describeFieldIssues(issues!), { issues });
}
