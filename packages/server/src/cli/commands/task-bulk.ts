/**
 * `ecron task apply -f FILE|DIR` (create or update many tasks through `tasks:batch`) and the bulk
 * forms of `task pause|resume|delete|trigger -l key=value` (through `tasks:pause` …). Each prints a
 * line per item and fails (exit code 1, ITEMS_FAILED) when any item failed.
 */
import type { BulkActionItemResult, BulkActionResponse, BulkTaskActionName, TaskBatchItemResult, TaskBatchResponse } from '@ecron/contracts';
import type { Command } from 'commander';
import { CliError, usageError } from '../cli-error.ts';
import type { CliContext } from '../command-support.ts';
import type { Session } from '../context.ts';
import { printJson } from '../output.ts';
import { loadSpecDocuments, type SpecDocument } from '../spec-file.ts';

/** Specs per request: well under the server's 10,000, so that progress shows and a request stays small. */
export const APPLY_CHUNK = 1000;

const PAST: Record<BulkTaskActionName, string> = { pause: 'paused', resume: 'resumed', delete: 'deleted', trigger: 'triggered' };

/** `team=data,tier=gold` (also given as several -l options) as labels; a usage error for anything else. */
export function parseSelector(values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of values.flatMap((value) => value.split(','))) {
    const at = pair.indexOf('=');
    if (at <= 0) throw usageError(`-l "${pair}": expected key=value (such as team=data)`);
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return labels;
}

function failedError(failed: number, total: number, what: string): CliError {
  return new CliError('ITEMS_FAILED', `${failed} of ${total} ${what} failed`, { details: { failed, total } });
}

const specName = (spec: Record<string, unknown>): string => `${typeof spec.namespace === 'string' ? spec.namespace : 'default'}/${String(spec.name ?? '?')}`;

export async function applySpecs(ctx: CliContext, command: Command, file: string): Promise<void> {
  const documents: SpecDocument[] = await loadSpecDocuments(file, ctx.io);
  const session: Session = ctx.open(command);
  const results: (TaskBatchItemResult & { source: string; task: string })[] = [];
  for (let start = 0; start < documents.length; start += APPLY_CHUNK) {
    const chunk = documents.slice(start, start + APPLY_CHUNK);
    const answer = await session.api.request<TaskBatchResponse>({ method: 'POST', path: '/api/v1/tasks:batch', body: { items: chunk.map((d) => d.spec) } });
    answer.items.forEach((item, i) => {
      const result = { ...item, source: chunk[i]!.source, task: specName(chunk[i]!.spec) };
      results.push(result);
      if (session.json) return;
      ctx.io.stdout('error' in item
        ? `error     ${result.task} (${result.source}): ${item.error.code}: ${item.error.message}\n`
        : `${item.action.padEnd(9)} ${result.task} (${item.id})\n`);
    });
    if (!session.json && documents.length > APPLY_CHUNK) ctx.io.stderr(`applied ${Math.min(start + APPLY_CHUNK, documents.length)} of ${documents.length}\n`);
  }
  const failed = results.filter((r) => 'error' in r).length;
  if (session.json) printJson(ctx.io, { items: results });
  else {
    const count = (action: string) => results.filter((r) => 'action' in r && r.action === action).length;
    ctx.io.stdout(`${count('created')} created, ${count('updated')} updated, ${count('unchanged')} unchanged, ${failed} failed\n`);
  }
  if (failed > 0) throw failedError(failed, results.length, 'specs');
}

export async function actOnSelected(ctx: CliContext, command: Command, action: BulkTaskActionName, p: {
  labels: Record<string, string>; namespace?: string; params?: Record<string, unknown>; yes?: boolean;
}): Promise<void> {
  const session = ctx.open(command);
  const selector = { labels: p.labels, ...(p.namespace ? { namespace: p.namespace } : {}) };
  const described = `${Object.entries(p.labels).map(([k, v]) => `${k}=${v}`).join(',')}${p.namespace ? ` in namespace ${p.namespace}` : ''}`;
  if (action === 'delete' && !p.yes) {
    if (!ctx.io.stdinIsTty) throw usageError(`deleting the tasks labelled ${described} needs --yes when standard input is not a terminal`);
    const answer = await ctx.io.prompt(`delete every task labelled ${described}? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('CANCELLED', 'nothing was deleted');
  }
  const answer = await session.api.request<BulkActionResponse>({
    method: 'POST', path: `/api/v1/tasks:${action}`, body: { selector, ...(p.params ? { params: p.params } : {}) },
  });
  const failed = answer.items.filter((item: BulkActionItemResult) => 'error' in item).length;
  if (session.json) printJson(ctx.io, answer);
  else {
    for (const item of answer.items) {
      ctx.io.stdout('error' in item ? `error     ${item.id}: ${item.error.code}: ${item.error.message}\n`
        : `${PAST[action].padEnd(9)} ${item.id}${item.runId ? ` run ${item.runId}` : ''}\n`);
    }
    ctx.io.stdout(answer.items.length === 0 ? `no task is labelled ${described}\n` : `${answer.items.length - failed} ${PAST[action]}, ${failed} failed\n`);
  }
  if (failed > 0) throw failedError(failed, answer.items.length, 'tasks');
}

export function addTaskApplyCommand(task: Command, ctx: CliContext): void {
  task.command('apply')
    .description('create or update the tasks of spec files (YAML documents or JSON), by namespace and name')
    .requiredOption('-f, --file <path>', 'a spec file (several YAML documents separated by ---, or a JSON object or array), a directory of *.yaml, *.yml and *.json files, or - for standard input')
    .action(async (options: { file: string }, command: Command) => applySpecs(ctx, command, options.file));
}
