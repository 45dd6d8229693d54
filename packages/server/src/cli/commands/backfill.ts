/**
 * Backfills: `ecron task backfill` and `ecron workflow backfill` (with `--wait`, progress on stderr
 * until the backfill ends), and `ecron backfill get|list|cancel`.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { BackfillResource, TaskResource, WorkflowResource } from '@ecron/contracts';
import type { ApiClient } from '../api-client.ts';
import { backfillCounts, backfillDetails, backfillProgressLine, backfillTable } from '../backfill-views.ts';
import { CliError } from '../cli-error.ts';
import { type CliContext, integerOption, TRANSIENT_CODES, TRANSIENT_LIMIT_MS } from '../command-support.ts';
import type { CliIo, Session } from '../context.ts';
import { formatInstant, printJson } from '../output.ts';
import { taskLabel } from '../resource-views.ts';
import { resolveTask, taskPath } from '../task-ref.ts';
import { BACKFILL_MAX_CONCURRENCY, BACKFILL_MAX_FIRES, isFinalBackfillStatus } from '../vocabulary.ts';
import { resolveWorkflow, workflowPath } from '../workflow-ref.ts';

export type BackfillKind = 'task' | 'workflow';

/** How often `--wait` reads the backfill and redraws its progress. */
export const BACKFILL_POLL_MS = 1000;

const REF_HELP: Record<BackfillKind, string> = { task: 'task id, NAME or NAMESPACE/NAME', workflow: 'workflow id, NAME or NAMESPACE/NAME' };
const NOT_FOUND = new Set(['TASK_NOT_FOUND', 'WORKFLOW_NOT_FOUND', 'NOT_FOUND']);

const RANGE_HELP = `
--from and --to take an ISO-8601 instant with a zone, or a date read in UTC:
  --from 2026-12-01T02:00:00Z       that instant
  --to 2026-12-01T10:00:00+08:00    that instant
  --from 2026-12-01                 2026-12-01T00:00:00.000Z (the day's start)
  --to 2026-12-01                   2026-12-01T23:59:59.999Z (the day's end)
Both ends are inclusive; --to must not be in the future (BACKFILL_RANGE_INVALID).
Each instant of the schedule in the range is fired once, with that instant as
its scheduledAt; an instant that has a fire already is skipped. Refused: no
fire in the range (BACKFILL_EMPTY, as for a manual schedule), more fires than
--max-count (BACKFILL_TOO_LARGE).
With --wait, progress (created, skipped, total) is shown on stderr about once a
second until the backfill ends; exit code 0 when it succeeded, 1 otherwise
(BACKFILL_CANCELLED, BACKFILL_FAILED). Stopping the wait (Ctrl-C) does not stop
the backfill: ecron backfill cancel ID does.
`;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** An ISO-8601 date and time with a zone; the server checks the rest of its form. */
const ZONED = /^\d{4}-\d{2}-\d{2}T.+(Z|[+-]\d{2}(:?\d{2})?)$/i;

/**
 * The parser of `--from` and `--to`: an ISO-8601 instant with a zone is sent as is; a date
 * (`2026-12-01`) becomes that day's first instant in UTC for `--from`, its last for `--to`.
 */
export function rangeOption(end: 'from' | 'to'): (value: string) => string {
  return (value: string): string => {
    const text = value.trim();
    const date = DATE.exec(text);
    if (date) {
      const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])];
      const at = new Date(Date.UTC(year, month - 1, day));
      if (at.getUTCFullYear() !== year || at.getUTCMonth() !== month - 1 || at.getUTCDate() !== day) {
        throw new InvalidArgumentError(`--${end} ${text} is not a date.`);
      }
      return `${text}T${end === 'from' ? '00:00:00.000' : '23:59:59.999'}Z`;
    }
    if (ZONED.test(text) && Number.isFinite(Date.parse(text))) return text;
    throw new InvalidArgumentError(`--${end} must be an ISO-8601 instant with a zone (2026-12-01T00:00:00Z) or a date (2026-12-01).`);
  };
}

