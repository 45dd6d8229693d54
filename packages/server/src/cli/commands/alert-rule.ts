/**
 * `ecron alert rule create|list|get|update|delete|enable|disable`: what opens incidents
 * (`/api/v1/alert-rules`). A create or an update takes the rule from `-f FILE` (JSON or YAML) and/or
 * flags, flags last; without a scope flag (`--task`, `--workflow`, `-l`) a new rule watches its
 * whole namespace. An update without `-f` starts from the rule as read.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ALERT_RULE_KINDS, ALERT_SEVERITIES, type Page } from '@ecron/contracts';
import { usageError } from '../cli-error.ts';
import { type CliContext, collect, integerOption, listPages, moreHint } from '../command-support.ts';
import { formatInstant, formatKeyValues, formatTable, printJson } from '../output.ts';
import { resolveTask } from '../task-ref.ts';
import { resolveWorkflow } from '../workflow-ref.ts';
import { REF_HELP, alertPath, keyValues, resolveAlertRef, specFromFile, splitList } from './alert-support.ts';

interface Rule {
  id: string; namespace: string; name: string; on: string; scope: Record<string, unknown>; channels: string[]; severity: string; enabled: boolean;
  repeatInterval: string | null; sendResolved: boolean; description: string | null; revision: number; createdAt: string; updatedAt: string;
  [param: string]: unknown;
}

interface SpecOptions {
  file?: string; name?: string; namespace?: string; on?: string; task?: string; workflow?: string; selector?: string[]; channel?: string[];
  severity?: string; description?: string; repeat?: string; sendResolved?: boolean; disabled?: boolean;
  attempts?: string; count?: number; rate?: number; window?: string; minRuns?: number; grace?: string; lag?: string; after?: string; group?: string; for?: string;
}

const COLLECTION = 'alert-rules';
const NOT_FOUND = 'ALERT_RULE_NOT_FOUND';
const READ_ONLY = ['id', 'revision', 'createdAt', 'updatedAt'];
/** Each kind's parameters (a rule whose kind changes drops the old kind's). */
const PARAMS = ['attempts', 'count', 'rate', 'window', 'minRuns', 'grace', 'lag', 'after', 'group', 'for'] as const;
const COMMON = new Set(['namespace', 'name', 'on', 'scope', 'channels', 'severity', 'enabled', 'repeatInterval', 'sendResolved', 'description', ...READ_ONLY]);

function rateOption(value: string): number {
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value.trim()) || !(n > 0 && n <= 1)) throw new InvalidArgumentError('--rate must be a number greater than 0 and at most 1, e.g. 0.2.');
  return n;
}

/** The rule to send: `base` (a file, or the rule as read), with the flags over it. */
async function specOf(ctx: CliContext, command: Command, base: Record<string, unknown>, o: SpecOptions): Promise<Record<string, unknown>> {
  const spec: Record<string, unknown> = { ...base };
  // commander gives a --no-… flag a default (true): only the flag itself counts.
  const sendResolved = command.getOptionValueSource('sendResolved') === 'cli' ? o.sendResolved : undefined;
  if (o.on !== undefined && o.on !== base.on) {
    for (const key of Object.keys(spec)) if (!COMMON.has(key)) delete spec[key];
    spec.on = o.on;
  }
  for (const key of ['name', 'namespace', 'severity', 'description', ...PARAMS] as const) if (o[key] !== undefined) spec[key] = o[key];
  if (o.repeat !== undefined) spec.repeatInterval = o.repeat;
  if (sendResolved !== undefined) spec.sendResolved = sendResolved;
  if (o.disabled) spec.enabled = false;
  if (o.channel !== undefined) spec.channels = splitList(o.channel);
  const given = [o.task, o.workflow, o.selector].filter((v) => v !== undefined).length;
  if (given > 1) throw usageError('give one scope: --task, --workflow or -l');
  const api = ctx.open(command).api;
  if (o.task !== undefined) spec.scope = { taskId: (await resolveTask(api, o.task)).id };
  if (o.workflow !== undefined) spec.scope = { workflowId: (await resolveWorkflow(api, o.workflow)).id };
  if (o.selector !== undefined) spec.scope = { labels: keyValues('-l', o.selector, true) };
  spec.scope ??= { namespace: spec.namespace ?? 'default' };
  return spec;
}

