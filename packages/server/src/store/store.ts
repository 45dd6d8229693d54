/**
 * The storage port. Every implementation (SQLite now; PostgreSQL and MySQL later) passes the
 * conformance suite in `conformance/`. Verbs speak the domain: no SQL, connection, transaction
 * or driver type crosses this interface. Instants are UTC epoch milliseconds.
 *
 * Batch verbs (`recordFires`, `startAttempts`, `finishAttempts`) run each call in ONE
 * transaction: the scheduler's throughput depends on it.
 */
import type { AttemptStatus, NamespaceSpec, RunStatus, TaskSpec, TaskState, TokenRole, WorkflowSpec } from '@ecron/contracts';
import type {
  AttemptRecord, AuditRecord, BackfillRecord, NamespaceRecord, RunLogRecord, RunRecord, ScheduledRecord, SessionRecord, TaskRecord, TaskRevisionRecord, TokenRecord, WorkflowRecord,
} from '../core/model.ts';
import type { WorkflowNodeRecord } from '../core/workflow/node-state.ts';
import type { WorkflowAction } from '../core/workflow/transaction.ts';
import type { AlertConfigVerbs } from './alerts-config.ts';
import type { AlertIncidentVerbs } from './alert-incidents.ts';
import type { AlertSilenceVerbs } from './alert-silences.ts';
import type { EventSubscriptionVerbs } from './event-subscriptions.ts';
import type { RunSubtaskVerbs } from './run-subtasks.ts';
import type { ExecutorGroupVerbs } from './executor-groups.ts';

export interface UpdateParams<S> {
  id: string; expectedRevision?: number; spec: S; nextFireAt: number | null; anchorAt: number; state: TaskState; at: number; audit: AuditInput;
}
export interface StateParams {
  id: string; state: TaskState; nextFireAt: number | null; at: number; audit: AuditInput;
}
export interface DeleteParams {
  id: string; at: number; audit: AuditInput;
}

/** Who did a management operation, and what: written to the audit log in the same transaction. */
export interface AuditInput {
  actor: string;
  action: string;
  details?: unknown;
}

export interface PageParams {
  /** Opaque cursor from a previous page's `nextCursor`. Throws INVALID_CURSOR when malformed. */
  cursor?: string | null;
  /** 1..1000 (`MAX_PAGE_LIMIT` in `pagination.ts`); anything else throws VALIDATION_FAILED. */
  limit: number;
}
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ListTasksParams extends PageParams {
  /** Only these namespaces (a token's scope); null or containing "*" means all. */
  namespaces?: string[] | null;
  namespace?: string;
  state?: TaskState;
  /** Exactly this name (in any namespace the other filters allow). */
  name?: string;
  /** Case-insensitive (ASCII) substring of the name; `%`, `_` and `\` match only themselves. */
  nameContains?: string;
  lastRunStatus?: RunStatus;
  /** Only tasks whose spec's labels hold every one of these pairs. */
  labels?: Record<string, string>;
}

/** A task's key: names are unique among tasks and workflows in a namespace. */
export interface TaskKey {
  namespace: string;
  name: string;
}

/**
 * One item of `upsertTasks`: a new task (its (namespace, name) expected free), or a new revision of
 * a task the caller read at `expectedRevision` (same namespace and name).
 */
export type TaskUpsert =
  | { op: 'create'; task: TaskRecord; audit: AuditInput }
  | { op: 'update'; update: UpdateParams<TaskSpec> & { expectedRevision: number } };

export interface UpsertTasksResult {
  /** The tasks as stored, in item order; empty when any item conflicted. */
  tasks: TaskRecord[];
  /**
   * The items whose expectation no longer held when the transaction ran: a create whose name is taken
   * now (TASK_NAME_TAKEN), an update of a task deleted (TASK_NOT_FOUND) or changed
   * (TASK_VERSION_CONFLICT) since it was read. When any item conflicted, nothing was written.
   */
  /** QUOTA_EXCEEDED: the create would pass its namespace's maxTasks (not a race: sending it again does not help). */
  conflicts: { index: number; code: 'TASK_NAME_TAKEN' | 'TASK_NOT_FOUND' | 'TASK_VERSION_CONFLICT' | 'QUOTA_EXCEEDED' }[];
}

/** An idempotency key of an API request and, once known, the first answer to it. */
export interface IdempotencyRecord {
  /** Whose key it is (the caller): keys of different callers never meet. */
  scope: string;
  key: string;
  /** A hash of the request the key was first used with. */
  fingerprint: string;
  /** The first answer's HTTP status and JSON body; null while the first request runs. */
  status: number | null;
  body: string | null;
  createdAt: number;
  expiresAt: number;
}

