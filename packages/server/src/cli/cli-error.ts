/**
 * An error the CLI reports as one line `ecron: CODE: message` (with `--json`, as the API's
 * `{ "error": { code, message, details? } }`). `code` is a stable code: one of the
 * registry in `@ecron/contracts` (as the server answered it), or a CLI-side code.
 */
export class CliError extends Error {
  readonly code: string;
  readonly details: unknown;
  /** The process exit code: 1 for failures, 2 for usage errors. */
  readonly exitCode: number;

  constructor(code: string, message: string, options: { details?: unknown; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.details = options.details;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A usage error found after commander parsed the arguments (exit code 2). */
export function usageError(message: string): CliError {
  return new CliError('USAGE', message, { exitCode: 2 });
}