/** The API path of a backfill. */
export function backfillPath(id: string, suffix = ''): string {
  return `/api/v1/backfills/${encodeURIComponent(id)}${suffix}`;
}

function targetPath(kind: BackfillKind, id: string, suffix = ''): string {
  return kind === 'task' ? taskPath(id, suffix) : workflowPath(id, suffix);
}

function resolveTarget(api: ApiClient, kind: BackfillKind, ref: string): Promise<TaskResource | WorkflowResource> {
  return kind === 'task' ? resolveTask(api, ref) : resolveWorkflow(api, ref);
}

/**
 * Progress on stderr: on a terminal one line redrawn in place at each reading; otherwise a plain
 * line each time the numbers change. Nothing under `--json` (stderr then holds only a JSON error).
 */
function progressReporter(io: CliIo, enabled: boolean): { show: (backfill: BackfillResource) => void; end: () => void } {
  const tty = io.stderrIsTty === true;
  let last = '';
  let drawn = false;
  return {
    show: (backfill) => {
      if (!enabled) return;
      const line = backfillProgressLine(backfill);
      if (tty) {
        io.stderr(`\r\x1b[2K${line}`);
        drawn = true;
      } else if (line !== last) {
        io.stderr(`${line}\n`);
      }
      last = line;
    },
    end: () => {
      if (drawn) io.stderr('\n');
      drawn = false;
    },
  };
}

/** Reads the backfill about once a second until it has ended (transient errors are waited through), showing its progress. */
async function waitForBackfill(ctx: CliContext, session: Session, started: BackfillResource): Promise<BackfillResource> {
  const progress = progressReporter(ctx.io, !session.json);
  let current = started;
  let failingSince: number | null = null;
  try {
    progress.show(current);
    while (!isFinalBackfillStatus(current.status)) {
      await ctx.io.sleep(BACKFILL_POLL_MS);
      try {
        current = await session.api.request<BackfillResource>({ path: backfillPath(current.id) });
        failingSince = null;
      } catch (error) {
        if (!(error instanceof CliError) || !TRANSIENT_CODES.has(error.code)) throw error;
        failingSince ??= Date.now();
        if (Date.now() - failingSince > TRANSIENT_LIMIT_MS) throw error;
        continue;
      }
      progress.show(current);
    }
  } finally {
    progress.end();
  }
  return current;
}

/** Exit code 1 (with a stable code) for a backfill that ended other than succeeded. */
function outcomeError(backfill: BackfillResource): CliError | null {
  if (backfill.status === 'succeeded') return null;
  const code = backfill.status === 'cancelled' ? 'BACKFILL_CANCELLED' : 'BACKFILL_FAILED';
  return new CliError(code, `backfill ${backfill.id} ${backfill.status}${backfill.error ? `: ${backfill.error}` : ''} (${backfillCounts(backfill)})`, {
    details: { backfillId: backfill.id, status: backfill.status, created: backfill.created, skipped: backfill.skipped, total: backfill.total },
  });
}

/** `task ns/name (id)` or `workflow ns/name (id)` for a backfill's target; the id alone when neither can be read. */
async function targetText(api: ApiClient, id: string): Promise<string> {
  for (const kind of ['task', 'workflow'] as const) {
    try {
      const found = await api.request<TaskResource | WorkflowResource>({ path: targetPath(kind, id) });
      return `${kind} ${taskLabel(found)} (${id})`;
    } catch (error) {
      if (!(error instanceof CliError) || !NOT_FOUND.has(error.code)) return id;
    }
  }
  return `${id} (deleted)`;
}

