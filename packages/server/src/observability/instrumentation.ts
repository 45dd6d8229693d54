/**
 * The one interface the scheduler, dispatch, the store and the API report to (DESIGN.md,
 * "Instrumentation"). Prometheus metrics (`prometheus.ts`), traces and the event log are
 * implementations of it with no special standing; a user may pass their own
 * (`ServerOptions.instrumentation`).
 *
 * Reports speak the domain: a fire recorded, a misfire skipped, an attempt dispatched, an attempt
 * or a run ended, a retry scheduled, an API request, a store operation, a lease moved. Each carries
 * the ids and instants a trace span needs (run id, task id, namespace, attempt, target type,
 * epoch-ms instants of the scheduler's clock), not only what a counter needs.
 *
 * Contract for implementations:
 * - Every method is optional: implement what you use.
 * - Reports are synchronous calls on the hot path: return quickly, never block, and do not keep
 *   a reference to the report object (copy what you need).
 * - Throwing is harmless through {@link combineInstrumentation} (the server always composes
 *   through it): the error is dropped and the other implementations still hear the report.
 * - Gauges are read, not pushed: {@link Instrumentation.readGauges} hands over a reader once at
 *   start; call it when you need the values (on scrape).
 */
import type { RunStatus, Target } from '@ecron/contracts';

/** A task's target type, or `workflow` for the run of a workflow's fire; `unknown` when the task is gone. */
export type TargetType = Target['type'] | 'workflow' | 'unknown';

/** What identifies a run in every run-level report. */
export interface RunIdentity {
  runId: string;
  taskId: string;
  taskName: string;
  namespace: string;
  /** `schedule` (a fire, a backfill) or `manual` (trigger, rerun, a workflow's node). */
  trigger: string;
  /** The fire's nominal instant (epoch ms); a manual run's creation. */
  scheduledAt: number;
  /** The workflow run this run belongs to (its own id for a workflow run); null for a task's own runs. */
  workflowRunId: string | null;
  targetType: TargetType;
}

/** One run recorded by a fire (the `fire` event of the scheduler). */
export interface FireReport extends RunIdentity {
  /** What the fire made of the run: `dispatched` (goes out now), `pending` (queue-one slot), `skipped` (overlap, quota), `throttled`. */
  status: RunStatus;
  /** When the run went out (a dispatched run) or was recorded (epoch ms). */
  firedAt: number;
  /** firedAt − scheduledAt (jitter included). */
  lagMs: number;
}

/** Nominal fires of a task that were not run at all (counted in the task's `skippedFires`). */
export interface MisfireReport {
  taskId: string;
  taskName: string;
  namespace: string;
  /** How many fires. */
  count: number;
  /** `late`: the misfire policy skipped fires missed while no node fired them; `no_executor`: the task's executor group had no live node and a run already waited. */
  reason: 'late' | 'no_executor';
  /** The nominal instant of the first fire considered (epoch ms). */
  scheduledAt: number;
  at: number;
}

/** An attempt reached its executor (the request written, the poll took it, the call started). */
export interface AttemptDispatchReport extends RunIdentity {
  attempt: number;
  /** When the transport was handed the attempt (epoch ms). */
  startedAt: number;
  /** When it reached its executor (epoch ms; an attempt handed over ahead of its instant: that instant). */
  sentAt: number;
  /** sentAt − max(startedAt, its instant). */
  dispatchMs: number;
  /** The node it reached, or a fan-out's summary, when the transport knows. */
  executor?: string;
}

/** An attempt ended (on its executor's answer, its callback, the deadline, a cancel, a hand-back). */
export interface AttemptEndReport extends RunIdentity {
  attempt: number;
  /** The attempt's status: succeeded, failed, timed_out, cancelled, lost. */
  status: string;
  /** When the run's first attempt started (epoch ms; the attempt's own start is its `attemptDispatched.startedAt`); null when unknown. */
  runStartedAt: number | null;
  endedAt: number;
  /** This node ended the attempt of a run another node supervises (its executor's callback came here). */
  foreign: boolean;
  /** What follows: another attempt (`retry`), waiting for a live executor, or the run's end. */
  next: 'retry' | 'no_executor' | 'final';
  error?: string | null;
  /** The executor's own span of the attempt (W3C traceparent), when its report or result told it. */
  executorTraceparent?: string;
}

/** A run will get another attempt after backoff. */
export interface RetryReport extends RunIdentity {
  /** The attempt that failed. */
  attempt: number;
  /** When the next attempt may start (epoch ms). */
  nextAttemptAt: number;
  at: number;
}

