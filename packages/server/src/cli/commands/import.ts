/**
 * `ecron import crontab FILE` and `ecron import cronjob FILE`: migrate crontabs and Kubernetes
 * CronJobs into tasks. The converters (cli/import/) turn the file into specs and explain what they
 * could not convert; this command prints them (`--dry-run`: the specs as the YAML stream
 * `ecron task apply -f` reads, the report as YAML comments), or sends them in one
 * `POST /api/v1/tasks:batch` and pauses the tasks of suspended CronJobs with `tasks:pause`.
 * It fails (exit 1) when an item failed (ITEMS_FAILED) or nothing could be converted (NOTHING_TO_IMPORT).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import {
  type BulkActionResponse, ContainerTargetSchema, isValidTimeZone, MAX_BULK_ITEMS, ShellTargetSchema, type TaskBatchItemResult,
  type TaskBatchResponse, TaskSpecSchema,
} from '@ecron/contracts';
import { CliError, usageError } from '../cli-error.ts';
import type { CliContext } from '../command-support.ts';
import type { CliIo } from '../context.ts';
import type { ImportProblem, ImportedTask } from '../import/common.ts';
import type { AgentConfigSnippet } from '../import/crontab.ts';
import { printJson } from '../output.ts';

interface CommonOptions { namespace?: string; dryRun?: boolean }
interface CrontabFlags extends CommonOptions { group: string; timezone?: string; format: 'auto' | 'user' | 'system' }
interface CronJobFlags extends CommonOptions { engine?: string; group?: string }

/** What a converter made of a file, ready to print or send. */
interface Conversion {
  file: string;
  /** The first line of the report: what was read, and how. */
  summary: string;
  tasks: ImportedTask[];
  problems: ImportProblem[];
  agentConfig?: AgentConfigSnippet;
  /** Extra fields of the `--json` answer. */
  extra: Record<string, unknown>;
}

/** The group a crontab's tasks go to when --group is not given. */
export const DEFAULT_CRONTAB_GROUP = 'crontab';

