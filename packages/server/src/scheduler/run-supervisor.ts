/**
 * Supervises every attempt this scheduler dispatched: sends it, ends it on reply, callback,
 * deadline or cancel, retries it after backoff, and tells the scheduler when a run has ended.
 * All attempt state changes go through batched store writes (one transaction per event-loop turn).
 */
import type { RunRequest, Target } from '@ecron/contracts';
import { ExecutorDispatch, isExecutorTarget, type ExecutorDispatchDeps, type ExecutorResult } from '../dispatch/executor-dispatch.ts';
import type { GrpcTargetTransport } from '../dispatch/grpc-transport.ts';
import { isFanOut, type Leg } from '../dispatch/routing.ts';
import { grpcRunTransport, httpRunTransport, RunTransports, type AttemptContext, type CancelReason, type RunTransport } from '../dispatch/run-transport.ts';
import { waitUntil, type Clock, type Random, type TimerHandle } from '../core/clock.ts';
import type { RunRecord, ScheduledRecord, TaskRecord } from '../core/model.ts';
import { runLogAppends } from '../core/run-log-signal.ts';
import type { HttpDispatcher } from '../dispatch/http-dispatcher.ts';
import { runEnvelope } from '../dispatch/run-envelope.ts';
import type { EndedRun, FinishAttemptParams, RunOutcome, StartAttemptParams, Store, WorkflowEffects } from '../store/store.ts';
import { decideOutcome, fixedDelayNextFire } from './outcome.ts';
import { HeldRuns } from './held-runs.ts';
import { ThrottledRuns } from './throttled-runs.ts';
import { TimerQueue } from './timer-queue.ts';
import { WriteBatcher } from './write-batcher.ts';
import { instrumentTransport } from '../dispatch/instrumented-transport.ts';
import type { Instrumentation } from '../observability/instrumentation.ts';
import { noopDispatchTracer, type DispatchTracer } from '../observability/tracing.ts';
import { reportAttemptEnd } from './run-reports.ts';
import { runLogFields } from '../observability/trace-ids.ts';
import { isMapSealedOutput } from './map-coordinator.ts';

export interface SupervisorDeps {
  store: Store;
  clock: Clock;
  random: Random;
  dispatcher: HttpDispatcher;
  /** Key of run-scoped callback tokens. */
  callbackKey: string;
  /** Base URL executors use for callbacks, e.g. http://127.0.0.1:7070 (a function when known only after listen). */
  publicUrl: string | (() => string);
  /**
   * The task a run executes (cached): its task, or the view of an inline workflow node's target
   * (`core/workflow/activation.ts`); null when deleted.
   */
  getTask: (run: RunRecord) => Promise<TaskRecord | null>;
  /** Called once per run when it reaches a final status (with what its end did to its workflow run, if any). */
  onRunEnded: (run: EndedRun) => void;
  /** What ending a run supervised elsewhere did to its workflow run (a callback received here). */
  onWorkflowEffects?: (effects: WorkflowEffects) => void;
  /** Called when a run was recorded as waiting for a live executor (`no_executor`). */
  onRunWaiting?: (run: RunRecord) => void;
  log: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /** Executor groups: the registry, pull deliveries and other transports. Without it, executor and shell targets fail (grpc targets too, without `transports.grpc`). */
  executors?: Pick<ExecutorDispatchDeps, 'directory' | 'pull' | 'transports'> & { transports?: { grpc?: GrpcTargetTransport } };
  /** The runs this node holds, shared with the scheduler. @default a fresh one (a supervisor on its own, in tests) */
  held?: HeldRuns;
  /** Transports that replace the built-in one of their target type (tests drive attempts by hand through them). */
  transports?: Partial<Record<Target['type'], RunTransport>>;
  /** How late a `skip`-policy fire may start: a throttled run waiting longer is skipped. @default 5000 */
  misfireThresholdMs?: number;
  /** Called when a run was recorded as waiting for its namespace's run quota (`throttled`). */
  onRunThrottled?: (run: RunRecord) => void;
  /** Hears attempts dispatched and ended, and retries (see observability/instrumentation.ts). @default none */
  instrumentation?: Instrumentation;
  /** Opens the trace span of each request to an executor and stamps its `traceparent` (observability/tracing.ts). @default none */
  dispatchTracer?: DispatchTracer;
  /**
   * Map/reduce (`map-coordinator.ts`): whether a run's map of its current attempt is sealed. An
   * attempt that answers with a sealed map's marker then stays in flight, as if accepted (202),
   * until its map is decided. @default none (a marker is an ordinary output)
   */
  maps?: { isSealed(run: RunRecord): Promise<boolean>; /** Stops its sweep (at stop and abandon). */ stop(): void };
}

