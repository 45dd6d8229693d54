/**
 * An executor node: declares handlers, joins its executor group, serves runs (pushed over HTTP or
 * pulled), and leaves gracefully.
 *
 *   start(): listen (push) → register (the first heartbeat; fails loudly) → upsert declared
 *            tasks → heartbeat → poll (pull) or open the streams (stream)
 *   stop():  push: stop heartbeats → leave the registry → refuse new runs (503) → wait up to
 *            shutdownGraceMs → hand back the rest (503 + x-ecron-handed-back) → close;
 *            pull: stop polling → wait → hand back the rest (failed results) → post results →
 *            stop heartbeats → leave the registry;
 *            stream: grant no more credit → wait → hand back the rest (`handed_back` results) →
 *            send results and close the streams → stop heartbeats → leave the registry
 */
import { EventEmitter } from 'node:events';
import type {
  ExecutorHeartbeat, ExecutorHeartbeatReply, PollReply, PollResults, RunReport, RunRequest, StatusReply, TaskResource, TaskSpecInput,
} from '@ecron/contracts';
import type { ApiConnection } from './api-request.ts';
import { EcronClient } from './client.ts';
import type { Handler } from './context.ts';
import { ExecutorError } from './errors.ts';
import { HttpTransport } from './http-transport.ts';
import { describeError } from './log.ts';
import { resolveExecutorOptions, type ExecutorOptions, type ResolvedExecutorOptions } from './options.ts';
import { PullTransport } from './pull-transport.ts';
import { Registration } from './registration.ts';
import { CallbackReporter, ReportSequencer } from './reports.ts';
import { RunExecution, runKey, type RunOutcome } from './run-execution.ts';
import { RunTracker, type RunSelector } from './run-tracker.ts';
import { SignatureGate } from './signature-gate.ts';
import { StreamTransport } from './stream-transport.ts';
import { SubtaskWorker, type SubtaskEventInfo } from './subtask-worker.ts';
import type { ExecutorTransport, PreparedRun, RunHost, StartResult } from './transport.ts';
import { SDK_VERSION } from './version.ts';

type ExecutorRouting = Extract<TaskSpecInput['target'], { type: 'executor' }>['routing'];

/** A task declared with {@link Executor.task}: a spec without name and target, plus the target's routing. */
export type ExecutorTaskSpec = Omit<TaskSpecInput, 'name' | 'target'> & { routing?: ExecutorRouting };

/** Which run an event is about. */
export interface RunEventInfo {
  runId: string;
  attempt: number;
  shard: { index: number; total: number };
  task: string;
  handler: string;
}

/** Events an executor emits (for tests, metrics and logs). */
export interface ExecutorEvents {
  /** The first registration succeeded. */
  registered: [ExecutorHeartbeatReply];
  heartbeat: [ExecutorHeartbeatReply];
  'heartbeat-failed': [Error];
  'run-started': [RunEventInfo];
  /** A run's outcome is decided (the answer or the callback report follows). */
  'run-ended': [RunEventInfo & { outcome: RunOutcome }];
  /** A second delivery of a run shard in flight or just ended: answered from that run, not run again. */
  'run-duplicate': [RunEventInfo];
  /** A run was handed back at shutdown. */
  'run-handed-back': [RunEventInfo];
  /** The server accepted a callback report. */
  'report-sent': [RunReport & { runId: string }];
  /** A request to the executor was refused (bad signature, unknown handler, stopping, …). */
  refused: [{ code: string; status: number }];
  polled: [PollReply];
  'poll-failed': [Error];
  'results-posted': [PollResults['results']];
  /** Stream mode: a stream to an API node opened (its hello verified). */
  'stream-opened': [{ node: string }];
  /** Stream mode: a stream closed (`refused`: the code of a server frame this node refused); it opens again after a pause unless stopping. */
  'stream-closed': [{ node: string; code: number; reason: string; refused: string | null }];
  /** Map/reduce: a subtask (or a reduce) claimed by this node started. */
  'subtask-started': [SubtaskEventInfo];
  /** Map/reduce: a subtask ended here (its result is reported in the next batch). */
  'subtask-ended': [SubtaskEventInfo & { status: 'succeeded' | 'failed'; error?: string }];
  stopping: [];
  stopped: [];
}

/** Options of {@link Executor.handle}. */
export interface HandleOptions {
  /**
   * Map/reduce: this node also claims the subtasks (and reduces) that name this handler, emitted by
   * `ctx.map` in runs of its group. @default false
   */
  subtasks?: boolean;
}

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';
const HANDLER_NAME = /^.{1,128}$/s;