async function readImportFile(file: string, io: Pick<CliIo, 'cwd' | 'readStdin'>): Promise<string> {
  try {
    return file === '-' ? await io.readStdin() : await readFile(resolve(io.cwd, file), 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new CliError('IMPORT_FILE_INVALID', `${file}: ${reason}`, { cause: error });
  }
}

/** A usage error unless `value` passes `schema` (a field of the task spec). */
function checkName(option: string, value: string | undefined, schema: { safeParse: (v: unknown) => { success: boolean } }): void {
  if (value !== undefined && !schema.safeParse(value).success) {
    throw usageError(`${option} "${value}" must be 1-128 characters: letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
}

const taskName = (spec: Record<string, unknown>): string => `${String(spec.namespace ?? 'default')}/${String(spec.name)}`;

/** Sends the tasks in one `tasks:batch`, then pauses those that should be paused (one `tasks:pause`); returns each task's results. */
async function createTasks(ctx: CliContext, command: Command, tasks: readonly ImportedTask[]) {
  const session = ctx.open(command);
  const answer = await session.api.request<TaskBatchResponse>({ method: 'POST', path: '/api/v1/tasks:batch', body: { items: tasks.map((t) => t.spec) } });
  const results: { task: ImportedTask; result: TaskBatchItemResult; pause?: { ok: true } | { error: { code: string; message: string } } }[] =
    tasks.map((task, i) => ({ task, result: answer.items[i] ?? { error: { code: 'UNEXPECTED_RESPONSE', message: 'the server gave no result for this item' } } }));
  const toPause = results.filter((r) => r.task.paused && 'id' in r.result);
  if (toPause.length > 0) {
    const ids = toPause.map((r) => (r.result as { id: string }).id);
    const paused = await session.api.request<BulkActionResponse>({ method: 'POST', path: '/api/v1/tasks:pause', body: { ids } });
    toPause.forEach((r, i) => {
      const item = paused.items[i];
      r.pause = item && 'error' in item ? { error: item.error } : { ok: true };
    });
  }
  return results;
}

async function runImport(ctx: CliContext, command: Command, conversion: Conversion, dryRun: boolean): Promise<void> {
  const { reportText, specsYaml, asComments } = await import('../import/report.ts');
  const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
  const { tasks, problems } = conversion;
  // Checked again here, so that nothing the schema refuses is printed as a spec or sent.
  for (const task of tasks) {
    if (!TaskSpecSchema.safeParse(task.spec).success) throw new CliError('INTERNAL', `the converted spec of ${task.source} is invalid`);
  }
  const nothing = tasks.length === 0
    ? new CliError('NOTHING_TO_IMPORT', `nothing in ${conversion.file === '-' ? 'standard input' : conversion.file} could be converted (${problems.filter((p) => p.severity === 'error' || p.severity === 'skipped').length} lines or documents not converted)`)
    : undefined;
  const report = reportText(conversion);
  if (dryRun || nothing) {
    if (json) printJson(ctx.io, { dryRun, file: conversion.file, ...conversion.extra, tasks, problems, ...(conversion.agentConfig ? { agentConfig: conversion.agentConfig } : {}) });
    else if (dryRun) ctx.io.stdout(`${specsYaml(tasks)}${tasks.length > 0 ? '\n' : ''}${asComments(`${report}\n(dry run: nothing was sent to the server)`)}`);
    else ctx.io.stdout(report);
    if (nothing) throw nothing;
    return;
  }
  if (tasks.length > MAX_BULK_ITEMS) throw usageError(`${conversion.file} gives ${tasks.length} tasks, more than the ${MAX_BULK_ITEMS} of one batch: split it`);
  const results = await createTasks(ctx, command, tasks);
  const failed = results.filter((r) => 'error' in r.result || (r.pause !== undefined && 'error' in r.pause));
  if (json) {
    printJson(ctx.io, {
      dryRun: false, file: conversion.file, ...conversion.extra,
      tasks: results.map((r) => ({ ...r.task, result: r.result, ...(r.pause ? { pause: r.pause } : {}) })),
      problems, ...(conversion.agentConfig ? { agentConfig: conversion.agentConfig } : {}),
    });
  } else {
    for (const { task, result, pause } of results) {
      const name = taskName(task.spec);
      if ('error' in result) {
        ctx.io.stdout(`error     ${name} (${task.source}): ${result.error.code}: ${result.error.message}\n`);
        continue;
      }
      const pauseText = pause === undefined ? '' : 'error' in pause ? `, NOT paused: ${pause.error.code}: ${pause.error.message}` : ', paused (suspended)';
      ctx.io.stdout(`${result.action.padEnd(9)} ${name} (${result.id}) from ${task.source}${pauseText}\n`);
    }
    const count = (action: string) => results.filter((r) => 'action' in r.result && r.result.action === action).length;
    ctx.io.stdout(`${count('created')} created, ${count('updated')} updated, ${count('unchanged')} unchanged, ${failed.length} failed\n\n${report}`);
  }
  if (failed.length > 0) throw new CliError('ITEMS_FAILED', `${failed.length} of ${results.length} tasks failed`, { details: { failed: failed.length, total: results.length } });
}

export function registerImportCommands(program: Command, ctx: CliContext): void {
  const group = program.command('import').description('create tasks from crontabs and Kubernetes CronJobs (docs/migration.md)');

  group.command('crontab')
    .description('create shell tasks from a crontab (user or system format), and print the ecron agent allowlist they need')
    .argument('<file>', 'the crontab (crontab -l > FILE, /etc/crontab, /etc/cron.d/NAME); - reads standard input')
    .option('--group <group>', 'the executor group of the shell targets, served by an ecron agent', DEFAULT_CRONTAB_GROUP)
    .option('--timezone <zone>', 'the IANA time zone of the schedules (until a CRON_TZ= or TZ= line); default UTC')
    .option('--namespace <namespace>', 'the namespace of the tasks (default: default)')
    .addOption(new Option('--format <format>', 'user: five time fields and a command; system: a user column before the command (auto: system for '
      + '/etc/crontab, /etc/cron.d/* and files with the "# m h dom mon dow user command" header)').choices(['auto', 'user', 'system']).default('auto'))
    .option('--dry-run', 'print the task specs (as ecron task apply -f reads them) and the report; send nothing')
    .addHelpText('after', '\nEach job line becomes a task named from its command and line (backup-db-l12), labelled source=crontab (and user=NAME\n'
      + 'for a system crontab). Lines that cannot be converted (@reboot, NAME=value, an unescaped %, an invalid schedule) are\n'
      + 'explained with their line number. Exit code 1 when a task failed or nothing could be converted.\n')
    .action(async (file: string, options: CrontabFlags, command: Command) => {
      checkName('--group', options.group, ShellTargetSchema.shape.group);
      checkName('--namespace', options.namespace, TaskSpecSchema.shape.namespace);
      if (options.timezone !== undefined && !isValidTimeZone(options.timezone)) {
        throw usageError(`--timezone "${options.timezone}" is not a known IANA time zone (such as Europe/Paris or UTC)`);
      }
      const text = await readImportFile(file, ctx.io);
      const { convertCrontab } = await import('../import/crontab.ts');
      const result = convertCrontab(text, { group: options.group, namespace: options.namespace, timezone: options.timezone, format: options.format, file: file === '-' ? undefined : file });
      const zone = options.timezone ?? 'UTC';
      await runImport(ctx, command, {
        file, tasks: result.tasks, problems: result.problems, agentConfig: result.agentConfig, extra: { format: result.format },
        summary: `${result.tasks.length} ${result.tasks.length === 1 ? 'task' : 'tasks'} from ${file === '-' ? 'standard input' : file} (read as a ${result.format} crontab`
          + `${result.format === 'system' ? ', with a user column' : ''}; schedules in ${zone} unless a CRON_TZ= line says otherwise).`,
      }, options.dryRun === true);
    });

  group.command('cronjob')
    .description('create container tasks from Kubernetes CronJob manifests (batch/v1, batch/v1beta1; several documents, or a List)')
    .argument('<file>', 'the manifests, YAML or JSON (kubectl get cronjobs -o yaml > FILE); - reads standard input')
    .option('--namespace <namespace>', 'the namespace of every task (default: each manifest\'s metadata.namespace, else default)')
    .option('--engine <engine>', 'the container engine of the targets, as configured on the server or the agents (default: "default")')
    .option('--group <group>', 'run the containers on the ecron agents of this executor group (default: on the server\'s engine)')
    .option('--dry-run', 'print the task specs (as ecron task apply -f reads them) and the report; send nothing')
    .addHelpText('after', '\nEach CronJob becomes a task named metadata.name. What a task cannot hold (volumes, Secrets, service accounts,\n'
      + 'node placement, more containers…) is listed as a warning per manifest; a document that is not a CronJob is an error.\n'
      + 'Suspended CronJobs are paused once created. Exit code 1 when a task failed or nothing could be converted.\n')
    .action(async (file: string, options: CronJobFlags, command: Command) => {
      checkName('--namespace', options.namespace, TaskSpecSchema.shape.namespace);
      checkName('--engine', options.engine, ContainerTargetSchema.shape.engine);
      checkName('--group', options.group, ShellTargetSchema.shape.group);
      const text = await readImportFile(file, ctx.io);
      const { convertCronJobs } = await import('../import/cronjob.ts');
      const name = file === '-' ? '(stdin)' : file;
      const result = convertCronJobs(text, { namespace: options.namespace, engine: options.engine, group: options.group, file: name });
      await runImport(ctx, command, {
        file, tasks: result.tasks, problems: result.problems, extra: {},
        summary: `${result.tasks.length} ${result.tasks.length === 1 ? 'task' : 'tasks'} from the CronJobs of ${name}.`,
      }, options.dryRun === true);
    });
}
