/**
 * Namespaces as resources: `PUT /api/v1/namespaces/{name}` stores a namespace's description,
 * labels, quotas and outbound rules; `GET` returns them with the namespace's current usage.
 * A namespace that was never PUT still exists while it holds tasks (and `default` always does):
 * it has the default settings and `implicit: true`.
 *
 * Every quota is enforced (docs/namespaces.md): the run quotas (`maxConcurrentRuns`,
 * `maxFiresPerMinute`, `groupMaxConcurrentRuns`) exactly across the cluster, a run refused waiting
 * as `throttled`.
 */
import { z } from 'zod';
import { duration, MAX_DURATION_MS } from './duration.ts';
import { ExecutorGroupNameSchema } from './executors.ts';
import { TaskLabelsSchema, TaskSpecSchema } from './task-spec.ts';

/** A namespace's name: the pattern of a task's namespace. */
export const NamespaceNameSchema = TaskSpecSchema.shape.name;

/** The namespace every task lands in when its spec names none; it exists without a PUT. */
export const DEFAULT_NAMESPACE = 'default';

/**
 * The least time between two fires of one task or workflow, unless the namespace sets another:
 * one second, since `every: "1ms"` made one editor's task fire 486 times a second (finding F3).
 */
export const DEFAULT_MIN_INTERVAL_MS = 1000;

/** The target types a namespace may limit its tasks to (`quotas.allowedTargetTypes`). */
export const NAMESPACE_TARGET_TYPES = ['http', 'grpc', 'executor', 'shell', 'container'] as const;
export type NamespaceTargetType = (typeof NAMESPACE_TARGET_TYPES)[number];

/** Most executor groups `quotas.groupMaxConcurrentRuns` may name. */
export const MAX_GROUP_LIMITS = 256;

/** Most rules in each of `outbound.allow` and `outbound.deny`. */
export const MAX_OUTBOUND_RULES = 256;
/** Patterns of a namespace's `containerImages`, at most. */
export const MAX_IMAGE_RULES = 256;

const count = (what: string) => z.number().int().min(0).max(1_000_000_000).nullable().optional()
  .describe(`${what}; null: no limit (the default)`);

/**
 * The quotas of a PUT. A field left out keeps its stored value; `null` puts it back to its
 * default (no limit, or {@link DEFAULT_MIN_INTERVAL_MS} for `minIntervalMs`).
 */
export const NamespaceQuotasSchema = z.strictObject({
  maxConcurrentRuns: count('runs of the namespace not finished at once, at most'),
  maxFiresPerMinute: count('runs the namespace\'s tasks create in any 60 s, at most'),
  minIntervalMs: duration({ min: 1, max: MAX_DURATION_MS }).nullable().optional()
    .describe(`least time between two fires of one schedule (milliseconds or "100ms", "5s"…); default ${DEFAULT_MIN_INTERVAL_MS}; null: the default`),
  maxTasks: count('tasks in the namespace, at most'),
  maxWorkflows: count('workflows in the namespace, at most'),
  allowedTargetTypes: z.array(z.enum(NAMESPACE_TARGET_TYPES)).max(NAMESPACE_TARGET_TYPES.length).nullable().optional()
    .describe('the target types its tasks may use; null: all of them (the default)'),
  groupMaxConcurrentRuns: z.record(ExecutorGroupNameSchema, z.number().int().min(0).max(1_000_000_000)).nullable().optional()
    .refine((groups) => !groups || Object.keys(groups).length <= MAX_GROUP_LIMITS, `at most ${MAX_GROUP_LIMITS} groups`)
    .describe('the most runs of each named executor group of the namespace at once (executor and shell targets), replaced whole; null: none (the default)'),
  containerImages: z.array(z.string().min(1).max(512).regex(/^[^\s]+$/, 'an image pattern has no spaces')).max(MAX_IMAGE_RULES).nullable().optional()
    .describe('the images its container targets may use: references, where * stands for any run of characters but "/" and ** for any ("registry.example/team/**", "busybox:*"); null: any image (the default)'),
});
export type NamespaceQuotasInput = z.input<typeof NamespaceQuotasSchema>;
export type NamespaceQuotasPatch = z.output<typeof NamespaceQuotasSchema>;

