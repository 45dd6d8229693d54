/**
 * The console's REST client: every call goes to the public API under `/api/v1` with the
 * session's bearer token, or, signed in with SSO, with the session cookie (which the browser
 * sends) and the session's CSRF token on unsafe requests. Errors become {@link ApiError} with the API's stable code and, for
 * validation failures, its field issues.
 */
import type {
  AuditEntryResource, ExecutorList, ExecutorResource, NamespaceList, NamespaceListItem, NamespaceResource, NamespaceSpecInput, NodeList, NodeResource, Page,
  RunLogResource, RunResource, TaskResource, TokenResource, TokenRole,
} from '@ecron/contracts';

import type { WorkflowResource, WorkflowRevision, WorkflowRunResource, WorkflowSpec } from './workflow/types.ts';

export type {
  AuditEntryResource, ExecutorList, ExecutorResource, NamespaceList, NamespaceListItem, NamespaceResource, NamespaceSpecInput, NodeList, NodeResource, Page,
  RunLogResource, RunResource, TaskResource, TokenResource, TokenRole,
};
export type { WorkflowResource, WorkflowRevision, WorkflowRunResource, WorkflowSpec };

const TOKEN_KEY = 'ecron.token';

export interface FieldIssue {
  path: string;
  code: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly issues: FieldIssue[];
  /** The error's `details` as the API sent them (`{ tasks, workflows }` of NAMESPACE_NOT_EMPTY), or {}. */
  readonly details: Record<string, unknown>;
  constructor(status: number, code: string, message: string, issues: FieldIssue[] = [], details: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.issues = issues;
    this.details = details;
  }
}

const SSO_KEY = 'ecron.sso';

export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => {
    sessionStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(SSO_KEY);
    csrfToken = null;
  },
  /**
   * Whether this browser signed in with SSO: the session is the httpOnly cookie, which scripts
   * cannot see, so a mark in localStorage says to ask `/me` for it (every tab shares the cookie).
   */
  sso: (): boolean => localStorage.getItem(SSO_KEY) === '1',
  setSso: () => localStorage.setItem(SSO_KEY, '1'),
};

/** The CSRF token of the SSO session (from `GET /me`), sent on unsafe requests. */
let csrfToken: string | null = null;
export function setCsrfToken(value: string | null): void {
  csrfToken = value;
}
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Called when the API answers 401: the token is gone or revoked. */
let onUnauthenticated: () => void = () => undefined;
export function setUnauthenticatedHandler(handler: () => void): void {
  onUnauthenticated = handler;
}

/**
 * How far the server's clock is ahead of this browser's, from the `Date` header of the last
 * answer (one-second resolution, so differences under 2 s count as none). Ages such as "last
 * heartbeat 3 s ago" are measured against the server's clock, which stamped the instant.
 */
let serverSkewMs = 0;
export const serverNow = (): number => Date.now() + serverSkewMs;

function noteServerClock(response: Response): void {
  const date = Date.parse(response.headers.get('date') ?? '');
  if (!Number.isFinite(date)) return;
  // The header is truncated to the second: the server's clock read somewhere in [date, date + 1 s).
  const skew = date + 500 - Date.now();
  serverSkewMs = Math.abs(skew) < 2000 ? 0 : skew;
}

export async function api<T>(method: string, path: string, body?: unknown, token = session.token()): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  else if (csrfToken && UNSAFE.has(method)) headers['x-csrf-token'] = csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, 'NETWORK', (error as Error).message);
  }
  noteServerClock(response);
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string; details?: { issues?: FieldIssue[] } & Record<string, unknown> } } | null)?.error;
    const apiError = new ApiError(response.status, error?.code ?? 'HTTP_' + response.status, error?.message ?? response.statusText, error?.details?.issues ?? [], error?.details ?? {});
    if (response.status === 401 && token === session.token()) onUnauthenticated();
    throw apiError;
  }
  return json as T;
}

/** A query string from the defined values of `params`. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

export interface Grant {
  role: TokenRole;
  /** `["*"]`: every namespace. */
  namespaces: string[];
  /** An executor token limited to executor groups: those groups; absent: every group. */
  groups?: string[];
}

export interface Me {
  actor: string;
  /** The highest role of the grants. */
  role: TokenRole;
  /** Every namespace of the grants. */
  namespaces: string[];
  /** Which role holds in which namespaces (a token has one grant). */
  grants?: Grant[];
  /** A signed-in user's name or email. */
  name?: string;
  /** Signed in with the session cookie: the header every unsafe request carries. */
  csrfToken?: string;
}

/** Whether sign-in with the identity provider is offered (`GET /auth/sso`, public). */
export interface SsoStatus {
  enabled: boolean;
  name?: string;
  loginUrl?: string;
}

export interface Stats {
  window: '1h' | '24h';
  from: string;
  to: string;
  runs: { total: number; byStatus: Record<string, number>; successRate: number | null };
  fireLagMs: { count: number; p50: number | null; p95: number | null; max: number | null };
  tasks: { total: number; byState: Record<string, number> };
  truncated: boolean;
}

export interface Preview {
  fires: string[];
  timezone: string;
}

export interface TaskRevision {
  revision: number;
  spec: Record<string, unknown>;
  createdAt: string;
  actor: string;
}

/**
 * Runs a finished run again: a new manual run of its task. `params` take the place of the run's
 * (they are not merged); without them the new run has the same params. The API answers 409
 * RUN_NOT_FINISHED while the run is active, and 404 TASK_NOT_FOUND when its task was deleted.
 */
