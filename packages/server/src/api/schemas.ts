/**
 * zod schemas of the REST API's parameters and answers. Request schemas validate; answer schemas
 * serialize (unknown keys are dropped) and feed `/openapi.json`. The task spec itself comes from
 * `@ecron/contracts`.
 */
import { ATTEMPT_STATUSES, RUN_STATUSES, ScheduleSchema, TOKEN_ROLES, WORKFLOW_NODE_STATUSES, WORKFLOW_RUN_STATUSES } from '@ecron/contracts';
import { z } from 'zod';
import { MAX_PAGE_LIMIT } from '../store/pagination.ts';
import { MapSummarySchema } from './map-schemas.ts';

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PREVIEW_COUNT = 100;

const instant = z.string().describe('ISO-8601 instant in UTC');
const isoQueryInstant = z.iso.datetime({ offset: true, error: 'expected an ISO-8601 instant such as "2026-12-01T00:00:00Z"' });
const TASK_STATES = ['active', 'paused', 'completed'] as const;

export const IdParams = z.strictObject({ id: z.string().min(1).max(128) });

/** `cursor` and `limit` of a listing's query. */
export const pageQuery = {
  cursor: z.string().max(1024).optional().describe('nextCursor of the previous page'),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(DEFAULT_PAGE_LIMIT),
};

const LABEL_PAIR = '[A-Za-z0-9][A-Za-z0-9._/-]{0,62}=[^,]*';
const LABEL_QUERY = new RegExp(`^${LABEL_PAIR}(,${LABEL_PAIR})*$`);

export const ListTasksQuery = z.strictObject({
  namespace: z.string().max(128).optional(),
  state: z.enum(TASK_STATES).optional(),
  name: z.string().max(128).optional().describe('exact name (case-sensitive; one task per namespace)'),
  q: z.string().max(128).optional().describe('case-insensitive substring of the name; `%` and `_` are plain characters'),
  lastRunStatus: z.enum(RUN_STATUSES).optional(),
  label: z.string().max(4096).regex(LABEL_QUERY, 'expected key=value pairs separated by commas, such as team=data,tier=gold').optional()
    .describe('only tasks with these labels: key=value pairs separated by commas (all must match)'),
  ...pageQuery,
});

/** The labels of a `label` query (`team=data,tier=gold`); undefined for none. */
export function parseLabelQuery(label: string | undefined): Record<string, string> | undefined {
  if (label === undefined || label === '') return undefined;
  return Object.fromEntries(label.split(',').map((pair) => {
    const at = pair.indexOf('=');
    return [pair.slice(0, at), pair.slice(at + 1)];
  }));
}

export const UpdateTaskQuery = z.strictObject({
  revision: z.coerce.number().int().min(1).optional().describe('refuse the update (409) unless the task is at this revision'),
});

export const PreviewQuery = z.strictObject({
  count: z.coerce.number().int().min(1).max(MAX_PREVIEW_COUNT).default(10),
});

export const ListRunsQuery = z.strictObject({
  taskId: z.string().max(128).optional(),
  workflowRunId: z.string().max(128).optional().describe('only the runs of this workflow run\'s nodes'),
  namespace: z.string().max(128).optional(),
  status: z.enum(RUN_STATUSES).optional(),
  from: isoQueryInstant.optional().describe('runs scheduled at or after this instant'),
  to: isoQueryInstant.optional().describe('runs scheduled before this instant'),
  ...pageQuery,
});

export const RunLogsQuery = z.strictObject({
  afterSeq: z.coerce.number().int().min(0).optional().describe('only lines after this sequence number'),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(500).describe('lines per page (not used by the stream)'),
  follow: z.stringbool().optional()
    .describe('1: answer with a Server-Sent Events stream of the lines as they are written (also chosen by "Accept: text/event-stream")'),
});

export const ListAuditQuery = z.strictObject({
  action: z.string().max(128).optional().describe('such as task.create'),
  resourceId: z.string().max(128).optional(),
  ...pageQuery,
});

export const SchedulePreviewBody = z.strictObject({
  schedule: ScheduleSchema,
  count: z.number().int().min(1).max(MAX_PREVIEW_COUNT).default(10),
  from: isoQueryInstant.optional().describe('list the fires strictly after this instant (exclusive: a fire exactly at "from" is not listed); default now'),
});

// ---- answers ----------------------------------------------------------------------------

