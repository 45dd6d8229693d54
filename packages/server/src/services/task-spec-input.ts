/**
 * Turning user input into a task spec this server can run: validation with the shared schema,
 * the targets available today, and the rules for secrets across updates.
 */
import {
  describeFieldIssues, formatPath, MASKED_HEADER_VALUE, TaskSpecSchema, toFieldIssues, type FieldIssue, type Schedule, type Target, type TaskSpec,
} from '@ecron/contracts';
import type { z } from 'zod';
import { EcronError } from '../core/errors.ts';

/** Target types this server can dispatch to; the others are accepted by the schema but refused here. */
export const SUPPORTED_TARGET_TYPES: readonly TaskSpec['target']['type'][] = ['http', 'executor', 'shell', 'grpc', 'container'];

/** A VALIDATION_FAILED error carrying `details.issues`, from a zod error. */
export function validationError(error: z.ZodError, prefix: readonly PropertyKey[] = []): EcronError {
  const issues = toFieldIssues(error, prefix);
  return new EcronError('VALIDATION_FAILED', describeFieldIssues(issues), { issues });
}

/** Validates a spec as written by a user. Throws VALIDATION_FAILED or TARGET_NOT_SUPPORTED. */
export function parseTaskSpec(input: unknown): TaskSpec {
  const parsed = TaskSpecSchema.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error);
  const spec = parsed.data;
  if (!SUPPORTED_TARGET_TYPES.includes(spec.target.type)) {
    const message = `target type "${spec.target.type}" is not available on this server yet; use ${SUPPORTED_TARGET_TYPES.map((t) => `"${t}"`).join(', ')}`;
    throw new EcronError('TARGET_NOT_SUPPORTED', `target.type: ${message}`, {
      issues: [{ path: 'target.type', code: 'TARGET_NOT_SUPPORTED', message }],
    });
  }
  const masked = maskedHeaderIssues(spec.target, ['target']);
  if (masked.length > 0) throw new EcronError('VALIDATION_FAILED', describeFieldIssues(masked), { issues: masked });
  return spec;
}

/**
 * One MASKED_HEADER_VALUE issue per header of `target` whose value is the mask a viewer is shown.
 * Such a spec is a viewer's copy: storing it would replace the real value (an Authorization
 * header, say) with "***", so it is refused rather than guessed at (docs/security.md, F6).
 */
export function maskedHeaderIssues(target: Target, path: readonly PropertyKey[]): FieldIssue[] {
  if (target.type !== 'http' || !target.headers) return [];
  return Object.entries(target.headers).filter(([, value]) => value === MASKED_HEADER_VALUE).map(([name]) => ({
    path: formatPath([...path, 'headers', name]),
    code: 'MASKED_HEADER_VALUE',
    message: `"${MASKED_HEADER_VALUE}" is the mask shown to viewers, not a header value: send the real value (read the task with an editor token)`,
  }));
}

/**
 * The spec to store for an update. An http target that omits `secret` keeps the stored one
 * (the API never returns it, so a read-modify-write must not erase it); `"secret": null`
 * removes it. A stored spec never holds `secret: null`.
 */
export function mergeSecrets(next: TaskSpec, previous: TaskSpec): TaskSpec {
  if (next.target.type !== 'http') return next;
  if (next.target.secret === null) {
    const { secret: _removed, ...target } = next.target;
    return { ...next, target };
  }
  if (next.target.secret === undefined && previous.target.type === 'http' && typeof previous.target.secret === 'string') {
    return { ...next, target: { ...next.target, secret: previous.target.secret } };
  }
  return next;
}

/** Drops `secret: null` from a new spec (nothing to remove on create). */
export function normalizeNewSpec(spec: TaskSpec): TaskSpec {
  return spec.target.type === 'http' && spec.target.secret === null ? mergeSecrets(spec, spec) : spec;
}

/** Structural equality of two schedules (key order ignored). */
export function sameSchedule(a: Schedule, b: Schedule): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** Structural equality of two specs (key order ignored): an upsert of an equal spec changes nothing. */
export function sameSpec(a: TaskSpec, b: TaskSpec): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The time zone fires of this schedule are shown in: a cron schedule's zone, else UTC. */
export function scheduleTimeZone(schedule: Schedule): string {
  return 'cron' in schedule ? schedule.timezone : 'UTC';
}
