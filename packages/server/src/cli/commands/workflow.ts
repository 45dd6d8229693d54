import { type Command, Option } from 'commander';
import type { Page, WorkflowResource, WorkflowRunResource } from '@ecron/contracts';
import type { ApiClient } from '../api-client.ts';
import { CliError, usageError } from '../cli-error.ts';
import { type CliContext, collect, integerOption, listPages, moreHint, TRANSIENT_CODES, TRANSIENT_LIMIT_MS } from '../command-support.ts';
import { addBackfillCommand } from './backfill.ts';
import type { Session } from '../context.ts';
import { formatInstant, printJson } from '../output.ts';
import { PARAM_HELP, PARAM_OPTION_HELP, runParams } from '../run-params.ts';
import { loadSpecFile } from '../spec-file.ts';
import { isFinalWorkflowRunStatus, RUN_STATUSES, TASK_STATES, WORKFLOW_RUN_STATUSES } from '../vocabulary.ts';
import { resolveWorkflow, workflowPath, workflowRunPath } from '../workflow-ref.ts';
import { workflowDetails, workflowLabel, workflowRunDetails, workflowRunTable, workflowTable } from '../workflow-views.ts';

const REF_HELP = 'workflow id, NAME or NAMESPACE/NAME';

/**
 * The spec of the revision a workflow run executes, for drawing its nodes as a tree; undefined
 * when it cannot be read any more (the workflow was deleted).
 */
async function runSpec(api: ApiClient, run: WorkflowRunResource): Promise<unknown> {
  try {
    const revision = await api.request<{ spec?: unknown }>({ path: workflowPath(run.workflowId, `/revisions/${run.revision}`) });
    return revision.spec;
  } catch (error) {
    if (error instanceof CliError && ['WORKFLOW_NOT_FOUND', 'NOT_FOUND', 'FORBIDDEN'].includes(error.code)) return undefined;
    throw error;
  }
}

async function printRun(ctx: CliContext, session: Session, run: WorkflowRunResource): Promise<void> {
  if (session.json) return printJson(ctx.io, run);
  ctx.io.stdout(workflowRunDetails(run, await runSpec(session.api, run)));
}

/** Polls a workflow run until it has finished (transient errors are waited through); returns it with its nodes. */
async function waitForEnd(ctx: CliContext, api: ApiClient, id: string): Promise<WorkflowRunResource> {
  let delay = 200;
  let failingSince: number | null = null;
  for (;;) {
    try {
      const run = await api.request<WorkflowRunResource>({ path: workflowRunPath(id) });
      failingSince = null;
      if (isFinalWorkflowRunStatus(run.status)) return run;
    } catch (error) {
      if (!(error instanceof CliError) || !TRANSIENT_CODES.has(error.code)) throw error;
      failingSince ??= Date.now();
      if (Date.now() - failingSince > TRANSIENT_LIMIT_MS) throw error;
    }
    await ctx.io.sleep(delay);
    delay = Math.min(delay * 2, 2000);
  }
}

/** Exit code 1 (with a stable code) for a workflow run that ended other than succeeded. */
function outcomeError(run: WorkflowRunResource): CliError | null {
  if (run.status === 'succeeded') return null;
  const code = run.status === 'cancelled' ? 'WORKFLOW_RUN_CANCELLED' : 'WORKFLOW_RUN_FAILED';
  return new CliError(code, `workflow run ${run.id} ${run.status}${run.error ? `: ${run.error}` : ''}`, { details: { workflowRunId: run.id, status: run.status } });
}

/** `--output JSON` of `node succeed`. */
function outputOption(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw usageError(`--output is not valid JSON: ${(error as Error).message}`);
  }
}

