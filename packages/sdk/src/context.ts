/** What a handler receives: the run it serves, a signal to stop, and ways to report. */
import type { RunRequest, SubtaskResult } from '@ecron/contracts';
import type { LogLevel } from './log.ts';
import type { MapCallOptions } from './map-session.ts';

/**
 * Why a run's `signal` was aborted (`ctx.signal.reason` is one of these strings):
 * - `cancelled`: the scheduler sent a cancel request (a user's cancel, an overlap policy, its
 *   own deadline);
 * - `deadline`: the run's deadline passed;
 * - `connection-closed`: the scheduler closed the connection before the answer (it gave up, or
 *   died; another node asks for the outcome later);
 * - `shutdown`: the executor is stopping and the grace period is over: the run is handed back.
 */
export type AbortReason = 'cancelled' | 'deadline' | 'connection-closed' | 'shutdown';

/** Ends a detached run; see {@link HandlerContext.detach}. Both resolve once the outcome is delivered (never reject). */
export interface DetachedRun {
  succeed(output?: unknown): Promise<void>;
  fail(error: string | Error): Promise<void>;
}

/** What a subtask handler's context adds: the subtask it runs. */
export interface SubtaskInfo {
  /** `<runId>#<index>` */
  readonly id: string;
  readonly index: number;
  /** The item given to `ctx.map`, as JSON. */
  readonly payload: unknown;
  /** 1 for the first try of this subtask; retries count up. */
  readonly tries: number;
}

/** What a reduce handler's context adds: the subtasks' results, read from the server page by page. */
export interface ReduceInput {
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Every ended subtask by index (failed ones too, with `continue`), fetched in pages as it is iterated. */
  readonly results: AsyncIterable<SubtaskResult>;
}

export interface HandlerContext<P = Record<string, unknown>> {
  readonly runId: string;
  readonly taskId: string;
  readonly namespace: string;
  /** The task's name. */
  readonly task: string;
  /** The handler this run was sent to. */
  readonly handler: string;
  /** 1 for the first attempt; retries count up. */
  readonly attempt: number;
  /** The nominal instant of the fire (or of the manual trigger). */
  readonly scheduledAt: Date;
  /** The task's params, merged with a trigger's. */
  readonly params: P;
  /** Which shard this is, for sharded tasks; `{ index: 0, total: 1 }` otherwise. */
  readonly shard: { readonly index: number; readonly total: number };
  /** When the attempt times out; null without a timeout. */
  readonly deadline: Date | null;
  /** The run request as the scheduler sent it (shell targets' `command`, `group`, `callback`…). */
  readonly request: RunRequest;
  /** Aborted on cancel, deadline, a closed connection or shutdown; `signal.reason` is an {@link AbortReason}. */
  readonly signal: AbortSignal;
  /** Appends a line to the run's log (sent to the server in batches). */
  log(message: string, level?: LogLevel): void;
  /** Records progress, 0 to 100 (the last value of each batch is sent). */
  progress(percent: number): void;
  /**
   * Finishes the run later, independently of the handler's promise: the executor answers 202 at
   * once (unsharded push runs) and reports the outcome to the callback when `succeed` or `fail`
   * is called; sharded and pull runs keep their answer open until then. What the handler
   * returns afterwards is ignored, but a rejection still fails the run if it was not ended yet.
   */
  detach(): DetachedRun;
  /**
   * Map/reduce: emits each of `items` (JSON) as a subtask for `handler`, which nodes of this
   * executor group that serve it (`handle(name, fn, { subtasks: true })`) claim and run. Calls
   * append; resolves once the items are stored. When this handler returns, the run waits for its
   * subtasks (and the reduce, `options.reduce`), and ends with the reduce's value, or with the
   * subtasks' counts without one. See docs/map-reduce.md.
   */
  map(items: Iterable<unknown> | AsyncIterable<unknown>, handler: string, options?: MapCallOptions): Promise<{ total: number }>;
  /** In a subtask handler: the subtask. */
  readonly subtask?: SubtaskInfo;
  /** In a reduce handler: the results to reduce. */
  readonly reduce?: ReduceInput;
}

/** A handler: its return value (JSON) is the run's output; a throw or rejection fails the run. */
export type Handler<P = Record<string, unknown>, O = unknown> = (ctx: HandlerContext<P>) => O | Promise<O>;
