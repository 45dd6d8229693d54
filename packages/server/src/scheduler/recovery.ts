/**
 * Adopting runs left by a node that is gone (a previous process of this node, or a dead member of
 * the cluster), at start-up and whenever orphaned runs appear in buckets this node holds. Queued
 * and backing-off runs are picked up again; runs that were dispatched or running are checked with
 * their executor (a `status` request): still running → adopted; finished → recorded; no
 * answer → the attempt is `lost` and the run retried per its policy.
 */
import type { RunRecord, ScheduledRecord, TaskRecord, WorkflowRecord } from '../core/model.ts';
import type { StatusAnswer } from '../dispatch/run-transport.ts';
import type { RunSupervisor } from './run-supervisor.ts';

export interface RecoveryDeps {
  supervisor: RunSupervisor;
  /** The task a run executes (see SupervisorDeps.getTask). */
  getTask: (run: RunRecord) => Promise<TaskRecord | null>;
  /** A task or workflow, by id. */
  getScheduled: (id: string) => Promise<ScheduledRecord | null>;
  /** A queue-one run found waiting: the scheduler keeps it in its queued slot. */
  onQueued: (run: RunRecord) => void;
  /** A workflow run found active: supervised here from now on (started if it had not). */
  onWorkflowRun: (run: RunRecord, workflow: WorkflowRecord) => void;
  /** Whether a run's map of its current attempt is sealed: it is adopted as it is, waiting for its subtasks (map-coordinator.ts). */
  isMapSealed?: (run: RunRecord) => Promise<boolean>;
}

export interface RecoverySummary {
  /** In flight, but unknown to their executor (never received): sent again. */
  resent: number;
  queued: number;
  retrying: number;
  adopted: number;
  resolved: number;
  lost: number;
}

const PARALLEL_STATUS_CHECKS = 64;
/** Status requests per attempt when the executor does not answer, this far apart. */
const STATUS_ASKS = 3;
const STATUS_RETRY_MS = 1000;

/** Resolves `runs` (active runs this node has just taken ownership of). */
export async function recoverRuns(deps: RecoveryDeps, runs: RunRecord[]): Promise<RecoverySummary> {
  const summary: RecoverySummary = { resent: 0, queued: 0, retrying: 0, adopted: 0, resolved: 0, lost: 0 };
  const inFlight: RunRecord[] = [];
  for (const run of runs) {
    if (run.workflowRunId === run.id && run.status !== 'pending') {
      // A workflow run: its nodes' runs are adopted on their own; what it needs is a supervisor
      // for its deadline (and a start, if its node died before starting it).
      const workflow = await deps.getScheduled(run.taskId);
      if (workflow?.kind === 'workflow') {
        summary.adopted += 1;
        deps.onWorkflowRun(run, workflow);
        continue;
      }
    }
    if (run.status === 'pending' && run.attempt === 0 && run.nodeId === null) {
      summary.queued += 1;
      deps.onQueued(run);
    } else if (run.status === 'throttled') {
      summary.queued += 1;
      deps.supervisor.throttle(run);
    } else if (run.status === 'pending' || run.status === 'no_executor') {
      summary.retrying += 1;
      deps.supervisor.scheduleRetry(run);
    } else {
      inFlight.push(run);
    }
  }
  for (let i = 0; i < inFlight.length; i += PARALLEL_STATUS_CHECKS) {
    await Promise.all(inFlight.slice(i, i + PARALLEL_STATUS_CHECKS).map((run) => resolveInFlight(deps, run, summary)));
  }
  return summary;
}

async function resolveInFlight(deps: RecoveryDeps, run: RunRecord, summary: RecoverySummary): Promise<void> {
  const task = await deps.getTask(run);
  const transport = task ? deps.supervisor.transportOf(task) : null;
  if (task && transport && await deps.isMapSealed?.(run)) {
    summary.adopted += 1;
    deps.supervisor.adoptMapped(run, task);
    return;
  }
  // An executor node (SDK, agent) stops a held run when its scheduler's connection closes, and a
  // detached one reports to the callback, which is refused once the attempt is superseded.
  if (transport?.recovery === 'resend') {
    summary.resent += 1;
    await deps.supervisor.resend(run);
    return;
  }
  let reply: StatusAnswer = { status: 'no-answer' };
  // An executor that does not answer may be busy: ask again before deciding.
  for (let ask = 0; ask < STATUS_ASKS && task && transport; ask += 1) {
    if (ask > 0) await new Promise((resolve) => setTimeout(resolve, STATUS_RETRY_MS));
    reply = await transport.status({ run, task });
    if (reply.status !== 'no-answer') break;
  }
  if (reply.status === 'running' && task) {
    summary.adopted += 1;
    deps.supervisor.adoptRunning(run, task);
    return;
  }
  if (reply.status === 'succeeded' || reply.status === 'failed') {
    summary.resolved += 1;
    await deps.supervisor.endAttempt(run.id, reply.status, { output: reply.output, error: reply.error ?? null });
    return;
  }
  // The executor says it never got the attempt: send it again, whether or not it was marked sent
  // (a request can wait in the HTTP client's queue after it is marked). Without the executor's
  // word, the attempt may have reached it: lost, retried per policy.
  if (reply.status === 'unknown') {
    summary.resent += 1;
    await deps.supervisor.resend(run);
    return;
  }
  summary.lost += 1;
  await deps.supervisor.endAttempt(run.id, 'lost', { error: 'the scheduler restarted and the executor could not confirm this attempt' });
}