/** A run reached a final status. */
export interface RunEndReport extends RunIdentity {
  /** succeeded, failed, timed_out, cancelled, skipped, lost. */
  status: RunStatus;
  attempts: number;
  createdAt: number;
  /** The first attempt's start; null when it never started. */
  startedAt: number | null;
  finishedAt: number;
  error: string | null;
}

/** One answered API request. */
export interface ApiRequestReport {
  /** The route pattern (`/api/v1/tasks/:id`), never the raw URL; `unmatched` for unknown routes. */
  route: string;
  method: string;
  status: number;
  startedAt: number;
  durationMs: number;
  requestId: string;
  /** The caller's W3C `traceparent` header, when it sent one (the parent of the request's span). */
  traceparent?: string;
}

/** One store verb called. */
export interface StoreOperationReport {
  /** The Store method's name (`recordFires`, `finishAttempts`, …). */
  operation: string;
  startedAt: number;
  durationMs: number;
  ok: boolean;
}

/** Bucket leases this node took or let go (rebalance, takeover, lost renewal). */
export interface LeaseMoveReport {
  nodeId: string;
  direction: 'acquired' | 'lost';
  buckets: number[];
  at: number;
}

/** The values of the gauges, read on demand. */
export interface GaugeReadings {
  /** Attempts out to their executor, supervised by this node. */
  runsInFlight: number;
  /** Runs waiting for a live executor of their group (`no_executor`). */
  runsWaiting: number;
  /** Runs waiting for their namespace's run quota (`throttled`). */
  runsThrottled: number;
  /**
   * Work waiting on this node, by queue: `fires` (tasks whose next fire is read ahead, waiting for
   * its instant), `launches` (runs recorded, waiting to go out), `retries` (runs in backoff),
   * `overlap` (runs in a queue-one slot).
   */
  queueDepth: Record<'fires' | 'launches' | 'retries' | 'overlap', number>;
  /** Buckets this node holds a lease on. */
  leasesHeld: number;
  /** Live scheduler nodes of the cluster, as of this node's last heartbeat. */
  schedulerNodes: number;
  /** Live executor nodes of each executor group that has any (as this node's registry read sees them). */
  executorNodes: { namespace: string; group: string; live: number }[];
}

export interface Instrumentation {
  fireRecorded?(report: FireReport): void;
  misfireSkipped?(report: MisfireReport): void;
  attemptDispatched?(report: AttemptDispatchReport): void;
  attemptEnded?(report: AttemptEndReport): void;
  retryScheduled?(report: RetryReport): void;
  runEnded?(report: RunEndReport): void;
  apiRequest?(report: ApiRequestReport): void;
  storeOperation?(report: StoreOperationReport): void;
  leaseMoved?(report: LeaseMoveReport): void;
  /** Called once at start with the reader of the gauges (call it on scrape). */
  readGauges?(read: () => GaugeReadings): void;
}

/** The report methods (everything but the gauge reader). */
type ReportName = Exclude<keyof Instrumentation, 'readGauges'>;
const REPORTS: readonly ReportName[] = [
  'fireRecorded', 'misfireSkipped', 'attemptDispatched', 'attemptEnded', 'retryScheduled', 'runEnded', 'apiRequest', 'storeOperation', 'leaseMoved',
];

/** Hears nothing. */
export const noopInstrumentation: Instrumentation = Object.freeze({});

/**
 * One instrumentation that hands every report to each of `list` (undefined entries are skipped),
 * in order. An implementation that throws loses that report; the others still get it. A method is
 * present only when some implementation has it, so callers pay nothing for reports nobody hears.
 */
export function combineInstrumentation(...list: (Instrumentation | undefined | null)[]): Instrumentation {
  const parts = list.filter((part): part is Instrumentation => part !== undefined && part !== null);
  const combined: Instrumentation = {};
  for (const name of REPORTS) {
    const hearers = parts.filter((part) => typeof part[name] === 'function');
    if (hearers.length === 0) continue;
    (combined as Record<ReportName, (report: unknown) => void>)[name] = (report: unknown) => {
      for (const part of hearers) {
        try {
          (part[name] as (report: unknown) => void).call(part, report);
        } catch {
          // An implementation's failure must not stop the scheduler, nor the others.
        }
      }
    };
  }
  const readers = parts.filter((part) => typeof part.readGauges === 'function');
  if (readers.length > 0) {
    combined.readGauges = (read) => {
      for (const part of readers) {
        try {
          part.readGauges!(read);
        } catch {
          // as above
        }
      }
    };
  }
  return combined;
}