/** What a namespace holds now (`getNamespaceUsage`). */
export interface NamespaceUsageCounts {
  tasks: number;
  workflows: number;
  /** Runs of the namespace not finished (`finishedAt` null) and not `throttled`, workflow runs and node runs included. */
  activeRuns: number;
  /** Runs of the namespace waiting for its run quota (`throttled`). */
  throttledRuns: number;
  /**
   * Runs of the namespace that fired at or after `since`: in a namespace with run quotas, those
   * admitted since (its slots, `store/quota-admission.ts`); elsewhere those created since.
   */
  runsSince: number;
}

export interface ListRunsParams extends PageParams {
  namespaces?: string[] | null;
  taskId?: string;
  /** Only the runs of this workflow run's nodes. */
  workflowRunId?: string;
  /** Only workflow runs (true), or only task and node runs (false). */
  workflowRuns?: boolean;
  namespace?: string;
  status?: RunStatus;
  /** Any of these statuses (with `status`, both apply). */
  statuses?: RunStatus[];
  /** scheduledAt >= from */
  from?: number;
  /** scheduledAt < to */
  to?: number;
}

export interface ListAuditParams extends PageParams {
  action?: string;
  resourceId?: string;
}

/** A run to insert. Runs created already dispatched carry their first attempt. */
export interface NewRun extends Pick<RunRecord, 'id' | 'taskId' | 'namespace' | 'taskName' | 'taskRevision' | 'trigger' | 'scheduledAt' | 'params' | 'createdAt'> {
  /** The supervising scheduler node (see RunRecord.owner). @default null */
  owner?: string | null;
  /** See RunRecord.workflowRunId. @default null */
  workflowRunId?: string | null;
  /** See RunRecord.nodeId. @default null */
  nodeId?: string | null;
  /** See RunRecord.backfillId. @default null */
  backfillId?: string | null;
  /**
   * `pending` (waiting to be dispatched), `no_executor` (waiting for a live executor node),
   * `dispatched` (with `attempt`) or `skipped` (final). A `dispatched` run its namespace's run
   * quotas refuse is stored `throttled` instead (see `store/quota-admission.ts`).
   */
  status: 'pending' | 'no_executor' | 'throttled' | 'dispatched' | 'skipped';
  error?: string | null;
  /** Required when status is `dispatched`: attempt 1 starts in the same transaction. */
  attempt?: { executor: string | null; startedAt: number; deadlineAt: number | null };
  /** The executor group it goes to (executor and shell targets): for the group's run quota. Not stored. */
  executorGroup?: string | null;
}

/**
 * One task's fire(s), recorded atomically: the task's next fire advances from
 * `expectedNextFireAt` to `nextFireAt` by compare-and-set, and its runs are inserted under the
 * unique key (taskId, scheduledAt) of scheduled runs. A run whose key exists is silently not
 * inserted (a second scheduler firing the same instant is a no-op).
 */
export interface FireRecord {
  taskId: string;
  expectedNextFireAt: number;
  nextFireAt: number | null;
  /** Set when the task has no fire left (one-shot done, past endAt): becomes `completed`. */
  complete?: boolean;
  /** The task's new last fire; null leaves it as it was (a record of skipped fires only). */
  lastFireAt: number | null;
  skippedDelta: number;
  runs: NewRun[];
}
export interface FireResult {
  taskId: string;
  /**
   * False when the compare-and-set failed (the task changed, was paused or deleted, or another
   * node fired), or when the fence refused the fire.
   */
  recorded: boolean;
  /** True when the fire was refused because the caller no longer holds the task's bucket. */
  fenced?: boolean;
  /** The runs actually inserted. */
  runs: RunRecord[];
}

export interface StartAttemptParams {
  runId: string;
  /** The attempt being started: the run's current attempt + 1. */
  attempt: number;
  executor: string | null;
  startedAt: number;
  deadlineAt: number | null;
  /** The executor group the run goes to (executor and shell targets): for the group's run quota on attempt 1. */
  executorGroup?: string | null;
}

export type RunOutcome =
  | { kind: 'final'; status: Exclude<RunStatus, 'pending' | 'no_executor' | 'dispatched' | 'running'> }
  | { kind: 'retry'; nextAttemptAt: number }
  /** No live executor took the attempt: the run waits as `no_executor` (nextAttemptAt null) until one appears. */
  | { kind: 'no_executor' };

export interface FinishAttemptParams {
  runId: string;
  attempt: number;
  attemptStatus: Exclude<AttemptStatus, 'dispatched' | 'running'>;
  at: number;
  output?: unknown;
  error?: string | null;
  outcome: RunOutcome;
  /**
   * Applied in the same transaction when the run ends for good: sets the task's next fire when
   * it is currently null and the task is active (fixed-delay schedules).
   */
  taskNextFireAt?: number | null;
}

/**
 * What a transaction did to workflow runs, beyond the runs it ended (see `core/workflow/`): the
 * caller sends the runs it activated (they are `pending`, attempt 0, owned by the owner of the
 * run that ended, or by the given owner), tells the owner of a workflow run it ended or reopened,
 * and cancels the node runs of a workflow run that ended early.
 */