interface InFlight {
  run: RunRecord;
  task: TaskRecord;
  /** The transport of the task's target type, chosen once when the attempt was sent or adopted. */
  transport: RunTransport;
  /** A fan-out attempt (broadcast, multicast, sharding): its legs were retried already, the run is not. */
  fanOut: boolean;
  abort: AbortController;
  deadline: TimerHandle | null;
  /** The executor accepted with 202: the attempt ends through callbacks. */
  accepted: boolean;
  /** Set once the attempt is being ended, so that only one ending wins. */
  ending: boolean;
  /** The attempt sealed a map: it ends when the map is decided (`endMapped`). */
  mapped?: boolean;
  request: Promise<void> | null;
}

type EndedStatus = FinishAttemptParams['attemptStatus'];
/** What an attempt's end says besides its status; `traceparent`: the executor's span, when it told it. */
type AttemptFields = { output?: unknown; error?: string | null; traceparent?: string | undefined };
/** Ended attempts are written in batches gathered over this long (one transaction per batch). */
const FINISH_LINGER_MS = 10;
/** A retry whose attempt could not be recorded (the store failed) is tried again this much later. */
const RETRY_START_AGAIN_MS = 1000;
/** An adopted attempt's executor is asked for its end this long after adoption, then twice as long each time, up to the max. */
const ADOPTED_STATUS_FIRST_MS = 5000;
const ADOPTED_STATUS_MAX_MS = 60_000;
/** An executor's answer that could not be recorded (the store failed) is recorded again this much later. */
const REPLY_RECORD_AGAIN_MS = 1000;

export class RunSupervisor {
  readonly #deps: SupervisorDeps;
  /** The I/O of each attempt out to its executor (its request, deadline, transport), by run id. */
  readonly #inflight = new Map<string, InFlight>();
  /** The backoff timers of runs waiting for their next attempt, by run id. */
  readonly #retries: TimerQueue<RunRecord>;
  /** Which runs this node holds and in what phase (sending, retrying, waiting, …): shared with the scheduler. */
  readonly #held: HeldRuns;
  readonly #starts: WriteBatcher<StartAttemptParams, RunRecord | null>;
  readonly #finishes: WriteBatcher<FinishAttemptParams, EndedRun | null>;
  /**
   * Attempts that reached their executor, marked so in batches gathered over FINISH_LINGER_MS
   * (AttemptRecord.sentAt: the dashboard's fire lag is sentAt − scheduledAt of first attempts).
   */
  readonly #sent: WriteBatcher<{ runId: string; attempt: number; at: number; executor?: string }, undefined>;
  readonly #executors: ExecutorDispatch | null;
  readonly #transports: RunTransports;
  /** Runs waiting for their namespace's run quota. */
  readonly #throttled: ThrottledRuns;
  #stopping = false;

