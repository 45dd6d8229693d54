/**
 * `ecron events`: the event log (`GET /api/v1/events`): a page, or with `--follow` a live stream
 * that resumes where it dropped. One line per event, or one JSON object per line with `--json`.
 */
import type { EventResource } from '@ecron/contracts';
import type { Command } from 'commander';
import type { CliContext } from '../command-support.ts';
import { CliError, usageError } from '../cli-error.ts';
import { followStream } from '../log-follow.ts';
import { formatDuration } from '../output.ts';

interface EventsOptions {
  follow?: boolean;
  type?: string;
  namespace?: string;
  task?: string;
  run?: string;
  workflowRun?: string;
  after?: string;
  limit?: string;
}

/** The fields an event line shows after its type, in this order, when present. */
const SHOWN = ['namespace', 'taskName', 'name', 'runId', 'status', 'attempt', 'progress', 'nodeId', 'executorId', 'group', 'schedulerNodeId', 'bucket', 'from', 'to', 'error'];

export function eventLine(event: EventResource): string {
  const fields = SHOWN.filter((key) => event[key] !== undefined && event[key] !== null).map((key) => `${key}=${String(event[key])}`);
  return `${event.at}  ${String(event.seq).padStart(8)}  ${event.type.padEnd(22)} ${fields.join(' ')}\n`;
}

export function registerEventCommands(program: Command, ctx: CliContext): void {
  program.command('events')
    .description('print the event log: every state change of runs, tasks, workflows, executor and scheduler nodes, and leases')
    .option('--follow', 'keep printing events as they happen (a live stream; reconnects where it dropped)')
    .option('--type <types>', 'only these types, comma-separated: exact (run.failed) or a prefix (run.*)')
    .option('--namespace <names>', 'only these namespaces, comma-separated')
    .option('--task <id>', 'only the events of this task or workflow')
    .option('--run <id>', 'only the events of this run')
    .option('--workflow-run <id>', 'only the events of this workflow run and its nodes')
    .option('--after <seq>', 'only events after this sequence number (default: with --follow, from now on; without, from the start)')
    .option('--limit <n>', 'without --follow: events to print', '100')
    .action(async (options: EventsOptions, command: Command) => {
      const after = options.after === undefined ? undefined : wholeNumber('--after', options.after, 0);
      const limit = wholeNumber('--limit', options.limit ?? '100', 1);
      if (limit > 1000) throw usageError('--limit: at most 1000');
      const session = ctx.open(command);
      const query = {
        type: options.type, namespace: options.namespace, taskId: options.task, runId: options.run, workflowRunId: options.workflowRun,
      };
      const print = (event: EventResource): void => ctx.io.stdout(session.json ? `${JSON.stringify(event)}\n` : eventLine(event));
      if (!options.follow) {
        const page = await session.api.request<{ items: EventResource[]; last: number }>({ path: '/api/v1/events', query: { ...query, after, limit } });
        if (session.json) {
          for (const event of page.items) print(event);
          return;
        }
        if (page.items.length === 0) ctx.io.stderr('(no events)\n');
        for (const event of page.items) print(event);
        return;
      }
      await followStream<never>({
        api: session.api, path: '/api/v1/events', query: { ...query, after, follow: 1 }, sleep: ctx.io.sleep,
        what: 'the event stream', endedEarly: 'the stream closed',
        onEvent: (event) => {
          if (event.event === 'error') {
            // The server ends the stream so: retention deleted events this follower had not read.
            const { error } = JSON.parse(event.data) as { error: { code: string; message: string; details?: unknown } };
            throw new CliError(error.code, error.message, { details: error.details });
          }
          print(JSON.parse(event.data) as EventResource);
          return undefined;
        },
        onReconnect: ({ attempt, delayMs, reason }) => {
          if (!session.json) ctx.io.stderr(`(event stream interrupted: ${reason}; reconnecting in ${formatDuration(delayMs)}, try ${attempt})\n`);
        },
      });
    });
}

function wholeNumber(flag: string, value: string, min: number): number {
  if (!/^\d{1,15}$/.test(value) || Number(value) < min) throw usageError(`${flag} ${value}: expected a whole number of at least ${min}`);
  return Number(value);
}