function addSpecOptions(command: Command): Command {
  return command
    .option('-f, --file <file>', 'the rule as JSON or YAML (as the API takes it, or as get --json prints it); - reads standard input')
    .option('--name <name>', 'unique in the namespace')
    .option('--namespace <namespace>', 'its namespace (server default: default)')
    .addOption(new Option('--on <kind>', 'what it watches').choices([...ALERT_RULE_KINDS]))
    .option('--task <ref>', 'scope: one task (id, NAME or NAMESPACE/NAME)')
    .option('--workflow <ref>', 'scope: one workflow (id, NAME or NAMESPACE/NAME)')
    .option('-l, --selector <labels>', 'scope: the tasks with these labels, key=value[,key=value…] (repeatable)', collect)
    .option('--channel <names>', 'channels of the namespace to notify, comma-separated (repeatable)', collect)
    .addOption(new Option('--severity <severity>', 'default warning').choices([...ALERT_SEVERITIES]))
    .option('--description <text>', 'what it is for')
    .option('--repeat <duration>', 'notify again this often while the incident stays open, e.g. 30m (default: once)')
    .option('--no-send-resolved', 'no notification when the incident resolves')
    .option('--disabled', 'create it disabled')
    .addOption(new Option('--attempts <which>', 'failure: "final" (after the retries, default) or "every" attempt').choices(['final', 'every']))
    .option('--count <n>', 'consecutive-failures: this many failed runs in a row (2 or more)', integerOption('--count', 2, 1000))
    .option('--rate <r>', 'failure-rate: the share of failed runs, 0 < r <= 1', rateOption)
    .option('--window <duration>', 'failure-rate: over the runs that finished in this window, e.g. 1h')
    .option('--min-runs <n>', 'failure-rate: with at least this many runs in the window (default 5)', integerOption('--min-runs', 1))
    .option('--grace <duration>', 'missed-fire: no run started this long after a scheduled instant (default 1m)')
    .option('--lag <duration>', 'late-start: a run started this late')
    .option('--after <duration>', 'long-running: a run still running after this long')
    .option('--group <group>', 'no-executor: the executor group')
    .option('--for <duration>', 'no-executor: without a live executor for this long (default 1m)');
}

const scopeText = (scope: Record<string, unknown>): string => {
  if (scope.taskId) return `task ${String(scope.taskId)}`;
  if (scope.workflowId) return `workflow ${String(scope.workflowId)}`;
  if (scope.labels) return `labels ${Object.entries(scope.labels as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',')}`;
  return `namespace ${String(scope.namespace)}`;
};

const paramsText = (r: Rule): string => PARAMS.filter((p) => r[p] !== undefined).map((p) => `${p} ${String(r[p])}`).join(', ') || '-';

function details(r: Rule): string {
  return formatKeyValues([
    ['id', r.id], ['namespace', r.namespace], ['name', r.name], ['on', r.on], ['parameters', paramsText(r)], ['scope', scopeText(r.scope)],
    ['channels', r.channels.join(', ')], ['severity', r.severity], ['enabled', r.enabled ? 'yes' : 'no'], ['repeat', r.repeatInterval ?? '-'],
    ['send resolved', r.sendResolved ? 'yes' : 'no'], ['description', r.description ?? '-'], ['revision', String(r.revision)],
    ['created', formatInstant(r.createdAt)], ['updated', formatInstant(r.updatedAt)],
  ]);
}

