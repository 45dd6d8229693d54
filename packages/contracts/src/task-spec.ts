import { z } from 'zod';
import { checkCronExpression } from './cron-expression.ts';
import { duration } from './duration.ts';
import { isValidTimeZone } from './timezone.ts';

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const NAME_MESSAGE = 'must be 1-128 characters: letters, digits, ".", "_" or "-", starting with a letter or digit';
/** A task label key: 1-63 characters, letters, digits, ".", "_", "/" or "-" (never a quote: stores put it in JSON paths). */
export const TASK_LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
/** Labels of a task, for selecting tasks in bulk (`POST /api/v1/tasks:pause` with a selector). At most 64. */
export const TaskLabelsSchema = z.record(
  z.string().regex(TASK_LABEL_KEY, 'label keys are 1-63 characters: letters, digits, ".", "_", "/" or "-"'), z.string().max(256),
).refine((labels) => Object.keys(labels).length <= 64, 'at most 64 labels');
/** Largest JSON size of `params`, in bytes. */
export const MAX_PARAMS_BYTES = 64 * 1024;

const isoInstant = z.iso.datetime({ offset: true, error: 'expected an ISO-8601 instant such as "2026-12-01T00:00:00Z"' });
const issue = (message: string, ecronCode: string, path?: (string | number)[]) =>
  ({ code: 'custom' as const, message, params: { ecronCode }, ...(path ? { path } : {}) });

/** The raw schedule object as written: one of cron, every, at or manual, with optional bounds and jitter. */
const RawScheduleSchema = z.strictObject({
  cron: z.string().min(1).max(256).optional().describe('5 fields, or 6 with leading seconds'),
  timezone: z.string().max(64).optional().describe('IANA zone of a cron schedule; default UTC'),
  every: duration({ min: 1, max: 365 * 86_400_000 }).optional().describe('interval of a fixed-rate or fixed-delay schedule'),
  mode: z.enum(['fixed-rate', 'fixed-delay']).optional().describe('for `every`; default fixed-rate'),
  at: isoInstant.optional().describe('instant of a one-shot schedule'),
  manual: z.literal(true).optional().describe('fires only when triggered'),
  startAt: isoInstant.optional().describe('no fire before this instant'),
  endAt: isoInstant.optional().describe('no fire after this instant'),
  jitterMs: duration({ max: 3_600_000 }).optional().describe('each fire is delayed by a random 0..jitterMs'),
});

type RawSchedule = z.output<typeof RawScheduleSchema>;
const KINDS = ['cron', 'every', 'at', 'manual'] as const;

interface ScheduleBounds {
  startAt?: string;
  endAt?: string;
  jitterMs?: number;
}
export type CronSchedule = { cron: string; timezone: string } & ScheduleBounds;
export type EverySchedule = { every: number; mode: 'fixed-rate' | 'fixed-delay' } & ScheduleBounds;
export type AtSchedule = { at: string } & ScheduleBounds;
export type ManualSchedule = { manual: true };
export type Schedule = CronSchedule | EverySchedule | AtSchedule | ManualSchedule;

function checkSchedule(raw: RawSchedule, ctx: z.RefinementCtx): void {
  const present = KINDS.filter((kind) => raw[kind] !== undefined);
  if (present.length !== 1) {
    ctx.addIssue(issue(
      present.length === 0
        ? 'a schedule needs one of "cron", "every", "at" or "manual"'
        : `a schedule has exactly one of "cron", "every", "at" or "manual"; got ${present.join(', ')}`,
      'SCHEDULE_KIND_INVALID',
    ));
    return;
  }
  const kind = present[0];
  if (kind === 'cron') {
    const check = checkCronExpression(raw.cron!);
    if (!check.ok) ctx.addIssue(issue(check.message, 'INVALID_CRON', ['cron']));
  }
  if (raw.timezone !== undefined) {
    if (kind !== 'cron') ctx.addIssue(issue('"timezone" applies only to a cron schedule', 'FIELD_NOT_ALLOWED', ['timezone']));
    else if (!isValidTimeZone(raw.timezone)) ctx.addIssue(issue(`unknown time zone ${JSON.stringify(raw.timezone)}: use an IANA name such as "Europe/Paris"`, 'UNKNOWN_TIMEZONE', ['timezone']));
  }
  if (raw.mode !== undefined && kind !== 'every') ctx.addIssue(issue('"mode" applies only to an "every" schedule', 'FIELD_NOT_ALLOWED', ['mode']));
  if (kind === 'manual') {
    for (const field of ['startAt', 'endAt', 'jitterMs'] as const) {
      if (raw[field] !== undefined) ctx.addIssue(issue(`"${field}" does not apply to a manual schedule`, 'FIELD_NOT_ALLOWED', [field]));
    }
  }
  if (raw.startAt && raw.endAt && Date.parse(raw.startAt) >= Date.parse(raw.endAt)) {
    ctx.addIssue(issue('"endAt" must be later than "startAt"', 'INVALID_BOUNDS', ['endAt']));
  }
}

