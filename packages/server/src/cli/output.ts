import { CliError } from './cli-error.ts';

/** Where the CLI writes: the process's streams, or buffers in tests. */
export interface Output {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Prints a result as JSON, the only output of `--json`. */
export function printJson(out: Output, value: unknown): void {
  out.stdout(`${JSON.stringify(value ?? null, null, 2)}\n`);
}

/** An ISO-8601 instant without a zero millisecond part; `-` for none. */
export function formatInstant(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '-';
  return value.replace(/\.000Z$/, 'Z');
}

/** Milliseconds as `500ms`, `10s`, `5m`, `1h30m`, `2d`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1000 || ms % 1000 !== 0) return `${ms}ms`;
  let seconds = ms / 1000;
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (seconds >= size) {
      parts.push(`${Math.floor(seconds / size)}${unit}`);
      seconds %= size;
    }
  }
  return parts.join('');
}

/** A plain value for one table cell or key: value line. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** A compact table: upper-case headers, columns aligned with two spaces, no trailing blanks. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const clean = (cell: string): string => cell.replace(/[\r\n\t]+/g, ' ');
  const all = [headers.map((h) => h.toUpperCase()), ...rows.map((row) => row.map(clean))];
  const widths = headers.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd())
    .join('\n') + '\n';
}

/** `key: value` lines with the values aligned. */
export function formatKeyValues(entries: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...entries.map(([key]) => key.length + 1));
  return entries.map(([key, value]) => `${`${key}:`.padEnd(width)} ${value}`.trimEnd()).join('\n') + '\n';
}

/** Indents every line of a block of text. */
export function indent(text: string, by = '  '): string {
  return text.replace(/\n$/, '').split('\n').map((line) => (line ? by + line : line)).join('\n') + '\n';
}

interface Issue { path?: unknown; message?: unknown }

/** The lines written to stderr for a failure: `ecron: CODE: message`, then one line per issue. */
export function formatError(error: unknown): string {
  if (error instanceof CliError) {
    const issues = (error.details as { issues?: unknown } | null | undefined)?.issues;
    let message = error.message;
    if (Array.isArray(issues) && issues.length > 0) {
      // The server's message may be the issues joined with "; ": they are listed below instead.
      const joined = (issues as Issue[]).map((i) => (typeof i?.path === 'string' && i.path ? `${i.path}: ${String(i.message)}` : String(i?.message))).join('; ');
      if (message === joined) message = `the request is invalid (${issues.length} ${issues.length === 1 ? 'issue' : 'issues'})`;
    }
    let text = `ecron: ${error.code}: ${message}\n`;
    if (Array.isArray(issues)) {
      for (const issue of issues as Issue[]) {
        const path = typeof issue?.path === 'string' && issue.path !== '' ? issue.path : '(spec)';
        text += `  ${path}: ${typeof issue?.message === 'string' ? issue.message : formatValue(issue)}\n`;
      }
    }
    return text;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `ecron: INTERNAL: ${message}\n`;
}

/**
 * The text written to stderr for a failure under `--json`: the API's error form
 * `{ "error": { "code", "message", "details"? } }`, printed as `--json` prints results.
 */
export function formatJsonError(error: unknown): string {
  const { code, message, details } = error instanceof CliError
    ? error
    : { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error), details: undefined };
  return `${JSON.stringify({ error: { code, message, ...(details === undefined ? {} : { details }) } }, null, 2)}\n`;
}