/** `ecron task backfill` or `ecron workflow backfill`, added to that command group. */
export function addBackfillCommand(group: Command, ctx: CliContext, kind: BackfillKind): void {
  group.command('backfill')
    .description(`fire a ${kind} for each instant its schedule had in a past range (each with that instant as scheduledAt)`)
    .argument('<ref>', REF_HELP[kind])
    .requiredOption('--from <when>', 'first instant, inclusive: ISO-8601 with a zone, or a date (its 00:00:00.000 UTC)', rangeOption('from'))
    .requiredOption('--to <when>', 'last instant, inclusive, not in the future: ISO-8601 with a zone, or a date (its 23:59:59.999 UTC)', rangeOption('to'))
    .option('--max-count <n>', 'refuse (BACKFILL_TOO_LARGE) when the range holds more fires than this (server default: 1000)',
      integerOption('--max-count', 1, BACKFILL_MAX_FIRES))
    .option('--concurrency <n>', 'runs of the backfill active at once, at most (server default: 1)', integerOption('--concurrency', 1, BACKFILL_MAX_CONCURRENCY))
    .option('--wait', 'show progress on stderr until the backfill ends; exit 1 unless it succeeded')
    .addHelpText('after', RANGE_HELP)
    .action(async (ref: string, options: { from: string; to: string; maxCount?: number; concurrency?: number; wait?: boolean }, command: Command) => {
      const session = ctx.open(command);
      const target = await resolveTarget(session.api, kind, ref);
      const body = {
        from: options.from, to: options.to,
        ...(options.maxCount === undefined ? {} : { maxCount: options.maxCount }),
        ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      };
      const started = await session.api.request<BackfillResource>({ method: 'POST', path: targetPath(kind, target.id, '/backfill'), body });
      if (!session.json) {
        ctx.io.stdout(`backfill ${started.id} of ${kind} ${taskLabel(target)}: ${started.total} ${started.total === 1 ? 'fire' : 'fires'}`
          + ` from ${formatInstant(started.from)} to ${formatInstant(started.to)} (concurrency ${started.concurrency})\n`);
      }
      if (!options.wait) {
        if (session.json) printJson(ctx.io, started);
        return;
      }
      const ended = await waitForBackfill(ctx, session, started);
      if (session.json) printJson(ctx.io, ended);
      else ctx.io.stdout(`backfill ${ended.id} ${ended.status}: ${backfillCounts(ended)}\n`);
      const failure = outcomeError(ended);
      if (failure) throw failure;
    });
}

/** `ecron backfill get|list|cancel`. */
export function registerBackfillCommands(program: Command, ctx: CliContext): void {
  const backfill = program.command('backfill').description('show, list and cancel backfills (start one with task backfill or workflow backfill)');

  backfill.command('get')
    .description('show a backfill and its progress')
    .argument('<id>', 'backfill id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const found = await session.api.request<BackfillResource>({ path: backfillPath(id) });
      if (session.json) return printJson(ctx.io, found);
      ctx.io.stdout(backfillDetails(found, await targetText(session.api, found.taskId)));
    });

  backfill.command('list')
    .description('list the backfills of a task (or, with --workflow, of a workflow), newest first')
    .argument('<ref>', 'task (or workflow) id, NAME or NAMESPACE/NAME')
    .option('--workflow', 'REF names a workflow, not a task')
    .action(async (ref: string, options: { workflow?: boolean }, command: Command) => {
      const session = ctx.open(command);
      const kind: BackfillKind = options.workflow ? 'workflow' : 'task';
      const target = await resolveTarget(session.api, kind, ref);
      const list = await session.api.request<{ items: BackfillResource[] }>({ path: targetPath(kind, target.id, '/backfills') });
      if (session.json) return printJson(ctx.io, list);
      const items = list.items ?? [];
      ctx.io.stdout(items.length === 0 ? `(no backfills of ${kind} ${taskLabel(target)})\n` : backfillTable(items));
    });

  backfill.command('cancel')
    .description('cancel a backfill: no more fires are created (runs already started go on)')
    .argument('<id>', 'backfill id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const cancelled = await session.api.request<BackfillResource>({ method: 'POST', path: backfillPath(id, '/cancel') });
      if (session.json) return printJson(ctx.io, cancelled);
      ctx.io.stdout(`cancelled backfill ${cancelled.id}: ${backfillCounts(cancelled)}; runs already started go on\n`);
    });
}