function toSchedule(raw: RawSchedule): Schedule {
  const bounds: ScheduleBounds = {};
  if (raw.startAt) bounds.startAt = new Date(raw.startAt).toISOString();
  if (raw.endAt) bounds.endAt = new Date(raw.endAt).toISOString();
  if (raw.jitterMs) bounds.jitterMs = raw.jitterMs;
  if (raw.cron !== undefined) return { cron: raw.cron.trim(), timezone: raw.timezone ?? 'UTC', ...bounds };
  if (raw.every !== undefined) return { every: raw.every, mode: raw.mode ?? 'fixed-rate', ...bounds };
  if (raw.at !== undefined) return { at: new Date(raw.at).toISOString(), ...bounds };
  return { manual: true };
}

export const ScheduleSchema = RawScheduleSchema.superRefine(checkSchedule).transform(toSchedule);

const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/, 'invalid header name');
const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).max(2048);

/**
 * What the API shows instead of each header value of an http target to a caller who may not edit
 * the task (a viewer). A spec that sends it back as a header value is refused (issue code
 * MASKED_HEADER_VALUE), so that a masked copy never replaces the real value.
 */
export const MASKED_HEADER_VALUE = '***';

export const HttpTargetSchema = z.strictObject({
  type: z.literal('http'),
  url: httpUrl,
  headers: z.record(headerName, z.string().max(4096)).optional()
    .describe(`extra request headers; a caller who may not edit the task sees each value as "${MASKED_HEADER_VALUE}"`),
  secret: z.string().min(16).max(256).nullable().optional()
    .describe('HMAC secret for this target; default: the server signing key. Never returned by the API.'),
  cancelUrl: httpUrl.optional().describe('where cancel and status requests go; default: url'),
});
const routingSchema = z.strictObject({
  strategy: z.enum(['round-robin', 'weighted-round-robin', 'random', 'least-busy', 'consistent-hash', 'first', 'failover']).optional(),
  hashKey: z.string().max(128).optional(),
  broadcast: z.boolean().optional(),
  selector: z.record(z.string(), z.string()).optional(),
  count: z.number().int().min(1).optional(),
  sharding: z.strictObject({ total: z.number().int().min(1).max(1024) }).optional(),
});
const groupName = z.string().regex(NAME_PATTERN, NAME_MESSAGE);
export const ExecutorTargetSchema = z.strictObject({
  type: z.literal('executor'), group: groupName, handler: z.string().min(1).max(128), routing: routingSchema.optional(),
});
export const ShellTargetSchema = z.strictObject({
  type: z.literal('shell'), group: groupName, command: z.string().min(1).max(8192), routing: routingSchema.optional(),
});
export const GrpcTargetSchema = z.strictObject({ type: z.literal('grpc'), url: z.string().min(1).max(2048) });

/** Names of the variables ecron sets in a container (ECRON_PARAMS, ECRON_RUN_ID, ...): a spec may not set them. */
export const CONTAINER_RESERVED_ENV_PREFIX = 'ECRON_';
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'invalid environment variable name')
  .refine((name) => !name.toUpperCase().startsWith(CONTAINER_RESERVED_ENV_PREFIX) && name !== 'TRACEPARENT', {
    message: `names starting with ${CONTAINER_RESERVED_ENV_PREFIX}, and TRACEPARENT, are set by ecron`,
  });
const engineName = z.string().regex(NAME_PATTERN, NAME_MESSAGE);
/**
 * A run in a new container, created through the Docker Engine API (Docker or Podman), that ends
 * when the container exits: exit code 0 succeeds, any other fails. `command` replaces the image's
 * entrypoint and `args` its command, as in Kubernetes.
 */
