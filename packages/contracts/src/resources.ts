import { z } from 'zod';
import { duration } from './duration.ts';
import { ExecutorGroupNameSchema } from './executors.ts';
import type { TaskSpec } from './task-spec.ts';
import type { WorkflowSpec } from './workflow-spec.ts';
import type { MapSummary } from './map-reduce.ts';

/**
 * `no_executor`: waiting for a live node of its executor group (not final; no attempt in flight).
 * `throttled`: waiting for its namespace's quota (concurrent runs, fires per minute) before its
 * first attempt (not final; no attempt in flight).
 */
export const RUN_STATUSES = ['pending', 'no_executor', 'throttled', 'dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FINAL_RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'];
export const isFinalRunStatus = (status: RunStatus): boolean => FINAL_RUN_STATUSES.includes(status);

export const ATTEMPT_STATUSES = ['dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'lost'] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];

/** How a run came to be. */
export type RunTrigger = 'schedule' | 'manual';
export type TaskState = 'active' | 'paused' | 'completed';

/** A task as the API returns it. Instants are ISO-8601 UTC strings. */
export interface TaskResource {
  id: string;
  namespace: string;
  name: string;
  revision: number;
  state: TaskState;
  spec: TaskSpec;
  nextFireAt: string | null;
  lastFireAt: string | null;
  lastRunStatus: RunStatus | null;
  skippedFires: number;
  createdAt: string;
  updatedAt: string;
}

export interface AttemptResource {
  number: number;
  status: AttemptStatus;
  executor: string | null;
  startedAt: string;
  /** When the attempt reached its executor; null until then, or if it never did. */
  sentAt: string | null;
  finishedAt: string | null;
  error: string | null;
  output: unknown;
}

/** A run as the API returns it. */
export interface RunResource {
  id: string;
  taskId: string;
  namespace: string;
  taskName: string;
  taskRevision: number;
  trigger: RunTrigger;
  /** The workflow run this run is a node of (or is, for a workflow run itself); null otherwise. */
  workflowRunId: string | null;
  /** The workflow node this run executes; null unless it is a node's run. */
  nodeId: string | null;
  /** The backfill that created this run's fire; null otherwise. */
  backfillId: string | null;
  scheduledAt: string;
  status: RunStatus;
  attempt: number;
  attempts: AttemptResource[];
  params: Record<string, unknown>;
  progress: number | null;
  output: unknown;
  error: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** A run whose handler mapped (`ctx.map`): where its subtasks are (see docs/map-reduce.md). */
  map?: MapSummary;
}

/**
 * One event of the log, as `GET /api/v1/events` answers it, its SSE `data`, and a subscription's
 * message body: the fields every event has, then those of its type (status, attempt, error, …).
 * Instants are ISO-8601; absent fields are left out.
 */
export interface EventResource {
  seq: number;
  type: string;
  at: string;
  /** Null for cluster events (scheduler nodes, leases). */
  namespace: string | null;
  taskId?: string;
  runId?: string;
  workflowRunId?: string;
  [field: string]: unknown;
}

export interface RunLogResource {
  seq: number;
  attempt: number;
  at: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

/**
 * The roles in their order, least first: `viewer` reads; `operator` also triggers, cancels,
 * pauses, resumes and reruns; `editor` also creates, changes and deletes; `admin` also manages
 * tokens, namespaces and reads the audit log. Each may do all that the roles before it may.
 */
export const RANKED_TOKEN_ROLES = ['viewer', 'operator', 'editor', 'admin'] as const;
export type RankedTokenRole = (typeof RANKED_TOKEN_ROLES)[number];
/**
 * Every role a token may have: those of the order, and two outside it: `executor`, for the
 * credentials of executor nodes: register, heartbeat and take runs (`/api/v1/executors/{id}…`)
 * and `GET /api/v1/me`, nothing else; `metrics`, for a Prometheus scraper: `GET /metrics`,
 * nothing else.
 */
export const TOKEN_ROLES = ['admin', 'editor', 'operator', 'viewer', 'executor', 'metrics'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

export interface TokenResource {
  id: string;
  name: string;
  role: TokenRole;
  namespaces: string[];
  /**
   * The executor groups an `executor` token may act for, in each of its namespaces; null: every
   * group of its namespaces (and always for the other roles).
   */
  groups: string[] | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** When the token stops working; null: never. */
  expiresAt: string | null;
  /** True from `expiresAt` on: the token is refused as an unknown one would be. */
  expired: boolean;
}

/** A node of the cluster (`GET /api/v1/nodes`), with the buckets it leases now. */
export interface NodeResource {
  id: string;
  /** The URL its API answers at. */
  address: string | null;
  roles: string[];
  version: string;
  /**
   * The version of the tz database the node computes zone offsets with (`process.versions.tz` of
   * its Node.js binary); null for a node that does not report one (an older ecron release).
   */
  tzVersion: string | null;
  startedAt: string;
  /** Last heartbeat, on the store's clock. */
  heartbeatAt: string;
  /** The node is presumed dead after this instant without a heartbeat. */
  expiresAt: string;
  alive: boolean;
  /** Buckets whose unexpired lease it holds, ascending. */
  buckets: number[];
  /** Earliest expiry among those leases; null when it holds none. */
  leaseExpiresAt: string | null;
}

export interface NodeList {
  items: NodeResource[];
  /** How many buckets tasks hash into, and how many no live lease covers right now. */
  buckets: { total: number; unowned: number };
  /**
   * The cluster's tz database version: the one most live nodes report, a tie going to the oldest
   * node (see docs/cluster.md). A live node on another version takes no buckets. Null when no live
   * node reports one.
   */
  clusterTzVersion: string | null;
}

export interface AuditEntryResource {
  id: string;
  at: string;
  /** Who did it: `token:<id>` for an API token, `system` for the server itself. */
  actor: string;
  /** The name of the actor's token (revoked ones too), or null for an actor that is no token or a token no longer stored. */
  actorName: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  details: unknown;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** The longest life a token may be given: ten years, leap days included. */
export const MAX_TOKEN_LIFETIME_MS = 3653 * 86_400_000;

/** The issue code of `groups` given to a token whose role is not `executor`. */
export const GROUPS_NEED_EXECUTOR_ROLE = 'GROUPS_NEED_EXECUTOR_ROLE';

/**
 * `POST /api/v1/tokens`. `groups` narrows an `executor` token to those executor groups of its
 * namespaces (omitted: every group); any other role with `groups` is refused. A token expires at
 * `expiresAt`, or `expiresIn` after its creation; with neither, it never does. That `expiresAt`
 * lies in the future, and at most {@link MAX_TOKEN_LIFETIME_MS} away, is checked by the server
 * against its clock.
 */
export const CreateTokenSchema = z.strictObject({
  name: z.string().min(1).max(128),
  role: z.enum(TOKEN_ROLES).default('viewer'),
  namespaces: z.array(z.string().min(1).max(128)).max(100).default(['*']),
  groups: z.array(ExecutorGroupNameSchema).min(1).max(100).optional()
    .describe('role executor only: the executor groups the token may register nodes in and act for, in each of its namespaces; omitted: every group'),
  expiresAt: z.iso.datetime({ offset: true, error: 'expected an ISO-8601 instant such as "2026-12-01T00:00:00Z"' }).optional()
    .describe('when the token stops working: an instant in the future, at most ten years away'),
  expiresIn: duration({ min: 1000, max: MAX_TOKEN_LIFETIME_MS }).optional()
    .describe('how long after its creation the token stops working: a duration such as "30d" or "12h", at most ten years (3653d)'),
}).superRefine((body, ctx) => {
  if (body.expiresAt !== undefined && body.expiresIn !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['expiresIn'], message: 'give "expiresAt" or "expiresIn", not both', params: { ecronCode: 'FIELD_NOT_ALLOWED' } });
  }
  if (body.groups !== undefined && body.role !== 'executor') {
    ctx.addIssue({
      code: 'custom', path: ['groups'], params: { ecronCode: GROUPS_NEED_EXECUTOR_ROLE },
      message: `only a token of role executor may be limited to executor groups; this one is ${body.role}: leave "groups" out, or give role "executor"`,
    });
  }
});
export type CreateTokenInput = z.input<typeof CreateTokenSchema>;

export const TriggerSchema = z.strictObject({
  params: z.record(z.string(), z.unknown()).optional(),
});

/** A workflow as the API returns it (inline targets without their secrets): a task's fields, a workflow's spec. */
export type WorkflowResource = Omit<TaskResource, 'spec'> & { spec: WorkflowSpec };

export const WORKFLOW_RUN_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;
/** A workflow run's status: `pending` until it starts; a finished one is succeeded, failed or cancelled. */
export type WorkflowRunStatus = (typeof WORKFLOW_RUN_STATUSES)[number];

export const WORKFLOW_NODE_STATUSES = ['waiting', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'] as const;
export type WorkflowNodeStatus = (typeof WORKFLOW_NODE_STATUSES)[number];

/** One node of a workflow run. */
export interface WorkflowNodeResource {
  id: string;
  status: WorkflowNodeStatus;
  /** Why it was skipped (`upstream_failed`, `condition`, `cancelled`, `manual`) or failed without a run (`task_not_found`). */
  reason: string | null;
  /** Its latest run; null before it ran, or when it was marked by hand. */
  runId: string | null;
  /** Runs it was given in this workflow run (reruns included). */
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A workflow run as the API returns it; lists leave `nodes` out. */
export interface WorkflowRunResource {
  id: string;
  workflowId: string;
  workflowName: string;
  namespace: string;
  revision: number;
  trigger: RunTrigger;
  scheduledAt: string;
  status: WorkflowRunStatus;
  params: Record<string, unknown>;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  nodes?: WorkflowNodeResource[];
}

/** Most fires one backfill may create. */
export const MAX_BACKFILL_FIRES = 100_000;

/** The body of `POST /api/v1/tasks/{id}/backfill` (and of workflows). */
export const BackfillRequestSchema = z.strictObject({
  from: z.iso.datetime({ offset: true, error: 'expected an ISO-8601 instant such as "2026-12-01T00:00:00Z"' }).describe('first instant (inclusive)'),
  to: z.iso.datetime({ offset: true, error: 'expected an ISO-8601 instant such as "2026-12-01T00:00:00Z"' }).describe('last instant (inclusive); not in the future'),
  maxCount: z.number().int().min(1).max(MAX_BACKFILL_FIRES).default(1000).describe('refuse (BACKFILL_TOO_LARGE) when the range holds more fires'),
  concurrency: z.number().int().min(1).max(100).default(1).describe('runs of the backfill active at once, at most'),
});
export type BackfillRequest = z.input<typeof BackfillRequestSchema>;

export const BACKFILL_STATUSES = ['running', 'succeeded', 'cancelled', 'failed'] as const;

/** A backfill as the API returns it. */
export interface BackfillResource {
  id: string;
  taskId: string;
  namespace: string;
  from: string;
  to: string;
  concurrency: number;
  /** Fires of the schedule in the range. */
  total: number;
  /** Fires created, and instants skipped because they had a fire already. */
  created: number;
  skipped: number;
  /** The last instant handled; null before the first. */
  cursor: string | null;
  /** The runs it created: not ended yet, succeeded, and ended otherwise. */
  runs: { active: number; succeeded: number; failed: number };
  /** `running`; then `succeeded` when every run it created succeeded, else `failed`; or `cancelled`. */
  status: (typeof BACKFILL_STATUSES)[number];
  error: string | null;
  actor: string;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}
