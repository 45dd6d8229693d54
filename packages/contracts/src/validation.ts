import type { z } from 'zod';
import type { FieldIssue } from './errors.ts';

const ZOD_CODES: Record<string, string> = {
  invalid_type: 'INVALID_TYPE',
  unrecognized_keys: 'UNKNOWN_FIELD',
  too_small: 'OUT_OF_RANGE',
  too_big: 'OUT_OF_RANGE',
  invalid_format: 'INVALID_FORMAT',
  invalid_value: 'INVALID_VALUE',
  invalid_union: 'INVALID_VALUE',
  not_multiple_of: 'OUT_OF_RANGE',
};

/** Formats a JSON path as "schedule.cron" or "target.headers[\"x\"]" ("" for the root). */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** Turns zod issues into field issues with stable codes, one per unknown field. */
export function toFieldIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: formatPath([...path, key]), code: 'UNKNOWN_FIELD', message: `unknown field "${key}"` });
      continue;
    }
    const custom = issue.code === 'custom' ? (issue.params as { ecronCode?: string } | undefined)?.ecronCode : undefined;
    const code = custom ?? (issue.code === 'invalid_type' && /received undefined$/.test(issue.message) ? 'REQUIRED' : ZOD_CODES[issue.code] ?? 'INVALID_VALUE');
    const message = code === 'REQUIRED' ? 'is required' : issue.message;
    out.push({ path: formatPath(path), code, message });
  }
  return out;
}

/** One line per issue: "schedule.cron: invalid cron …". */
export function describeFieldIssues(issues: readonly FieldIssue[]): string {
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
}