export interface WorkflowEffects {
  activated: RunRecord[];
  /** Workflow runs this transaction ended or reopened. */
  workflowRuns: RunRecord[];
  cancel: string[];
}
/** A run a verb ended, with what its end did to its workflow run (node runs and workflow runs only). */
export type EndedRun = RunRecord & { workflow?: WorkflowEffects };

export type ReportGate = 'accepted' | 'replayed' | 'superseded' | 'finished' | 'not_found';

export interface NewLogLine {
  runId: string;
  attempt: number;
  at: number;
  level: RunLogRecord['level'];
  message: string;
}

// ---- cluster ---------------------------------------------------------------------------------

/** A scheduler or API node of the cluster, as it registered itself. Instants are the store's clock. */
export interface ClusterNodeRecord {
  id: string;
  /** The URL its API answers at, when it runs the api role. */
  address: string | null;
  roles: string[];
  version: string;
  /**
   * The version of the tz database the node computes zone offsets with (`process.versions.tz`);
   * null when it reports none (an ecron release before tz versions were recorded).
   */
  tzVersion: string | null;
  startedAt: number;
  heartbeatAt: number;
  /** The node is dead once the store's clock passes this. */
  expiresAt: number;
}

/** An executor node of an executor group, as it registered itself. Instants are the store's clock. */
export interface ExecutorNodeRecord {
  id: string;
  /** The namespace of its group (group `g` of two namespaces is two groups). */
  namespace: string;
  group: string;
  mode: 'push' | 'pull';
  transport: 'http' | 'grpc';
  /** Where runs are sent (push mode); null in pull mode. */
  address: string | null;
  labels: Record<string, string>;
  weight: number;
  handlers: string[];
  version: string;
  /** Runs in flight on the node, as of its last heartbeat. */
  inflight: number;
  /**
   * Who registered it (the token's actor, `token:<id>`): only the same credential may heartbeat,
   * poll, answer or remove it while it lives. Null for a registration older than owners.
   */
  owner: string | null;
  /** First heartbeat of this registration (kept across heartbeats). */
  startedAt: number;
  heartbeatAt: number;
  /** The node leaves routing once the store's clock passes this. */
  expiresAt: number;
}

/** A bucket's lease: held by `owner` until `expiresAt` (store clock); `epoch` grows with each new holder. */
export interface BucketLease {
  bucket: number;
  owner: string;
  epoch: number;
  expiresAt: number;
}
export interface AcquiredLease extends BucketLease {
  /** True when this call started a new term (the bucket was free, expired or someone else's): runs of the bucket need adopting. */
  takenOver: boolean;
}
/** One term of one bucket's lease. */
export interface LeaseTerm {
  bucket: number;
  epoch: number;
}
/**
 * Fencing for `recordFires`: a fire is recorded only if its task's bucket is leased to `owner`
 * with the epoch given here, and the lease has not expired by the store's clock, checked in the
 * recording transaction.
 */
export interface Fence {
  owner: string;
  terms: LeaseTerm[];
}

/** Something other nodes may need to reload. */
export interface StoreChange {
  /**
   * `workflow`: a workflow run ended or was reopened, or a node run was activated for an owner
   * other than the node that activated it (its owner sends it).
   * `events`: the event log is numbered through seq `id` (PostgreSQL, by `sequenceEvents`): each
   * node's event log reads on at once instead of at its next poll.
   */
  kind: 'task' | 'run' | 'workflow' | 'events';
  id: string;
}
/**
 * One entry of the durable event log (issue 18): a state change, written by the store in the
 * transaction of the change (`store/event-triggers.ts`). `seq` orders the log: once a reader has
 * seen an event, no event with a lower seq can appear any more.
 */
export interface EventRecord {
  seq: number;
  /** When the change was written (ms, the store's clock). */
  at: number;
  /** `run.fired`, `run.succeeded`, `task.paused`, `workflow.node.failed`, `executor.joined`, `lease.moved`, … */
  type: string;
  /** Null for cluster events (scheduler nodes, leases). */
  namespace: string | null;
  taskId: string | null;
  runId: string | null;
  workflowRunId: string | null;
  /** The event's fields, with no null ones. */
  data: Record<string, unknown>;
}

/** Which events a reader wants; every field given must hold. */
export interface EventFilter {
  /** Events of these namespaces only; null or absent: every namespace. */
  namespaces?: readonly string[] | null;
  /** Whether events in no namespace (cluster events) are included. @default true */
  clusterEvents?: boolean;
  /** Event types: exact (`run.failed`) or a prefix ending in `.*` (`run.*`). */
  types?: readonly string[];
  taskId?: string;
  runId?: string;
  workflowRunId?: string;
}

export interface ChangeSubscription {
  close(): Promise<void>;
}