export class Executor extends EventEmitter<ExecutorEvents> implements AsyncDisposable {
  readonly options: ResolvedExecutorOptions;
  readonly #handlers = new Map<string, Handler>();
  readonly #tasks = new Map<string, ExecutorTaskSpec>();
  /** Handlers that serve subtasks (`handle(…, { subtasks: true })`). */
  readonly #subtaskHandlers = new Map<string, Handler>();
  #subtasks: SubtaskWorker | null = null;
  readonly #tracker = new RunTracker();
  readonly #gate = new SignatureGate();
  readonly #sequencer = new ReportSequencer();
  readonly #connection: ApiConnection;
  #client: EcronClient | null = null;
  #transport: ExecutorTransport | null = null;
  #registration: Registration | null = null;
  /** The group's secret from the latest heartbeat reply. */
  #secret: string | null = null;
  #state: State = 'new';
  #address: string | null = null;
  #starting: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;

  constructor(options: ExecutorOptions) {
    super();
    this.options = resolveExecutorOptions(options, process.env);
    this.#connection = {
      server: this.options.server,
      token: this.options.token,
      timeoutMs: this.options.requestTimeoutMs,
      userAgent: `@ecron/sdk/${SDK_VERSION}`,
    };
  }

  /** This node's id in the registry. */
  get id(): string {
    return this.options.id;
  }

  /** The URL the executor listens at (push mode, after start); null before, and in pull mode. */
  get address(): string | null {
    return this.#address;
  }

  /** Runs in flight now (detached runs until they end). */
  get inflight(): number {
    return this.#tracker.size;
  }

  get state(): State {
    return this.#state;
  }

  /** An API client with the executor's server and token. */
  get client(): EcronClient {
    this.#client ??= new EcronClient({ server: this.options.server, token: this.options.token, timeoutMs: this.options.requestTimeoutMs });
    return this.#client;
  }

  /** Declares a handler: runs whose target names it come here. Returns the executor (chainable). */
  handle<P = Record<string, unknown>, O = unknown>(name: string, handler: Handler<P, O>, options: HandleOptions = {}): this {
    if (typeof name !== 'string' || !HANDLER_NAME.test(name)) throw new ExecutorError('HANDLER_INVALID', `a handler name is 1 to 128 characters, not ${JSON.stringify(name)}`);
    if (typeof handler !== 'function') throw new ExecutorError('HANDLER_INVALID', `the handler "${name}" must be a function`);
    if (this.#handlers.has(name)) throw new ExecutorError('HANDLER_INVALID', `a handler named "${name}" is already declared`);
    this.#handlers.set(name, handler as Handler);
    if (options.subtasks) {
      if (this.#state !== 'new') throw new ExecutorError('EXECUTOR_STATE_INVALID', 'declare subtask handlers before start()');
      if (!this.options.register) throw new ExecutorError('EXECUTOR_CONFIG_INVALID', 'subtask handlers need a registered executor (register: true)');
      this.#subtaskHandlers.set(name, handler as Handler);
    }
    return this;
  }

  /**
   * Declares a handler and a task that runs it: on start(), the task
   * `{ ...spec, name, target: { type: 'executor', group, handler: name, routing } }` is created,
   * or updated if it exists.
   */
  task<P = Record<string, unknown>, O = unknown>(name: string, spec: ExecutorTaskSpec, handler: Handler<P, O>): this {
    if (this.#state !== 'new') throw new ExecutorError('EXECUTOR_STATE_INVALID', 'declare tasks before start()');
    if (!this.options.register) throw new ExecutorError('EXECUTOR_STATE_INVALID', 'an executor with register: false declares no tasks: create them through the API');
    this.handle(name, handler);
    this.#tasks.set(name, spec);
    return this;
  }

  /** Listens (push), registers, upserts declared tasks, then heartbeats (and polls or streams, in pull or stream mode). */
  start(): Promise<void> {
    if (this.#state !== 'new') return Promise.reject(new ExecutorError('EXECUTOR_STATE_INVALID', `start() was already called (the executor is ${this.#state})`));
    this.#state = 'starting';
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const { options } = this;
    const host = this.#runHost();
    this.#transport = await this.#makeTransport(host);
    if (!options.register) return this.#startUnregistered(this.#transport);
    this.#registration = new Registration({
      connection: this.#connection,
      id: options.id,
      body: () => this.#heartbeatBody(),
      log: options.log,
      onReply: (reply, first) => {
        this.#gate.setSecret(reply.secret);
        this.#secret = reply.secret;
        this.emit(first ? 'registered' : 'heartbeat', reply);
      },
      onFailure: (error) => this.emit('heartbeat-failed', error),
      alternates: () => this.#transport?.nodes ?? [],
    });
    let registered = false;
    try {
      if (options.mode === 'push') this.#address = await this.#transport.start();
      await this.#registration.register();
      registered = true;
      await this.#syncTasks();
    } catch (error) {
      this.#state = 'stopped';
      if (registered) await this.#registration.deregister().catch(() => {});
      await this.#transport.close().catch(() => {});
      this.#address = null;
      throw error;
    }
    this.#registration.startHeartbeats();
    if (options.mode !== 'push') await this.#transport.start();
    if (this.#subtaskHandlers.size > 0) {
      this.#subtasks = new SubtaskWorker({
        connection: this.#connection, id: options.id, maxConcurrency: options.maxConcurrency, waitMs: options.pollWaitMs, handlers: this.#subtaskHandlers, log: options.log,
        onStarted: (info) => this.emit('subtask-started', info),
        onEnded: (info) => this.emit('subtask-ended', info),
      });
      this.#subtasks.start();
    }
    this.#state = 'running';
    options.log('info', 'executor started', { id: options.id, group: options.group, mode: options.mode, address: this.#address, handlers: [...this.#handlers.keys()] });
  }

  /** `register: false`: serves runs at its address, signed with the secret it was given; the registry never hears of it. */
  async #startUnregistered(transport: ExecutorTransport): Promise<void> {
    const { options } = this;
    this.#gate.setSecret(options.secret!);
    this.#secret = options.secret;
    try {
      this.#address = await transport.start();
    } catch (error) {
      this.#state = 'stopped';
      await transport.close().catch(() => {});
      throw error;
    }
    this.#state = 'running';
    options.log('info', 'executor started without registering', { id: options.id, group: options.group, address: this.#address, handlers: [...this.#handlers.keys()] });
  }

  async #makeTransport(host: RunHost): Promise<ExecutorTransport> {
    const { options } = this;
    const { id, maxConcurrency, listen, advertiseUrl } = options;
    switch (options.mode) {
      case 'pull':
        return new PullTransport(host, {
          connection: this.#connection, id, maxConcurrency, waitMs: options.pollWaitMs,
          onPolled: (reply) => this.emit('polled', reply),
          onPollFailed: (error) => this.emit('poll-failed', error),
          onResultsPosted: (results) => this.emit('results-posted', results),
        });
      case 'stream':
        return new StreamTransport(host, {
          connection: this.#connection, id, maxConcurrency, lingerMs: options.streamLingerMs,
          secret: () => this.#secret,
          onOpened: (node) => this.emit('stream-opened', { node }),
          onClosed: (node, { code, reason, refused }) => this.emit('stream-closed', { node, code, reason, refused }),
        });
      case 'push':
        return options.transport === 'grpc'
          // Loaded only when used: grpc-js and the proto add about half a second to an import of the SDK.
          ? new (await import('./grpc-transport.ts')).GrpcTransport(host, { host: listen.host, port: listen.port, advertiseAddress: advertiseUrl ?? undefined })
          : new HttpTransport(host, { host: listen.host, port: listen.port, advertiseUrl: advertiseUrl ?? undefined });
    }
  }

  /**
   * Graceful stop: leaves routing, refuses new runs, waits up to shutdownGraceMs for runs in
   * flight, hands the rest back to the scheduler, then closes. Idempotent.
   */
  stop(): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      return Promise.resolve();
    }
    // A stop() during start() waits for it, then undoes what it did.
    this.#stopping ??= (this.#starting ?? Promise.resolve()).catch(() => {}).then(() => (this.#state === 'stopped' ? undefined : this.#stop()));
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #stop(): Promise<void> {
    this.#state = 'stopping';
    this.emit('stopping');
    const { options } = this;
    // Subtasks first: their claims and results need the node registered.
    await this.#subtasks?.stop(options.shutdownGraceMs);
    const registration = this.#registration;
    const transport = this.#transport!;
    // Push: leave routing first; runs in flight keep their open requests.
    // Pull and stream: the server gives up on a node's deliveries when it leaves the registry, so
    // the node stays registered (and heartbeats) until the results of its runs are sent.
    const push = options.mode === 'push';
    if (push) await this.#leave(registration);
    await transport.quiesce();
    const drained = await this.#tracker.drain(options.shutdownGraceMs);
    if (!drained) {
      const count = this.#tracker.handBackAll();
      options.log('warn', 'runs still in flight after the grace period were handed back', { count, graceMs: options.shutdownGraceMs });
    }
    await this.#tracker.whenIdle();
    await transport.close();
    if (!push) await this.#leave(registration);
    this.#state = 'stopped';
    this.#address = null;
    options.log('info', 'executor stopped', { id: options.id });
    this.emit('stopped');
  }

  async #leave(registration: Registration | null): Promise<void> {
    if (!registration) return;
    await registration.stopHeartbeats();
    await registration.deregister();
  }

  #heartbeatBody(): ExecutorHeartbeat {
    const { options } = this;
    return {
      namespace: options.namespace,
      group: options.group,
      // A stream node is a pull node to the registry: the server sends it nothing unasked.
      mode: options.mode === 'push' ? 'push' : 'pull',
      transport: options.transport,
      address: options.mode === 'push' ? this.#address : null,
      labels: { ...options.labels },
      weight: options.weight,
      handlers: [...this.#handlers.keys()],
      version: options.version,
      inflight: this.#tracker.size,
    };
  }

  async #syncTasks(): Promise<TaskResource[]> {
    const done: TaskResource[] = [];
    for (const [name, spec] of this.#tasks) {
      const { routing, ...rest } = spec;
      const target = { type: 'executor' as const, group: this.options.group, handler: name, ...(routing ? { routing } : {}) };
      try {
        done.push(await this.client.tasks.upsert({ namespace: this.options.namespace, ...rest, name, target }));
      } catch (error) {
        throw new ExecutorError('EXECUTOR_TASK_SYNC_FAILED', `task "${name}" could not be created or updated: ${describeError(error)}`, { cause: error });
      }
    }
    return done;
  }

  #runHost(): RunHost {
    const accepting = () => this.#state === 'running' || this.#state === 'starting';
    return {
      log: this.options.log,
      get accepting() {
        return accepting();
      },
      authenticate: (body, signature) => this.#gate.check(body, signature),
      startRun: (request, options) => {
        const prepared = this.#prepareRun(request, options.acceptDetached);
        return prepared.kind === 'ready' ? prepared.start() : prepared;
      },
      prepareRun: (request, options) => this.#prepareRun(request, options.acceptDetached),
      cancel: (selector: RunSelector) => this.#tracker.cancel(selector),
      status: (selector: RunSelector): StatusReply => this.#tracker.status(selector),
      refused: (code, status) => this.emit('refused', { code, status }),
    };
  }

  /**
   * Builds the run of a request (its reporter, execution and handler context); its start() checks
   * for a duplicate (the same run shard in flight, or ended a moment ago) and calls the handler.
   */
  #prepareRun(request: RunRequest, acceptDetached: boolean): PreparedRun {
    const name = request.handler;
    const handler = name === undefined ? undefined : this.#handlers.get(name);
    if (name === undefined || !handler) {
      const known = [...this.#handlers.keys()].join(', ') || 'none';
      return { kind: 'no-handler', message: name === undefined ? `the request names no handler (this executor serves: ${known})` : `no handler "${name}" on this executor (it serves: ${known})` };
    }
    const key = runKey(request.runId, request.attempt, request.shard.index);
    const info: RunEventInfo = { runId: request.runId, attempt: request.attempt, shard: request.shard, task: request.task, handler: name };
    const { log } = this.options;
    const reporter = new CallbackReporter(request, this.#sequencer, {
      log, userAgent: this.#connection.userAgent, timeoutMs: this.options.requestTimeoutMs, flushIntervalMs: this.options.reportIntervalMs,
      onSent: (report) => this.emit('report-sent', report),
    });
    const execution = new RunExecution({
      request, handlerName: name, handler, reporter, acceptDetached, log, userAgent: this.#connection.userAgent, timeoutMs: this.options.requestTimeoutMs,
      onOutcome: (outcome) => {
        this.#tracker.record(key, outcome);
        this.emit('run-ended', { ...info, outcome });
      },
    });
    const start = (): StartResult => {
      const active = this.#tracker.get(key);
      const recent = active ? undefined : this.#tracker.recentOutcome(key);
      if (active || recent) {
        reporter.close();
        this.emit('run-duplicate', info);
        return active ? { kind: 'started', execution: active, joined: true } : { kind: 'recent', outcome: recent! };
      }
      void execution.answer.then((answer) => {
        if (answer.status === 'handed-back') this.emit('run-handed-back', info);
      });
      this.#tracker.add(execution);
      this.emit('run-started', info);
      execution.start();
      return { kind: 'started', execution, joined: false };
    };
    return { kind: 'ready', start, discard: () => reporter.close() };
  }
}
