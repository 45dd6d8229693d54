/**
 * What the two importers (`ecron import crontab`, `ecron import cronjob`) share: the result they
 * return, the cron macros both formats accept, and the final check of every spec they produce
 * against `TaskSpecSchema`. Pure: no I/O.
 */
import { describeFieldIssues, TaskSpecSchema, toFieldIssues } from '@ecron/contracts';

/** One task an importer produced: its spec as `ecron task apply -f` takes it, and where it came from. */
export interface ImportedTask {
  /** `line 12` of a crontab, or `file#2` (the second document) of a manifest file. */
  source: string;
  spec: Record<string, unknown>;
  /** True when the task should be paused once created (a suspended CronJob). */
  paused?: boolean;
}

/**
 * Something an importer says about its input:
 * - `error`: a line or manifest that should have become a task and could not;
 * - `skipped`: a line that is not a task and whose effect a task cannot carry (`PATH=…`, `MAILTO=…`);
 * - `warning`: a task was made, but part of its source was not converted;
 * - `note`: what the user should know, nothing was lost (a `SHELL=` line was used).
 */
export interface ImportProblem {
  severity: 'error' | 'skipped' | 'warning' | 'note';
  /** `line 5`, or `file#2 (CronJob ops/backup)`. */
  where: string;
  message: string;
}

export interface ImportResult {
  tasks: ImportedTask[];
  problems: ImportProblem[];
}

/**
 * The cron macros of Vixie cron, cronie and Kubernetes, as 5-field expressions. `@reboot` is not
 * one: it has no schedule (the caller explains it).
 */
export const CRON_MACROS: Readonly<Record<string, string>> = Object.freeze({
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
});

/** The 5-field expression of a macro (in any case), or undefined when `word` is not one. */
export function cronOfMacro(word: string): string | undefined {
  return CRON_MACROS[word.toLowerCase()];
}

/** The issues of a spec against `TaskSpecSchema`, as one line; undefined when it is valid. */
export function specIssues(spec: Record<string, unknown>): string | undefined {
  const parsed = TaskSpecSchema.safeParse(spec);
  return parsed.success ? undefined : describeFieldIssues(toFieldIssues(parsed.error));
}

/** At most `max` characters, with `…` when cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
