/** A typed client of the ecron REST API (`/api/v1/…`) over the global fetch. */
import {
  MAX_BULK_ITEMS,
  type BackfillRequest, type BackfillResource, type BulkActionItemResult, type BulkActionResponse, type BulkTaskActionName, type ExecutorList, type Page,
  type RunLogResource, type RunResource, type RunStatus, type TaskBatchItemResult, type TaskBatchResponse, type TaskResource, type TaskSelector,
  type TaskSpecInput, type TaskState, type WorkflowResource, type WorkflowRunResource, type WorkflowSpec, type WorkflowSpecInput,
} from '@ecron/contracts';
import { apiRequest, parseBaseUrl, type ApiCall, type ApiConnection, type QueryValue } from './api-request.ts';
import { EcronApiError } from './errors.ts';
import { SDK_VERSION } from './version.ts';

export interface EcronClientOptions {
  /** Base URL of the ecron API, such as `http://127.0.0.1:7070`. */
  server: string;
  /** API bearer token; its role and namespaces decide what the calls may do. */
  token: string;
  /**
   * Per-request time limit in ms.
   * @default 30000
   */
  timeoutMs?: number;
  /** @default `@ecron/sdk/<version>` */
  userAgent?: string;
}

export interface ListTasksParams {
  namespace?: string;
  state?: TaskState;
  /** Exact name. */
  name?: string;
  /** Case-insensitive substring of the name. */
  q?: string;
  lastRunStatus?: RunStatus;
  /** Only tasks with these labels (all must match). */
  labels?: Record<string, string>;
  cursor?: string;
  limit?: number;
}

/** The tasks a bulk action names: by ids, or every task whose labels hold the selector's (in its namespace, when given). */
export type TaskTargets = { ids: string[] } | { selector: TaskSelector };

/** Specs per `tasks:batch` call of {@link TasksApi.upsertMany}. */
export const UPSERT_MANY_CHUNK = 1000;

export interface ListRunsParams {
  taskId?: string;
  namespace?: string;
  status?: RunStatus;
  /** Runs scheduled at or after this instant. */
  from?: string | Date;
  /** Runs scheduled before this instant. */
  to?: string | Date;
  cursor?: string;
  limit?: number;
}

export interface RunLogsParams {
  /** Only lines after this sequence number (pass the previous answer's `nextSeq`). */
  afterSeq?: number;
  limit?: number;
}

/**
 * A backfill's range and limits (`POST /api/v1/{tasks|workflows}/{id}/backfill`): `from` and `to`
 * are inclusive instants (ISO-8601 with a zone, or a Date), `to` not in the future. `maxCount`
 * (default 1000) refuses a larger range with BACKFILL_TOO_LARGE; `concurrency` (default 1) bounds
 * the backfill's runs active at once.
 */
export type BackfillParams = Omit<BackfillRequest, 'from' | 'to'> & { from: string | Date; to: string | Date };