export function registerWorkflowCommands(program: Command, ctx: CliContext): void {
  const workflow = program.command('workflow').description('create, list, change and trigger workflows (DAGs of tasks), and inspect and repair their runs');

  workflow.command('create')
    .description('create a workflow from a spec file (JSON or YAML)')
    .requiredOption('-f, --file <file>', 'the workflow spec; - reads standard input')
    .action(async (options: { file: string }, command: Command) => {
      const spec = await loadSpecFile(options.file, ctx.io);
      const session = ctx.open(command);
      const created = await session.api.request<WorkflowResource>({ method: 'POST', path: '/api/v1/workflows', body: spec });
      if (session.json) return printJson(ctx.io, created);
      ctx.io.stdout(`created workflow ${workflowLabel(created)} (${created.id})\nnext fire: ${formatInstant(created.nextFireAt)}\n`);
    });

  workflow.command('validate')
    .description('check a workflow spec file as create would (task references included), storing nothing')
    .requiredOption('-f, --file <file>', 'the workflow spec; - reads standard input')
    .action(async (options: { file: string }, command: Command) => {
      const spec = await loadSpecFile(options.file, ctx.io);
      const session = ctx.open(command);
      const result = await session.api.request<{ ok: true; spec: unknown }>({ method: 'POST', path: '/api/v1/workflows/validate', body: spec });
      if (session.json) return printJson(ctx.io, result);
      ctx.io.stdout(`the workflow spec is valid\n`);
    });

  workflow.command('list')
    .description('list workflows')
    .option('--namespace <namespace>', 'only this namespace')
    .addOption(new Option('--state <state>', 'only workflows in this state').choices([...TASK_STATES]))
    .option('--name <name>', 'only workflows with exactly this name (one per namespace)')
    .option('--search <text>', 'only workflows whose name contains this text, in any case')
    .addOption(new Option('--last-status <status>', 'only workflows whose last run ended so').choices([...RUN_STATUSES]))
    .option('--limit <n>', 'workflows per page', integerOption('--limit'))
    .option('--all', 'fetch every page')
    .action(async (options: { namespace?: string; state?: string; name?: string; search?: string; lastStatus?: string; limit?: number; all?: boolean }, command: Command) => {
      const session = ctx.open(command);
      // The API filters by a part of the name: an exact --name reads every page of matches.
      const exact = options.name;
      const query = { namespace: options.namespace, state: options.state, q: exact ?? options.search, lastRunStatus: options.lastStatus };
      let page: Page<WorkflowResource> = await listPages<WorkflowResource>(session.api, '/api/v1/workflows', query, exact === undefined ? options : { ...options, all: true });
      if (exact !== undefined) page = { items: page.items.filter((w) => w.name === exact), nextCursor: null };
      if (session.json) return printJson(ctx.io, page);
      ctx.io.stdout(page.items.length === 0 ? '(no workflows)\n' : workflowTable(page.items));
      moreHint(session, page, 'workflows');
    });

  workflow.command('get')
    .description('show a workflow and its graph: each node under the nodes it needs')
    .argument('<ref>', REF_HELP)
    .action(async (ref: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const found = await resolveWorkflow(session.api, ref);
      if (session.json) return printJson(ctx.io, found);
      ctx.io.stdout(workflowDetails(found));
    });

  workflow.command('update')
    .description('replace the spec of a workflow (a new revision; runs in progress keep theirs)')
    .argument('<ref>', REF_HELP)
    .requiredOption('-f, --file <file>', 'the new workflow spec; - reads standard input')
    .option('--revision <n>', 'refuse the update (TASK_VERSION_CONFLICT) unless the workflow is at this revision', integerOption('--revision'))
    .action(async (ref: string, options: { file: string; revision?: number }, command: Command) => {
      const spec = await loadSpecFile(options.file, ctx.io);
      const session = ctx.open(command);
      const found = await resolveWorkflow(session.api, ref);
      const updated = await session.api.request<WorkflowResource>({ method: 'PUT', path: workflowPath(found.id), query: { revision: options.revision }, body: spec });
      if (session.json) return printJson(ctx.io, updated);
      ctx.io.stdout(`updated workflow ${workflowLabel(updated)} (${updated.id}) to revision ${updated.revision}\nnext fire: ${formatInstant(updated.nextFireAt)}\n`);
    });

  workflow.command('trigger')
    .description('run a workflow now')
    .argument('<ref>', REF_HELP)
    .option('--param <key=value>', PARAM_OPTION_HELP, collect)
    .option('--params <json>', 'workflow run parameters as a JSON object (--param entries override it)')
    .option('--wait', 'wait for the workflow run to end and print its nodes; exit 1 unless it succeeded')
    .addHelpText('after', PARAM_HELP)
    .action(async (ref: string, options: { param?: string[]; params?: string; wait?: boolean }, command: Command) => {
      const params = runParams(options);
      const session = ctx.open(command);
      const found = await resolveWorkflow(session.api, ref);
      const started = await session.api.request<WorkflowRunResource>({ method: 'POST', path: workflowPath(found.id, '/trigger'), body: params ? { params } : {} });
      if (!options.wait) {
        if (session.json) return printJson(ctx.io, started);
        return ctx.io.stdout(`triggered workflow ${workflowLabel(found)}: workflow run ${started.id} (${started.status})\n`);
      }
      if (!session.json) ctx.io.stdout(`triggered workflow ${workflowLabel(found)}: workflow run ${started.id}; waiting for it to end\n`);
      const ended = await waitForEnd(ctx, session.api, started.id);
      await printRun(ctx, session, ended);
      const failure = outcomeError(ended);
      if (failure) throw failure;
    });

  for (const [verb, done] of [['pause', 'paused'], ['resume', 'resumed']] as const) {
    workflow.command(verb)
      .description(verb === 'pause' ? 'stop firing a workflow (manual triggers still work)' : 'fire a paused workflow again')
      .argument('<ref>', REF_HELP)
      .action(async (ref: string, _options: unknown, command: Command) => {
        const session = ctx.open(command);
        const found = await resolveWorkflow(session.api, ref);
        const changed = await session.api.request<WorkflowResource>({ method: 'POST', path: workflowPath(found.id, `/${verb}`) });
        if (session.json) return printJson(ctx.io, changed);
        ctx.io.stdout(`${done} workflow ${workflowLabel(changed)} (${changed.id}); state: ${changed.state}, next fire: ${formatInstant(changed.nextFireAt)}\n`);
      });
  }

  workflow.command('delete')
    .description('delete a workflow (its runs stay as history)')
    .argument('<ref>', REF_HELP)
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (ref: string, options: { yes?: boolean }, command: Command) => {
      const session = ctx.open(command);
      const found = await resolveWorkflow(session.api, ref);
      if (!options.yes) {
        if (!ctx.io.stdinIsTty) throw usageError(`deleting workflow ${workflowLabel(found)} needs --yes when standard input is not a terminal`);
        const answer = await ctx.io.prompt(`delete workflow ${workflowLabel(found)} (${found.id})? [y/N] `);
        if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('CANCELLED', 'nothing was deleted');
      }
      const result = await session.api.request<unknown>({ method: 'DELETE', path: workflowPath(found.id) });
      if (session.json) return printJson(ctx.io, result ?? { id: found.id, deleted: true });
      ctx.io.stdout(`deleted workflow ${workflowLabel(found)} (${found.id})\n`);
    });

  workflow.command('runs')
    .description('list the runs of a workflow, newest first')
    .argument('<ref>', REF_HELP)
    .addOption(new Option('--status <status>', 'only workflow runs in this status').choices([...WORKFLOW_RUN_STATUSES]))
    .option('--limit <n>', 'workflow runs per page', integerOption('--limit'))
    .option('--all', 'fetch every page')
    .action(async (ref: string, options: { status?: string; limit?: number; all?: boolean }, command: Command) => {
      const session = ctx.open(command);
      const found = await resolveWorkflow(session.api, ref);
      const page = await listPages<WorkflowRunResource>(session.api, '/api/v1/workflow-runs', { workflowId: found.id, status: options.status }, options);
      if (session.json) return printJson(ctx.io, page);
      ctx.io.stdout(page.items.length === 0 ? '(no workflow runs)\n' : workflowRunTable(page.items));
      moreHint(session, page, 'workflow runs');
    });

  workflow.command('rerun')
    .description('rerun a workflow run from its failed nodes: they and what follows them run again; succeeded nodes keep their outputs')
    .argument('<run-id>', 'workflow run id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const result = await session.api.request<WorkflowRunResource>({ method: 'POST', path: workflowRunPath(id, '/rerun'), body: { from: 'failed' } });
      if (session.json) return printJson(ctx.io, result);
      const again = (result.nodes ?? []).filter((node) => node.status === 'waiting' || node.status === 'running').map((node) => node.id);
      ctx.io.stdout(`rerunning workflow run ${result.id} from its failed nodes (status: ${result.status})${again.length > 0 ? `; to run: ${again.join(', ')}` : ''}\n`);
    });

  addBackfillCommand(workflow, ctx, 'workflow');
  registerWorkflowRunCommands(workflow, ctx);
}

