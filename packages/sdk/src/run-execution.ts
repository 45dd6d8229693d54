/**
 * One run on this node (one shard of one attempt), from the request to its outcome, whatever
 * the transport. The transport sends {@link RunExecution.answer}; {@link RunExecution.finished}
 * says when the run no longer occupies the node.
 *
 * The first of these decides the answer: the handler returns or throws; it detaches (202 at
 * once for an unsharded push run, else the answer waits for succeed/fail); the deadline passes
 * (failed, `deadline exceeded`); or the executor hands the run back at shutdown.
 */
import { context } from '@opentelemetry/api';
import type { RunRequest } from '@ecron/contracts';
import type { AbortReason, DetachedRun, Handler, HandlerContext } from './context.ts';
import { describeError, type LogLevel, type SdkLogger } from './log.ts';
import { MapSession, type MapCallOptions } from './map-session.ts';
import { MAX_LOG_MESSAGE, type CallbackReporter } from './reports.ts';
import { startHandlerTrace, type HandlerTrace } from './tracing.ts';

/** `traceparent`: the handler's span, when recorded and the request carried a trace context (see tracing.ts). */
export type RunOutcome = ({ status: 'succeeded'; output: unknown } | { status: 'failed'; error: string }) & { traceparent?: string };
/** What the transport answers: an outcome, `accepted` (202, detached) or `handed-back` (shutdown). */
export type RunAnswer = RunOutcome | { status: 'accepted' } | { status: 'handed-back' };

export const HANDED_BACK_ERROR = 'handed back at shutdown';
export const DEADLINE_ERROR = 'deadline exceeded';
/** setTimeout's longest delay; a farther deadline is not armed (the scheduler still enforces it). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface RunExecutionOptions {
  request: RunRequest;
  handlerName: string;
  handler: Handler;
  reporter: CallbackReporter;
  /** Answer 202 as soon as the handler detaches (unsharded push runs). */
  acceptDetached: boolean;
  log: SdkLogger;
  /** Called once with the outcome, as soon as it is known (for status requests). */
  onOutcome(outcome: RunOutcome): void;
  /** For `ctx.map`'s calls to the server. */
  userAgent: string;
  timeoutMs: number;
}

export class RunExecution {
  readonly request: RunRequest;
  readonly key: string;
  readonly answer: Promise<RunAnswer>;
  /** Resolves when the run is over on this node (for detached runs: once the callback was told). */
  readonly finished: Promise<void>;
  /** Resolves when the outcome is decided, or the run handed back. */
  readonly whenSettled: Promise<void>;
  readonly #options: RunExecutionOptions;
  readonly #controller = new AbortController();
  #resolveAnswer!: (answer: RunAnswer) => void;
  #resolveFinished!: () => void;
  #resolveSettled!: () => void;
  #answered = false;
  #accepted = false;
  #detached: DetachedRun | null = null;
  /** The outcome is decided (or the run handed back): later outcomes are ignored. */
  #settled = false;
  #deadlineTimer: NodeJS.Timeout | null = null;
  /** The request's deadline (ms; NaN without one) and the handler's context, built before the start. */
  readonly #deadline: number;
  readonly #ctx: HandlerContext;
  /** The handler's trace span, when the request carried a `traceparent`. */
  #trace: HandlerTrace | null = null;
  /** `ctx.map`'s batches, once it was called. */
  #map: MapSession | null = null;