export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.string().describe('stable machine-readable code'),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

export const TaskResourceSchema = z.object({
  id: z.string(),
  namespace: z.string(),
  name: z.string(),
  revision: z.number().int(),
  state: z.enum(TASK_STATES),
  spec: z.record(z.string(), z.unknown()).describe('the validated task spec, defaults filled in, secrets removed'),
  nextFireAt: instant.nullable(),
  lastFireAt: instant.nullable(),
  lastRunStatus: z.enum(RUN_STATUSES).nullable(),
  skippedFires: z.number().int(),
  createdAt: instant,
  updatedAt: instant,
});

export const TaskRevisionSchema = z.object({
  revision: z.number().int(),
  spec: z.record(z.string(), z.unknown()),
  createdAt: instant,
  actor: z.string(),
});

export const AttemptResourceSchema = z.object({
  number: z.number().int(),
  status: z.enum(ATTEMPT_STATUSES),
  executor: z.string().nullable(),
  startedAt: instant,
  sentAt: instant.nullable().describe('when the attempt reached its executor (request written to its connection, taken by a pull-mode poll, or gRPC call started); null until then, or if it never did'),
  finishedAt: instant.nullable(),
  error: z.string().nullable(),
  output: z.unknown(),
});

export const RunResourceSchema = z.object({
  id: z.string(),
  taskId: z.string(),
  namespace: z.string(),
  taskName: z.string(),
  taskRevision: z.number().int(),
  trigger: z.enum(['schedule', 'manual']),
  workflowRunId: z.string().nullable().describe('the workflow run this run is a node of (its own id for a workflow run); null otherwise'),
  nodeId: z.string().nullable().describe('the workflow node this run executes; null unless it is a node\'s run'),
  backfillId: z.string().nullable().describe('the backfill that created this run\'s fire; null otherwise'),
  scheduledAt: instant,
  status: z.enum(RUN_STATUSES),
  attempt: z.number().int(),
  attempts: z.array(AttemptResourceSchema),
  params: z.record(z.string(), z.unknown()),
  progress: z.number().nullable(),
  output: z.unknown(),
  error: z.string().nullable(),
  nextAttemptAt: instant.nullable(),
  createdAt: instant,
  startedAt: instant.nullable(),
  finishedAt: instant.nullable(),
  map: MapSummarySchema.optional().describe('only for a run whose handler mapped (ctx.map): its subtasks by state, see docs/map-reduce.md'),
});

export const RunLogResourceSchema = z.object({
  seq: z.number().int(),
  attempt: z.number().int(),
  at: instant,
  level: z.enum(['debug', 'info', 'warn', 'error']),
  message: z.string(),
});

export const TokenResourceSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(TOKEN_ROLES),
  namespaces: z.array(z.string()),
  groups: z.array(z.string()).nullable()
    .describe('role executor: the executor groups the token may act for, in each of its namespaces; null: every group (and for every other role)'),
  createdAt: instant,
  lastUsedAt: instant.nullable().describe('when the token was last used (recorded at most once a minute); null: never'),
  revokedAt: instant.nullable(),
  expiresAt: instant.nullable().describe('from this instant on the token is refused; null: never'),
  expired: z.boolean().describe('true from expiresAt on'),
});

export const NodeSchema = z.object({
  id: z.string(),
  address: z.string().nullable(),
  roles: z.array(z.string()),
  version: z.string(),
  tzVersion: z.string().nullable().describe('the tz database version of the node (process.versions.tz); null when it reports none'),
  startedAt: instant,
  heartbeatAt: instant,
  expiresAt: instant,
  alive: z.boolean(),
  buckets: z.array(z.number().int()),
  leaseExpiresAt: instant.nullable(),
});

export const NodeListSchema = z.object({
  items: z.array(NodeSchema),
  buckets: z.object({ total: z.number().int(), unowned: z.number().int() }),
  clusterTzVersion: z.string().nullable()
    .describe('the tz version most live nodes report (a tie goes to the oldest node); a live node on another version takes no buckets'),
});

