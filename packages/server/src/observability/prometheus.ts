/**
 * Prometheus metrics: one {@link Instrumentation} among others, turning reports into prom-client
 * counters, histograms and gauges of one Registry per server (never prom-client's global default
 * registry: tests run many servers in one process, and an embedding application may have its own).
 * Node.js process metrics (`collectDefaultMetrics`) go to the same registry.
 *
 * Cardinality is bounded by construction: no label carries a run id, a URL or an error text.
 * Labels are the namespace, the target type, statuses, the route pattern, the store verb and the
 * executor group; a per-task label only when asked for (`taskLabels`, a cap on how many tasks get
 * their own series; later tasks are counted under `task="other"`). Every metric is listed in
 * docs/observability.md.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type {
  ApiRequestReport, AttemptDispatchReport, AttemptEndReport, FireReport, GaugeReadings, Instrumentation, LeaseMoveReport, MisfireReport, RetryReport, RunEndReport,
  StoreOperationReport,
} from './instrumentation.ts';

export interface PrometheusOptions {
  /**
   * How many tasks get series of their own (label `task`, the task's name); the others are counted
   * under `task="other"`. 0: no `task` label at all (the series do not grow with the number of tasks).
   * @default 0
   */
  taskLabels?: number;
  /** Reported by `ecron_build_info`. */
  version: string;
  nodeId: string;
  /** Node.js process metrics (`process_*`, `nodejs_*`). @default true */
  processMetrics?: boolean;
}

/** The value of the `task` label beyond the cap. */
export const OTHER_TASKS = 'other';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const RUN_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200];

export class PrometheusInstrumentation implements Instrumentation {
  readonly registry = new Registry();
  readonly #taskCap: number;
  /** Tasks given a series of their own, by `namespace/name`. */
  readonly #namedTasks = new Set<string>();
  #gauges: (() => GaugeReadings) | null = null;
  readonly #fires: Counter;
  readonly #fireLag: Histogram;
  readonly #misfires: Counter;
  readonly #runs: Counter;
  readonly #runDuration: Histogram;
  readonly #attempts: Counter;
  readonly #retries: Counter;
  readonly #dispatch: Histogram;
  readonly #leaseMoves: Counter;
  readonly #store: Histogram;
  readonly #storeErrors: Counter;
  readonly #http: Histogram;