export interface TasksApi {
  create(spec: TaskSpecInput): Promise<TaskResource>;
  get(id: string): Promise<TaskResource>;
  list(params?: ListTasksParams): Promise<Page<TaskResource>>;
  /** Replaces the spec (a new revision); with `revision`, refused (409) unless the task is at it. */
  update(id: string, spec: TaskSpecInput, options?: { revision?: number }): Promise<TaskResource>;
  delete(id: string): Promise<void>;
  /** Runs the task now; `params` are shallow-merged over the task's. Returns the run created. */
  trigger(id: string, params?: Record<string, unknown>): Promise<RunResource>;
  pause(id: string): Promise<TaskResource>;
  resume(id: string): Promise<TaskResource>;
  /** A copy of the task (its spec, target secret included) under another name, and namespace when given. */
  clone(id: string, as: { name: string; namespace?: string }): Promise<TaskResource>;
  /** Creates the task, or replaces the spec of the task with its namespace and name. */
  upsert(spec: TaskSpecInput): Promise<TaskResource>;
  /**
   * Creates or updates many tasks by namespace and name, through `POST /api/v1/tasks:batch` in calls of
   * `chunkSize` specs (default 1000, at most 10,000). One result per spec, in order: `{ id, action }`
   * (`created`, `updated` or `unchanged`) or `{ error: { code, message } }`. An invalid spec is its own
   * error; the call throws only when a whole request fails (then the calls before it stand).
   */
  upsertMany(specs: readonly TaskSpecInput[], options?: { chunkSize?: number }): Promise<TaskBatchItemResult[]>;
  /** Pauses many tasks: one result per task, `{ id, ok: true }` or `{ id, error }`, in order (of ids, or of the matches by namespace and name). */
  pauseMany(targets: TaskTargets): Promise<BulkActionItemResult[]>;
  /** Resumes many tasks, as {@link pauseMany}. */
  resumeMany(targets: TaskTargets): Promise<BulkActionItemResult[]>;
  /** Deletes many tasks (their runs stay as history), as {@link pauseMany}. */
  deleteMany(targets: TaskTargets): Promise<BulkActionItemResult[]>;
  /** Runs many tasks now, as {@link pauseMany}; each success names its `runId`. */
  triggerMany(targets: TaskTargets, params?: Record<string, unknown>): Promise<BulkActionItemResult[]>;
  /**
   * Starts a backfill: one fire for each instant the task's schedule had from `from` to `to`, each
   * with that instant as its scheduledAt (an instant that has a fire already is skipped). Refused
   * with BACKFILL_RANGE_INVALID, BACKFILL_EMPTY or BACKFILL_TOO_LARGE. Follow it with `backfills.get`.
   */
  backfill(id: string, params: BackfillParams): Promise<BackfillResource>;
  /** The task's backfills, newest first (the latest 100). */
  backfills(id: string): Promise<BackfillResource[]>;
}

export interface RunsApi {
  list(params?: ListRunsParams): Promise<Page<RunResource>>;
  get(id: string): Promise<RunResource>;
  cancel(id: string): Promise<RunResource>;
  /** Runs a finished run again: a new manual run of its task with its params, or with `params` in their place. */
  rerun(id: string, params?: Record<string, unknown>): Promise<RunResource>;
  logs(id: string, params?: RunLogsParams): Promise<{ items: RunLogResource[]; nextSeq: number }>;
}

export interface ListWorkflowsParams {
  namespace?: string;
  state?: TaskState;
  /** Case-insensitive substring of the name. */
  q?: string;
  lastRunStatus?: RunStatus;
  cursor?: string;
  limit?: number;
}

export interface ListWorkflowRunsParams {
  workflowId?: string;
  namespace?: string;
  /** The status of the workflow run's own run (`dispatched`: not started; `running`; `succeeded`; `failed`; `cancelled`). */
  status?: RunStatus;
  cursor?: string;
  limit?: number;
}

/** One stored revision of a workflow's spec. */
export interface WorkflowRevision {
  revision: number;
  /** The spec as validated then (defaults filled in, needs normalised, secrets of inline targets removed). */
  spec: WorkflowSpec;
  createdAt: string;
  /** Who wrote it: `token:<id>`, or `system`. */
  actor: string;
}