export function registerAlertRuleCommands(alert: Command, ctx: CliContext): void {
  const rule = alert.command('rule').description('alert rules: failures, timeouts, streaks, failure rates, missed fires, late starts, long runs, executors, nodes');

  addSpecOptions(rule.command('create').description('create a rule'))
    .action(async (options: SpecOptions, command: Command) => {
      const base = (await specFromFile(ctx, options.file, 'alert rule', READ_ONLY)) ?? {};
      if ((options.name ?? base.name) === undefined || (options.on ?? base.on) === undefined) throw usageError('give the rule\'s --name and --on (or a file with them)');
      const spec = await specOf(ctx, command, base, options);
      const session = ctx.open(command);
      const r = await session.api.request<Rule>({ method: 'POST', path: '/api/v1/alert-rules', body: spec });
      if (session.json) return printJson(ctx.io, r);
      ctx.io.stdout(`created alert rule ${r.namespace}/${r.name} (${r.id}): on ${r.on}, ${scopeText(r.scope)}, channels ${r.channels.join(',')}\n`);
    });

  rule.command('list')
    .description('list rules')
    .option('--namespace <namespace>', 'only this namespace')
    .addOption(new Option('--on <kind>', 'only rules of this kind').choices([...ALERT_RULE_KINDS]))
    .option('--enabled', 'only enabled rules')
    .option('--disabled', 'only disabled rules')
    .option('--limit <n>', 'rules per page', integerOption('--limit', 1, 1000))
    .option('--all', 'fetch every page')
    .action(async (options: { namespace?: string; on?: string; enabled?: boolean; disabled?: boolean; limit?: number; all?: boolean }, command: Command) => {
      if (options.enabled && options.disabled) throw usageError('give --enabled or --disabled, not both');
      const session = ctx.open(command);
      const enabled = options.enabled ? 'true' : options.disabled ? 'false' : undefined;
      const page: Page<Rule> = await listPages<Rule>(session.api, '/api/v1/alert-rules', { namespace: options.namespace, on: options.on, enabled }, options);
      if (session.json) return printJson(ctx.io, page);
      ctx.io.stdout(page.items.length === 0 ? '(no alert rules)\n' : formatTable(
        ['ID', 'NAMESPACE', 'NAME', 'ON', 'SCOPE', 'SEVERITY', 'CHANNELS', 'ENABLED'],
        page.items.map((r) => [r.id, r.namespace, r.name, r.on, scopeText(r.scope), r.severity, r.channels.join(','), r.enabled ? 'yes' : 'no']),
      ));
      moreHint(session, page, 'alert rules');
    });

  rule.command('get')
    .description('show a rule')
    .argument('<ref>', REF_HELP)
    .action(async (ref: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const r = await resolveAlertRef<Rule>(session.api, COLLECTION, ref, NOT_FOUND);
      if (session.json) return printJson(ctx.io, r);
      ctx.io.stdout(details(r));
    });

  addSpecOptions(rule.command('update').description('change a rule: -f replaces it, flags change the fields they name').argument('<ref>', REF_HELP))
    .action(async (ref: string, options: SpecOptions, command: Command) => {
      const fromFile = await specFromFile(ctx, options.file, 'alert rule', READ_ONLY);
      const session = ctx.open(command);
      const current = await resolveAlertRef<Rule>(session.api, COLLECTION, ref, NOT_FOUND);
      const base = fromFile ?? Object.fromEntries(Object.entries(current).filter(([key, value]) => !READ_ONLY.includes(key) && value !== null));
      const spec = await specOf(ctx, command, base, options);
      const r = await session.api.request<Rule>({ method: 'PUT', path: alertPath(COLLECTION, current.id), body: spec });
      if (session.json) return printJson(ctx.io, r);
      ctx.io.stdout(`updated alert rule ${r.namespace}/${r.name} (${r.id}) to revision ${r.revision}\n`);
    });

  rule.command('delete')
    .description('delete a rule')
    .argument('<ref>', REF_HELP)
    .action(async (ref: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const r = await resolveAlertRef<Rule>(session.api, COLLECTION, ref, NOT_FOUND);
      await session.api.request({ method: 'DELETE', path: alertPath(COLLECTION, r.id) });
      if (session.json) return printJson(ctx.io, { id: r.id, deleted: true });
      ctx.io.stdout(`deleted alert rule ${r.namespace}/${r.name} (${r.id})\n`);
    });

  for (const verb of ['enable', 'disable'] as const) {
    rule.command(verb)
      .description(verb === 'enable' ? 'watch a rule again' : 'stop watching a rule (it stays, disabled)')
      .argument('<ref>', REF_HELP)
      .action(async (ref: string, _options: unknown, command: Command) => {
        const session = ctx.open(command);
        const found = await resolveAlertRef<Rule>(session.api, COLLECTION, ref, NOT_FOUND);
        const r = await session.api.request<Rule>({ method: 'POST', path: alertPath(COLLECTION, found.id, `/${verb}`) });
        if (session.json) return printJson(ctx.io, r);
        ctx.io.stdout(`alert rule ${r.namespace}/${r.name} is ${r.enabled ? 'enabled' : 'disabled'}\n`);
      });
  }
}
