/**
 * Caps on what one run may write to history, shared by every store implementation so that all of
 * them store the same thing.
 */
import { OUTPUT_BYTES_CAP, RUN_LOG_LINE_CAP } from './store.ts';

/**
 * The JSON text to store for a run's or attempt's output: null for none (`undefined` or `null`),
 * `{"truncated":true,"bytes":N}` when the JSON is larger than {@link OUTPUT_BYTES_CAP} bytes of
 * UTF-8, and `{"unserializable":true}` when it is not JSON at all (a cycle, a BigInt).
 */
export function outputJson(output: unknown): string | null {
  if (output === undefined || output === null) return null;
  let json: string | undefined;
  try {
    json = JSON.stringify(output);
  } catch {
    return JSON.stringify({ unserializable: true });
  }
  if (json === undefined) return null;
  const bytes = Buffer.byteLength(json, 'utf8');
  return bytes > OUTPUT_BYTES_CAP ? JSON.stringify({ truncated: true, bytes }) : json;
}

/** The one line kept (level `warn`) when a run reaches {@link RUN_LOG_LINE_CAP} log lines. */
export function logCapNotice(cap: number = RUN_LOG_LINE_CAP): string {
  return `log cap of ${cap} lines reached; later lines dropped`;
}
