/**
 * Executor callbacks (`POST /api/v1/runs/{id}/report`). The run-scoped token proves which run and
 * attempt the caller may speak for; the store's sequence gate refuses replays and reports for
 * attempts or runs that are over. Nothing is written unless the gate accepts.
 */
import type { RunReportSchema } from '@ecron/contracts';
import type { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import type { RunRecord } from '../core/model.ts';
import { runLogAppends } from '../core/run-log-signal.ts';
import { verifyRunToken } from '../dispatch/run-token.ts';
import type { Store } from '../store/store.ts';
import type { RunSupervisor } from './run-supervisor.ts';

export interface ReportDeps {
  store: Store;
  clock: Clock;
  supervisor: RunSupervisor;
  callbackKey: string;
}

const GATE_ERRORS = {
  replayed: 'CALLBACK_REPLAYED',
  superseded: 'CALLBACK_ATTEMPT_SUPERSEDED',
  finished: 'RUN_ALREADY_FINISHED',
  not_found: 'RUN_NOT_FOUND',
} as const;

export async function handleReport(
  deps: ReportDeps,
  p: { runId: string; token: string | undefined; report: z.output<typeof RunReportSchema> },
): Promise<RunRecord> {
  const check = verifyRunToken(deps.callbackKey, p.token);
  if (!check.ok) throw new EcronError('CALLBACK_TOKEN_INVALID');
  if (check.runId !== p.runId) throw new EcronError('CALLBACK_RUN_MISMATCH');
  const { report } = p;
  if (report.attempt !== check.attempt) {
    throw new EcronError('CALLBACK_TOKEN_INVALID', `the callback token is for attempt ${check.attempt}, not ${report.attempt}`);
  }
  if (check.shard !== undefined) return handleShardReport(deps, p.runId, check.shard, report);
  const gate = await deps.store.acceptReport({ runId: p.runId, attempt: report.attempt, seq: report.seq, progress: report.progress ?? null });
  if (gate !== 'accepted') throw new EcronError(GATE_ERRORS[gate]);

  const now = deps.clock.now();
  if (report.logs?.length) {
    await deps.store.appendRunLogs(report.logs.map((line) => ({
      runId: p.runId, attempt: report.attempt, at: line.at ? Date.parse(line.at) : now, level: line.level, message: line.message,
    })));
    runLogAppends.notify(p.runId);
  }
  // A run another node supervises: write what the report says, then tell its owner.
  const foreign = !deps.supervisor.isTracked(p.runId);
  if (report.status === 'succeeded' || report.status === 'failed') {
    const fields = { output: report.output, error: report.error ?? null, traceparent: report.traceparent };
    const ended = foreign
      ? await deps.store.getRun(p.runId).then((run) => (run ? deps.supervisor.endForeignAttempt(run, report.status as 'succeeded' | 'failed', fields) : null))
      : await deps.supervisor.endAttempt(p.runId, report.status, fields);
    if (foreign && ended) await deps.store.publishChanges([{ kind: 'run', id: p.runId }]);
    if (ended) return ended;
  } else if (report.status === 'running') {
    const marked = await deps.store.markRunning({ runId: p.runId, attempt: report.attempt, at: now });
    if (foreign && marked) await deps.store.publishChanges([{ kind: 'run', id: p.runId }]);
  }
  const run = await deps.store.getRun(p.runId);
  if (!run) throw new EcronError('RUN_NOT_FOUND');
  return run;
}

/**
 * A report of one shard of a fan-out attempt (a shard token): its log lines, prefixed with the
 * shard, while the attempt is current. Its outcome travels in the reply to its request, and the
 * shards of one attempt report concurrently, so there is no sequence gate and no status here.
 */
async function handleShardReport(deps: ReportDeps, runId: string, shard: number, report: z.output<typeof RunReportSchema>): Promise<RunRecord> {
  if (report.status !== undefined) {
    throw new EcronError('VALIDATION_FAILED', 'a shard reports its outcome in the reply to its request; its callbacks carry log lines and progress only');
  }
  const run = await deps.store.getRun(runId);
  if (!run) throw new EcronError('RUN_NOT_FOUND');
  if (run.finishedAt !== null) throw new EcronError('RUN_ALREADY_FINISHED');
  if (run.attempt !== report.attempt) throw new EcronError('CALLBACK_ATTEMPT_SUPERSEDED');
  const now = deps.clock.now();
  if (report.logs?.length) {
    await deps.store.appendRunLogs(report.logs.map((line) => ({
      runId, attempt: report.attempt, at: line.at ? Date.parse(line.at) : now, level: line.level, message: `[shard ${shard}] ${line.message}`,
    })));
  }
  return run;
}