/**
 * Event subscriptions' verbs are declared with their records in `event-subscriptions.ts`; alert
 * channels' and rules' in `alerts-config.ts`; incidents' in `alert-incidents.ts`; silences' in
 * `alert-silences.ts`; executor group discovery's in `executor-groups.ts`.
 */
export interface Store extends EventSubscriptionVerbs, AlertConfigVerbs, AlertIncidentVerbs, AlertSilenceVerbs, RunSubtaskVerbs, ExecutorGroupVerbs {
  /** Applies pending migrations and takes whatever process-level lock the store needs. Idempotent. */
  open(): Promise<void>;
  close(): Promise<void>;
  /** Store time (the database clock) in epoch ms: leases compare against it. */
  now(): Promise<number>;

  // ---- tasks ----------------------------------------------------------------------------
  // Audit entries of task verbs have resourceType "task" and resourceId the task id.
  // Tasks and workflows share one table and these verbs: a name is unique among both in a
  // namespace. `getTask`, `getTaskByName` and `listTasks` see tasks only; the `Workflow` verbs and
  // `getScheduled` see workflows too.
  /** Throws EcronError TASK_NAME_TAKEN when (namespace, name) exists. Writes revision 1. */
  createTask<R extends ScheduledRecord>(p: { task: R; audit: AuditInput }): Promise<R>;
  getTask(id: string): Promise<TaskRecord | null>;
  getTaskByName(namespace: string, name: string): Promise<TaskRecord | null>;
  /** Ordered by (namespace, name). */
  listTasks(p: ListTasksParams): Promise<Page<TaskRecord>>;
  getWorkflow(id: string): Promise<WorkflowRecord | null>;
  getWorkflowByName(namespace: string, name: string): Promise<WorkflowRecord | null>;
  listWorkflows(p: Omit<ListTasksParams, 'lastRunStatus'> & { lastRunStatus?: RunStatus }): Promise<Page<WorkflowRecord>>;
  /** A task or a workflow. */
  getScheduled(id: string): Promise<ScheduledRecord | null>;
  /**
   * Replaces the spec, bumping the revision and writing a revision row. Throws TASK_NOT_FOUND,
   * TASK_VERSION_CONFLICT (expectedRevision given and different) or TASK_NAME_TAKEN.
   */
  updateTask(p: UpdateParams<TaskSpec>): Promise<TaskRecord>;
  /** As updateTask, for a workflow; throws WORKFLOW_NOT_FOUND. */
  updateWorkflow(p: UpdateParams<WorkflowSpec>): Promise<WorkflowRecord>;
  /** Pause, resume, complete. Throws TASK_NOT_FOUND. */
  setTaskState(p: StateParams): Promise<TaskRecord>;
  /** As setTaskState, for a workflow; throws WORKFLOW_NOT_FOUND. */
  setWorkflowState(p: StateParams): Promise<WorkflowRecord>;
  /** Deletes the task and its revisions; its runs stay as history. Throws TASK_NOT_FOUND. */
  deleteTask(p: DeleteParams): Promise<void>;
  /** As deleteTask, for a workflow; throws WORKFLOW_NOT_FOUND. */
  deleteWorkflow(p: DeleteParams): Promise<void>;
  listTaskRevisions(taskId: string): Promise<TaskRevisionRecord[]>;
  /** The tasks and workflows with these keys (those that exist), in no particular order. */
  getScheduledByNames(p: { keys: TaskKey[] }): Promise<ScheduledRecord[]>;
  /**
   * Creates and updates tasks in ONE transaction, all or nothing, with the audit entries, revision rows
   * and change notices each would get from `createTask` or `updateTask` (audit details as given).
   * Compare-and-set on what the caller read: a create whose (namespace, name) exists (a task or a
   * workflow), or an update of a task that is gone, is a workflow, or is at another revision, is a
   * conflict, and then nothing is written. Callers keep a call to a chunk (about a thousand items).
   */
  upsertTasks(p: { items: TaskUpsert[] }): Promise<UpsertTasksResult>;
  /** The tasks (not workflows) of these ids that exist, in no particular order. */
  getTasks(p: { ids: string[] }): Promise<TaskRecord[]>;
  /**
   * `setTaskState` for many tasks in ONE transaction: each item changes its task's state, next fire
   * and updatedAt as `setTaskState` would, with its audit entry, the change notice and the rows'
   * events (`task.paused` …). Items apply in order; an item whose task does not exist (or is a
   * workflow) changes nothing, writes no audit entry and answers null in its place, and the others
   * go on. Otherwise an item answers its task as the call left it. Callers keep a call to a chunk
   * (about five hundred items).
   */
  setTaskStates(p: { items: StateParams[] }): Promise<(TaskRecord | null)[]>;
  /**
   * `deleteTask` for many tasks in ONE transaction, in item order, with an audit entry, a change
   * notice and a `task.deleted` event for each task deleted. An item answers false when its task does
   * not exist (or is a workflow, or an earlier item of the call deleted it): nothing is written for it.
   */
  deleteTasks(p: { items: DeleteParams[] }): Promise<boolean[]>;
  /** One revision of a task or workflow; null when there is none (deleted, or no such revision). */
  getTaskRevision(p: { taskId: string; revision: number }): Promise<TaskRevisionRecord | null>;

