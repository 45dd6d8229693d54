import { type Command, Option } from 'commander';
import type { RunResource, TaskResource } from '@ecron/contracts';
import { CliError, usageError } from '../cli-error.ts';
import { PARAM_HELP, PARAM_OPTION_HELP, runParams } from '../run-params.ts';
import { type CliContext, collect, integerOption, listPages, moreHint } from '../command-support.ts';
import { formatInstant, printJson } from '../output.ts';
import { taskDetails, taskLabel, taskTable } from '../resource-views.ts';
import { loadSpecFile } from '../spec-file.ts';
import { resolveTask, taskPath } from '../task-ref.ts';
import { RUN_STATUSES, TASK_STATES } from '../vocabulary.ts';
import { addBackfillCommand } from './backfill.ts';
import { actOnSelected, addTaskApplyCommand, parseSelector } from './task-bulk.ts';

const REF_HELP = 'task id, NAME or NAMESPACE/NAME';
const BULK_REF_HELP = `${REF_HELP} (or -l to select tasks by their labels)`;
const SELECTOR_HELP = 'act on every task with these labels: key=value[,key=value…] (repeatable; all must match)';

/** The one task named, or the selector of `-l`: exactly one of the two. */
function bulkOrSingle(ref: string | undefined, options: { selector?: string[] }): { ref: string } | { labels: Record<string, string> } {
  if (options.selector?.length) {
    if (ref !== undefined) throw usageError('give a task or -l labels, not both');
    return { labels: parseSelector(options.selector) };
  }
  if (ref === undefined) throw usageError('name a task, or select tasks with -l key=value');
  return { ref };
}

/** A fire as the preview lists it, with the local time in the task's zone when that is not UTC. */
function previewLine(fire: unknown, timezone: string | undefined): string {
  const at = typeof fire === 'string' ? fire : String((fire as { at?: unknown; scheduledAt?: unknown })?.at ?? (fire as { scheduledAt?: unknown })?.scheduledAt ?? JSON.stringify(fire));
  let line = formatInstant(at);
  if (timezone && timezone !== 'UTC') {
    try {
      const local = new Intl.DateTimeFormat('sv-SE', { timeZone: timezone, dateStyle: 'short', timeStyle: 'medium' }).format(new Date(at));
      line += `  (${local} ${timezone})`;
    } catch {
      // An unknown zone or instant: the UTC instant alone.
    }
  }
  return `${line}\n`;
}

