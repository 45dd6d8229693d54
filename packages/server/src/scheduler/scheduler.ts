/**
 * The scheduler of one node. A look-ahead poll reads the tasks due within `lookAheadMs` into an
 * in-memory timer queue; each fire happens at its instant (never early) and is recorded in ONE
 * store transaction together with the compare-and-set of the task's next fire, before anything is
 * dispatched. Attempts are handed to the {@link RunSupervisor}.
 */
import { EventEmitter } from 'node:events';
import { isFinalRunStatus, type RunReportSchema } from '@ecron/contracts';
import type { z } from 'zod';
import type { TimerHandle } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import { planFire, type FirePlan } from './fire-plan.ts';
import { newId } from '../core/ids.ts';
import type { BackfillRecord, RunRecord, ScheduledRecord } from '../core/model.ts';
import type { WorkflowAction } from '../core/workflow/transaction.ts';
import { jitterDelay } from '../core/schedule/next-fire.ts';
import { handleReport } from './report.ts';
import type { RunControl } from './run-control.ts';
import { executorGroupOf, executorOf, RunSupervisor, type SupervisorDeps } from './run-supervisor.ts';
import { BURST_LEAD_MARGIN, LaunchQueue } from './launch-queue.ts';
import { takeFairly } from './fair-chunk.ts';
import { TimerQueue } from './timer-queue.ts';
import { bucketOf } from '../core/buckets.ts';
import { systemClock } from '../core/clock.ts';
import type { AuditInput, ChangeSubscription, EndedRun, StoreChange } from '../store/store.ts';
import { VERSION } from '../version.ts';
import { BucketLeases } from './bucket-leases.ts';
import { RunAdoption } from './run-adoption.ts';
import { HeldRuns } from './held-runs.ts';
import { TaskCache } from './task-cache.ts';
import { WorkflowRuns } from './workflow-runs.ts';
import { BackfillRunner } from './backfill-runner.ts';
import { firstRun } from './first-run.ts';
import { heldRunGauges, reportFire, reportMisfires, reportRunEnd } from './run-reports.ts';
import { noopInstrumentation, type Instrumentation } from '../observability/instrumentation.ts';
import { reloadChangedTasks, routeStoreChanges } from './changed-tasks.ts';
import { schedulerMaps, type MapCoordinator } from './map-coordinator.ts';

/** The scheduler's dependencies are the supervisor's, plus its tuning. */
export interface SchedulerOptions extends Pick<SupervisorDeps, 'store' | 'clock' | 'random' | 'dispatcher' | 'callbackKey' | 'publicUrl' | 'executors' | 'transports' | 'dispatchTracer'> {
  log?: SupervisorDeps['log'];
  /**
   * How far ahead fires are read into memory. A burst is recorded up to half of it ahead of its
   * instant, and launched up to a quarter of it ahead (see dispatchAheadMs). @default 5000
   */
  lookAheadMs?: number;
  /** How often the store is polled for due tasks (the fallback to in-process change notices). @default 1000 */
  pollIntervalMs?: number;
  /**
   * Fires are recorded this long before their instant, together with the fires due up to this long
   * after it (one transaction), and each is dispatched at its instant. Bigger batches, fewer
   * transactions; the cost is that a change made within 2 × this span before a fire applies from
   * the next fire. @default 20
   */
  recordAheadMs?: number;
  /**
   * Runs are launched this long before their instant (and recorded this much earlier too): a
   * transport that can start a run at its instant (an executor's timed stream) gets it now, so that
   * sending it is not on its way; any other transport gets it at its instant. A burst due at one
   * instant, or a steady load, is launched further ahead: twice what launching the instant's runs,
   * or a second's worth at the recent rate, takes (as measured), up to a quarter of the look-ahead
   * (see launch-queue.ts). @default 20
   */
  dispatchAheadMs?: number;
  /** How often a poll reads every due task rather than only the newly covered slice. @default 60000 */
  fullPollIntervalMs?: number;
  /** A fire this much later than its instant is a misfire (see the task's misfire policy). @default 5000 */
  misfireThresholdMs?: number;
  /** Longest SIGTERM drain before in-flight requests are handed back. @default 10000 */
  shutdownGraceMs?: number;
  /** Hears fires, misfires, attempts and run ends (see observability/instrumentation.ts). @default none */
  instrumentation?: Instrumentation;
  /**
   * This node's membership and bucket leases. @default a single node holding every bucket for good
   * (an exclusive store such as SQLite)
   */
  leases?: BucketLeases;
}