  // ---- scheduling -----------------------------------------------------------------------
  /**
   * Active tasks whose next fire is ≤ `until` (and > `after` when given), earliest first (ties by
   * id). `after` lets a scheduler read only the slice of time its look-ahead newly covers.
   */
  listDueTasks(p: { until: number; after?: number; limit: number; /** Only tasks in these buckets (`core/buckets.ts`). */ buckets?: number[] }): Promise<ScheduledRecord[]>;
  /**
   * Results in input order. Fires are applied in order, so two fires of one task in a batch work
   * when the second expects the first's nextFireAt. A run that ends at once (`skipped`) sets the
   * task's lastRunStatus, as every run that ends does. With a `fence`, a fire whose task's bucket
   * is not leased to the fence's owner under the given epoch (or whose lease has expired by the
   * store's clock) records nothing and answers `fenced: true`; the check holds until commit (a
   * concurrent acquire of that bucket waits for, or is ordered before, this transaction).
   */
  recordFires(fires: FireRecord[], fence?: Fence): Promise<FireResult[]>;
  /**
   * A manual run (trigger), inserted with its audit entry (resourceType "run", resourceId the run
   * id). A `schedule` run whose fire is already recorded is not inserted: the existing run is
   * returned and no audit entry is written.
   */
  createRun(p: { run: NewRun; audit?: AuditInput }): Promise<RunRecord>;

  // ---- runs -----------------------------------------------------------------------------
  getRun(id: string): Promise<RunRecord | null>;
  /** Newest first (by id). */
  listRuns(p: ListRunsParams): Promise<Page<RunRecord>>;
  /** Attempts of these runs, ordered by run then attempt number. */
  listAttempts(runIds: string[]): Promise<AttemptRecord[]>;
  /** Runs in `pending`, `dispatched` or `running`, oldest first; optionally of one task. */
  listActiveRuns(p: { taskId?: string; limit: number; /** Only runs of tasks in these buckets. */ buckets?: number[] }): Promise<RunRecord[]>;
  /**
   * Starts attempts: run goes to `dispatched`, attempt row inserted, deadline set. Each item is
   * compare-and-set on (status IN (pending, no_executor), attempt = item.attempt − 1); a failed
   * CAS yields null.
   */
  startAttempts(items: StartAttemptParams[]): Promise<(RunRecord | null)[]>;
  /**
   * Records that attempts went out to their executors (sets sentAt where it is null), in one
   * transaction. Unknown or ended attempts are ignored.
   */
  markSent(items: { runId: string; attempt: number; at: number; /** The node the attempt went to (executor targets), replacing the recorded one. */ executor?: string }[]): Promise<void>;
  /** `dispatched` → `running` for the current attempt; null when stale. */
  markRunning(p: { runId: string; attempt: number; at: number }): Promise<RunRecord | null>;
  /**
   * Ends attempts. CAS on (run.attempt = attempt, attempt in flight: run `dispatched` or
   * `running`); null when stale, which includes an attempt already ended by a retry outcome. A
   * retry outcome puts the run back to `pending` with `nextAttemptAt`; a final one ends it and sets
   * the task's lastRunStatus.
   */
  finishAttempts(items: FinishAttemptParams[]): Promise<(EndedRun | null)[]>;
  /**
   * Ends a run that has no attempt in flight (a queued or backing-off run being cancelled or
   * skipped): CAS on `pending` or `no_executor`, null otherwise (and then no audit entry). Sets the task's
   * lastRunStatus. Audit: resourceType "run".
   */
  finishRun(p: { runId: string; status: 'cancelled' | 'skipped' | 'lost' | 'failed'; at: number; error?: string | null; audit?: AuditInput }): Promise<EndedRun | null>;

