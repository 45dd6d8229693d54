/**
 * Deterministic trace and span ids of a run, so that any node (the one that fired it, the one that
 * retries it after a failover, the one that receives its callback) builds the same parent context
 * without storing anything, and a long run never holds a span open: each span is emitted when its
 * work ends, with its real start time, under ids every node computes alike.
 *
 * - The trace of a run is `sha256("ecron-trace:" + key)[0..16)`, where the key is the run's
 *   workflow run id when it is a workflow's node run (the whole workflow run is one trace), else
 *   its own id.
 * - The fire, run and attempt spans are `sha256("ecron-span:" + kind + ":" + runId [+ ":" + n])[0..8)`.
 *   The fire span is the root of a scheduled run's trace; the run span is its child (a manual
 *   run's root; a node run's parent is its workflow run's span); attempts are children of the run
 *   span. Dispatch spans (random ids) are children of their attempt's.
 */
import { createHash } from 'node:crypto';

/** The parts of a run its trace ids are made of. */
export interface TracedRun {
  runId: string;
  /** `schedule` or `manual`. */
  trigger: string;
  workflowRunId: string | null;
}

function digest(text: string, bytes: number): string {
  const hex = createHash('sha256').update(text).digest('hex').slice(0, bytes * 2);
  // An all-zero id is invalid in W3C trace context (a 2^-64 chance, but cheap to rule out).
  return /^0+$/.test(hex) ? `${hex.slice(0, -1)}1` : hex;
}

/** The trace id of a run: 32 hex characters. */
export function traceIdOf(run: Pick<TracedRun, 'runId' | 'workflowRunId'>): string {
  return digest(`ecron-trace:${run.workflowRunId ?? run.runId}`, 16);
}

/**
 * What a log line about `run` carries (issue 18, "Logs"): its id, and its trace's id, so that the
 * line can be found from a trace and the trace from the line, whether tracing is on or not.
 */
export function runLogFields(run: { id: string; workflowRunId: string | null }): { runId: string; traceId: string } {
  return { runId: run.id, traceId: traceIdOf({ runId: run.id, workflowRunId: run.workflowRunId }) };
}

/** The deterministic span id of one of a run's spans: 16 hex characters. */
export function spanIdOf(kind: 'fire' | 'run' | 'attempt', runId: string, attempt?: number): string {
  return digest(`ecron-span:${kind}:${runId}${attempt === undefined ? '' : `:${attempt}`}`, 8);
}

/** True when the run is a workflow's node run (its own id differs from its workflow run's). */
function isNodeRun(run: TracedRun): boolean {
  return run.workflowRunId !== null && run.workflowRunId !== run.runId;
}

/** True when a fire span starts the run's trace: a scheduled run that is not a workflow node's. */
export function hasFireSpan(run: TracedRun): boolean {
  return run.trigger === 'schedule' && !isNodeRun(run);
}

/** The parent span id of a run's span: its fire's, its workflow run's, or none (the trace's root). */
export function runParentSpanId(run: TracedRun): string | null {
  if (isNodeRun(run)) return spanIdOf('run', run.workflowRunId!);
  return hasFireSpan(run) ? spanIdOf('fire', run.runId) : null;
}
