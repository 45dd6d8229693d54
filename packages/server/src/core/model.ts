import type { AttemptStatus, NamespaceQuotas, RunStatus, RunTrigger, TaskSpec, TaskState, TokenRole, WorkflowSpec } from '@ecron/contracts';

/**
 * What tasks and workflows share: both are scheduled by the same machinery (buckets, fires,
 * misfire and overlap policies), from one table. Instants are UTC epoch milliseconds.
 */
interface ScheduledFields {
  id: string;
  namespace: string;
  name: string;
  revision: number;
  state: TaskState;
  /** The next nominal fire; null when the schedule has none (manual, finished, or waiting on fixed-delay). */
  nextFireAt: number | null;
  lastFireAt: number | null;
  lastRunStatus: RunStatus | null;
  /** Fires not made because of misfire or overlap policies, counted over the task's life. */
  skippedFires: number;
  /** The instant `every` schedules count from: creation or last schedule change. */
  anchorAt: number;
  createdAt: number;
  updatedAt: number;
}

/** A stored task. */
export interface TaskRecord extends ScheduledFields {
  kind: 'task';
  /** The validated spec, secrets included: never send it out without redaction. */
  spec: TaskSpec;
}

/** A stored workflow: a DAG of nodes fired as one (see `core/workflow/`). */
export interface WorkflowRecord extends ScheduledFields {
  kind: 'workflow';
  /** The validated spec, secrets of inline targets included. */
  spec: WorkflowSpec;
}

/** Whatever the scheduler fires: a task or a workflow. */
export type ScheduledRecord = TaskRecord | WorkflowRecord;

export interface TaskRevisionRecord {
  taskId: string;
  revision: number;
  spec: TaskSpec | WorkflowSpec;
  createdAt: number;
  actor: string;
}

export interface RunRecord {
  id: string;
  taskId: string;
  namespace: string;
  taskName: string;
  taskRevision: number;
  trigger: RunTrigger;
  /**
   * The workflow run this run belongs to: its own id for a workflow run (the run of a workflow's
   * fire), that run's id for a node's run; null for a task's own runs.
   */
  workflowRunId: string | null;
  /** The workflow node this run executes; null unless it is a node's run. */
  nodeId: string | null;
  /** The backfill that created this run's fire; null otherwise. */
  backfillId: string | null;
  scheduledAt: number;
  status: RunStatus;
  /** The current attempt number; 0 before the first dispatch. */
  attempt: number;
  params: Record<string, unknown>;
  progress: number | null;
  output: unknown;
  error: string | null;
  /** When the next attempt may start (retry backoff); null when not waiting. */
  nextAttemptAt: number | null;
  /** Deadline of the current attempt; null without a timeout. */
  deadlineAt: number | null;
  /** Highest callback report sequence number seen for the current attempt; -1 before any. */
  reportSeq: number;
  /**
   * The scheduler node supervising the run (dispatch, deadline, retries); null when none does yet
   * (created by a node without the scheduler role). Runs whose owner is dead are adopted by the
   * owner of their task's bucket.
   */
  owner: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface AttemptRecord {
  runId: string;
  number: number;
  status: AttemptStatus;
  executor: string | null;
  startedAt: number;
  /**
   * When the attempt reached its executor: the HTTP request was written to the executor's
   * connection, a pull-mode node's poll took it, or the gRPC call was started (a fan-out: when
   * its legs were planned). Null while it was only recorded (fires are recorded a little ahead of
   * their instant) or never got out. Recovery goes by the executor's own answer, not by this.
   */
  sentAt: number | null;
  finishedAt: number | null;
  error: string | null;
  output: unknown;
}

export interface RunLogRecord {
  runId: string;
  seq: number;
  attempt: number;
  at: number;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

export interface TokenRecord {
  id: string;
  name: string;
  role: TokenRole;
  namespaces: string[];
  /** Role `executor` only: the executor groups it may act for, in each of its namespaces; null: every group. */
  groups: string[] | null;
  /** SHA-256 of the secret, hex. The secret itself is never stored. */
  secretHash: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
  /** From this instant on the token is refused; null: it never expires. */
  expiresAt: number | null;
}

/** A role over some namespaces (`["*"]`: all), as a session holds them. */
export interface GrantRecord {
  role: TokenRole;
  namespaces: string[];
}

/**
 * The session of a user signed in through SSO (OpenID Connect). The cookie carries the secret;
 * only its SHA-256 is stored, as for tokens.
 */
export interface SessionRecord {
  id: string;
  /** SHA-256 of the cookie's secret, hex. */
  secretHash: string;
  /** `user:<subject or email>`: how audit entries and revisions name the user. */
  actor: string;
  /** The user's name or email, for display; null when the provider gave neither. */
  name: string | null;
  /** The roles the user's groups mapped to at sign-in. */
  grants: GrantRecord[];
  createdAt: number;
  /** From this instant on the session is refused. */
  expiresAt: number;
}

export interface AuditRecord {
  id: string;
  at: number;
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string | null;
  details: unknown;
}

/**
 * A backfill: the fires a task's or workflow's schedule would have had from `fromAt` to `toAt`
 * (both inclusive), created one after another by the scheduler node that owns it, at most
 * `concurrency` of its runs active at once. An instant that has a fire already is skipped.
 */
export interface BackfillRecord {
  id: string;
  taskId: string;
  namespace: string;
  fromAt: number;
  toAt: number;
  concurrency: number;
  /** Fires of the schedule in the range. */
  total: number;
  /** The last instant handled; null before the first. */
  cursorAt: number | null;
  created: number;
  skipped: number;
  /** `running` until every fire was created and every run it created ended (or it was cancelled). */
  status: 'running' | 'succeeded' | 'cancelled' | 'failed';
  error: string | null;
  /** The scheduler node creating its fires; adopted by another when it dies. */
  owner: string | null;
  actor: string;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/** Quotas as stored: those a namespace set, each with a value. */
export type NamespaceQuotaSettings = { [K in keyof NamespaceQuotas]?: NonNullable<NamespaceQuotas[K]> };

/**
 * A namespace's stored settings (one that was PUT). Only what was set is stored: a quota left out
 * takes its default when read (`core/namespaces.ts`), so that a default changed in a release applies
 * to every namespace that did not choose otherwise.
 */
export interface NamespaceRecord {
  name: string;
  description: string;
  labels: Record<string, string>;
  /** The quotas set; a quota put back to its default is left out. */
  quotas: NamespaceQuotaSettings;
  outbound: { allow: string[]; deny: string[] };
  createdAt: number;
  updatedAt: number;
}
