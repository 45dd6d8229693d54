/**
 * What a namespace's settings demand of the specs written into it, checked in this one place by
 * every writer of tasks and workflows: `POST/PUT /tasks` and clone (task-service), `tasks:batch`
 * (task-batch-service) and `POST/PUT /workflows` (workflow-service). Today that is the minimum
 * interval between fires (`quotas.minIntervalMs`, default 1 s; finding F3 in docs/security.md), and
 * the target types its tasks and workflow nodes may use (`quotas.allowedTargetTypes`).
 *
 * The settings are read from the store at each write, one primary-key read per namespace, and
 * never cached: a PUT of the namespace holds at once, on this node and on every other. A task
 * stored before its namespace's minimum was raised keeps firing as it is; its next update must
 * keep to the minimum.
 */
import { describeFieldIssues, formatDuration, type FieldIssue, type Schedule } from '@ecron/contracts';
import { EcronError } from '../core/errors.ts';
import { imageAllowed, imageRefusal } from '../core/container-images.ts';
import { minIntervalOf } from '../core/namespaces.ts';
import { intervalBelow } from '../core/schedule/fire-interval.ts';
import type { NamespaceRecord } from '../core/model.ts';
import type { Store } from '../store/store.ts';

/** What the check needs of a task or workflow spec. */
export interface ScheduledSpec {
  namespace: string;
  schedule: Schedule;
  /** A task's target. */
  target?: { type: string; image?: string };
  /** A workflow's nodes (inline targets are checked; a node naming a task was checked with that task). */
  nodes?: readonly ({ target?: { type: string; image?: string } } | object)[];
}

/** The targets a spec names, with their paths: a task's, or a workflow's inline nodes'. */
function targetsOf(spec: ScheduledSpec): { path: string; type: string; image?: string | undefined }[] {
  if (spec.target) return [{ path: 'target.type', type: spec.target.type, image: spec.target.image }];
  return (spec.nodes ?? []).flatMap((node, i) => ('target' in node && node.target ? [{ path: `nodes[${i}].target.type`, type: node.target.type, image: node.target.image }] : []));
}

/** An issue per container target whose image the namespace's `containerImages` does not allow (none when unset). */
export function imageIssues(spec: ScheduledSpec, patterns: readonly string[] | null | undefined): FieldIssue[] {
  if (!patterns) return [];
  return targetsOf(spec).filter((t) => t.type === 'container' && t.image !== undefined && !imageAllowed(t.image, patterns)).map((t) => ({
    path: t.path.replace(/type$/, 'image'),
    code: 'IMAGE_NOT_ALLOWED',
    message: imageRefusal(spec.namespace, t.image!, patterns),
  }));
}

/** An issue per target whose type the namespace's `allowedTargetTypes` does not allow (none when unset). */
export function targetTypeIssues(spec: ScheduledSpec, allowed: readonly string[] | null | undefined): FieldIssue[] {
  if (!allowed) return [];
  return targetsOf(spec).filter((t) => !allowed.includes(t.type)).map((t) => ({
    path: t.path,
    code: 'TARGET_TYPE_NOT_ALLOWED',
    message: `namespace ${JSON.stringify(spec.namespace)} allows the target types ${allowed.map((a) => JSON.stringify(a)).join(', ') || '(none)'}, not ${JSON.stringify(t.type)}`
      + ` (an admin sets them: PUT /api/v1/namespaces/${spec.namespace} {"quotas":{"allowedTargetTypes":[…]}})`,
  }));
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

/** Each namespace named, read once each (null: never PUT, the defaults). */
async function namespacesOf(store: Store, namespaces: Iterable<string>): Promise<Map<string, NamespaceRecord | null>> {
  const names = [...new Set(namespaces)];
  const records = await Promise.all(names.map((name) => store.getNamespace(name)));
  return new Map(names.map((name, i) => [name, records[i] ?? null]));
}

/** For each spec, in order, the issues its namespace's settings find in it (empty when none). */
export async function namespaceLimitIssues(store: Store, specs: readonly ScheduledSpec[], now: number): Promise<FieldIssue[][]> {
  const namespaces = await namespacesOf(store, specs.map((spec) => spec.namespace));
  return specs.map((spec) => {
    const namespace = namespaces.get(spec.namespace)!;
    const interval = intervalIssue(spec, minIntervalOf(namespace), now);
    return [
      ...(interval === null ? [] : [interval]),
      ...targetTypeIssues(spec, namespace?.quotas.allowedTargetTypes),
      ...imageIssues(spec, namespace?.quotas.containerImages),
    ];
  });
}

/** Throws VALIDATION_FAILED (issue INTERVAL_TOO_SHORT) when `spec` does not keep to its namespace's settings. */
export async function checkNamespaceLimits(store: Store, spec: ScheduledSpec, now: number): Promise<void> {
  const [issues] = await namespaceLimitIssues(store, [spec], now);
  if (issues!.length > 0) throw new EcronError('VALIDATION_FAILED', describeFieldIssues(issues!), { issues });
}