  // ---- workflow runs ---------------------------------------------------------------------
  // A workflow run is the run of a workflow's fire (`workflowRunId` = its id); its nodes are
  // stored apart. Every verb that ends a node's run (`finishAttempts`, `finishRun`) records the
  // node's end and activates its successors in the same transaction, under a lock on the workflow
  // run, so each node is activated exactly once (see `core/workflow/transaction.ts`).
  /** The nodes of a workflow run, in spec order; empty before it started. */
  listWorkflowNodes(workflowRunId: string): Promise<WorkflowNodeRecord[]>;
  /**
   * Applies an event to a workflow run, in one transaction with its audit entry: `start` (its
   * nodes created, its roots activated; null when it had started already or has ended), `cancel`,
   * or a recovery action. Runs it activates are owned by `owner`. Throws RUN_NOT_FOUND, or the
   * planner's WORKFLOW_* codes.
   */
  actOnWorkflowRun(p: { runId: string; action: WorkflowAction; at: number; owner: string | null; audit?: AuditInput }): Promise<{ run: RunRecord; effects: WorkflowEffects } | null>;
  /**
   * Gate for callback reports: accepts `seq` only if it is greater than every seq seen for the
   * run's current attempt, the attempt is current and in flight, and the run is not final. Stores
   * progress (null or absent keeps the last). `finished` wins over `superseded`, which wins over
   * `replayed`; a pending run (between attempts) answers `superseded`.
   */
  acceptReport(p: { runId: string; attempt: number; seq: number; progress?: number | null }): Promise<ReportGate>;
  /**
   * Appends log lines (seq assigned per run: 1, 2, … in the order given). Lines past the per-run
   * cap are dropped after one `warn` notice line; lines of unknown runs are dropped. Returns how
   * many of `lines` were stored (the notice is not counted).
   */
  appendRunLogs(lines: NewLogLine[]): Promise<number>;
  /** Lines with seq > afterSeq (default 0: from the start), in seq order. */
  listRunLogs(p: { runId: string; afterSeq?: number; limit: number }): Promise<RunLogRecord[]>;

  /**
   * History retention: deletes up to `limit` runs that ended before `finishedBefore`, with their
   * attempts and log lines, oldest ended first. Runs not yet ended are never deleted. Returns how
   * many runs were deleted. Tasks, their revisions and the audit log are not touched.
   */
  deleteHistory(p: { finishedBefore: number; limit: number }): Promise<number>;

  // ---- backfills --------------------------------------------------------------------------
  /** Audit: resourceType "backfill", resourceId its id. */
  createBackfill(p: { backfill: BackfillRecord; audit: AuditInput }): Promise<BackfillRecord>;
  getBackfill(id: string): Promise<BackfillRecord | null>;
  /** A task's or workflow's backfills, newest first; with `running`, every running backfill instead. */
  listBackfills(p: { taskId?: string; running?: boolean; limit: number }): Promise<BackfillRecord[]>;
  /**
   * Records progress or an end. Compare-and-set: only while the backfill is `running`, and, with
   * `owner`, held by that node (a node that lost it to an adopter changes nothing); null otherwise.
   * Audit (optional): resourceType "backfill".
   */
  updateBackfill(p: {
    id: string; owner?: string; at: number; audit?: AuditInput;
    patch: Partial<Pick<BackfillRecord, 'cursorAt' | 'created' | 'skipped' | 'status' | 'error' | 'finishedAt'>>;
  }): Promise<BackfillRecord | null>;
  /**
   * Running backfills whose owner is null or not in `liveNodeIds` become `nodeId`'s, by
   * compare-and-set on the owner each had. Returns those adopted.
   */
  adoptBackfills(p: { nodeId: string; liveNodeIds: string[] }): Promise<BackfillRecord[]>;
  /** The runs a backfill created, by where they are: not ended, succeeded, or ended otherwise. */
  countBackfillRuns(backfillId: string): Promise<{ active: number; succeeded: number; failed: number }>;

  // ---- cluster ---------------------------------------------------------------------------
  /**
   * Registers or refreshes a node: upserts it with heartbeatAt = the store's now and expiresAt =
   * now + ttlMs, and forgets nodes dead for more than an hour. Returns the stored record. Every
   * field given (tzVersion included) replaces the stored one, except startedAt, kept from the
   * first heartbeat of the row.
   */
  heartbeatNode(p: { node: Pick<ClusterNodeRecord, 'id' | 'address' | 'roles' | 'version' | 'tzVersion' | 'startedAt'>; ttlMs: number }): Promise<ClusterNodeRecord>;
  /** A node leaving cleanly: deletes it and ends its bucket leases at once, so others take them without waiting. */
  removeNode(p: { nodeId: string }): Promise<void>;
  /** Every node known, dead ones included (compare expiresAt with `now()`), ordered by id. */
  listNodes(): Promise<ClusterNodeRecord[]>;
  /** Every bucket lease ever taken, expired ones included, ordered by bucket. */
  listBucketLeases(): Promise<BucketLease[]>;
  /**
   * Takes or keeps buckets: a bucket with no lease, an expired lease, or a lease of `nodeId`
   * is leased to `nodeId` until now + ttlMs (store clock). A new term (epoch + 1, `takenOver`)
   * starts unless `nodeId` already held an unexpired lease. Buckets leased to another node and not
   * expired are left alone and not returned. Compare-and-set: of two nodes racing for one bucket,
   * exactly one gets it.
   */
  acquireBuckets(p: { nodeId: string; buckets: number[]; ttlMs: number }): Promise<AcquiredLease[]>;
  /** Extends the given terms to now + ttlMs; returns those still held (owner, epoch and unexpired). */
  renewBuckets(p: { nodeId: string; terms: LeaseTerm[]; ttlMs: number }): Promise<BucketLease[]>;
  /** Ends the given terms at once (only where owner and epoch still match). */
  releaseBuckets(p: { nodeId: string; terms: LeaseTerm[] }): Promise<void>;
  /**
   * Adopts orphaned runs: active runs of tasks in `buckets` whose owner is null or not in
   * `liveNodeIds` become `nodeId`'s, by compare-and-set on the owner each had, so that of two
   * nodes adopting at once each run goes to one. Returns the adopted runs, oldest first.
   */
  adoptRuns(p: { nodeId: string; buckets: number[]; liveNodeIds: string[]; limit: number }): Promise<RunRecord[]>;
  /**
   * Calls `listener` with changes made by any node, within about a second (after commit). Task
   * verbs publish `{ kind: 'task', id }` themselves in their transaction; `publishChanges` adds
   * others (a run ended by another node). A listener may also receive changes this store made.
   */
  watchChanges(listener: (changes: StoreChange[]) => void): Promise<ChangeSubscription>;
  publishChanges(changes: StoreChange[]): Promise<void>;
  /**
   * A secret every node of the cluster shares (the keys of executor signatures and callback
   * tokens): stores `candidate` under `name` unless a value is stored already, and returns the
   * stored value. The first node to start decides; concurrent callers all get the same value.
   */
  ensureSecret(p: { name: string; candidate: string }): Promise<string>;

