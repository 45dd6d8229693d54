/** The SDK's own diagnostics (not the run logs a handler writes with `ctx.log`). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Receives the SDK's diagnostics; plug in pino, console or anything else. */
export type SdkLogger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

export const silentLogger: SdkLogger = () => {};

/** One JSON line per message on stderr: the default when `ECRON_SDK_DEBUG` is set. */
export const stderrLogger: SdkLogger = (level, message, fields) => {
  process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), level, source: '@ecron/sdk', message, ...fields })}\n`);
};

/** The message of anything thrown, for logs and error answers. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name || 'error';
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