export function registerTaskCommands(program: Command, ctx: CliContext): void {
  const task = program.command('task').description('create, list, change and trigger tasks');

  task.command('create')
    .description('create a task from a spec file (JSON or YAML)')
    .requiredOption('-f, --file <file>', 'the task spec; - reads standard input')
    .action(async (options: { file: string }, command: Command) => {
      const spec = await loadSpecFile(options.file, ctx.io);
      const session = ctx.open(command);
      const created = await session.api.request<TaskResource>({ method: 'POST', path: '/api/v1/tasks', body: spec });
      if (session.json) return printJson(ctx.io, created);
      ctx.io.stdout(`created task ${taskLabel(created)} (${created.id})\nnext fire: ${formatInstant(created.nextFireAt)}\n`);
    });

  task.command('list')
    .description('list tasks')
    .option('--namespace <namespace>', 'only this namespace')
    .addOption(new Option('--state <state>', 'only tasks in this state').choices([...TASK_STATES]))
    .option('--name <name>', 'only tasks with exactly this name (one per namespace)')
    .option('--search <text>', 'only tasks whose name contains this text, in any case')
    .addOption(new Option('--last-status <status>', 'only tasks whose last run ended so').choices([...RUN_STATUSES]))
    .option('-l, --selector <labels>', 'only tasks with these labels: key=value[,key=value…] (repeatable)', collect)
    .option('--limit <n>', 'tasks per page', integerOption('--limit'))
    .option('--all', 'fetch every page')
    .action(async (options: { namespace?: string; state?: string; name?: string; search?: string; lastStatus?: string; selector?: string[]; limit?: number; all?: boolean }, command: Command) => {
      const session = ctx.open(command);
      const labels = options.selector?.length ? Object.entries(parseSelector(options.selector)).map(([k, v]) => `${k}=${v}`).join(',') : undefined;
      const page = await listPages<TaskResource>(session.api, '/api/v1/tasks',
        { namespace: options.namespace, state: options.state, name: options.name, q: options.search, lastRunStatus: options.lastStatus, label: labels }, options);
      if (session.json) return printJson(ctx.io, page);
      ctx.io.stdout(page.items.length === 0 ? '(no tasks)\n' : taskTable(page.items));
      moreHint(session, page, 'tasks');
    });

  task.command('get')
    .description('show a task')
    .argument('<ref>', REF_HELP)
    .action(async (ref: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const found = await resolveTask(session.api, ref);
      if (session.json) return printJson(ctx.io, found);
      const { stringify } = await import('yaml');
      ctx.io.stdout(taskDetails(found, stringify));
    });

  task.command('clone')
    .description('create a copy of a task under another name (its spec, target secret included)')
    .argument('<ref>', REF_HELP)
    .requiredOption('--name <name>', 'the name of the copy')
    .option('--namespace <namespace>', 'the namespace of the copy (default: the task\'s own)')
    .action(async (ref: string, options: { name: string; namespace?: string }, command: Command) => {
      const session = ctx.open(command);
      const found = await resolveTask(session.api, ref);
      const copy = await session.api.request<TaskResource>({
        method: 'POST', path: taskPath(found.id, '/clone'), body: { name: options.name, ...(options.namespace ? { namespace: options.namespace } : {}) },
      });
      if (session.json) return printJson(ctx.io, copy);
      ctx.io.stdout(`cloned task ${taskLabel(found)} as ${taskLabel(copy)} (${copy.id})\n`);
    });

  task.command('update')
    .description('replace the spec of a task (a new revision)')
    .argument('<ref>', REF_HELP)
    .requiredOption('-f, --file <file>', 'the new task spec; - reads standard input')
    .option('--revision <n>', 'refuse the update (TASK_VERSION_CONFLICT) unless the task is at this revision', integerOption('--revision'))
    .action(async (ref: string, options: { file: string; revision?: number }, command: Command) => {
      const spec = await loadSpecFile(options.file, ctx.io);
      const session = ctx.open(command);
      const found = await resolveTask(session.api, ref);
      const updated = await session.api.request<TaskResource>({ method: 'PUT', path: taskPath(found.id), query: { revision: options.revision }, body: spec });
      if (session.json) return printJson(ctx.io, updated);
      ctx.io.stdout(`updated task ${taskLabel(updated)} (${updated.id}) to revision ${updated.revision}\nnext fire: ${formatInstant(updated.nextFireAt)}\n`);
    });

  task.command('trigger')
    .description('run a task now (or every task with the labels of -l)')
    .argument('[ref]', BULK_REF_HELP)
    .option('-l, --selector <labels>', SELECTOR_HELP, collect)
    .option('--namespace <namespace>', 'with -l: only tasks of this namespace')
    .option('--param <key=value>', PARAM_OPTION_HELP, collect)
    .option('--params <json>', 'run parameters as a JSON object (--param entries override it)')
    .addHelpText('after', PARAM_HELP)
    .action(async (ref: string | undefined, options: { param?: string[]; params?: string; selector?: string[]; namespace?: string }, command: Command) => {
      const params = runParams(options);
      const target = bulkOrSingle(ref, options);
      if ('labels' in target) return actOnSelected(ctx, command, 'trigger', { labels: target.labels, namespace: options.namespace, params });
      const session = ctx.open(command);
      const found = await resolveTask(session.api, target.ref);
      const run = await session.api.request<RunResource>({ method: 'POST', path: taskPath(found.id, '/trigger'), body: params ? { params } : {} });
      if (session.json) return printJson(ctx.io, run);
      ctx.io.stdout(`triggered task ${taskLabel(found)}: run ${run.id} (${run.status})\n`);
    });

  for (const [verb, done] of [['pause', 'paused'], ['resume', 'resumed']] as const) {
    task.command(verb)
      .description(verb === 'pause' ? 'stop firing a task (manual triggers still work), or every task with the labels of -l' : 'fire a paused task again, or every task with the labels of -l')
      .argument('[ref]', BULK_REF_HELP)
      .option('-l, --selector <labels>', SELECTOR_HELP, collect)
      .option('--namespace <namespace>', 'with -l: only tasks of this namespace')
      .action(async (ref: string | undefined, options: { selector?: string[]; namespace?: string }, command: Command) => {
        const target = bulkOrSingle(ref, options);
        if ('labels' in target) return actOnSelected(ctx, command, verb, { labels: target.labels, namespace: options.namespace });
        const session = ctx.open(command);
        const found = await resolveTask(session.api, target.ref);
        const changed = await session.api.request<TaskResource>({ method: 'POST', path: taskPath(found.id, `/${verb}`) });
        if (session.json) return printJson(ctx.io, changed);
        ctx.io.stdout(`${done} task ${taskLabel(changed)} (${changed.id}); state: ${changed.state}, next fire: ${formatInstant(changed.nextFireAt)}\n`);
      });
  }

  task.command('delete')
    .description('delete a task, or every task with the labels of -l')
    .argument('[ref]', BULK_REF_HELP)
    .option('-l, --selector <labels>', SELECTOR_HELP, collect)
    .option('--namespace <namespace>', 'with -l: only tasks of this namespace')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (ref: string | undefined, options: { yes?: boolean; selector?: string[]; namespace?: string }, command: Command) => {
      const target = bulkOrSingle(ref, options);
      if ('labels' in target) return actOnSelected(ctx, command, 'delete', { labels: target.labels, namespace: options.namespace, yes: options.yes });
      const session = ctx.open(command);
      const found = await resolveTask(session.api, target.ref);
      if (!options.yes) {
        if (!ctx.io.stdinIsTty) throw usageError(`deleting task ${taskLabel(found)} needs --yes when standard input is not a terminal`);
        const answer = await ctx.io.prompt(`delete task ${taskLabel(found)} (${found.id})? [y/N] `);
        if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('CANCELLED', 'nothing was deleted');
      }
      const result = await session.api.request<unknown>({ method: 'DELETE', path: taskPath(found.id) });
      if (session.json) return printJson(ctx.io, result ?? { id: found.id, deleted: true });
      ctx.io.stdout(`deleted task ${taskLabel(found)} (${found.id})\n`);
    });

  task.command('preview')
    .description('show the next fires of a task')
    .argument('<ref>', REF_HELP)
    .option('--count <n>', 'how many fires', integerOption('--count', 1, 1000), 10)
    .action(async (ref: string, options: { count: number }, command: Command) => {
      const session = ctx.open(command);
      const found = await resolveTask(session.api, ref);
      const preview = await session.api.request<{ fires: unknown[]; timezone?: string }>({ path: taskPath(found.id, '/preview'), query: { count: options.count } });
      if (session.json) return printJson(ctx.io, preview);
      const fires = preview.fires ?? [];
      if (fires.length === 0) return ctx.io.stdout(`task ${taskLabel(found)} has no future fires\n`);
      ctx.io.stdout(`next ${fires.length} fires of ${taskLabel(found)}${preview.timezone ? ` (timezone ${preview.timezone})` : ''}:\n`);
      for (const fire of fires) ctx.io.stdout(previewLine(fire, preview.timezone));
    });

  addTaskApplyCommand(task, ctx);
  addBackfillCommand(task, ctx, 'task');
}