const rule = z.string().min(1).max(256);
/**
 * Outbound rules of the namespace: CIDRs (`10.0.0.0/8`), addresses, host names or `*.domain`, as in
 * the server's own outbound policy. A list left out keeps its stored value.
 */
export const NamespaceOutboundSchema = z.strictObject({
  allow: z.array(rule).max(MAX_OUTBOUND_RULES).optional().describe('with any rule, only what these name may be called'),
  deny: z.array(rule).max(MAX_OUTBOUND_RULES).optional().describe('never called'),
});

/**
 * The body of `PUT /api/v1/namespaces/{name}`. Every field is optional: on create, what is left out
 * takes its default; on update, it keeps its stored value (`labels` is replaced as a whole, as a
 * task's are).
 */
export const NamespaceSpecSchema = z.strictObject({
  description: z.string().max(2000).optional(),
  labels: TaskLabelsSchema.optional().describe('key/value labels, as a task\'s'),
  quotas: NamespaceQuotasSchema.optional(),
  outbound: NamespaceOutboundSchema.optional(),
});
export type NamespaceSpecInput = z.input<typeof NamespaceSpecSchema>;
export type NamespaceSpec = z.output<typeof NamespaceSpecSchema>;

/** The quotas in force: every field present, null where there is no limit. */
export const NamespaceQuotasResourceSchema = z.object({
  maxConcurrentRuns: z.number().int().nullable(),
  maxFiresPerMinute: z.number().int().nullable(),
  minIntervalMs: z.number().int(),
  maxTasks: z.number().int().nullable(),
  maxWorkflows: z.number().int().nullable(),
  allowedTargetTypes: z.array(z.enum(NAMESPACE_TARGET_TYPES)).nullable(),
  groupMaxConcurrentRuns: z.record(z.string(), z.number().int()).describe('the most runs of each named executor group at once; {} when none is limited'),
  containerImages: z.array(z.string()).nullable().describe('the images its container targets may use; null: any'),
});
export type NamespaceQuotas = z.output<typeof NamespaceQuotasResourceSchema>;

export const NamespaceUsageSchema = z.object({
  tasks: z.number().int(),
  workflows: z.number().int(),
  activeRuns: z.number().int().describe('runs not finished, those waiting for the run quota (throttled) apart'),
  throttledRuns: z.number().int().describe('runs waiting for the namespace\'s run quota (status throttled)'),
  firesLastMinute: z.number().int().describe('runs that fired in the last 60 s: admitted under the run quotas when the namespace has any, else created'),
});
export type NamespaceUsage = z.output<typeof NamespaceUsageSchema>;

const namespaceFields = {
  name: z.string(),
  description: z.string(),
  labels: z.record(z.string(), z.string()),
  quotas: NamespaceQuotasResourceSchema,
  outbound: z.object({ allow: z.array(z.string()), deny: z.array(z.string()) }),
  implicit: z.boolean().describe('true for a namespace never PUT (`default`, or one that holds tasks): it has the default settings'),
  createdAt: z.string().nullable().describe('ISO-8601 UTC; null when implicit'),
  updatedAt: z.string().nullable().describe('ISO-8601 UTC; null when implicit'),
};

/** A namespace as `GET`/`PUT /api/v1/namespaces/{name}` return it: its settings and current usage. */
export const NamespaceResourceSchema = z.object({ ...namespaceFields, usage: NamespaceUsageSchema });
export type NamespaceResource = z.output<typeof NamespaceResourceSchema>;

/** A namespace in `GET /api/v1/namespaces`: its settings, without usage (which costs a count per namespace). */
export const NamespaceListItemSchema = z.object(namespaceFields);
export type NamespaceListItem = z.output<typeof NamespaceListItemSchema>;

export const NamespaceListSchema = z.object({ items: z.array(NamespaceListItemSchema) });
export type NamespaceList = z.output<typeof NamespaceListSchema>;
