/**
 * The seam between the executor and the wire. A transport (HTTP or gRPC in push mode, the poll
 * loops of pull mode, the streams of stream mode) turns requests into calls on a {@link RunHost}
 * and answers with what it returns.
 */
import type { RunRequest, StatusReply } from '@ecron/contracts';
import type { SdkLogger } from './log.ts';
import type { RunExecution, RunOutcome } from './run-execution.ts';
import type { RunSelector } from './run-tracker.ts';
import type { GateResult } from './signature-gate.ts';

/** What a run request came to at the host. */
export type StartResult =
  /** A new run, or the same run+attempt+shard already in flight (a duplicate delivery joins it). */
  | { kind: 'started'; execution: RunExecution; joined: boolean }
  /** The same run+attempt+shard ended a moment ago: the transport answers its outcome again. */
  | { kind: 'recent'; outcome: RunOutcome }
  | { kind: 'no-handler'; message: string };

/**
 * A run request made ready to start (parsed, its handler found, its run and context built):
 * `start()` is all that is left at its instant (the duplicate check, then the handler's call).
 */
export type PreparedRun =
  /** `discard()`: it will not start (what it holds is let go). */
  | { kind: 'ready'; start(): StartResult; discard(): void }
  | { kind: 'no-handler'; message: string };

/** What the executor offers its transports. */
export interface RunHost {
  readonly log: SdkLogger;
  /** False once stop() began: new runs are refused (503). */
  readonly accepting: boolean;
  /** Checks a request's signature and nonce against the group's secret. */
  authenticate(body: string, signature: string | undefined): GateResult;
  /** `acceptDetached`: answer 202 as soon as the handler detaches. */
  startRun(request: RunRequest, options: { acceptDetached: boolean }): StartResult;
  /** What startRun does before the handler's call, now; the rest when the returned run's start() is called. */
  prepareRun(request: RunRequest, options: { acceptDetached: boolean }): PreparedRun;
  cancel(selector: RunSelector): number;
  status(selector: RunSelector): StatusReply;
  /** Tells listeners that a request was refused (tests and metrics). */
  refused(code: string, status: number): void;
}

export interface ExecutorTransport {
  readonly kind: 'http' | 'grpc' | 'pull' | 'stream';
  /** The API nodes' base URLs it follows (pull and stream: every live node of the cluster). */
  readonly nodes?: string[];
  /** Starts serving; resolves with the address to advertise (null for pull and stream). */
  start(): Promise<string | null>;
  /** Stops taking new runs; runs in flight go on. */
  quiesce(): Promise<void>;
  /** Closes everything once the runs in flight were answered or handed back. */
  close(): Promise<void>;
}

/** A structurally valid run request, or the reason it is not. */
export function parseRunRequest(value: unknown): RunRequest | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the body must be a JSON object';
  const body = value as Record<string, unknown>;
  for (const field of ['runId', 'taskId', 'namespace', 'task', 'scheduledAt'] as const) {
    if (typeof body[field] !== 'string') return `"${field}" must be a string`;
  }
  if (!isPositiveInteger(body.attempt)) return '"attempt" must be a positive integer';
  if (Number.isNaN(Date.parse(body.scheduledAt as string))) return '"scheduledAt" must be an ISO-8601 instant';
  if (body.deadline !== null && body.deadline !== undefined && (typeof body.deadline !== 'string' || Number.isNaN(Date.parse(body.deadline)))) {
    return '"deadline" must be an ISO-8601 instant or null';
  }
  const shard = body.shard as { index?: unknown; total?: unknown } | undefined;
  if (shard !== undefined && (typeof shard !== 'object' || shard === null || !Number.isInteger(shard.index) || !isPositiveInteger(shard.total)
    || (shard.index as number) < 0 || (shard.index as number) >= (shard.total as number))) {
    return '"shard" must be { index, total } with 0 <= index < total';
  }
  if (body.params !== undefined && (typeof body.params !== 'object' || body.params === null || Array.isArray(body.params))) return '"params" must be an object';
  const callback = body.callback as { url?: unknown; token?: unknown } | undefined;
  if (callback !== undefined && (typeof callback !== 'object' || callback === null || typeof callback.url !== 'string' || typeof callback.token !== 'string')) {
    return '"callback" must be { url, token }';
  }
  if (body.handler !== undefined && typeof body.handler !== 'string') return '"handler" must be a string';
  return {
    ...(body as unknown as RunRequest),
    params: (body.params as Record<string, unknown> | undefined) ?? {},
    shard: (shard as RunRequest['shard'] | undefined) ?? { index: 0, total: 1 },
    deadline: (body.deadline as string | null | undefined) ?? null,
    callback: (callback as RunRequest['callback'] | undefined) ?? { url: '', token: '' },
  };
}

/** The run+attempt(+shard) a cancel or status request names, or the reason it is invalid. */
export function parseSelector(value: unknown): RunSelector | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the body must be a JSON object';
  const body = value as Record<string, unknown>;
  if (typeof body.runId !== 'string') return '"runId" must be a string';
  if (!isPositiveInteger(body.attempt)) return '"attempt" must be a positive integer';
  const shard = body.shard;
  if (shard === undefined || shard === null) return { runId: body.runId, attempt: body.attempt };
  const index = typeof shard === 'number' ? shard : (shard as { index?: unknown }).index;
  if (!Number.isInteger(index) || (index as number) < 0) return '"shard" must be { index } (or a shard index)';
  return { runId: body.runId, attempt: body.attempt, shard: index as number };
}

function isPositiveInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}
