import { ERROR_CODES, type ErrorCode } from '@ecron/contracts';

/** An error with a stable code from the registry in `@ecron/contracts`. */
export class EcronError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message?: string, details?: unknown) {
    super(message ?? ERROR_CODES[code].message);
    this.name = 'EcronError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = details;
  }

  /** Works across duplicate copies of this module (a second install of the package). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { name?: unknown }).name === 'EcronError'
      && typeof (value as { code?: unknown }).code === 'string';
  }
}