/** Typed events, for observers and for tests that wait on what happened instead of sleeping. */
export interface SchedulerEvents {
  /** A fire was recorded (one per run inserted by a fire, skipped runs included). */
  fire: [{ taskId: string; runId: string; scheduledAt: number; lagMs: number; status: string }];
  /** A fire's compare-and-set lost: the task changed or another node fired. */
  'fire:conflict': [{ taskId: string }];
  /** A fire was refused because this node no longer holds the task's bucket. */
  'fire:fenced': [{ taskId: string }];
  /** Runs of dead owners (or of a previous process) were adopted. */
  'runs:adopted': [{ count: number }];
  /** A run reached a final status (a workflow run included). */
  'run:ended': [RunRecord];
  /** A workflow run started: its nodes exist and its roots were activated. */
  'workflow:started': [RunRecord];
  /** A run was recorded as waiting for a live executor of its group (`no_executor`). */
  'run:waiting': [RunRecord];
  /** A run was recorded as waiting for its namespace's run quota (`throttled`). */
  'run:throttled': [RunRecord];
  /** A task's next fire entered the in-memory timer queue. */
  'task:queued': [{ taskId: string; at: number }];
  /** A poll of due tasks finished. */
  poll: [{ due: number }];
}

type Resolved = Required<Omit<SchedulerOptions, 'leases' | 'executors' | 'transports' | 'dispatchTracer'>>;
const DUE_PAGE = 50_000;
/** Most fires recorded (one transaction) and dispatched in one turn of the event loop. */
const FIRE_CHUNK = 500;
/** Recording cost assumed until measured (SQLite on a small machine). */
const INITIAL_FIRE_COST_MS = 0.03;

export class Scheduler implements RunControl {
  readonly events = new EventEmitter<SchedulerEvents>();
  readonly #o: Resolved;
  /** Tasks by the instant their next fire is recorded (recordAheadMs before it). */
  readonly #queue: TimerQueue<ScheduledRecord>;
  /** Which runs this node holds and where they are: shared with the supervisor. */
  readonly #held = new HeldRuns();
  /** Recorded runs (held as `recorded`, with their task) waiting for their instant, or for their launch ahead of it. */
  readonly #launches: LaunchQueue;
  readonly #supervisor: RunSupervisor;
  /** Tasks whose runs are in progress here, to avoid a store read per attempt. */
  readonly #tasks: TaskCache;
  readonly #workflows: WorkflowRuns;
  readonly #backfills: BackfillRunner;
  /**
   * Fires taken from the queue (being recorded or recorded since the last poll began), by task:
   * the instant fired and a sequence number. A poll whose read predates the record must not queue
   * that instant again.
   */
  readonly #fired = new Map<string, { due: number; seq: number }>();
  #firedSeq = 0;
  #pollTimer: TimerHandle | null = null;
  /** End of the time the polls have read so far; null forces a full read. */
  #polledUntil: number | null = null;
  #fullReadWanted = false;
  #polling = false;
  #lastFullPollAt = -Infinity;
  #firing: Promise<void> = Promise.resolve();
  /** Tasks due to be recorded, waiting for the transaction in progress (see #enqueueFire). */
  #pendingFires: ScheduledRecord[] = [];
  #drainingFires = false;
  #ready = false;
  #stopped = false;
  readonly #leases: BucketLeases;
  #changes: ChangeSubscription | null = null;
  readonly #adoption: RunAdoption;
  /** What recording one fire costs here (ms, a moving average of recent transactions): the lead of a burst. */
  #fireCostMs = INITIAL_FIRE_COST_MS;
  /** Map/reduce: the subtasks of map attempts (see map-coordinator.ts). */
  readonly maps: MapCoordinator;