  // ---- event log ----------------------------------------------------------------------------
  /**
   * Events with `after < seq <= through` (through: unbounded when absent) that match `filter`, in
   * seq order, at most `limit`. Only numbered events are read (see {@link sequenceEvents}).
   */
  readEvents(p: { after: number; through?: number; limit: number; filter?: EventFilter }): Promise<EventRecord[]>;
  /**
   * Numbers committed events that have no seq yet, in the order they were inserted, at most
   * `limit`, and returns how many it numbered. One caller at a time numbers (the others return 0
   * at once), so seqs are given in commit order of the numbering. SQLite numbers events as they
   * are inserted, and returns 0.
   */
  sequenceEvents(p: { limit: number }): Promise<number>;
  /** The highest seq given so far (0 for none); it never goes down, whatever retention deleted. */
  lastEventSeq(): Promise<number>;
  /** The lowest seq still kept (retention deletes from the lowest up); null when the log keeps none. */
  oldestEventSeq(): Promise<number | null>;
  /** Deletes events written before `before` (ms), lowest seq first, at most `limit`; returns how many. */
  deleteEvents(p: { before: number; limit: number }): Promise<number>;

  // ---- executor registry -----------------------------------------------------------------
  /**
   * Registers or refreshes an executor node: upserts it with heartbeatAt = the store's now and
   * expiresAt = now + ttlMs (startedAt stays that of the first heartbeat while the row lives), and
   * forgets executor nodes dead for more than an hour. Returns the stored record. A live node
   * registered by another owner, or in another namespace, is left as it is and returned as it is
   * (the caller compares its owner): a node id cannot be taken over while its registration lives.
   */
  heartbeatExecutor(p: { node: Omit<ExecutorNodeRecord, 'startedAt' | 'heartbeatAt' | 'expiresAt'>; ttlMs: number }): Promise<ExecutorNodeRecord>;
  /** A node leaving cleanly: deletes it at once. False when it was not registered. */
  removeExecutor(p: { id: string }): Promise<boolean>;
  /**
   * Marks the executor nodes whose lease has expired (the store's clock) as suspected, each once
   * until its next heartbeat clears the mark: the event log's `executor.suspected` and
   * `executor.recovered`. Any node may call it; returns how many it marked.
   */
  markSuspectedExecutors(): Promise<number>;
  /** Executor nodes, dead ones included (compare expiresAt with `now()`), ordered by group then id. */
  listExecutors(p?: { group?: string }): Promise<ExecutorNodeRecord[]>;

  // ---- tokens and audit -----------------------------------------------------------------
  /** Audit: resourceType "token", resourceId the token id. Every role and `expiresAt` (null or any instant) are kept as given. */
  createToken(p: { token: TokenRecord; audit: AuditInput }): Promise<TokenRecord>;
  /** Revoked and expired tokens too: the caller decides, on its clock, whether one is live. */
  findTokenByHash(secretHash: string): Promise<TokenRecord | null>;
  /** Oldest first. */
  listTokens(): Promise<TokenRecord[]>;
  /** Every token, revoked ones included (a store that ever had a token is not "first start"). */
  countTokens(): Promise<number>;
  /**
   * Throws TOKEN_NOT_FOUND. Idempotent on an already revoked token: no change, no audit entry.
   * With `keepLastAdmin`, throws LAST_ADMIN_TOKEN instead of revoking the last live admin token
   * for all namespaces (`*`), checked in the transaction of the revocation: two revocations that
   * race cannot both pass the check. Only admin tokens that never expire count, and only they are
   * kept: one that expires would leave nobody to manage the server once it had.
   */
  revokeToken(p: { id: string; at: number; audit: AuditInput; keepLastAdmin?: boolean }): Promise<TokenRecord>;
  /** Sets lastUsedAt, never moving it backwards. */
  touchToken(p: { id: string; at: number }): Promise<void>;
  appendAudit(entry: Omit<AuditRecord, 'id'> & { id?: string }): Promise<void>;
  /** Newest first. */
  listAudit(p: ListAuditParams): Promise<Page<AuditRecord>>;