  constructor(options: PrometheusOptions) {
    this.#taskCap = Math.max(0, Math.floor(options.taskLabels ?? 0));
    const registers = [this.registry];
    const task = this.#taskCap > 0 ? ['task'] : [];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    new Gauge({ name: 'ecron_build_info', help: 'Always 1; its labels tell the version and node id of this server', labelNames: ['version', 'node_id'], registers })
      .set({ version: options.version, node_id: options.nodeId }, 1);
    this.#fires = new Counter({ name: 'ecron_fires_total', help: 'Runs recorded by fires, by what the fire made of them (dispatched, pending, skipped, throttled)', labelNames: ['namespace', 'status', ...task], registers });
    this.#fireLag = new Histogram({
      name: 'ecron_fire_lag_seconds', help: 'From a scheduled fire\'s nominal instant to its first attempt reaching the executor', labelNames: ['namespace', 'target_type', ...task], buckets: LATENCY_BUCKETS, registers,
    });
    this.#misfires = new Counter({ name: 'ecron_misfires_total', help: 'Nominal fires not run at all: late (misfire policy) or no_executor (no live node while a run waits)', labelNames: ['namespace', 'reason', ...task], registers });
    this.#runs = new Counter({ name: 'ecron_runs_total', help: 'Runs that reached a final status, by outcome', labelNames: ['namespace', 'outcome', 'target_type', ...task], registers });
    this.#runDuration = new Histogram({
      name: 'ecron_run_duration_seconds', help: 'From a run\'s first attempt start to its end (runs that started)', labelNames: ['namespace', 'outcome', 'target_type'], buckets: RUN_BUCKETS, registers,
    });
    this.#attempts = new Counter({ name: 'ecron_attempts_total', help: 'Attempts that ended, by their status', labelNames: ['namespace', 'status', 'target_type'], registers });
    this.#retries = new Counter({ name: 'ecron_retries_total', help: 'Attempts that failed and were followed by a retry after backoff', labelNames: ['namespace', 'target_type'], registers });
    this.#dispatch = new Histogram({
      name: 'ecron_dispatch_duration_seconds', help: 'From handing an attempt to its transport to the attempt reaching its executor', labelNames: ['target_type'], buckets: LATENCY_BUCKETS, registers,
    });
    this.#leaseMoves = new Counter({ name: 'ecron_lease_moves_total', help: 'Bucket leases this node acquired or lost', labelNames: ['direction'], registers });
    this.#store = new Histogram({ name: 'ecron_store_operation_duration_seconds', help: 'Store verbs, by name', labelNames: ['operation'], buckets: STORE_BUCKETS, registers });
    this.#storeErrors = new Counter({ name: 'ecron_store_operation_errors_total', help: 'Store verbs that failed, by name', labelNames: ['operation'], registers });
    this.#http = new Histogram({
      name: 'ecron_http_request_duration_seconds', help: 'API requests answered, by route pattern, method and status', labelNames: ['route', 'method', 'status'], buckets: LATENCY_BUCKETS, registers,
    });
    this.#gauge('ecron_runs_in_flight', 'Attempts out to their executor, supervised by this node', (g) => g.runsInFlight);
    this.#gauge('ecron_runs_waiting', 'Runs waiting for a live executor of their group', (g) => g.runsWaiting);
    this.#gauge('ecron_runs_throttled', 'Runs waiting for their namespace\'s run quota', (g) => g.runsThrottled);
    this.#gauge('ecron_leases_held', 'Buckets this node holds a lease on', (g) => g.leasesHeld);
    this.#gauge('ecron_scheduler_nodes', 'Live scheduler nodes of the cluster, as of this node\'s last heartbeat', (g) => g.schedulerNodes);
    const read = () => this.#gauges?.() ?? null;
    new Gauge({
      name: 'ecron_queue_depth', help: 'Work waiting on this node: fires (read ahead), launches (recorded), retries (backoff), overlap (queue-one slot)', labelNames: ['queue'], registers,
      collect() {
        const g = read();
        if (g) for (const [queue, depth] of Object.entries(g.queueDepth)) this.set({ queue }, depth);
      },
    });
    new Gauge({
      name: 'ecron_executor_nodes', help: 'Live executor nodes by executor group', labelNames: ['namespace', 'group'], registers,
      collect() {
        const g = read();
        this.reset();
        if (g) for (const { namespace, group, live } of g.executorNodes) this.set({ namespace, group }, live);
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition, in the text format. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  readGauges(read: () => GaugeReadings): void {
    this.#gauges = read;
  }

  fireRecorded(r: FireReport): void {
    this.#fires.inc({ namespace: r.namespace, status: r.status, ...this.#task(r) });
  }

  misfireSkipped(r: MisfireReport): void {
    this.#misfires.inc({ namespace: r.namespace, reason: r.reason, ...this.#task(r) }, r.count);
  }

  attemptDispatched(r: AttemptDispatchReport): void {
    this.#dispatch.observe({ target_type: r.targetType }, r.dispatchMs / 1000);
    // The fire lag: scheduled fires only (a manual run's instant is its creation), first attempts only.
    if (r.attempt === 1 && r.trigger === 'schedule') {
      this.#fireLag.observe({ namespace: r.namespace, target_type: r.targetType, ...this.#task(r) }, Math.max(0, r.sentAt - r.scheduledAt) / 1000);
    }
  }

  attemptEnded(r: AttemptEndReport): void {
    this.#attempts.inc({ namespace: r.namespace, status: r.status, target_type: r.targetType });
  }

  retryScheduled(r: RetryReport): void {
    this.#retries.inc({ namespace: r.namespace, target_type: r.targetType });
  }

  runEnded(r: RunEndReport): void {
    this.#runs.inc({ namespace: r.namespace, outcome: r.status, target_type: r.targetType, ...this.#task(r) });
    if (r.startedAt !== null) this.#runDuration.observe({ namespace: r.namespace, outcome: r.status, target_type: r.targetType }, Math.max(0, r.finishedAt - r.startedAt) / 1000);
  }

  apiRequest(r: ApiRequestReport): void {
    this.#http.observe({ route: r.route, method: r.method, status: String(r.status) }, r.durationMs / 1000);
  }

  storeOperation(r: StoreOperationReport): void {
    this.#store.observe({ operation: r.operation }, r.durationMs / 1000);
    if (!r.ok) this.#storeErrors.inc({ operation: r.operation });
  }

  leaseMoved(r: LeaseMoveReport): void {
    this.#leaseMoves.inc({ direction: r.direction }, r.buckets.length);
  }

  /** The `task` label of a report: none without a cap; the task's name for the first `taskLabels` tasks seen, else `other`. */
  #task(r: { namespace: string; taskName: string }): { task?: string } {
    if (this.#taskCap === 0) return {};
    const key = `${r.namespace}/${r.taskName}`;
    if (this.#namedTasks.has(key)) return { task: r.taskName };
    if (this.#namedTasks.size < this.#taskCap) {
      this.#namedTasks.add(key);
      return { task: r.taskName };
    }
    return { task: OTHER_TASKS };
  }

  #gauge(name: string, help: string, value: (g: GaugeReadings) => number): void {
    const read = () => this.#gauges?.() ?? null;
    new Gauge({
      name, help, registers: [this.registry],
      collect() {
        const g = read();
        if (g) this.set(value(g));
      },
    });
  }
}
