/**
 * `ecron alert silence create|list|get|expire|delete`: maintenance windows
 * (`/api/v1/alert-silences`). While one is in force, the incidents it covers still open and
 * resolve, but no notification is sent for them. A silence covers one task (`--task`), one workflow
 * (`--workflow`), the tasks and workflows with labels (`--label`), or its whole namespace
 * (`--whole-namespace`); of some rules (`--rule`) or of all; from now or `--start` for `--for` or
 * `--until`.
 */
import type { Command } from 'commander';
import type { Page } from '@ecron/contracts';
import { usageError } from '../cli-error.ts';
import { type CliContext, collect, integerOption, listPages, moreHint } from '../command-support.ts';
import { formatInstant, formatKeyValues, formatTable, printJson } from '../output.ts';
import { resolveTask } from '../task-ref.ts';
import { resolveWorkflow } from '../workflow-ref.ts';
import { alertPath, keyValues, resolveAlertRef, splitList } from './alert-support.ts';

interface Silence {
  id: string; namespace: string; scope: Record<string, unknown>; ruleIds: string[] | null; startsAt: string; endsAt: string;
  state: 'pending' | 'active' | 'expired'; comment: string; createdBy: string; createdAt: string; updatedAt: string;
}

interface CreateOptions {
  namespace?: string; task?: string; workflow?: string; label?: string[]; wholeNamespace?: boolean; rule?: string[];
  start?: string; for?: string; until?: string; comment: string;
}

const COLLECTION = 'alert-silences';

const scopeText = (scope: Record<string, unknown>): string => {
  if (scope.taskId) return `task ${String(scope.taskId)}`;
  if (scope.workflowId) return `workflow ${String(scope.workflowId)}`;
  if (scope.labels) return `labels ${Object.entries(scope.labels as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',')}`;
  return `namespace ${String(scope.namespace)}`;
};

const rulesText = (s: Silence): string => (s.ruleIds === null ? 'all' : s.ruleIds.join(','));

function details(s: Silence): string {
  return formatKeyValues([
    ['id', s.id], ['namespace', s.namespace], ['scope', scopeText(s.scope)], ['rules', rulesText(s)], ['state', s.state],
    ['starts', formatInstant(s.startsAt)], ['ends', formatInstant(s.endsAt)], ['comment', s.comment], ['created by', s.createdBy],
    ['created', formatInstant(s.createdAt)], ['updated', formatInstant(s.updatedAt)],
  ]);
}

/** The body of the create: the scope and rules resolved (a task, workflow or rule may be named), the window as given. */
async function specOf(ctx: CliContext, command: Command, o: CreateOptions): Promise<Record<string, unknown>> {
  const scopes = [o.task, o.workflow, o.label, o.wholeNamespace || undefined].filter((v) => v !== undefined).length;
  if (scopes !== 1) throw usageError('give one scope: --task, --workflow, --label or --whole-namespace');
  if ((o.for === undefined) === (o.until === undefined)) throw usageError('give how long: --for DURATION (e.g. 2h) or --until INSTANT, one of them');
  const api = ctx.open(command).api;
  const namespace = o.namespace ?? 'default';
  let scope: Record<string, unknown> = { namespace };
  if (o.task !== undefined) scope = { taskId: (await resolveTask(api, o.task)).id };
  if (o.workflow !== undefined) scope = { workflowId: (await resolveWorkflow(api, o.workflow)).id };
  if (o.label !== undefined) scope = { labels: keyValues('--label', o.label, true) };
  const ruleIds = o.rule === undefined ? undefined
    : await Promise.all(splitList(o.rule).map(async (ref) => (await resolveAlertRef(api, 'alert-rules', ref, 'ALERT_RULE_NOT_FOUND')).id));
  return {
    namespace, scope, ...(ruleIds ? { ruleIds } : {}), ...(o.start ? { startsAt: o.start } : {}),
    ...(o.for ? { duration: o.for } : { endsAt: o.until }), comment: o.comment,
  };
}