export function rerunRun(id: string, params?: Record<string, unknown>): Promise<RunResource> {
  return api<RunResource>('POST', `/runs/${encodeURIComponent(id)}/rerun`, params ? { params } : {});
}

/**
 * Copies a task (its spec, target secret included) under another name, in `namespace` or the
 * task's own. The copy is a new task: revision 1, no runs. 409 TASK_NAME_TAKEN when the name is
 * in use; 400 VALIDATION_FAILED with issues on `name` or `namespace`.
 */
export function cloneTask(id: string, as: { name: string; namespace?: string }): Promise<TaskResource> {
  return api<TaskResource>('POST', `/tasks/${encodeURIComponent(id)}/clone`, as.namespace ? as : { name: as.name });
}

export const FINAL_STATUSES = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'];
export const RUN_STATUSES = ['pending', 'no_executor', 'throttled', 'dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'];


const workflowPath = (id: string) => `/workflows/${encodeURIComponent(id)}`;
const workflowRunPath = (id: string) => `/workflow-runs/${encodeURIComponent(id)}`;

/** Creates a workflow (201), or saves a new revision of one. 400 VALIDATION_FAILED with issues as `validateWorkflow`. */
export function saveWorkflow(spec: WorkflowSpec, id?: string): Promise<WorkflowResource> {
  return id ? api<WorkflowResource>('PUT', workflowPath(id), spec) : api<WorkflowResource>('POST', '/workflows', spec);
}

/**
 * Checks a spec without saving it: `{ ok: true, spec }` (defaults filled), or 400
 * VALIDATION_FAILED whose issues have paths such as `nodes[2].needs[0]` and codes such as
 * DEPENDENCY_CYCLE, SELF_DEPENDENCY, UNKNOWN_NODE, DUPLICATE_NODE_ID, TEMPLATE_NOT_ANCESTOR,
 * NODE_TARGET_REQUIRED.
 */
export function validateWorkflow(spec: unknown): Promise<{ ok: true; spec: WorkflowSpec }> {
  return api<{ ok: true; spec: WorkflowSpec }>('POST', '/workflows/validate', spec);
}

export function workflowAction(id: string, action: 'pause' | 'resume'): Promise<WorkflowResource> {
  return api<WorkflowResource>('POST', `${workflowPath(id)}/${action}`);
}

export function deleteWorkflow(id: string): Promise<void> {
  return api<void>('DELETE', workflowPath(id));
}

/** Starts a run now; `params` are sent only when given (the API merges them with the workflow's). */
export function triggerWorkflow(id: string, params?: Record<string, unknown>): Promise<WorkflowRunResource> {
  return api<WorkflowRunResource>('POST', `${workflowPath(id)}/trigger`, params && Object.keys(params).length ? { params } : {});
}

/** The spec of one revision: what a run of that revision follows. */
export function workflowRevision(id: string, revision: number): Promise<WorkflowRevision> {
  return api<WorkflowRevision>('GET', `${workflowPath(id)}/revisions/${revision}`);
}

/**
 * Recovery of a workflow run: cancel it, or run again its failed, timed-out and upstream-skipped
 * nodes and everything downstream of them (allowed while the run still runs). Each answers the run.
 */
export function workflowRunAction(id: string, action: 'cancel' | 'rerun-failed'): Promise<WorkflowRunResource> {
  return action === 'cancel'
    ? api<WorkflowRunResource>('POST', `${workflowRunPath(id)}/cancel`)
    : api<WorkflowRunResource>('POST', `${workflowRunPath(id)}/rerun`, { from: 'failed' });
}

/** One node of a workflow run: run it again (and what is downstream), mark it succeeded (with an output), or skip it. */
export function workflowNodeAction(runId: string, nodeId: string, action: 'rerun' | 'succeed' | 'skip', output?: unknown): Promise<WorkflowRunResource> {
  const body = action === 'succeed' && output !== undefined ? { output } : action === 'succeed' ? {} : undefined;
  return api<WorkflowRunResource>('POST', `${workflowRunPath(runId)}/nodes/${encodeURIComponent(nodeId)}/${action}`, body);
}

const namespacePath = (name: string) => `/namespaces/${encodeURIComponent(name)}`;

/** The stored namespaces and `default`, those the token's scope covers, by name; without usage. */
export function listNamespaces(): Promise<NamespaceList> {
  return api<NamespaceList>('GET', '/namespaces');
}

/** A namespace's settings and usage now. 404 NAMESPACE_NOT_FOUND when it is neither stored nor holds tasks or workflows. */
export function getNamespace(name: string): Promise<NamespaceResource> {
  return api<NamespaceResource>('GET', namespacePath(name));
}

/**
 * Creates a namespace or changes it (admin of that namespace). Partial: a field left out keeps its
 * stored value, a quota set to null goes back to its default. 400 VALIDATION_FAILED with issues at
 * paths such as `quotas.minIntervalMs`, `outbound.allow[1]` or `params.name`.
 */
export function putNamespace(name: string, spec: NamespaceSpecInput): Promise<NamespaceResource> {
  return api<NamespaceResource>('PUT', namespacePath(name), spec);
}

/** Deletes a namespace's stored settings. 409 NAMESPACE_NOT_EMPTY (details: tasks, workflows) while tasks or workflows name it. */
export function deleteNamespace(name: string): Promise<void> {
  return api<void>('DELETE', namespacePath(name));
}