  // ---- namespaces ------------------------------------------------------------------------
  // A namespace's stored settings (see `core/namespaces.ts`). Tasks name their namespace without
  // needing a row here: a namespace with no row has the default settings. Audit entries have
  // resourceType "namespace" and resourceId the name.
  /**
   * Creates namespace `name`, or changes it, with the fields `spec` gives (`applyNamespaceSpec`,
   * applied to the row as read in this transaction and locked, so that two partial changes at once
   * both take effect). Compare-and-set on existence: `exists` is whether the caller saw the
   * namespace stored; when that no longer holds (created or deleted since), nothing is written and
   * the answer is null.
   */
  putNamespace(p: { name: string; spec: NamespaceSpec; exists: boolean; at: number; audit: AuditInput }): Promise<NamespaceRecord | null>;
  getNamespace(name: string): Promise<NamespaceRecord | null>;
  /** The stored namespaces, by name (byte order); with `names`, only those among them. */
  listNamespaces(p?: { names?: readonly string[] | null }): Promise<NamespaceRecord[]>;
  /**
   * Deletes a namespace's stored settings. Throws NAMESPACE_NOT_EMPTY (details: counts of tasks and
   * workflows) while tasks or workflows name it, checked in the transaction of the delete, whether
   * or not it has a row. False when it had no row (nothing written). A task created in the namespace
   * while it is deleted may be missed by the check: the namespace then lives on implicitly, with the
   * default settings.
   */
  deleteNamespace(p: { name: string; at: number; audit: AuditInput }): Promise<boolean>;
  /**
   * What namespace `namespace` holds (whether or not it has a row): its tasks, workflows, runs not
   * finished and runs created since `since`. No index serves the last count: it reads the runs.
   */
  getNamespaceUsage(p: { namespace: string; since: number }): Promise<NamespaceUsageCounts>;

  // ---- idempotency keys ------------------------------------------------------------------
  /**
   * Takes `key` for a request: inserts it in progress (status null) and answers null, unless a row of
   * (scope, key) exists that has not expired by `at` and is not an abandoned claim (in progress and
   * created before `staleBefore`): then nothing changes and that row is returned. Of concurrent
   * claims of one key exactly one gets null (the primary key decides).
   */
  claimIdempotencyKey(p: { scope: string; key: string; fingerprint: string; at: number; expiresAt: number; staleBefore: number }): Promise<IdempotencyRecord | null>;
  /** Stores the first answer of a claimed key (only while it is in progress with this fingerprint). */
  completeIdempotencyKey(p: { scope: string; key: string; fingerprint: string; status: number; body: string }): Promise<void>;
  /** Lets a claimed key go (the request failed without an answer worth repeating), while it is in progress with this fingerprint. */
  releaseIdempotencyKey(p: { scope: string; key: string; fingerprint: string }): Promise<void>;
  /** Deletes up to `limit` keys that expired before `before`; returns how many. */
  deleteExpiredIdempotencyKeys(p: { before: number; limit: number }): Promise<number>;

  // ---- sessions (SSO sign-in) --------------------------------------------------------------
  // Kept in the store so that every API node accepts a session and a sign-out ends it on all of
  // them. Audit entries have resourceType "session" and resourceId the session id.
  /** Stores a new session (its secret's hash is unique) with its audit entry. */
  createSession(p: { session: SessionRecord; audit: AuditInput }): Promise<SessionRecord>;
  /** Expired sessions too: the caller decides, on its clock, whether one is live. */
  findSessionByHash(secretHash: string): Promise<SessionRecord | null>;
  /**
   * Ends a session: deletes it, with its audit entry, in one transaction. False when there was no
   * such session (nothing written): of two sign-outs that race, one gets true.
   */
  deleteSession(p: { id: string; at: number; audit: AuditInput }): Promise<boolean>;
  /** Deletes up to `limit` sessions that expired before `before` (no audit entry); returns how many. */
  deleteExpiredSessions(p: { before: number; limit: number }): Promise<number>;
}

/** Per-run cap on stored log lines; further lines are dropped and one notice line is kept. */
export const RUN_LOG_LINE_CAP = 10_000;
/**
 * Cap on the JSON size (UTF-8 bytes) of a run's or attempt's output; larger output is replaced by
 * `{ "truncated": true, "bytes": N }` (see `history-caps.ts`).
 */
export const OUTPUT_BYTES_CAP = 256 * 1024;

export type { TokenRole };
