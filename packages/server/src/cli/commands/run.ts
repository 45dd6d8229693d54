import { type Command, Option } from 'commander';
import { SUBTASK_STATES, type RunLogResource, type RunResource, type SubtaskResource } from '@ecron/contracts';
import type { ApiClient } from '../api-client.ts';
import { type CliContext, collect, integerOption, listPages, moreHint } from '../command-support.ts';
import { PARAM_HELP, PARAM_OPTION_HELP, runParams } from '../run-params.ts';
import { followRunLog } from '../log-follow.ts';
import { formatDuration, printJson } from '../output.ts';
import { logLine, runDetails, runTable } from '../resource-views.ts';
import { mapLine, subtaskTable } from '../map-views.ts';
import { resolveTask } from '../task-ref.ts';
import { RUN_STATUSES } from '../vocabulary.ts';

function runPath(id: string, suffix = ''): string {
  return `/api/v1/runs/${encodeURIComponent(id)}${suffix}`;
}

interface LogPage {
  items: RunLogResource[];
  nextSeq?: number | null;
}

/**
 * Reads every log line after `afterSeq`, page by page, handing each page to `onPage`.
 * Returns the highest sequence number seen (or `afterSeq`) and the last page's `nextSeq`.
 */
async function drainLogs(api: ApiClient, runId: string, afterSeq: number | undefined, onPage: (items: RunLogResource[]) => void): Promise<{ afterSeq: number | undefined; nextSeq: number | null | undefined }> {
  let nextSeq: number | null | undefined;
  for (;;) {
    const page = await api.request<LogPage>({ path: runPath(runId, '/logs'), query: { afterSeq } });
    nextSeq = page.nextSeq;
    const items = (page.items ?? []).filter((item) => afterSeq === undefined || item.seq > afterSeq);
    if (items.length === 0) break;
    onPage(items);
    afterSeq = Math.max(...items.map((item) => item.seq));
  }
  return { afterSeq, nextSeq };
}

export function registerRunCommands(program: Command, ctx: CliContext): void {
  const run = program.command('run').description('inspect, follow and cancel runs');

  run.command('list')
    .description('list runs, newest first')
    .option('--task <ref>', 'only runs of this task (id, NAME or NAMESPACE/NAME)')
    .option('--namespace <namespace>', 'only this namespace')
    .addOption(new Option('--status <status>', 'only runs in this status').choices([...RUN_STATUSES]))
    .option('--from <instant>', 'only runs scheduled at or after this ISO-8601 instant')
    .option('--to <instant>', 'only runs scheduled before this ISO-8601 instant')
    .option('--limit <n>', 'runs per page', integerOption('--limit'))
    .option('--all', 'fetch every page')
    .action(async (options: { task?: string; namespace?: string; status?: string; from?: string; to?: string; limit?: number; all?: boolean }, command: Command) => {
      const session = ctx.open(command);
      const taskId = options.task === undefined ? undefined : (await resolveTask(session.api, options.task)).id;
      const page = await listPages<RunResource>(session.api, '/api/v1/runs',
        { taskId, namespace: options.namespace, status: options.status, from: options.from, to: options.to }, options);
      if (session.json) return printJson(ctx.io, page);
      ctx.io.stdout(page.items.length === 0 ? '(no runs)\n' : runTable(page.items));
      moreHint(session, page, 'runs');
    });

  run.command('get')
    .description('show a run and its attempts')
    .argument('<id>', 'run id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const found = await session.api.request<RunResource>({ path: runPath(id) });
      if (session.json) return printJson(ctx.io, found);
      ctx.io.stdout(runDetails(found));
      if (found.map) ctx.io.stdout(mapLine(found.map));
    });

  run.command('subtasks')
    .description('list the subtasks of a run that mapped (ctx.map), by index; the reduce is index -1')
    .argument('<id>', 'run id')
    .addOption(new Option('--state <state>', 'only subtasks in this state').choices([...SUBTASK_STATES]))
    .option('--limit <n>', 'subtasks per page', integerOption('--limit'))
    .option('--all', 'fetch every page')
    .action(async (id: string, options: { state?: string; limit?: number; all?: boolean }, command: Command) => {
      const session = ctx.open(command);
      const page = await listPages<SubtaskResource>(session.api, runPath(id, '/subtasks'), { state: options.state }, options);
      if (session.json) return printJson(ctx.io, page);
      ctx.io.stdout(page.items.length === 0 ? '(no subtasks)\n' : subtaskTable(page.items));
      moreHint(session, page, 'subtasks');
    });

  run.command('logs')
    .description('print the log of a run')
    .argument('<id>', 'run id')
    .option('--follow', 'keep printing lines as they are written until the run finishes (a live stream; reconnects if it drops)')
    .action(async (id: string, options: { follow?: boolean }, command: Command) => {
      const session = ctx.open(command);
      const { api } = session;
      // --json prints one JSON object per line while following, the whole page otherwise.
      const print = (items: RunLogResource[]): void => {
        for (const item of items) ctx.io.stdout(session.json ? `${JSON.stringify(item)}\n` : logLine(item));
      };
      if (!options.follow) {
        const all: RunLogResource[] = [];
        await api.request<RunResource>({ path: runPath(id) }); // RUN_NOT_FOUND before anything else
        const { nextSeq } = await drainLogs(api, id, undefined, (items) => all.push(...items));
        if (session.json) return printJson(ctx.io, { items: all, nextSeq: nextSeq ?? null });
        print(all);
        return;
      }
      const end = await followRunLog({
        api, runId: id, path: runPath(id, '/logs'), sleep: ctx.io.sleep,
        onLine: (line) => print([line]),
        onReconnect: ({ attempt, delayMs, reason }) => {
          if (!session.json) ctx.io.stderr(`(log stream interrupted: ${reason}; reconnecting in ${formatDuration(delayMs)}, try ${attempt})\n`);
        },
      });
      if (!session.json) ctx.io.stderr(`run ${id} ${end.status}${end.error ? `: ${end.error}` : ''}\n`);
    });

  run.command('rerun')
    .description('run a finished run again: a new run of its task with the same params, or edited ones')
    .argument('<id>', 'run id')
    .option('--param <key=value>', `${PARAM_OPTION_HELP}; set on top of the run's params`, collect)
    .option('--params <json>', 'the new run\'s params as a JSON object, in place of the run\'s (--param entries override it)')
    .addHelpText('after', PARAM_HELP)
    .action(async (id: string, options: { param?: string[]; params?: string }, command: Command) => {
      runParams(options); // usage errors before any request
      const session = ctx.open(command);
      const base = options.param?.length && options.params === undefined
        ? (await session.api.request<RunResource>({ path: runPath(id) })).params
        : undefined;
      const params = runParams(options, base);
      const result = await session.api.request<RunResource>({ method: 'POST', path: runPath(id, '/rerun'), body: params ? { params } : {} });
      if (session.json) return printJson(ctx.io, result);
      ctx.io.stdout(`run ${id} runs again as run ${result.id} (${result.status})\n`);
    });

  run.command('cancel')
    .description('cancel a run that has not finished')
    .argument('<id>', 'run id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const result = await session.api.request<RunResource | undefined>({ method: 'POST', path: runPath(id, '/cancel') });
      if (session.json) return printJson(ctx.io, result ?? { id, cancelled: true });
      ctx.io.stdout(`cancelled run ${id}${result?.status ? `; status: ${result.status}` : ''}\n`);
    });
}
