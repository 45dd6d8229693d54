/**
 * The node's place in the executor registry: `PUT /api/v1/executors/{id}` registers it and is
 * repeated as the heartbeat (at the interval the server's reply names); `DELETE` takes it out of
 * routing at shutdown. A failed heartbeat is logged and tried again; it never throws. When the
 * configured server does not answer, the heartbeat goes to the other API nodes the executor knows
 * (a cluster whose node restarted elsewhere keeps the executor registered).
 */
import { EXECUTOR_HEARTBEAT_MS, type ExecutorHeartbeat, type ExecutorHeartbeatReply } from '@ecron/contracts';
import { apiRequest, type ApiConnection } from './api-request.ts';
import { EcronApiError, ExecutorError } from './errors.ts';
import { describeError, type SdkLogger } from './log.ts';

export interface RegistrationOptions {
  connection: ApiConnection;
  id: string;
  /** The heartbeat body as of now (handlers and inflight change). */
  body(): ExecutorHeartbeat;
  log: SdkLogger;
  onReply(reply: ExecutorHeartbeatReply, first: boolean): void;
  onFailure(error: Error): void;
  /** Other API nodes' base URLs (the cluster's, as discovered) to heartbeat when the configured server fails. */
  alternates?(): string[];
}

export class Registration {
  readonly #options: RegistrationOptions;
  #timer: NodeJS.Timeout | null = null;
  #beat: Promise<void> | null = null;
  #intervalMs = EXECUTOR_HEARTBEAT_MS;
  #stopped = false;

  constructor(options: RegistrationOptions) {
    this.#options = options;
  }

  get #path(): string {
    return `/api/v1/executors/${encodeURIComponent(this.#options.id)}`;
  }

  /** The first registration; throws EXECUTOR_REGISTRATION_FAILED with the server's code. */
  async register(): Promise<ExecutorHeartbeatReply> {
    try {
      const reply = await this.#put(this.#options.connection.timeoutMs);
      this.#options.onReply(reply, true);
      return reply;
    } catch (error) {
      const { connection, id } = this.#options;
      const reason = error instanceof EcronApiError
        ? `${error.status ? `HTTP ${error.status} ` : ''}${error.code}: ${error.message}${detailText(error.details)}`
        : describeError(error);
      throw new ExecutorError('EXECUTOR_REGISTRATION_FAILED', `executor ${id} could not register with ${connection.server}: ${reason}`, { cause: error });
    }
  }

  /** Heartbeats from now on, every `heartbeatMs` of the latest reply. */
  startHeartbeats(): void {
    if (!this.#stopped) this.#schedule();
  }

  /** Stops heartbeating; waits for a beat in flight so that none lands after the DELETE. */
  async stopHeartbeats(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#beat;
  }

  /** Leaves routing; a 404 (already gone) is fine, other failures are logged. */
  async deregister(): Promise<void> {
    try {
      await apiRequest(this.#options.connection, { method: 'DELETE', path: this.#path });
    } catch (error) {
      if (error instanceof EcronApiError && error.status === 404) return;
      this.#options.log('warn', 'could not leave the executor registry; the server drops the node when its heartbeats stop', { error: describeError(error) });
    }
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#beat = this.#heartbeat().finally(() => {
        this.#beat = null;
        if (!this.#stopped) this.#schedule();
      });
    }, this.#intervalMs);
  }

  async #heartbeat(): Promise<void> {
    const { connection } = this.#options;
    const servers = [connection.server, ...(this.#options.alternates?.() ?? []).filter((base) => base !== connection.server)];
    let failure: unknown = null;
    for (const server of servers) {
      try {
        this.#options.onReply(await this.#put(undefined, server), false);
        if (failure !== null) this.#options.log('info', 'heartbeat went to another API node', { node: server, error: describeError(failure) });
        return;
      } catch (error) {
        failure ??= error;
        // A refusal is the cluster's answer, the same on every node; only a node that did not answer is passed over.
        if (error instanceof EcronApiError && error.status !== undefined && error.status >= 400 && error.status < 500) break;
      }
    }
    this.#options.log('warn', 'heartbeat failed; trying again', { error: describeError(failure), code: (failure as EcronApiError).code });
    this.#options.onFailure(failure as Error);
  }

  /** One PUT; a heartbeat is useless once the next one is due, so its time is capped at the interval (at least 1 s). */
  async #put(timeoutMs = Math.min(this.#options.connection.timeoutMs, Math.max(this.#intervalMs, 1000)), server?: string): Promise<ExecutorHeartbeatReply> {
    const connection = server ? { ...this.#options.connection, server } : this.#options.connection;
    const reply = await apiRequest<ExecutorHeartbeatReply>(connection, { method: 'PUT', path: this.#path, body: this.#options.body(), timeoutMs });
    if (!reply || typeof reply.secret !== 'string') {
      throw new EcronApiError({ status: 200, code: 'UNEXPECTED_RESPONSE', message: 'the heartbeat reply has no secret' });
    }
    if (Number.isFinite(reply.heartbeatMs) && reply.heartbeatMs > 0) this.#intervalMs = Math.max(100, reply.heartbeatMs);
    return reply;
  }
}

/** ` (path: message; …)` from the field issues of a VALIDATION_FAILED answer (`details.issues`). */
function detailText(details: unknown): string {
  const list = Array.isArray(details) ? details : (details as { issues?: unknown } | null)?.issues;
  if (!Array.isArray(list) || list.length === 0) return '';
  const issues = list
    .map((issue: { path?: unknown; message?: unknown }) => (typeof issue?.message === 'string' ? `${issue.path ? `${String(issue.path)}: ` : ''}${issue.message}` : null))
    .filter((line) => line !== null);
  return issues.length ? ` (${issues.join('; ')})` : '';
}
