/** What a handler receives: the run it serves, a signal to stop, and ways to report. */
import type { RunRequest } from '@ecron/contracts';
import type { LogLevel } from './log.ts';

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
}

/** A handler: its return value (JSON) is the run's output; a throw or rejection fails the run. */
export type Handler<P = Record<string, unknown>, O = unknown> = (ctx: HandlerContext<P>) => O | Promise<O>;