  constructor(options: RunExecutionOptions) {
    this.#options = options;
    this.request = options.request;
    this.key = runKey(options.request.runId, options.request.attempt, options.request.shard.index);
    this.answer = new Promise((resolve) => { this.#resolveAnswer = resolve; });
    this.finished = new Promise((resolve) => { this.#resolveFinished = resolve; });
    this.whenSettled = new Promise((resolve) => { this.#resolveSettled = resolve; });
    const { deadline } = options.request;
    this.#deadline = deadline ? Date.parse(deadline) : NaN;
    this.#ctx = this.#context(Number.isFinite(this.#deadline) ? new Date(this.#deadline) : null);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** True once the outcome is decided: the run no longer counts as in flight for shutdown. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Calls the handler (after the deadline check) in a later microtask. */
  start(): void {
    const deadline = this.#deadline;
    if (Number.isFinite(deadline)) {
      const wait = deadline - Date.now();
      if (wait <= 0) {
        this.#onDeadline();
        return;
      }
      if (wait <= MAX_TIMER_MS) this.#deadlineTimer = setTimeout(() => this.#onDeadline(), wait);
    }
    const ctx = this.#ctx;
    this.#options.reporter.announceRunning();
    const traced = startHandlerTrace(this.request, this.#options.handlerName);
    this.#trace = traced;
    const call = () => this.#options.handler(ctx);
    new Promise((resolve) => resolve(traced ? context.with(traced.context, call) : call())).then(
      (output) => {
        if (this.#map?.used) {
          // The map is sealed, and the attempt answers with its marker: the server ends the run.
          this.#map.seal().then((sealed) => this.#settle({ status: 'succeeded', output: sealed }), (error: unknown) => this.#settle({ status: 'failed', error: errorText(error) }));
        } else if (!this.#detached) {
          this.#settle(toOutcome(output));
        }
      },
      (error: unknown) => {
        // After detach, a rejection still fails the run unless succeed/fail came first.
        this.#settle({ status: 'failed', error: errorText(error) });
      },
    );
  }

  /** Aborts the handler's signal (the first reason wins). */
  abort(reason: AbortReason): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
  }

  /** The scheduler's connection closed before the answer was written. */
  connectionClosed(): void {
    if (!this.#accepted && !this.#settled) this.abort('connection-closed');
  }

  /** Shutdown after the grace period: abort, and answer `handed-back` (or fail a run already accepted). */
  handBack(): void {
    if (this.#settled) return;
    this.abort('shutdown');
    if (this.#accepted) {
      this.#settle({ status: 'failed', error: 'the executor stopped before the run finished' });
      return;
    }
    this.#settled = true;
    this.#resolveSettled();
    this.#clearDeadline();
    this.#trace?.end(HANDED_BACK_ERROR);
    this.#options.reporter.dropRunningNotice();
    void this.#options.reporter.flush().then(() => {
      this.#options.reporter.close();
      this.#answer({ status: 'handed-back' });
      this.#resolveFinished();
    });
  }

  #onDeadline(): void {
    this.#deadlineTimer = null;
    this.abort('deadline');
    this.#settle({ status: 'failed', error: DEADLINE_ERROR });
  }

  #clearDeadline(): void {
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = null;
  }

  #answer(answer: RunAnswer): void {
    if (this.#answered) return;
    this.#answered = true;
    this.#resolveAnswer(answer);
  }

  /** Decides the outcome once; flushes the logs, then answers (or tells the callback, after a 202). */
  #settle(decided: RunOutcome): Promise<void> {
    if (this.#settled) return this.finished;
    this.#trace?.end(decided.status === 'failed' ? decided.error : null);
    const traceparent = this.#trace?.traceparent;
    const outcome: RunOutcome = traceparent ? { ...decided, traceparent } : decided;
    this.#settled = true;
    this.#resolveSettled();
    this.#clearDeadline();
    this.#options.reporter.dropRunningNotice();
    this.#options.onOutcome(outcome);
    const { reporter } = this.#options;
    if (this.#accepted) {
      void reporter.finish(outcome).then(() => this.#resolveFinished());
    } else {
      void reporter.flush().then(() => {
        reporter.close();
        this.#answer(outcome);
        this.#resolveFinished();
      });
    }
    return this.finished;
  }

  #detach(): DetachedRun {
    if (this.#detached) return this.#detached;
    const ended = (which: string) => {
      this.#options.log('warn', `detached run ${which} after it had ended; ignored`, { runId: this.request.runId, attempt: this.request.attempt });
      return this.finished;
    };
    this.#detached = {
      succeed: (output?: unknown) => (this.#settled ? ended('succeed()') : this.#settle(toOutcome(output))),
      fail: (error: string | Error) => (this.#settled ? ended('fail()') : this.#settle({ status: 'failed', error: errorText(error) })),
    };
    if (this.#options.acceptDetached && !this.#settled) {
      this.#accepted = true;
      // The 202 marks the run running on the server.
      this.#options.reporter.dropRunningNotice();
      this.#answer({ status: 'accepted' });
    }
    return this.#detached;
  }

  #context(deadline: Date | null): HandlerContext {
    const { request } = this;
    const reporter = this.#options.reporter;
    return Object.freeze({
      runId: request.runId,
      taskId: request.taskId,
      namespace: request.namespace,
      task: request.task,
      handler: this.#options.handlerName,
      attempt: request.attempt,
      scheduledAt: new Date(request.scheduledAt),
      params: request.params ?? {},
      shard: Object.freeze({ index: request.shard.index, total: request.shard.total }),
      deadline,
      request,
      signal: this.#controller.signal,
      log: (message: string, level: LogLevel = 'info') => reporter.log(level, message),
      progress: (percent: number) => reporter.progress(percent),
      detach: () => this.#detach(),
      map: (items: Iterable<unknown> | AsyncIterable<unknown>, handler: string, options?: MapCallOptions) => {
        try {
          this.#map ??= new MapSession(request, { userAgent: this.#options.userAgent, timeoutMs: this.#options.timeoutMs });
        } catch (error) {
          return Promise.reject(error);
        }
        return this.#map.map(items, handler, options);
      },
    });
  }
}

export function runKey(runId: string, attempt: number, shard: number): string {
  return `${runId}#${attempt}#${shard}`;
}

/** The handler's value as an outcome: JSON-serializable (undefined becomes null), or a failure saying why not. */
function toOutcome(output: unknown): RunOutcome {
  try {
    const text = JSON.stringify(output);
    return { status: 'succeeded', output: text === undefined ? null : output };
  } catch (error) {
    return { status: 'failed', error: `the handler's result is not JSON: ${describeError(error)}` };
  }
}

function errorText(error: unknown): string {
  const text = describeError(error) || 'the handler failed';
  return text.length > MAX_LOG_MESSAGE ? `${text.slice(0, MAX_LOG_MESSAGE - 1)}…` : text;
}