export const ExecutorSchema = z.object({
  id: z.string(),
  namespace: z.string().describe('the namespace of its group: it runs only that namespace\'s tasks'),
  group: z.string(),
  mode: z.enum(['push', 'pull']),
  transport: z.enum(['http', 'grpc']),
  address: z.string().nullable().describe('where runs are sent (push mode); null in pull mode'),
  labels: z.record(z.string(), z.string()),
  weight: z.number().int(),
  handlers: z.array(z.string()).describe('handlers the node serves; none: it serves any'),
  version: z.string(),
  inflight: z.number().int().describe('runs in flight on the node, as of its last heartbeat'),
  startedAt: instant.describe('first heartbeat of this registration'),
  heartbeatAt: instant,
  expiresAt: instant.describe('the node leaves routing once the store\'s clock passes this'),
  alive: z.boolean(),
});

export const ExecutorListSchema = z.object({ items: z.array(ExecutorSchema) });

export const ExecutorHeartbeatReplySchema = z.object({
  id: z.string(),
  namespace: z.string(),
  group: z.string(),
  secret: z.string().describe('HMAC secret of the group: requests to the node are signed with it'),
  heartbeatMs: z.number().int().describe('heartbeat this often'),
  ttlMs: z.number().int().describe('the registration lapses this long after the last heartbeat'),
  expiresAt: instant,
});

export const AuditEntrySchema = z.object({
  id: z.string(),
  at: instant,
  actor: z.string().describe('token:<id> for an API token, system for the server itself'),
  actorName: z.string().nullable().describe('the name of the actor\'s token (revoked ones too); null when the actor is no token'),
  action: z.string(),
  resourceType: z.string(),
  resourceId: z.string().nullable(),
  details: z.unknown(),
});

export const PreviewSchema = z.object({
  fires: z.array(instant),
  timezone: z.string().describe('the IANA zone of a cron schedule, else UTC'),
});

export const ListWorkflowsQuery = z.strictObject({
  namespace: z.string().max(128).optional(),
  name: z.string().max(128).optional().describe('exact name'),
  state: z.enum(TASK_STATES).optional(),
  q: z.string().max(128).optional().describe('case-insensitive substring of the name'),
  lastRunStatus: z.enum(RUN_STATUSES).optional(),
  ...pageQuery,
});

export const ListWorkflowRunsQuery = z.strictObject({
  workflowId: z.string().max(128).optional(),
  namespace: z.string().max(128).optional(),
  status: z.enum(WORKFLOW_RUN_STATUSES).optional(),
  ...pageQuery,
});

export const WorkflowResourceSchema = TaskResourceSchema.extend({
  spec: z.record(z.string(), z.unknown()).describe('the validated workflow spec, defaults filled in, secrets of inline targets removed'),
});

export const WorkflowNodeResourceSchema = z.object({
  id: z.string(),
  status: z.enum(WORKFLOW_NODE_STATUSES),
  reason: z.string().nullable().describe('why it was skipped (upstream_failed, condition, cancelled, manual) or failed without a run (task_not_found)'),
  runId: z.string().nullable().describe('its latest run; null before it ran or when marked by hand'),
  attempts: z.number().int().describe('runs it was given in this workflow run, reruns included'),
  startedAt: instant.nullable(),
  finishedAt: instant.nullable(),
});

export const WorkflowRunResourceSchema = z.object({
  id: z.string(),
  workflowId: z.string(),
  workflowName: z.string(),
  namespace: z.string(),
  revision: z.number().int().describe('the workflow revision this run executes'),
  trigger: z.enum(['schedule', 'manual']),
  scheduledAt: instant,
  status: z.enum(WORKFLOW_RUN_STATUSES),
  params: z.record(z.string(), z.unknown()),
  error: z.string().nullable(),
  createdAt: instant,
  startedAt: instant.nullable(),
  finishedAt: instant.nullable(),
  nodes: z.array(WorkflowNodeResourceSchema).optional().describe('every node, in spec order (left out of lists)'),
});

export const pageOf = <T extends z.ZodType>(item: T) => z.object({
  items: z.array(item),
  nextCursor: z.string().nullable().describe('pass as cursor for the next page; null on the last page'),
});

/** Error answers every route may give; merged into each route's `response`. */
export const ERROR_RESPONSES = { '4xx': ErrorBodySchema, '5xx': ErrorBodySchema } as const;

/** The description of every read route that returns a spec: who sees header values (docs/security.md, F6). */
export const MASKED_HEADERS_NOTE = 'The values of an http target\'s headers (inline targets of workflow nodes too) read "***" unless the token may edit '
  + 'it: role editor or admin, with the namespace in its scope.';