export const ContainerTargetSchema = z.strictObject({
  type: z.literal('container'),
  image: z.string().min(1).max(512).regex(/^[^\s]+$/, 'an image reference has no spaces'),
  command: z.array(z.string().max(8192)).max(256).optional().describe('replaces the image entrypoint'),
  args: z.array(z.string().max(8192)).max(1024).optional().describe('replaces the image command'),
  env: z.record(envName, z.string().max(32_768)).optional(),
  workingDir: z.string().max(1024).regex(/^\//, 'an absolute path').optional(),
  resources: z.strictObject({
    cpus: z.number().min(0.01).max(1024).optional(),
    memoryMb: z.number().int().min(6).max(16_777_216).optional(),
  }).optional(),
  pull: z.enum(['never', 'if-missing', 'always']).default('if-missing'),
  engine: engineName.optional().describe('a container engine configured on the server (or on the group\'s agents); default: "default"'),
  group: groupName.optional().describe('run it on an `ecron agent` of this executor group, with the agent\'s engine; default: the server\'s engine'),
  routing: routingSchema.optional().describe('with group: how runs are routed among the group\'s agents, as for shell targets'),
}).refine((target) => target.routing === undefined || target.group !== undefined, { path: ['routing'], message: 'routing needs a group: without one, containers run on the server\'s engine' });
export type ContainerTarget = z.output<typeof ContainerTargetSchema>;

export const TargetSchema = z.discriminatedUnion('type', [HttpTargetSchema, ExecutorTargetSchema, ShellTargetSchema, GrpcTargetSchema, ContainerTargetSchema], {
  error: 'target.type must be one of "http", "executor", "shell", "grpc", "container"',
});

export const BackoffSchema = z.strictObject({
  type: z.enum(['fixed', 'exponential']).default('exponential'),
  initialMs: duration({ max: 86_400_000 }).default(1000).describe('first delay; every delay for fixed'),
  maxMs: duration({ max: 86_400_000 }).default(60_000).describe('cap of an exponential delay'),
  multiplier: z.number().min(1).max(10).default(2),
  jitter: z.number().min(0).max(1).default(0).describe('delay × (1 − jitter × random[0,1))'),
});
export const RetrySchema = z.strictObject({
  maxAttempts: z.number().int().min(1).max(100).default(1).describe('attempts in all, the first included'),
  backoff: BackoffSchema.default(() => BackoffSchema.parse({})),
});
export const MisfireSchema = z.strictObject({
  policy: z.enum(['skip', 'fire-once', 'catch-up']).default('fire-once'),
  windowMs: duration().optional().describe('missed fires older than this are skipped; default: no limit'),
  maxCatchUp: z.number().int().min(1).max(10_000).default(100).describe('catch-up records at most this many of the latest missed fires'),
});

export const OVERLAP_POLICIES = ['allow', 'skip', 'queue-one', 'cancel-previous'] as const;

export const TaskSpecSchema = z.strictObject({
  namespace: z.string().regex(NAME_PATTERN, NAME_MESSAGE).default('default'),
  name: z.string().regex(NAME_PATTERN, NAME_MESSAGE),
  description: z.string().max(2000).optional(),
  labels: TaskLabelsSchema.optional().describe('key/value labels: bulk actions select tasks by them'),
  schedule: ScheduleSchema,
  target: TargetSchema,
  retry: RetrySchema.default(() => RetrySchema.parse({})),
  timeoutMs: duration({ min: 1, max: 7 * 86_400_000 }).optional().describe('deadline of each attempt'),
  overlap: z.enum(OVERLAP_POLICIES).default('allow'),
  misfire: MisfireSchema.default(() => MisfireSchema.parse({})),
  maxConcurrency: z.number().int().min(1).max(10_000).optional(),
  params: z.record(z.string(), z.unknown()).default({}).superRefine((params, ctx) => {
    if (new TextEncoder().encode(JSON.stringify(params)).length > MAX_PARAMS_BYTES) {
      ctx.addIssue(issue(`params exceed ${MAX_PARAMS_BYTES} bytes of JSON`, 'PARAMS_TOO_LARGE'));
    }
  }),
});

/** A task spec as written by a user (durations may be strings, defaults missing). */
export type TaskSpecInput = z.input<typeof TaskSpecSchema>;
/** A validated task spec: durations in milliseconds, defaults filled in. */
export type TaskSpec = z.output<typeof TaskSpecSchema>;
export type Target = TaskSpec['target'];
export type HttpTarget = z.output<typeof HttpTargetSchema>;
export type RetryPolicy = TaskSpec['retry'];
export type BackoffPolicy = RetryPolicy['backoff'];
export type MisfirePolicy = TaskSpec['misfire'];
export type OverlapPolicy = TaskSpec['overlap'];

export function scheduleKind(schedule: Schedule): 'cron' | 'every' | 'at' | 'manual' {
  if ('cron' in schedule) return 'cron';
  if ('every' in schedule) return 'every';
  if ('at' in schedule) return 'at';
  return 'manual';
}