function registerWorkflowRunCommands(workflow: Command, ctx: CliContext): void {
  const run = workflow.command('run').description('inspect, cancel and repair one workflow run');

  run.command('get')
    .description('show a workflow run and its nodes as a tree, each with its status, reason, duration and run')
    .argument('<run-id>', 'workflow run id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      await printRun(ctx, session, await session.api.request<WorkflowRunResource>({ path: workflowRunPath(id) }));
    });

  run.command('cancel')
    .description('cancel a workflow run: its running nodes are cancelled, the others skipped')
    .argument('<run-id>', 'workflow run id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const result = await session.api.request<WorkflowRunResource>({ method: 'POST', path: workflowRunPath(id, '/cancel') });
      if (session.json) return printJson(ctx.io, result);
      ctx.io.stdout(`cancelled workflow run ${result.id}; status: ${result.status}\n`);
    });

  const node = run.command('node').description('act on one node of a workflow run');
  const actions = [
    ['rerun', 'run one node again (its skipped successors are decided again once it ends)'],
    ['succeed', 'mark one node succeeded, with an output its successors read'],
    ['skip', 'skip one node (reason manual): its successors treat it as succeeded with no output'],
  ] as const;
  for (const [verb, description] of actions) {
    const action = node.command(verb)
      .description(description)
      .argument('<run-id>', 'workflow run id')
      .argument('<node-id>', 'node id, as in the workflow spec');
    if (verb === 'succeed') action.option('--output <json>', 'the node\'s output, as JSON (default: null)');
    action.action(async (id: string, nodeId: string, options: { output?: string }, command: Command) => {
      const output = outputOption(options.output);
      const session = ctx.open(command);
      const body = verb === 'succeed' ? (output === undefined ? {} : { output }) : undefined;
      const result = await session.api.request<WorkflowRunResource>({
        method: 'POST', path: workflowRunPath(id, `/nodes/${encodeURIComponent(nodeId)}/${verb}`), ...(body === undefined ? {} : { body }),
      });
      if (session.json) return printJson(ctx.io, result);
      const state = result.nodes?.find((n) => n.id === nodeId);
      const nodeText = state ? `${state.status}${state.reason ? ` (${state.reason})` : ''}` : 'changed';
      ctx.io.stdout(`node ${nodeId} of workflow run ${result.id}: ${nodeText}; workflow run: ${result.status}\n`);
    });
  }
}