export function registerAlertSilenceCommands(alert: Command, ctx: CliContext): void {
  const silence = alert.command('silence').description('silences (maintenance windows): incidents still open and resolve, no notification is sent');

  silence.command('create')
    .description('silence a task, a workflow, tasks with labels or a whole namespace, for a while')
    .option('--namespace <namespace>', 'its namespace (default: default)')
    .option('--task <ref>', 'scope: one task (id, NAME or NAMESPACE/NAME)')
    .option('--workflow <ref>', 'scope: one workflow (id, NAME or NAMESPACE/NAME)')
    .option('-l, --label <labels>', 'scope: the tasks and workflows with these labels, key=value[,key=value…] (repeatable)', collect)
    .option('--whole-namespace', 'scope: every subject of the namespace')
    .option('--rule <refs>', 'only the incidents of these rules (id or NAMESPACE/NAME), comma-separated (repeatable); default: every rule', collect)
    .option('--start <instant>', 'when it starts, ISO-8601 (default: now)')
    .option('--for <duration>', 'how long it lasts, e.g. 2h, 90m, 1d (at most 90d)')
    .option('--until <instant>', 'when it ends, ISO-8601 (e.g. 2026-12-07T04:00:00Z)')
    .requiredOption('--comment <text>', 'why: the change, the maintenance planned')
    .action(async (options: CreateOptions, command: Command) => {
      const body = await specOf(ctx, command, options);
      const session = ctx.open(command);
      const s = await session.api.request<Silence>({ method: 'POST', path: `/api/v1/${COLLECTION}`, body });
      if (session.json) return printJson(ctx.io, s);
      ctx.io.stdout(`created alert silence ${s.id} in ${s.namespace}: ${scopeText(s.scope)}, rules ${rulesText(s)}, `
        + `${formatInstant(s.startsAt)} to ${formatInstant(s.endsAt)} (${s.state})\n`);
    });

  silence.command('list')
    .description('list silences, the newest start first')
    .option('--namespace <namespace>', 'only this namespace')
    .option('--active', 'only those in force now')
    .option('--limit <n>', 'silences per page', integerOption('--limit', 1, 1000))
    .option('--all', 'fetch every page')
    .action(async (options: { namespace?: string; active?: boolean; limit?: number; all?: boolean }, command: Command) => {
      const session = ctx.open(command);
      const page: Page<Silence> = await listPages<Silence>(session.api, `/api/v1/${COLLECTION}`,
        { namespace: options.namespace, active: options.active ? 'true' : undefined }, options);
      if (session.json) return printJson(ctx.io, page);
      ctx.io.stdout(page.items.length === 0 ? '(no alert silences)\n' : formatTable(
        ['ID', 'NAMESPACE', 'SCOPE', 'RULES', 'STATE', 'STARTS', 'ENDS', 'COMMENT'],
        page.items.map((s) => [s.id, s.namespace, scopeText(s.scope), rulesText(s), s.state, formatInstant(s.startsAt), formatInstant(s.endsAt), s.comment]),
      ));
      moreHint(session, page, 'alert silences');
    });

  silence.command('get')
    .description('show a silence')
    .argument('<id>', 'silence id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const s = await session.api.request<Silence>({ path: alertPath(COLLECTION, id) });
      if (session.json) return printJson(ctx.io, s);
      ctx.io.stdout(details(s));
    });

  silence.command('expire')
    .description('end a silence now (notifications are sent again)')
    .argument('<id>', 'silence id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const s = await session.api.request<Silence>({ method: 'POST', path: alertPath(COLLECTION, id, '/expire') });
      if (session.json) return printJson(ctx.io, s);
      ctx.io.stdout(`expired alert silence ${s.id} (${scopeText(s.scope)}): ended at ${formatInstant(s.endsAt)}\n`);
    });

  silence.command('delete')
    .description('delete a silence (expire keeps its record)')
    .argument('<id>', 'silence id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      await session.api.request({ method: 'DELETE', path: alertPath(COLLECTION, id) });
      if (session.json) return printJson(ctx.io, { id, deleted: true });
      ctx.io.stdout(`deleted alert silence ${id}\n`);
    });
}