export interface WorkflowsApi {
  /** Stores a new workflow; an invalid spec (a cycle, an unknown node, a missing task…) throws VALIDATION_FAILED with each issue's code and path. */
  create(spec: WorkflowSpecInput): Promise<WorkflowResource>;
  /** Checks a spec as `create` would (task references included), storing nothing; returns it validated. */
  validate(spec: WorkflowSpecInput): Promise<{ ok: true; spec: WorkflowSpec }>;
  get(id: string): Promise<WorkflowResource>;
  list(params?: ListWorkflowsParams): Promise<Page<WorkflowResource>>;
  /** Replaces the spec (a new revision; runs in progress keep theirs); with `revision`, refused (409) unless the workflow is at it. */
  update(id: string, spec: WorkflowSpecInput, options?: { revision?: number }): Promise<WorkflowResource>;
  /** Deletes the workflow; its runs stay as history. */
  delete(id: string): Promise<void>;
  pause(id: string): Promise<WorkflowResource>;
  resume(id: string): Promise<WorkflowResource>;
  /** Runs the workflow now; `params` are shallow-merged over the workflow's. Returns the workflow run created, with its nodes. */
  trigger(id: string, params?: Record<string, unknown>): Promise<WorkflowRunResource>;
  /** Every revision of the workflow, oldest first. */
  revisions(id: string): Promise<WorkflowRevision[]>;
  revision(id: string, revision: number): Promise<WorkflowRevision>;
  /** Starts a backfill of the workflow, as `tasks.backfill` does: one workflow run for each instant of its schedule in the range. */
  backfill(id: string, params: BackfillParams): Promise<BackfillResource>;
  /** The workflow's backfills, newest first (the latest 100). */
  backfills(id: string): Promise<BackfillResource[]>;
}

export interface BackfillsApi {
  /** A backfill and its progress (`created` + `skipped` of `total`); `status` stays `running` until every fire was created and every run it created ended. */
  get(id: string): Promise<BackfillResource>;
  /** Stops creating fires (runs already started go on); BACKFILL_FINISHED when the backfill has already ended. */
  cancel(id: string): Promise<BackfillResource>;
}

export interface WorkflowRunsApi {
  /** Workflow runs, newest first, without their nodes. */
  list(params?: ListWorkflowRunsParams): Promise<Page<WorkflowRunResource>>;
  /** A workflow run with its nodes. */
  get(id: string): Promise<WorkflowRunResource>;
  /** Cancels the workflow run: its running nodes are cancelled, the others skipped. */
  cancel(id: string): Promise<WorkflowRunResource>;
  /** Runs the failed, timed-out, cancelled and upstream-skipped nodes again, and what follows them (WORKFLOW_NOTHING_TO_RERUN when none failed). */
  rerunFailed(id: string): Promise<WorkflowRunResource>;
  /** Runs one node again (WORKFLOW_NODE_RUNNING while it runs). */
  rerunNode(id: string, nodeId: string): Promise<WorkflowRunResource>;
  /** Marks one node succeeded with `output`: its successors go on as if it had produced it. */
  succeedNode(id: string, nodeId: string, output?: unknown): Promise<WorkflowRunResource>;
  /** Skips one node (reason `manual`); its successors treat it as succeeded with no output. */
  skipNode(id: string, nodeId: string): Promise<WorkflowRunResource>;
}

export interface ExecutorsApi {
  /** Executor nodes, all or of one group. */
  list(group?: string): Promise<ExecutorList>;
}

const enc = encodeURIComponent;
const isoOf = (at: string | Date): string => (at instanceof Date ? at.toISOString() : at);

/**
 * ```ts
 * const client = new EcronClient({ server: 'http://127.0.0.1:7070', token });
 * const task = await client.tasks.upsert({ name: 'nightly', schedule: { cron: '0 2 * * *' }, target });
 * ```
 * Every error answer throws an {@link EcronApiError} carrying the API's status, code and details.
 */
export class EcronClient {
  readonly tasks: TasksApi;
  readonly runs: RunsApi;
  readonly executors: ExecutorsApi;
  readonly workflows: WorkflowsApi;
  readonly workflowRuns: WorkflowRunsApi;
  readonly backfills: BackfillsApi;
  readonly #connection: ApiConnection;