  constructor(deps: SupervisorDeps) {
    this.#deps = deps;
    this.#held = deps.held ?? new HeldRuns();
    this.#retries = new TimerQueue(deps.clock, (due) => void this.#startRetries(due.map((d) => d.value)));
    this.#starts = new WriteBatcher((items) => deps.store.startAttempts(items));
    this.#finishes = new WriteBatcher((items) => deps.store.finishAttempts(items), { lingerMs: FINISH_LINGER_MS });
    this.#sent = new WriteBatcher(async (items) => {
      await deps.store.markSent(items);
      return items.map(() => undefined);
    }, { lingerMs: FINISH_LINGER_MS });
    this.#executors = deps.executors ? new ExecutorDispatch({ ...deps.executors, http: deps.dispatcher, clock: deps.clock, random: deps.random }) : null;
    const grpc = deps.executors?.transports?.grpc;
    this.#transports = new RunTransports({
      http: httpRunTransport(deps.dispatcher),
      ...(grpc ? { grpc: grpcRunTransport(grpc) } : {}),
      ...(this.#executors ? { executor: this.#executors, shell: this.#executors } : {}),
      ...deps.transports,
    }, deps.instrumentation ? (transport) => instrumentTransport(transport, { instrumentation: deps.instrumentation!, clock: deps.clock }) : undefined);
    deps.executors?.directory.events.on('refreshed', () => void this.#wakeWaiting());
    this.#throttled = new ThrottledRuns({
      clock: deps.clock, held: this.#held, misfireThresholdMs: deps.misfireThresholdMs ?? 5000, getTask: deps.getTask, log: deps.log,
      start: (runs) => this.#startRetries(runs),
      skip: async (run, reason) => {
        const ended = await deps.store.finishRun({ runId: run.id, status: 'skipped', at: deps.clock.now(), error: reason });
        this.#untrack(run);
        if (ended) deps.onRunEnded(ended);
      },
    });
  }

  /** Holds a run refused by its namespace's run quota (`throttled`): it starts once admitted. */
  throttle(run: RunRecord): void {
    if (this.#stopping) return;
    this.#throttled.hold(run);
    this.#deps.onRunThrottled?.(run);
  }

  /** Runs waiting here for their namespace's run quota. */
  get throttledCount(): number {
    return this.#held.count('throttled');
  }

  /**
   * Back-pressure for executor targets: true when the task's group has no live node and a run of
   * the task is already active (waiting for an executor, or on its way to finding none). Its fires
   * are then skipped (counted), not recorded as runs, so that runs never pile up while no executor
   * is alive: at most one run per task waits.
   */
  holdsFires(task: TaskRecord): boolean {
    if (!this.#executors || !isExecutorTarget(task.spec.target) || this.activeCount(task.id) === 0) return false;
    return !this.#executors.hasLiveNode(task);
  }

  /** Runs waiting for an executor here. */
  get waitingCount(): number {
    return this.#held.count('waiting');
  }

  /** Runs of a task held here and active: recorded, sending, retrying, waiting for an executor. */
  activeCount(taskId: string): number {
    return this.#held.activeCount(taskId);
  }

  activeRunIds(taskId: string): string[] {
    return this.#held.activeRunIds(taskId);
  }

  get inflightCount(): number {
    return this.#inflight.size;
  }

  isTracked(runId: string): boolean {
    const phase = this.#held.phase(runId);
    return this.#inflight.has(runId) || phase === 'retrying' || phase === 'waiting' || phase === 'throttled';
  }

  /**
   * Sends a run whose current attempt was just recorded as `dispatched`. `notBefore`: its instant,
   * when it is launched ahead of it: a transport with `startsAhead` gets it now and starts it then,
   * any other gets it then.
   */
  launch(run: RunRecord, task: TaskRecord, notBefore = 0): void {
    const target = task.spec.target;
    const transport = this.#transports.of(target);
    if (!transport) {
      void this.#end(run, 'failed', { error: `target type ${target.type} is not supported by this server` }, false, { kind: 'final', status: 'failed' });
      return;
    }
    const entry = this.#attach(run, task, transport, false, isExecutorTarget(target) && isFanOut(target.routing));
    const signal = entry.abort.signal;
    const ahead = notBefore - this.#deps.clock.now();
    const attempt = this.#attempt(run, task, ahead > 0 ? notBefore : 0);
    const reply = ahead > 0 && !transport.startsAhead
      ? waitUntil(this.#deps.clock, notBefore, signal).then((due): Promise<ExecutorResult> => (due ? transport.send(attempt, signal) : Promise.resolve({ kind: 'aborted' })))
      : transport.send(attempt, signal);
    entry.request = reply
      .then((result) => this.#onReply(entry, result))
      .catch((error) => this.#deps.log('error', 'dispatch handling failed', { ...runLogFields(run), error: String(error) }));
  }

  /** The transport of a task's target type, or null when this server cannot send it. */
  transportOf(task: TaskRecord): RunTransport | null {
    return this.#transports.of(task.spec.target);
  }

  /** What a transport needs of an attempt: its envelope, where to mark it sent, its log. */
  #attempt(run: RunRecord, task: TaskRecord, notBefore = 0): AttemptContext {
    return {
      run, task, notBefore,
      request: (leg, fanOut) => this.#envelope(run, task, leg, fanOut),
      dispatch: (request, where) => (this.#deps.dispatchTracer ?? noopDispatchTracer).start(run, request, where),
      sent: (executor) => this.#markSent(run, executor, notBefore),
      note: (level, message) => this.#note(run, level, message),
    };
  }

  /** Records (batched) that the attempt went out (at its instant, when it went ahead of it), and where to when known. */
  #markSent(run: RunRecord, executor?: string, notBefore = 0): void {
    this.#sent.push({ runId: run.id, attempt: run.attempt, at: Math.max(this.#deps.clock.now(), notBefore), ...(executor ? { executor } : {}) })
      .catch((error) => this.#deps.log('warn', 'marking an attempt sent failed', { ...runLogFields(run), error: String(error) }));
  }

  /**
   * Re-attaches a run found `dispatched`/`running` at start-up whose executor says it is still
   * running. Its end may come by callback (an executor that accepted with 202), but a synchronous
   * executor answered the request of the node that died, and nobody hears that answer: so the
   * executor is asked again, every 5 s at first and at most every minute, until it tells the end.
   */
  adoptRunning(run: RunRecord, task: TaskRecord): void {
    const transport = this.#transports.of(task.spec.target);
    if (transport?.recovery !== 'ask') return;
    const entry = this.#attach(run, task, transport, true);
    this.#checkAdopted(entry, ADOPTED_STATUS_FIRST_MS);
  }

  #checkAdopted(entry: InFlight, delayMs: number): void {
    this.#deps.clock.setTimer(() => {
      const current = () => this.#inflight.get(entry.run.id) === entry && !entry.ending && !this.#stopping;
      if (!current()) return;
      void entry.transport.status(entry).then(async (reply) => {
        if (!current()) return;
        if (reply.status === 'succeeded' || reply.status === 'failed') {
          await this.endAttempt(entry.run.id, reply.status, { output: reply.output, error: reply.error ?? null });
        } else if (reply.status === 'unknown') {
          // The executor no longer knows the attempt (it restarted): send the run again.
          entry.ending = true;
          if (entry.deadline) this.#deps.clock.clearTimer(entry.deadline);
          this.#inflight.delete(entry.run.id);
          await this.resend(entry.run);
        } else {
          this.#checkAdopted(entry, Math.min(delayMs * 2, ADOPTED_STATUS_MAX_MS));
        }
      }).catch((error) => this.#deps.log('warn', 'asking an executor for an adopted attempt failed', { ...runLogFields(entry.run), error: String(error) }));
    }, delayMs);
  }

  /** Tracks an attempt in flight and arms its deadline. */
  #attach(run: RunRecord, task: TaskRecord, transport: RunTransport, accepted: boolean, fanOut = false): InFlight {
    const entry: InFlight = { run, task, transport, fanOut, abort: new AbortController(), deadline: null, accepted, ending: false, request: null };
    this.#held.hold(run, 'sending');
    this.#inflight.set(run.id, entry);
    if (run.deadlineAt !== null) {
      entry.deadline = this.#deps.clock.setTimer(() => void this.#onDeadline(run.id), run.deadlineAt - this.#deps.clock.now());
    }
    return entry;
  }

  /** Starts the first attempts of runs created waiting (a workflow's node runs), now. */
  startNow(runs: RunRecord[]): void {
    if (this.#stopping) return;
    void this.#startRetries(runs);
  }

  /** Queues a run that waits for its next attempt (after a failure, or found so at start-up). */
  scheduleRetry(run: RunRecord): void {
    this.#held.hold(run, 'retrying');
    this.#retries.set(run.id, run.nextAttemptAt ?? this.#deps.clock.now(), run);
  }

  /** Ends an attempt that is in flight with the given status (callbacks, cancel, recovery). */
  async endAttempt(runId: string, status: EndedStatus, fields: AttemptFields = {}): Promise<RunRecord | null> {
    const entry = this.#inflight.get(runId);
    if (entry) {
      if (entry.ending) return null;
      entry.ending = true;
      return this.#end(entry.run, status, fields);
    }
    const run = await this.#deps.store.getRun(runId);
    return run ? this.#end(run, status, fields) : null;
  }

  /**
   * Ends the current attempt of a run another node supervises (its executor's callback reached
   * this node): writes the outcome, and leaves the retry or the end to the run's owner, which
   * learns of it through the store's change feed.
   */
  async endForeignAttempt(run: RunRecord, status: EndedStatus, fields: AttemptFields = {}): Promise<RunRecord | null> {
    return this.#end(run, status, fields, true);
  }

  /** Re-attaches an adopted run whose map is sealed: it waits for its map (no status request, no resend). */
  adoptMapped(run: RunRecord, task: TaskRecord): void {
    const transport = this.#transports.of(task.spec.target);
    if (!transport) return;
    this.#attach(run, task, transport, true).mapped = true;
  }

  /**
   * Ends a map attempt with its map's outcome (`map-coordinator.ts`): final, whatever the retry
   * policy says (the subtasks had their own tries). A run another node supervises is written here
   * and its owner told through the change feed.
   */
  async endMapped(run: RunRecord, status: 'succeeded' | 'failed', fields: AttemptFields): Promise<RunRecord | null> {
    const forced: RunOutcome = { kind: 'final', status };
    const entry = this.#inflight.get(run.id);
    if (entry) {
      if (entry.ending) return null;
      entry.ending = true;
      return this.#end(entry.run, status, fields, false, forced);
    }
    const ended = await this.#end(run, status, fields, true, forced);
    if (ended) await this.#deps.store.publishChanges([{ kind: 'run', id: run.id }]);
    return ended;
  }

  /** Cancels a run this supervisor is handling; false when it is not tracked here. */
  async cancel(runId: string, reason: Extract<CancelReason, 'user' | 'overlap'>): Promise<RunRecord | null> {
    const held = this.#held.get(runId);
    if (held && (held.phase === 'retrying' || held.phase === 'waiting' || held.phase === 'throttled')) {
      const waiting = held.run;
      this.#retries.delete(runId);
      this.#untrack(waiting);
      const run = await this.#deps.store.finishRun({ runId, status: 'cancelled', at: this.#deps.clock.now(), error: `cancelled (${reason})` });
      if (run) this.#deps.onRunEnded(run);
      return run;
    }
    const entry = this.#inflight.get(runId);
    if (!entry || entry.ending) return null;
    entry.ending = true;
    this.#cancelRemote(entry, reason);
    entry.abort.abort();
    return this.#end(entry.run, 'cancelled', { error: `cancelled (${reason})` });
  }


  /**
   * Stops taking work and waits up to `graceMs` for in-flight requests; those still going are
   * aborted and handed back (their run retries on the next start).
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#deps.maps?.stop();
    this.#retries.stop();
    this.#throttled.stop();
    const requests = [...this.#inflight.values()].filter((e) => !e.accepted && e.request).map((e) => e.request);
    let timer: TimerHandle | null = null;
    const graceOver = new Promise<void>((resolve) => { timer = this.#deps.clock.setTimer(resolve, graceMs); });
    await Promise.race([Promise.all(requests), graceOver]);
    if (timer) this.#deps.clock.clearTimer(timer);
    const handBack: Promise<unknown>[] = [];
    for (const entry of this.#inflight.values()) {
      if (entry.deadline) this.#deps.clock.clearTimer(entry.deadline);
      if (entry.accepted || entry.ending) continue;
      entry.ending = true;
      entry.abort.abort();
      handBack.push(this.#handBackWrite(entry.run, 'handed back at shutdown'));
    }
    await Promise.all(handBack);
    await this.#finishes.drain();
    await this.#starts.drain();
    await this.#sent.drain();
  }

  /**
   * Ends an attempt that did not fail on its executor's side (handed back at shutdown, or never
   * received by the executor before its scheduler stopped) as `lost` and queues the run for another attempt now,
   * whatever `maxAttempts` says: the executor had no chance to fail it.
   */
  #handBackWrite(run: RunRecord, error: string): Promise<RunRecord | null> {
    const now = this.#deps.clock.now();
    return this.#finishes.push({ runId: run.id, attempt: run.attempt, attemptStatus: 'lost', at: now, error, outcome: { kind: 'retry', nextAttemptAt: now } });
  }

  /** An adopted attempt its executor says it never received: send the run again (see #handBackWrite). */
  async resend(run: RunRecord): Promise<RunRecord | null> {
    const requeued = await this.#handBackWrite(run, 'not received by its executor: sent again');
    if (requeued && !this.#stopping) this.scheduleRetry(requeued);
    return requeued;
  }

  /** Drops all work without writing anything: what a crash looks like to the store (tests). */
  abandon(): void {
    this.#stopping = true;
    this.#deps.maps?.stop();
    this.#retries.stop();
    this.#throttled.stop();
    this.reset();
  }

  /**
   * Drops all work without writing anything, and goes on: for a node that learns it was presumed
   * dead, whose runs others may have adopted. It re-adopts what is still its own afterwards.
   */
  reset(): void {
    for (const entry of this.#inflight.values()) {
      entry.ending = true;
      if (entry.deadline) this.#deps.clock.clearTimer(entry.deadline);
      entry.abort.abort();
    }
    this.#inflight.clear();
    this.#retries.clear();
    this.#held.clear();
  }

  /**
   * Brings a tracked run in line with the store after another node changed it (an executor's
   * callback or a cancel received elsewhere): a run that ended is dropped (its request aborted) and
   * reported ended; a run put back to wait for a retry is queued for it. Runs not tracked here,
   * and changes this supervisor already knows, are ignored.
   */
  reconcile(run: RunRecord): void {
    const entry = this.#inflight.get(run.id);
    const phase = this.#held.phase(run.id);
    if (!entry && phase !== 'retrying' && phase !== 'waiting' && phase !== 'throttled') return;
    if (run.finishedAt !== null) {
      this.#drop(run.id);
      this.#untrack(run);
      this.#deps.onRunEnded(run);
    } else if (run.status === 'pending' && entry && run.attempt >= entry.run.attempt) {
      this.#drop(run.id);
      this.scheduleRetry(run);
    }
    // A run reported `running` (an SDK handler at work) keeps its request open here: it is not
    // `accepted` (202), so a shutdown still waits for it and hands it back.
  }

  /** Stops following a run: clears its deadline, aborts its request, forgets its retry. */
  #drop(runId: string): void {
    const entry = this.#inflight.get(runId);
    if (entry) {
      entry.ending = true;
      if (entry.deadline) this.#deps.clock.clearTimer(entry.deadline);
      entry.abort.abort();
      this.#inflight.delete(runId);
    }
    this.#retries.delete(runId);
  }

  #publicUrl(): string {
    const url = this.#deps.publicUrl;
    return typeof url === 'string' ? url : url();
  }

  #envelope(run: RunRecord, task: TaskRecord, leg?: Leg, fanOut?: boolean): RunRequest {
    return runEnvelope(run, task, { callbackKey: this.#deps.callbackKey, publicUrl: this.#publicUrl() }, leg, fanOut);
  }

  /** Writes a line about the run's routing to its log (best effort). */
  #note(run: RunRecord, level: 'info' | 'warn', message: string): void {
    this.#deps.store.appendRunLogs([{ runId: run.id, attempt: run.attempt, at: this.#deps.clock.now(), level, message }])
      .catch((error) => this.#deps.log('warn', 'writing a run log line failed', { ...runLogFields(run), error: String(error) }));
  }

  /** Asks the executor(s) of an attempt in flight to stop it. */
  #cancelRemote(entry: InFlight, reason: CancelReason): void {
    entry.transport.cancel(entry, reason);
  }

  /** Registry read: runs waiting for an executor whose group has a live node now go out (as a new attempt). */
  async #wakeWaiting(): Promise<void> {
    if (this.#stopping || !this.#executors) return;
    for (const { run } of this.#held.inPhase('waiting')) {
      const task = await this.#deps.getTask(run).catch(() => null);
      const held = this.#held.get(run.id);
      if (held?.run !== run || held.phase !== 'waiting') continue;
      if (task && !this.#executors.hasLiveNode(task)) continue;
      this.scheduleRetry(run);
    }
  }

  async #onReply(entry: InFlight, result: ExecutorResult): Promise<void> {
    if (entry.ending || result.kind === 'aborted') return;
    try {
      if (result.kind === 'accepted') {
        entry.accepted = true;
        await this.#deps.store.markRunning({ runId: entry.run.id, attempt: entry.run.attempt, at: this.#deps.clock.now() });
        return;
      }
      if (result.kind === 'succeeded' && isMapSealedOutput(result.output) && await this.#deps.maps?.isSealed(entry.run)) {
        if (entry.ending || this.#inflight.get(entry.run.id) !== entry) return;
        // The attempt mapped: it stays in flight while its subtasks run.
        entry.accepted = true;
        entry.mapped = true;
        await this.#deps.store.markRunning({ runId: entry.run.id, attempt: entry.run.attempt, at: this.#deps.clock.now() });
        return;
      }
      if (entry.ending) return;
      entry.ending = true;
      if (result.kind === 'succeeded') await this.#end(entry.run, 'succeeded', { output: result.output, traceparent: result.traceparent });
      else if (result.kind === 'no_executor') await this.#end(entry.run, 'lost', { error: result.error }, false, { kind: 'no_executor' });
      else if (result.kind === 'handed_back') {
        // The executor stopped before running the attempt to its end: send it again, not counted.
        if (entry.deadline) this.#deps.clock.clearTimer(entry.deadline);
        this.#inflight.delete(entry.run.id);
        await this.resend(entry.run);
      } else {
        // An executor that enforces the deadline itself (the SDK does) may answer just before the
        // scheduler's own deadline timer fires: a failure at or past the deadline is that timeout.
        const status = entry.run.deadlineAt !== null && this.#deps.clock.now() >= entry.run.deadlineAt ? 'timed_out' : 'failed';
        await this.#end(entry.run, status, { error: result.error, output: result.output, traceparent: result.traceparent }, false, entry.fanOut ? { kind: 'final', status } : undefined);
      }
    } catch (error) {
      // The store failed: the executor's answer is known but not recorded, and nothing else would
      // record it (the run stays `dispatched` under a live owner). Record it again shortly, unless
      // the run was dropped meanwhile (reset, cancel, a newer attempt).
      this.#deps.log('warn', 'recording an executor\'s answer failed; trying again', { ...runLogFields(entry.run), inMs: REPLY_RECORD_AGAIN_MS, error: String(error) });
      entry.ending = false;
      this.#deps.clock.setTimer(() => {
        if (this.#stopping || this.#inflight.get(entry.run.id) !== entry) return;
        void this.#onReply(entry, result);
      }, REPLY_RECORD_AGAIN_MS);
    }
  }

  async #onDeadline(runId: string): Promise<void> {
    const entry = this.#inflight.get(runId);
    if (!entry || entry.ending) return;
    entry.ending = true;
    this.#cancelRemote(entry, 'deadline');
    entry.abort.abort();
    await this.#end(entry.run, 'timed_out', { error: 'deadline exceeded' }, false, entry.fanOut ? { kind: 'final', status: 'timed_out' } : undefined);
  }

  /** Ends the run's current attempt and decides retry or final, in one batched write. */
  async #end(run: RunRecord, status: EndedStatus, fields: AttemptFields, foreign = false, forced?: RunOutcome): Promise<RunRecord | null> {
    const now = this.#deps.clock.now();
    const task = await this.#deps.getTask(run);
    const outcome = forced ?? decideOutcome(task, run.attempt, status, now, this.#deps.random);
    const taskNextFireAt = outcome.kind === 'final' ? fixedDelayNextFire(task, run.trigger, now) : undefined;
    const ended = await this.#finishes.push({
      runId: run.id, attempt: run.attempt, attemptStatus: status, at: now, output: fields.output, error: fields.error ?? null, outcome,
      ...(taskNextFireAt !== undefined ? { taskNextFireAt } : {}),
    });
    const entry = this.#inflight.get(run.id);
    if (entry && entry.run.attempt === run.attempt) {
      if (entry.deadline) this.#deps.clock.clearTimer(entry.deadline);
      this.#inflight.delete(run.id);
    }
    if (!ended) {
      this.#untrack(run);
      return null;
    }
    if (status !== 'succeeded') {
      const next = outcome.kind === 'retry' ? `; attempt ${run.attempt + 1} in ${outcome.nextAttemptAt - now} ms`
        : outcome.kind === 'no_executor' ? '; waiting for a live executor' : '';
      this.#deps.store.appendRunLogs([{ runId: run.id, attempt: run.attempt, at: now, level: 'warn', message: `attempt ${run.attempt} ${status}: ${fields.error ?? ''}${next}` }])
        .then(() => runLogAppends.notify(run.id))
        .catch((error) => this.#deps.log('warn', 'writing a run log line failed', { ...runLogFields(run), error: String(error) }));
    }
    if (this.#deps.instrumentation) reportAttemptEnd(this.#deps.instrumentation, { run, task, status, at: now, outcome, error: fields.error, foreign, executorTraceparent: fields.traceparent });
    if (foreign) {
      if (ended.workflow) this.#deps.onWorkflowEffects?.(ended.workflow);
      return ended;
    }
    if (outcome.kind === 'retry' && !this.#stopping) this.scheduleRetry(ended);
    else if (outcome.kind === 'no_executor') {
      this.#held.hold(ended, 'waiting');
      this.#deps.onRunWaiting?.(ended);
    } else if (outcome.kind === 'final') {
      this.#untrack(run);
      this.#throttled.poke();
      this.#deps.onRunEnded(ended);
    }
    return ended;
  }

  async #startRetries(runs: RunRecord[]): Promise<void> {
    if (this.#stopping) return;
    const now = this.#deps.clock.now();
    for (const run of runs) this.#held.hold(run, 'starting');
    await Promise.all(runs.map(async (run) => {
      try {
        const task = await this.#deps.getTask(run);
        if (!task) {
          this.#untrack(run);
          const ended = await this.#deps.store.finishRun({ runId: run.id, status: 'failed', at: now, error: 'task deleted before the retry' });
          if (ended) this.#deps.onRunEnded(ended);
          return;
        }
        const started = await this.#starts.push({
          runId: run.id, attempt: run.attempt + 1, executor: executorOf(task), executorGroup: executorGroupOf(task), startedAt: now,
          deadlineAt: task.spec.timeoutMs ? now + task.spec.timeoutMs : null,
        });
        if (started?.status === 'throttled') this.#throttled.hold(started);
        else if (started) this.launch(started, task);
        else this.#untrack(run);
      } catch (error) {
        // The store failed (nothing was recorded, or the next try finds the attempt started and
        // lets go): try again shortly, unless the run was dropped meanwhile (reset, cancel).
        this.#deps.log('warn', 'starting a retry failed; trying again', { ...runLogFields(run), inMs: RETRY_START_AGAIN_MS, error: String(error) });
        if (!this.#stopping && this.#held.phase(run.id) === 'starting') {
          this.#held.move(run.id, 'retrying');
          this.#retries.set(run.id, this.#deps.clock.now() + RETRY_START_AGAIN_MS, run);
        }
      }
    }));
  }

  /** The run is no longer held here (it ended, or another node has it). */
  #untrack(run: RunRecord): void {
    this.#executors?.forget(run.id);
    this.#held.release(run.id);
  }
}

/** The executor group a task's runs go to (executor and shell targets, containers on agents), for its namespace's group quota; else null. */
export function executorGroupOf(task: ScheduledRecord): string | null {
  if (task.kind === 'workflow') return null;
  const target = task.spec.target;
  return isExecutorTarget(target) ? target.group : null;
}

/** The executor an attempt goes to, as recorded on the attempt. */
export function executorOf(task: ScheduledRecord): string | null {
  if (task.kind === 'workflow') return null;
  const target = task.spec.target;
  if (target.type !== 'http') return null;
  try {
    return new URL(target.url).origin;
  } catch {
    return target.url;
  }
}