  constructor(options: SchedulerOptions) {
    const { leases, executors, transports, dispatchTracer, ...rest } = options;
    this.#tasks = new TaskCache(options.store);
    this.#o = {
      lookAheadMs: 5000, pollIntervalMs: 1000, fullPollIntervalMs: 60_000, recordAheadMs: 20, dispatchAheadMs: 20, misfireThresholdMs: 5000, shutdownGraceMs: 10_000,
      log: () => {}, instrumentation: noopInstrumentation, ...rest,
    };
    this.#leases = leases ?? new BucketLeases({
      store: options.store, clock: systemClock, nodeId: newId(), exclusive: true,
      node: { address: () => null, roles: ['scheduler'], version: VERSION, startedAt: Date.now() },
    });
    this.#leases.events.on('acquired', () => this.#onAcquired());
    this.#leases.events.on('presumed-dead', () => this.#resync());
    this.#leases.events.on('tick', ({ ok }) => {
      if (!ok) return;
      for (const { run, task } of this.#held.inPhase('deferred')) this.#launch(run, task!);
      // An exclusive store has no other node whose runs could be orphaned after the start.
      if (!this.#leases.exclusive) {
        void this.#adoption.sweep();
        void this.#backfills.adopt(this.#leases.liveNodeIds()).catch((error) => this.#o.log('warn', 'adopting backfills failed', { error: String(error) }));
      }
    });
    // Fires are recorded ahead of their launch, those due within recordAheadMs of each other in one
    // batch; a burst due at one instant is recorded ahead by as long as recording it takes (as
    // measured), up to half the look-ahead, so that it goes out at its instant, not after it.
    this.#queue = new TimerQueue(options.clock, (due) => this.#enqueueFire(due.map((d) => d.value)), {
      leadMs: (count) => this.#o.recordAheadMs + (count > 1 ? Math.min(this.#o.lookAheadMs / 2, Math.ceil(count * this.#fireCostMs * BURST_LEAD_MARGIN)) : 0)
        + this.#launches.lead(count),
      spanMs: this.#o.recordAheadMs,
    });
    this.#launches = new LaunchQueue({
      clock: options.clock, dispatchAheadMs: this.#o.dispatchAheadMs, lookAheadMs: this.#o.lookAheadMs,
      launch: (runId, at) => {
        const held = this.#held.get(runId);
        if (held?.phase !== 'recorded') return false;
        this.#launch(held.run, held.task!, at);
        return true;
      },
    });
    this.maps = schedulerMaps({ store: options.store, clock: options.clock, callbackKey: options.callbackKey, log: this.#o.log, getTask: (run) => this.#tasks.of(run), supervisor: () => this.#supervisor, events: this.events });
    this.#supervisor = new RunSupervisor({
      store: options.store, clock: options.clock, random: options.random, dispatcher: options.dispatcher,
      callbackKey: options.callbackKey, publicUrl: options.publicUrl, log: this.#o.log, ...(executors ? { executors } : {}), ...(transports ? { transports } : {}), instrumentation: this.#o.instrumentation,
      ...(dispatchTracer ? { dispatchTracer } : {}),
      held: this.#held, maps: this.maps,
      getTask: (run) => this.#tasks.of(run),
      onRunEnded: (run) => this.#onRunEnded(run),
      onWorkflowEffects: (effects) => void this.#workflows.apply(effects),
      onRunWaiting: (run) => this.events.emit('run:waiting', run),
      onRunThrottled: (run) => this.events.emit('run:throttled', run), misfireThresholdMs: this.#o.misfireThresholdMs,
    });
    this.#adoption = new RunAdoption({
      store: options.store, clock: options.clock, leases: this.#leases, supervisor: this.#supervisor,
      getTask: (run) => this.#tasks.of(run),
      getScheduled: (id) => this.#tasks.scheduled(id),
      onQueued: (run) => this.#held.hold(run, 'queued'),
      onWorkflowRun: (run, workflow) => this.#workflows.launch(run, workflow), isMapSealed: (run) => this.maps.isSealed(run),
      isHeldHere: (runId) => this.#held.get(runId) !== undefined || this.#workflows.isTracked(runId),
      onAdopted: (runs) => {
        this.events.emit('runs:adopted', { count: runs.length });
        for (const run of runs) if (run.status === 'pending' && run.attempt === 0) this.#startQueuedIfFree(run.taskId);
      },
      log: this.#o.log,
    });
    this.#workflows = new WorkflowRuns({
      store: options.store, clock: options.clock, nodeId: () => this.nodeId, log: this.#o.log,
      launchNodeRuns: (runs) => this.#supervisor.startNow(runs),
      cancelRun: (runId) => this.cancel({ runId, actor: 'workflow' }),
      onEnded: (run) => this.#onRunEnded(run),
    });
    this.#workflows.events.on('started', (run) => this.events.emit('workflow:started', run));
    this.#backfills = new BackfillRunner({
      store: options.store, clock: options.clock, nodeId: () => this.nodeId, log: this.#o.log,
      fire: (task, scheduledAt, backfillId) => this.#backfillFire(task, scheduledAt, backfillId),
    });
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** This scheduler node's id: the owner of the runs it records. */
  get nodeId(): string {
    return this.#leases.nodeId;
  }

  get leases(): BucketLeases {
    return this.#leases;
  }

  /** What this node holds, for the gauges of its instrumentation. */
  readonly heldGauges = (): ReturnType<typeof heldRunGauges> => heldRunGauges(this.#held, this.#queue.size);

  /** Joins (takes a share of buckets), adopts orphaned runs, then starts polling and firing. */
  async start(): Promise<void> {
    this.#changes = await this.#o.store.watchChanges((changes) => this.#onStoreChanges(changes));
    await this.#leases.start();
    await this.#adoption.sweep();
    // This node's own backfills of a previous process (exclusive store), or those of dead nodes.
    await this.#backfills.adopt(this.#leases.exclusive ? [] : this.#leases.liveNodeIds());
    await this.#poll();
    this.#ready = true;
  }

  /** New buckets: read all their due tasks at once (a takeover applies each task's misfire policy then). */
  #onAcquired(): void {
    this.#wantFullRead();
    if (this.#ready && !this.#stopped && !this.#polling) {
      if (this.#pollTimer) this.#o.clock.clearTimer(this.#pollTimer);
      void this.#poll();
    }
  }

  /**
   * Makes the next poll read every due task of the buckets held. A poll already reading cannot
   * overwrite the request: it is consumed when a poll starts, and a poll that ends with a request
   * pending polls again at once.
   */
  #wantFullRead(): void {
    this.#fullReadWanted = true;
  }

  /** This node was presumed dead: others may have adopted its runs. Start over from the store. */
  #resync(): void {
    this.#supervisor.reset(); // and every run held here
    this.#workflows.reset();
    this.#pendingFires = [];
    this.#queue.clear();
    this.#launches.clear();
    this.#fired.clear();
    this.#tasks.clear();
    this.#wantFullRead();
    void this.#adoption.takeBackOwnRuns();
  }

  #onStoreChanges(changes: StoreChange[]): void {
    if (this.#stopped) return;
    routeStoreChanges(changes, {
      store: this.#o.store, log: this.#o.log, holds: (taskId) => this.#leases.holds(bucketOf(taskId)), tasksChanged: (ids) => this.#tasksChanged(ids),
      workflowChanged: (run) => this.#onWorkflowChange(run), tracked: (runId) => this.#supervisor.isTracked(runId), runChanged: (run) => this.#supervisor.reconcile(run),
    });
  }

  /** {@link taskChanged} for each of `ids` (another node's writes), read back in chunks (`changed-tasks.ts`). */
  #tasksChanged(ids: string[]): void {
    const distinct = [...new Set(ids)];
    for (const id of distinct) {
      this.#queue.delete(id);
      this.#tasks.delete(id);
    }
    if (this.#stopped) return;
    reloadChangedTasks(this.#o.store, distinct, (task) => !this.#stopped && this.#consider(task))
      .catch((error) => this.#o.log('error', 'reloading changed tasks failed', { count: distinct.length, error: String(error) }));
  }

  /** A workflow run ended or reopened elsewhere, or a node run was activated for this node. */
  #onWorkflowChange(run: RunRecord): void {
    if (run.workflowRunId === run.id) {
      this.#workflows.reconcile(run);
      return;
    }
    const waiting = run.status === 'pending' && run.attempt === 0;
    if (waiting && run.owner === this.nodeId && !this.#supervisor.isTracked(run.id) && !this.#stopped) this.#supervisor.startNow([run]);
  }

  /** Stops firing at once, drains in-flight dispatches within the grace period. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#ready = false;
    if (this.#pollTimer) this.#o.clock.clearTimer(this.#pollTimer);
    this.#queue.stop();
    await this.#firing;
    this.#workflows.stop();
    this.#backfills.stop();
    // Fires already recorded go out (at most their record lead away).
    await this.#launches.drained();
    await this.#supervisor.stop(this.#o.shutdownGraceMs);
    await this.#changes?.close();
    await this.#adoption.stop();
    // Last: the runs handed back above are adopted by the new owners of their buckets.
    await this.#leases.stop();
  }

  /** Stops at once without draining or writing: simulates a crash (tests, chaos scripts). */
  async stopWithoutDrain(): Promise<void> {
    this.#stopped = true;
    this.#ready = false;
    if (this.#pollTimer) this.#o.clock.clearTimer(this.#pollTimer);
    this.#queue.stop();
    this.#launches.stop();
    this.#supervisor.abandon();
    this.#workflows.stop();
    this.#backfills.stop();
    this.#leases.halt();
    await this.#changes?.close();
    await this.#firing;
  }

  taskChanged(taskId: string, current?: ScheduledRecord): void {
    this.#queue.delete(taskId);
    this.#tasks.delete(taskId);
    if (this.#stopped) return;
    if (current) {
      this.#consider(current);
      return;
    }
    void this.#o.store.getScheduled(taskId).then((task) => {
      if (task) this.#consider(task);
    }).catch((error) => this.#o.log('error', 'reloading a changed task failed', { taskId, error: String(error) }));
  }

  async trigger(p: { task: ScheduledRecord; params?: Record<string, unknown>; actor: string; rerunOf?: string }): Promise<RunRecord> {
    if (this.#stopped) throw new EcronError('SHUTTING_DOWN');
    const { task } = p;
    const now = this.#o.clock.now();
    const params = p.rerunOf !== undefined ? { ...p.params } : { ...task.spec.params, ...p.params };
    const audit = p.rerunOf !== undefined
      ? { actor: p.actor, action: 'run.rerun', details: { taskId: task.id, rerunOf: p.rerunOf, params } }
      : { actor: p.actor, action: `${task.kind}.trigger`, details: { taskId: task.id, params: p.params ?? {} } };
    const run = await this.#o.store.createRun({ run: firstRun(task, { trigger: 'manual', scheduledAt: now, params }, now, this.nodeId), audit });
    this.#tasks.set(task);
    this.#start(run, task);
    return run;
  }

  /** Starts a backfill this node owns (created by the API on this node). */
  startBackfill(backfill: BackfillRecord): void {
    this.#backfills.add(backfill);
  }

  /** One fire of a backfill: recorded under its unique key (an existing fire is returned as is), then sent. */
  async #backfillFire(task: ScheduledRecord, scheduledAt: number, backfillId: string): Promise<{ run: RunRecord; created: boolean }> {
    const fresh = firstRun(task, { trigger: 'schedule', scheduledAt, params: task.spec.params, backfillId }, this.#o.clock.now(), this.nodeId);
    const run = await this.#o.store.createRun({ run: fresh });
    if (run.id !== fresh.id) return { run, created: false };
    this.#tasks.set(task);
    this.#start(run, task);
    return { run, created: true };
  }

  /** Applies a recovery action or a cancel to a workflow run, with its audit entry. */
  actOnWorkflowRun(p: { runId: string; action: WorkflowAction; audit: AuditInput }): Promise<RunRecord | null> {
    if (this.#stopped) return Promise.reject(new EcronError('SHUTTING_DOWN'));
    return this.#workflows.act(p.runId, p.action, p.audit);
  }

  /** Sends a run whose first attempt was recorded (for its instant `notBefore`, when ahead of it), or starts a workflow run. */
  #start(run: RunRecord, task: ScheduledRecord, notBefore = 0): void {
    if (run.status === 'throttled') {
      this.#tasks.set(task); // its namespace's run quota refused it for now: it waits here
      this.#supervisor.throttle(run);
    } else if (task.kind === 'workflow') {
      this.#held.release(run.id); // its workflow controller tracks it from here
      this.#workflows.launch(run, task);
    } else {
      this.#supervisor.launch(run, task, notBefore);
    }
  }

  async cancel(p: { runId: string; actor: string }): Promise<RunRecord> {
    const run = await this.#o.store.getRun(p.runId);
    if (!run) throw new EcronError('RUN_NOT_FOUND');
    if (isFinalRunStatus(run.status)) throw new EcronError('RUN_ALREADY_FINISHED');
    if (run.workflowRunId === run.id && run.status !== 'pending') {
      const ended = await this.#workflows.act(run.id, { kind: 'cancel', status: 'cancelled', error: 'cancelled (user)' },
        { actor: p.actor, action: 'run.cancel', details: { taskId: run.taskId } });
      if (!ended) throw new EcronError('RUN_ALREADY_FINISHED');
      return ended;
    }
    let ended: RunRecord | null;
    const queued = this.#held.phase(run.id) === 'queued';
    if (queued || !this.#supervisor.isTracked(run.id)) {
      if (queued) this.#held.release(run.id);
      if (run.status === 'pending' || run.status === 'no_executor') {
        ended = await this.#o.store.finishRun({ runId: run.id, status: 'cancelled', at: this.#o.clock.now(), error: 'cancelled (user)' });
        if (ended) this.#onRunEnded(ended);
      } else {
        ended = await this.#supervisor.endAttempt(run.id, 'cancelled', { error: 'cancelled (user)' });
      }
      // Another node supervises it: it drops the run (and aborts its request) when it hears of the change.
      if (ended && !queued) await this.#o.store.publishChanges([{ kind: 'run', id: run.id }]);
    } else {
      ended = await this.#supervisor.cancel(run.id, 'user');
    }
    if (!ended) throw new EcronError('RUN_ALREADY_FINISHED');
    await this.#o.store.appendAudit({ at: this.#o.clock.now(), actor: p.actor, action: 'run.cancel', resourceType: 'run', resourceId: run.id, details: { taskId: run.taskId } });
    return ended;
  }

  async report(p: { runId: string; token: string | undefined; report: z.output<typeof RunReportSchema> }): Promise<RunRecord> {
    return handleReport({ store: this.#o.store, clock: this.#o.clock, supervisor: this.#supervisor, callbackKey: this.#o.callbackKey }, p);
  }

  /** Reads due tasks into the timer queue; re-arms itself. */
  /**
   * Reads due tasks into the timer queue and re-arms itself. A poll reads only the slice of time
   * the look-ahead newly covers (`after` the previous poll's end): tasks already inside the window
   * were queued by that poll, by their previous fire, or by a change notice. A full read happens
   * at start, every `fullPollIntervalMs`, and after any failure, as the safety net.
   */
  async #poll(): Promise<void> {
    if (this.#stopped) return;
    let truncated = false;
    const pollSeq = this.#firedSeq;
    const now = this.#o.clock.now();
    const until = now + this.#o.lookAheadMs;
    const fullRead = this.#fullReadWanted || this.#polledUntil === null || now - this.#lastFullPollAt >= this.#o.fullPollIntervalMs;
    this.#fullReadWanted = false;
    this.#polling = true;
    try {
      const buckets = this.#leases.heldBuckets();
      const due = buckets?.length === 0 ? [] : await this.#o.store.listDueTasks({
        until, limit: DUE_PAGE, ...(fullRead ? {} : { after: this.#polledUntil! }), ...(buckets ? { buckets } : {}),
      });
      for (const task of due) this.#consider(task);
      for (const [taskId, fired] of this.#fired) if (fired.seq < pollSeq) this.#fired.delete(taskId);
      truncated = due.length === DUE_PAGE;
      // A truncated page ends inside an instant that may hold more tasks: read from just before it.
      this.#polledUntil = truncated ? due[due.length - 1]!.nextFireAt! - 1 : until;
      if (fullRead) this.#lastFullPollAt = now;
      this.events.emit('poll', { due: due.length });
    } catch (error) {
      this.#wantFullRead();
      this.#o.log('error', 'polling due tasks failed', { error: String(error) });
    } finally {
      this.#polling = false;
    }
    const again = truncated || this.#fullReadWanted;
    if (!this.#stopped) this.#pollTimer = this.#o.clock.setTimer(() => void this.#poll(), again ? 50 : this.#o.pollIntervalMs);
  }

  /** Queues the task's next fire if it falls inside the look-ahead window. */
  #consider(task: ScheduledRecord): void {
    if (this.#stopped || task.state !== 'active' || task.nextFireAt === null) return;
    if (!this.#leases.holds(bucketOf(task.id))) {
      if (this.#leases.leased(bucketOf(task.id))) this.#wantFullRead();
      return;
    }
    if (task.nextFireAt > this.#o.clock.now() + this.#o.lookAheadMs) return;
    const fired = this.#fired.get(task.id);
    if (fired && task.nextFireAt <= fired.due) return;
    const queued = this.#queue.get(task.id);
    if (queued && queued.value.nextFireAt === task.nextFireAt && queued.value.revision === task.revision) return;
    const at = task.nextFireAt + jitterDelay(task.spec.schedule, task.id, task.nextFireAt);
    this.#queue.set(task.id, at, task);
    this.events.emit('task:queued', { taskId: task.id, at });
  }

  /**
   * Fires are recorded one transaction at a time, in order. Tasks that come due while a
   * transaction runs wait in `#pendingFires` and all go into the next one (up to FIRE_CHUNK), so
   * batches grow when the store is slow (each PostgreSQL commit costs milliseconds) instead of
   * queueing one small transaction per timer wake-up. Between chunks the event loop turns, so
   * that the dispatches of one chunk go out and executor replies are read while later chunks wait.
   * When more wait than a chunk holds, a chunk takes the namespaces in turn (`takeFairly`).
   */
  #enqueueFire(tasks: ScheduledRecord[]): void {
    for (const task of tasks) this.#fired.set(task.id, { due: task.nextFireAt!, seq: this.#firedSeq++ });
    this.#pendingFires.push(...tasks);
    if (!this.#drainingFires) this.#firing = this.#drainFires();
  }

  async #drainFires(): Promise<void> {
    this.#drainingFires = true;
    try {
      let first = true;
      while (this.#pendingFires.length > 0 && !this.#stopped) {
        if (!first) await new Promise<void>((resolve) => setImmediate(resolve));
        first = false;
        const chunk = takeFairly(this.#pendingFires, FIRE_CHUNK);
        try {
          await this.#fire(chunk);
        } catch (error) {
          this.#o.log('error', 'recording fires failed', { error: String(error), tasks: chunk.length });
          // The tasks' next fires did not advance: forget them, and make the next poll a full read
          // so that it queues them again.
          for (const task of chunk) if (this.#fired.get(task.id)?.due === task.nextFireAt) this.#fired.delete(task.id);
          this.#wantFullRead();
        }
      }
    } finally {
      this.#drainingFires = false;
    }
  }

  /** Records the fires of `tasks` (due now or within recordAheadMs) and dispatches them at their instant. */
  async #fire(due: ScheduledRecord[]): Promise<void> {
    if (this.#stopped) return;
    // Buckets lost since the task was queued: another node fires it now. A lease that only lapsed
    // locally (its renewal is late) may come back: the next poll reads everything again.
    const tasks: ScheduledRecord[] = [];
    for (const task of due) {
      const bucket = bucketOf(task.id);
      if (this.#leases.holds(bucket)) {
        tasks.push(task);
        continue;
      }
      this.#fired.delete(task.id);
      if (this.#leases.leased(bucket)) this.#wantFullRead();
    }
    if (tasks.length === 0) return;
    const now = this.#o.clock.now();
    const jitter = tasks.map((task) => jitterDelay(task.spec.schedule, task.id, task.nextFireAt!));
    // The instant each fire happens: its nominal instant plus jitter, or now when that has passed.
    const fireAt = tasks.map((task, i) => Math.max(now, task.nextFireAt! + jitter[i]!));
    const plans: FirePlan[] = tasks.map((task, i) => planFire({
      task, now: fireAt[i]!, thresholdMs: this.#o.misfireThresholdMs,
      activeCount: this.#activeCount(task.id), queuedCount: this.#held.queuedOf(task.id) ? 1 : 0, throttledCount: this.#held.countWithStatus(task.id, 'throttled'),
      jitterMs: jitter[i]!, holdForExecutor: task.kind === 'task' && this.#supervisor.holdsFires(task),
      newId, executor: executorOf(task), executorGroup: executorGroupOf(task), owner: this.nodeId,
    }));
    for (const plan of plans) {
      if (!plan.cancelActive) continue;
      await Promise.all(this.#supervisor.activeRunIds(plan.record.taskId).map((id) => this.#supervisor.cancel(id, 'overlap')));
      await Promise.all(this.#workflows.activeRunIds(plan.record.taskId).map((id) => this.#workflows.act(id, { kind: 'cancel', status: 'cancelled', error: 'cancelled (overlap)' })
        .catch((error) => this.#o.log('warn', 'cancelling a workflow run (overlap) failed', { runId: id, error: String(error) }))));
    }
    const recording = performance.now();
    const results = await this.#o.store.recordFires(plans.map((p) => p.record), this.#leases.fence());
    this.#fireCostMs = 0.7 * this.#fireCostMs + 0.3 * ((performance.now() - recording) / plans.length);
    results.forEach((result, i) => {
      const task = tasks[i]!;
      const plan = plans[i]!;
      if (result.fenced) {
        this.#fired.delete(task.id);
        this.events.emit('fire:fenced', { taskId: task.id });
        return;
      }
      if (!result.recorded) {
        this.events.emit('fire:conflict', { taskId: task.id });
        this.taskChanged(task.id);
        return;
      }
      const advanced: ScheduledRecord = {
        ...task, nextFireAt: plan.record.nextFireAt, lastFireAt: plan.record.lastFireAt,
        state: plan.record.complete ? 'completed' : task.state, skippedFires: task.skippedFires + plan.record.skippedDelta,
      };
      reportMisfires(this.#o.instrumentation, task, plan, fireAt[i]!);
      for (const run of result.runs) {
        if (run.status === 'dispatched') {
          this.#tasks.set(advanced);
          // Counted as active from now on, so that the overlap policy sees it before it goes out.
          if (advanced.kind === 'workflow') this.#workflows.reserve(run);
          this.#held.hold(run, 'recorded', advanced);
          if (fireAt[i]! <= this.#o.clock.now()) this.#launch(run, advanced);
          else this.#launches.set(run.id, fireAt[i]!, advanced.kind === 'task' && this.#supervisor.transportOf(advanced)?.startsAhead?.(advanced) === true);
          continue;
        }
        this.events.emit('fire', { taskId: task.id, runId: run.id, scheduledAt: run.scheduledAt, lagMs: fireAt[i]! - run.scheduledAt, status: run.status });
        reportFire(this.#o.instrumentation, run, advanced, fireAt[i]! - run.scheduledAt);
        if (run.status === 'pending') this.#held.hold(run, 'queued');
        else if (run.status === 'throttled') this.#start(run, advanced);
      }
      this.#consider(advanced);
    });
  }

  /**
   * Dispatches a recorded run for its instant `at` (0: now; see dispatchAheadMs), unless this node's heartbeat is overdue (it may have
   * been frozen, and presumed dead, with others adopting the run): then the run waits for the next
   * heartbeat. If that finds the node was presumed dead, the resync drops it and adopts it again
   * only if it is still this node's; otherwise it goes out then.
   */
  #launch(run: RunRecord, task: ScheduledRecord, at = 0): void {
    if (!this.#leases.nodeAlive()) {
      this.#held.hold(run, 'deferred', task);
      return;
    }
    const now = this.#o.clock.now();
    // The fire's instant: a run deferred before it (a launch ahead) keeps it when it goes out later.
    const instant = Math.max(at, run.startedAt ?? 0);
    const lagMs = Math.max(now, instant) - run.scheduledAt;
    reportFire(this.#o.instrumentation, run, task, lagMs);
    this.events.emit('fire', { taskId: task.id, runId: run.id, scheduledAt: run.scheduledAt, lagMs, status: run.status });
    this.#start(run, task, instant > now ? instant : 0);
  }

  /** Runs of the task (or workflow runs of the workflow) active here: what its overlap policy counts. */
  #activeCount(taskId: string): number {
    return this.#held.activeCount(taskId) + this.#workflows.activeCount(taskId);
  }

  #onRunEnded(run: EndedRun): void {
    if (run.workflow) void this.#workflows.apply(run.workflow);
    this.events.emit('run:ended', run);
    const task = this.#tasks.get(run.taskId);
    reportRunEnd(this.#o.instrumentation, run, task);
    if (task?.spec.schedule && 'every' in task.spec.schedule && task.spec.schedule.mode === 'fixed-delay') this.taskChanged(run.taskId);
    this.#startQueuedIfFree(run.taskId);
    if (this.#activeCount(run.taskId) === 0 && !this.#held.queuedOf(run.taskId)) this.#tasks.delete(run.taskId);
  }

  #startQueuedIfFree(taskId: string): void {
    const queued = this.#held.queuedOf(taskId);
    if (!queued || this.#activeCount(taskId) > 0 || this.#stopped) return;
    this.#held.release(queued.id);
    const task = this.#tasks.get(taskId);
    if (task?.kind === 'workflow') this.#workflows.launch(queued, task);
    else this.#supervisor.scheduleRetry({ ...queued, nextAttemptAt: this.#o.clock.now() });
  }
}