  constructor(options: EcronClientOptions) {
    parseBaseUrl(options.server);
    this.#connection = {
      server: options.server,
      token: options.token,
      timeoutMs: options.timeoutMs ?? 30_000,
      userAgent: options.userAgent ?? `@ecron/sdk/${SDK_VERSION}`,
    };
    const call = <T>(method: ApiCall['method'], path: string, extra: Omit<ApiCall, 'method' | 'path'> = {}) =>
      this.request<T>({ method, path, ...extra });
    const backfill = (kind: 'tasks' | 'workflows', id: string, params: BackfillParams) =>
      call<BackfillResource>('POST', `/api/v1/${kind}/${enc(id)}/backfill`, { body: { ...params, from: isoOf(params.from), to: isoOf(params.to) } });
    const backfills = async (kind: 'tasks' | 'workflows', id: string) =>
      (await call<{ items: BackfillResource[] }>('GET', `/api/v1/${kind}/${enc(id)}/backfills`)).items;

    this.tasks = {
      create: (spec) => call('POST', '/api/v1/tasks', { body: spec }),
      get: (id) => call('GET', `/api/v1/tasks/${enc(id)}`),
      list: ({ labels, ...params } = {}) => call('GET', '/api/v1/tasks', {
        query: { ...params, label: labels ? Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',') : undefined },
      }),
      update: (id, spec, options = {}) => call('PUT', `/api/v1/tasks/${enc(id)}`, { body: spec, query: { revision: options.revision } }),
      delete: async (id) => {
        await call('DELETE', `/api/v1/tasks/${enc(id)}`);
      },
      trigger: (id, params) => call('POST', `/api/v1/tasks/${enc(id)}/trigger`, { body: params === undefined ? {} : { params } }),
      clone: (id, as) => call('POST', `/api/v1/tasks/${enc(id)}/clone`, { body: as }),
      pause: (id) => call('POST', `/api/v1/tasks/${enc(id)}/pause`),
      resume: (id) => call('POST', `/api/v1/tasks/${enc(id)}/resume`),
      upsert: (spec) => this.#upsert(spec),
      upsertMany: (specs, options = {}) => this.#upsertMany(specs, options.chunkSize ?? UPSERT_MANY_CHUNK),
      pauseMany: (targets) => this.#bulk('pause', targets),
      resumeMany: (targets) => this.#bulk('resume', targets),
      deleteMany: (targets) => this.#bulk('delete', targets),
      triggerMany: (targets, params) => this.#bulk('trigger', targets, params),
      backfill: (id, params) => backfill('tasks', id, params),
      backfills: (id) => backfills('tasks', id),
    };
    this.runs = {
      list: (params = {}) => call('GET', '/api/v1/runs', { query: { ...params } as Record<string, QueryValue> }),
      get: (id) => call('GET', `/api/v1/runs/${enc(id)}`),
      cancel: (id) => call('POST', `/api/v1/runs/${enc(id)}/cancel`),
      rerun: (id, params) => call('POST', `/api/v1/runs/${enc(id)}/rerun`, { body: params === undefined ? {} : { params } }),
      logs: (id, params = {}) => call('GET', `/api/v1/runs/${enc(id)}/logs`, { query: { ...params } }),
    };
    this.executors = {
      list: (group) => call('GET', '/api/v1/executors', { query: { group } }),
    };
    this.workflows = {
      create: (spec) => call('POST', '/api/v1/workflows', { body: spec }),
      validate: (spec) => call('POST', '/api/v1/workflows/validate', { body: spec }),
      get: (id) => call('GET', `/api/v1/workflows/${enc(id)}`),
      list: (params = {}) => call('GET', '/api/v1/workflows', { query: { ...params } }),
      update: (id, spec, options = {}) => call('PUT', `/api/v1/workflows/${enc(id)}`, { body: spec, query: { revision: options.revision } }),
      delete: async (id) => {
        await call('DELETE', `/api/v1/workflows/${enc(id)}`);
      },
      pause: (id) => call('POST', `/api/v1/workflows/${enc(id)}/pause`),
      resume: (id) => call('POST', `/api/v1/workflows/${enc(id)}/resume`),
      trigger: (id, params) => call('POST', `/api/v1/workflows/${enc(id)}/trigger`, { body: params === undefined ? {} : { params } }),
      revisions: async (id) => (await call<{ items: WorkflowRevision[] }>('GET', `/api/v1/workflows/${enc(id)}/revisions`)).items,
      revision: (id, revision) => call('GET', `/api/v1/workflows/${enc(id)}/revisions/${enc(String(revision))}`),
      backfill: (id, params) => backfill('workflows', id, params),
      backfills: (id) => backfills('workflows', id),
    };
    const node = (id: string, nodeId: string, verb: string) => `/api/v1/workflow-runs/${enc(id)}/nodes/${enc(nodeId)}/${verb}`;
    this.workflowRuns = {
      list: (params = {}) => call('GET', '/api/v1/workflow-runs', { query: { ...params } }),
      get: (id) => call('GET', `/api/v1/workflow-runs/${enc(id)}`),
      cancel: (id) => call('POST', `/api/v1/workflow-runs/${enc(id)}/cancel`),
      rerunFailed: (id) => call('POST', `/api/v1/workflow-runs/${enc(id)}/rerun`, { body: { from: 'failed' } }),
      rerunNode: (id, nodeId) => call('POST', node(id, nodeId, 'rerun')),
      succeedNode: (id, nodeId, output) => call('POST', node(id, nodeId, 'succeed'), { body: output === undefined ? {} : { output } }),
      skipNode: (id, nodeId) => call('POST', node(id, nodeId, 'skip')),
    };
    this.backfills = {
      get: (id) => call('GET', `/api/v1/backfills/${enc(id)}`),
      cancel: (id) => call('POST', `/api/v1/backfills/${enc(id)}/cancel`),
    };
  }

  /** Any other API call, with the same authentication and error mapping. */
  request<T>(call: ApiCall): Promise<T> {
    return apiRequest<T>(this.#connection, call);
  }

  async #upsertMany(specs: readonly TaskSpecInput[], chunkSize: number): Promise<TaskBatchItemResult[]> {
    if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_BULK_ITEMS) throw new RangeError(`chunkSize must be 1..${MAX_BULK_ITEMS}`);
    const results: TaskBatchItemResult[] = [];
    for (let start = 0; start < specs.length; start += chunkSize) {
      const answer = await this.request<TaskBatchResponse>({ method: 'POST', path: '/api/v1/tasks:batch', body: { items: specs.slice(start, start + chunkSize) } });
      results.push(...answer.items);
    }
    return results;
  }

  /** A bulk action; ids beyond the server's limit go in several calls. */
  async #bulk(action: BulkTaskActionName, targets: TaskTargets, params?: Record<string, unknown>): Promise<BulkActionItemResult[]> {
    const extra = params === undefined ? {} : { params };
    const path = `/api/v1/tasks:${action}`;
    if (!('ids' in targets)) return (await this.request<BulkActionResponse>({ method: 'POST', path, body: { selector: targets.selector, ...extra } })).items;
    const results: BulkActionItemResult[] = [];
    for (let start = 0; start < targets.ids.length; start += MAX_BULK_ITEMS) {
      const ids = targets.ids.slice(start, start + MAX_BULK_ITEMS);
      results.push(...(await this.request<BulkActionResponse>({ method: 'POST', path, body: { ids, ...extra } })).items);
    }
    return results;
  }

  async #upsert(spec: TaskSpecInput): Promise<TaskResource> {
    const namespace = spec.namespace ?? 'default';
    // Twice at most: a task deleted between our create and our lookup is created again.
    for (let round = 0; ; round++) {
      try {
        return await this.tasks.create(spec);
      } catch (error) {
        if (!(error instanceof EcronApiError) || error.code !== 'TASK_NAME_TAKEN') throw error;
        const page = await this.tasks.list({ namespace, name: spec.name, limit: 1 });
        const existing = page.items.find((task) => task.namespace === namespace && task.name === spec.name);
        if (existing) return this.tasks.update(existing.id, spec);
        if (round > 0) throw error;
      }
    }
  }
}
