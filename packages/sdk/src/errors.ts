/**
 * The SDK's errors. Both classes keep `instanceof` working across duplicate copies of the SDK in
 * one process (a second install of the package) by checking a brand instead of the prototype.
 */
const API_ERROR_BRAND = Symbol.for('@ecron/sdk/EcronApiError');
const EXECUTOR_ERROR_BRAND = Symbol.for('@ecron/sdk/ExecutorError');

/**
 * An error answer of the ecron REST API (`{ error: { code, message, details } }`), or a request
 * that got no usable answer: `status` 0 with code `SERVER_UNREACHABLE`, or code
 * `UNEXPECTED_RESPONSE` when the answer was not the API's JSON.
 */
export class EcronApiError extends Error {
  /** HTTP status of the answer; 0 when there was none. */
  readonly status: number;
  /** The API's stable error code, such as `TASK_NOT_FOUND`. */
  readonly code: string;
  readonly details: unknown;
  readonly [API_ERROR_BRAND] = true;

  constructor(p: { status: number; code: string; message: string; details?: unknown; cause?: unknown }) {
    super(p.message, p.cause === undefined ? undefined : { cause: p.cause });
    this.name = 'EcronApiError';
    this.status = p.status;
    this.code = p.code;
    this.details = p.details;
  }

  /** Network failures, timeouts and 5xx answers may succeed when tried again. */
  get retryable(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[API_ERROR_BRAND] === true;
  }
}

export type ExecutorErrorCode =
  /** An option is missing or invalid. */
  | 'EXECUTOR_CONFIG_INVALID'
  /** The first registration with the server failed; `cause` is the {@link EcronApiError}. */
  | 'EXECUTOR_REGISTRATION_FAILED'
  /** A task declared with `executor.task()` could not be created or updated at start. */
  | 'EXECUTOR_TASK_SYNC_FAILED'
  /** The address to listen on is taken or not available. */
  | 'EXECUTOR_LISTEN_FAILED'
  /** A call that the executor's state does not allow (start twice, start after stop). */
  | 'EXECUTOR_STATE_INVALID'
  /** A handler name that is empty, too long, or declared twice. */
  | 'HANDLER_INVALID'
  /** `ctx.map` cannot be called here (a fan-out leg, a subtask, invalid arguments) or its subtasks could not be stored. */
  | 'MAP_INVALID';

/** A coded error of the executor itself (not of a run). */
export class ExecutorError extends Error {
  readonly code: ExecutorErrorCode;
  readonly [EXECUTOR_ERROR_BRAND] = true;

  constructor(code: ExecutorErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'ExecutorError';
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[EXECUTOR_ERROR_BRAND] === true;
  }
}
