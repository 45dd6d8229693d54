/**
 * Sends an attempt of an `executor` or `shell` task to the live nodes of its executor group, as
 * its routing says, and resolves with what the attempt came to — the same {@link DispatchResult}
 * an HTTP target gives, plus `no_executor`.
 *
 * - Unicast: one node by strategy. A node that does not answer at all (gone, or handing the run
 *   back at its shutdown) is left out for a moment and the request goes to the next node, within
 *   the same attempt; a retry (a new attempt after a failure) avoids the node that failed.
 * - Fan-out (broadcast, multicast, sharding): one request per leg, each with its `shard`. A
 *   sharding or multicast leg that fails goes to another node, up to the task's `maxAttempts`
 *   per leg (a node that vanished does not count); a broadcast leg belongs to its node. The
 *   attempt succeeds when every leg did; its output lists the legs.
 * - No live node: `no_executor` (the run waits for one).
 */
import { CONTAINER_HANDLER, SHELL_HANDLER, type CancelRequest, type RunRequest, type Target } from '@ecron/contracts';
import { retryDelay } from '../core/backoff.ts';
import { waitOn, waitUntil, type Clock, type Random } from '../core/clock.ts';
import type { RunRecord, TaskRecord } from '../core/model.ts';
import type { AttemptContext, CancelReason, RunTransport, StatusAnswer } from './run-transport.ts';
import type { ExecutorNodeRecord } from '../store/store.ts';
import type { ExecutorDirectory } from './executor-directory.ts';
import type { DispatchResult, HttpDispatcher } from './http-dispatcher.ts';
import type { PullHub } from './pull-hub.ts';
import { isFanOut, matchesSelector, pickNode, planLegs, RouterState, type Leg, type RouteNode } from './routing.ts';

/** The targets sent to an executor group's nodes: executor and shell targets, and container targets with a group (run by agents). */
export type ExecutorTarget = Extract<Target, { type: 'executor' | 'shell' }> | (Extract<Target, { type: 'container' }> & { group: string });
export type ExecutorResult = DispatchResult | { kind: 'no_executor'; error: string };

/** Sends one request to one node: HTTP, pull, or gRPC. */
export interface NodeTransport {
  /**
   * `onSent`: the request reached the node (written to its connection, or taken by its poll).
   * `notBefore`: its instant, when it is handed in before it (only to a node whose stream takes it so).
   */
  send(node: ExecutorNodeRecord, request: RunRequest, signal: AbortSignal, onSent?: () => void, notBefore?: number): Promise<DispatchResult>;
  cancel(node: ExecutorNodeRecord, body: CancelRequest): void;
}

export interface ExecutorDispatchDeps {
  directory: ExecutorDirectory;
  http: HttpDispatcher;
  pull: PullHub;
  /** Other transports by name (grpc). */
  transports?: Partial<Record<'grpc', NodeTransport>>;
  clock: Clock;
  random: Random;
}

/** Re-sends of one leg to other nodes after nodes vanished, before the leg fails. */
const MAX_RESENDS = 8;
/** A leg that found no live node waits this long for the registry before trying again. */
const NO_NODE_WAIT_MS = 1000;

interface LegState {
  leg: Leg;
  node: ExecutorNodeRecord | null;
  status: 'running' | 'succeeded' | 'failed';
  tries: number;
  output?: unknown;
  error?: string;
}

export function isExecutorTarget(target: Target): target is ExecutorTarget {
  return target.type === 'executor' || target.type === 'shell' || (target.type === 'container' && target.group !== undefined);
}

export function handlerOf(target: ExecutorTarget): string {
  if (target.type === 'executor') return target.handler;
  return target.type === 'shell' ? SHELL_HANDLER : CONTAINER_HANDLER;
}

/**
 * The {@link RunTransport} of `executor` and `shell` targets. The attempt is marked sent with the
 * node it reached (a unicast, as the request reached it) or with a summary of a fan-out (as its
 * legs were planned).
 */
export class ExecutorDispatch implements RunTransport {
  readonly recovery = 'resend' as const;
  readonly #deps: ExecutorDispatchDeps;
  readonly #router = new RouterState();
  /** The node a run's last failed attempt went to: its retry avoids it. */
  readonly #lastFailed = new Map<string, string>();
  /** Legs in flight by run id (for cancel). */
  readonly #legs = new Map<string, { attempt: number; legs: LegState[] }>();

  constructor(deps: ExecutorDispatchDeps) {
    this.#deps = deps;
  }

  get directory(): ExecutorDirectory {
    return this.#deps.directory;
  }

  /** True when some live node could take the task's runs now. */
  hasLiveNode(task: TaskRecord): boolean {
    const target = task.spec.target;
    if (!isExecutorTarget(target)) return true;
    return this.#candidates(target, task.namespace).length > 0;
  }

  async send(attempt: AttemptContext, signal: AbortSignal): Promise<ExecutorResult> {
    const target = attempt.task.spec.target as ExecutorTarget;
    let candidates = this.#candidates(target, attempt.task.namespace);
    if (candidates.length === 0) {
      await this.#deps.directory.refresh().catch(() => {});
      candidates = this.#candidates(target, attempt.task.namespace);
    }
    if (candidates.length === 0) return this.#noExecutor(target);
    if (!isFanOut(target.routing)) return this.#unicast(attempt, target, signal);
    return this.#fanOut(attempt, target, candidates, signal);
  }

  /**
   * An attempt handed in before its instant goes at once to a node whose stream starts it then,
   * and to any other node at its instant: launching ahead gains when a live node of the task's
   * group has such a stream.
   */
  startsAhead(task: TaskRecord): boolean {
    const target = task.spec.target;
    return isExecutorTarget(target) && this.#candidates(target, task.namespace).some((node) => this.#timed(node));
  }

  #timed(node: ExecutorNodeRecord): boolean {
    return node.mode === 'pull' && this.#deps.pull.timed(node.id);
  }

  /** Tells every node running a leg of the run's attempt to stop (cancel, deadline). */
  cancel({ run }: Pick<AttemptContext, 'run'>, reason: CancelReason): void {
    const { id: runId, attempt } = run;
    const current = this.#legs.get(runId);
    if (!current || current.attempt !== attempt) return;
    for (const leg of current.legs) {
      if (leg.status !== 'running' || !leg.node) continue;
      const body: CancelRequest = { event: 'cancel', runId, attempt, reason, ...(leg.leg.total > 1 ? { shard: leg.leg.index } : {}) };
      this.#transport(leg.node).cancel(leg.node, body);
    }
  }

  /** Executor nodes are not asked after a restart: their attempts are sent again (`recovery`). */
  status(): Promise<StatusAnswer> {
    return Promise.resolve({ status: 'no-answer' });
  }

  /** The run ended for good: forget what was kept for its retries. */
  forget(runId: string): void {
    this.#lastFailed.delete(runId);
  }

  async #unicast(attempt: AttemptContext, target: ExecutorTarget, signal: AbortSignal): Promise<ExecutorResult> {
    const { run, task } = attempt;
    const tried = new Set<string>();
    const lastFailed = this.#lastFailed.get(run.id);
    const state: LegState = { leg: { index: 0, total: 1 }, node: null, status: 'running', tries: 0 };
    this.#legs.set(run.id, { attempt: run.attempt, legs: [state] });
    try {
      for (;;) {
        const candidates = this.#candidates(target, task.namespace).filter((n) => !tried.has(n.id));
        if (candidates.length === 0) return this.#noExecutor(target, tried.size);
        const avoid = new Set(lastFailed && candidates.length > 1 ? [lastFailed] : []);
        const node = this.#pick(target, task, run, candidates, avoid);
        state.node = node;
        const result = await this.#send(attempt, node, attempt.request(state.leg, false), signal, () => attempt.sent(node.id));
        if (result.kind === 'aborted' || result.kind === 'succeeded' || result.kind === 'accepted') {
          if (result.kind !== 'aborted') this.#lastFailed.delete(run.id);
          return result;
        }
        if (result.kind === 'handed_back' || (result.kind === 'failed' && result.unreachable)) {
          tried.add(node.id);
          attempt.note('warn', `executor ${node.id} ${result.kind === 'handed_back' ? 'handed the run back' : `did not answer (${result.error})`}; sending to another node`);
          continue;
        }
        this.#lastFailed.set(run.id, node.id);
        return { ...result, error: `${result.error} (executor ${node.id})` };
      }
    } finally {
      if (this.#legs.get(run.id)?.legs[0] === state) this.#legs.delete(run.id);
    }
  }

  async #fanOut(attempt: AttemptContext, target: ExecutorTarget, candidates: ExecutorNodeRecord[], signal: AbortSignal): Promise<ExecutorResult> {
    const { run, task } = attempt;
    const byId = new Map(candidates.map((n) => [n.id, n]));
    const planned = planLegs(target.routing, candidates.map((n) => this.#routeNode(n)), this.#context(target, task, run));
    const legs: LegState[] = planned.map(({ leg, node }) => ({ leg, node: byId.get(node.id)!, status: 'running', tries: 0 }));
    this.#legs.set(run.id, { attempt: run.attempt, legs });
    const mode = target.routing?.sharding ? 'shard' : 'leg';
    attempt.note('info', `${legs.length} ${mode}s: ${legs.map((l) => `${l.leg.index}→${l.node!.id}`).join(', ')}`);
    attempt.sent(`${target.group} (${legs.length} ${mode}s)`);
    try {
      await Promise.all(legs.map((leg) => this.#runLeg(attempt, target, leg, signal)));
    } finally {
      if (this.#legs.get(run.id)?.legs === legs) this.#legs.delete(run.id);
    }
    if (signal.aborted) return { kind: 'aborted' };
    const output = {
      [`${mode}s`]: legs.map((l) => ({ index: l.leg.index, node: l.node?.id ?? null, status: l.status, tries: l.tries, output: l.output ?? null, ...(l.error ? { error: l.error } : {}) })),
    };
    const failed = legs.filter((l) => l.status !== 'succeeded');
    if (failed.length === 0) return { kind: 'succeeded', output };
    const detail = failed.slice(0, 5).map((l) => `${mode} ${l.leg.index}${l.node ? ` on ${l.node.id}` : ''}: ${l.error}`).join('; ');
    return { kind: 'failed', error: `${failed.length} of ${legs.length} ${mode}s failed: ${detail}${failed.length > 5 ? '; …' : ''}`, output };
  }

  /** Runs one leg to success or failure, moving it to other nodes as the routing allows. */
  async #runLeg(attempt: AttemptContext, target: ExecutorTarget, state: LegState, signal: AbortSignal): Promise<void> {
    const { run, task } = attempt;
    const movable = !target.routing?.broadcast;
    const avoid = new Set<string>();
    let resends = 0;
    const what = `${target.routing?.sharding ? 'shard' : 'leg'} ${state.leg.index}/${state.leg.total}`;
    for (;;) {
      if (signal.aborted) return;
      const node = state.node;
      if (!node) {
        if (resends++ >= MAX_RESENDS) return this.#failLeg(state, 'no live executor to run it');
        await this.#wait(NO_NODE_WAIT_MS, signal);
        state.node = this.#nextNode(target, task, run, avoid);
        continue;
      }
      const result = await this.#send(attempt, node, attempt.request(state.leg, true), signal);
      if (result.kind === 'aborted') return;
      if (result.kind === 'succeeded') {
        state.tries += 1;
        state.status = 'succeeded';
        state.output = result.output;
        return;
      }
      if (result.kind === 'accepted') {
        state.tries += 1;
        return this.#failLeg(state, 'the executor answered 202, but a fan-out leg must answer with its outcome');
      }
      const vanished = result.kind === 'handed_back' || result.unreachable === true;
      if (vanished) {
        resends += 1;
      } else {
        state.tries += 1;
      }
      avoid.add(node.id);
      const error = `${result.error} (executor ${node.id})`;
      const exhausted = vanished ? resends > MAX_RESENDS : state.tries >= task.spec.retry.maxAttempts;
      if (!movable || exhausted) return this.#failLeg(state, error);
      state.node = this.#nextNode(target, task, run, avoid);
      attempt.note('warn', `${what} failed: ${error}; ${state.node ? `sending it to ${state.node.id}` : 'waiting for a live executor'}`);
      if (!vanished) await this.#wait(retryDelay(task.spec.retry.backoff, state.tries, this.#deps.random), signal);
    }
  }

  #failLeg(state: LegState, error: string): void {
    state.status = 'failed';
    state.error = error;
  }

  #nextNode(target: ExecutorTarget, task: TaskRecord, run: RunRecord, avoid: Set<string>): ExecutorNodeRecord | null {
    const candidates = this.#candidates(target, task.namespace);
    return candidates.length === 0 ? null : this.#pick(target, task, run, candidates, avoid);
  }

  #pick(target: ExecutorTarget, task: TaskRecord, run: RunRecord, candidates: ExecutorNodeRecord[], avoid: Set<string>): ExecutorNodeRecord {
    const routeNodes = candidates.map((n) => this.#routeNode(n));
    const picked = pickNode(target.routing?.strategy ?? 'round-robin', routeNodes, avoid, this.#context(target, task, run))!;
    return candidates.find((n) => n.id === picked.id)!;
  }

  /** Live nodes that may run the task's runs: of its group in its namespace, serving its handler, matching its selector. */
  #candidates(target: ExecutorTarget, namespace: string): ExecutorNodeRecord[] {
    return this.#deps.directory.live({ namespace, group: target.group }, handlerOf(target)).filter((n) => matchesSelector(n.labels, target.routing?.selector));
  }

  #routeNode(node: ExecutorNodeRecord): RouteNode {
    return { id: node.id, weight: node.weight, labels: node.labels, inflight: this.#deps.directory.inflight(node) };
  }

  #context(target: ExecutorTarget, task: TaskRecord, run: RunRecord) {
    const hashKey = target.routing?.hashKey;
    const hashInput = hashKey === undefined ? task.id : JSON.stringify(run.params[hashKey] ?? null);
    return { state: this.#router, key: `${target.group}/${handlerOf(target)}`, hashInput, random: this.#deps.random };
  }

  #noExecutor(target: ExecutorTarget, unreachable = 0): ExecutorResult {
    const selector = target.routing?.selector ? ` matching ${JSON.stringify(target.routing.selector)}` : '';
    const why = unreachable > 0 ? ` (${unreachable} registered did not answer)` : '';
    return { kind: 'no_executor', error: `no live executor in group "${target.group}" serves "${handlerOf(target)}"${selector}${why}` };
  }

  /**
   * Sends one run request to a node. A request that got no answer at all is sent once more at
   * once, before the node is suspected: a kept-alive connection the node closed as the request
   * went out (its idle timeout, on a loaded machine) resets without the node ever reading it, and
   * a fresh connection tells whether the node is really gone. Resending is safe: an executor
   * answers a second delivery of a run shard it holds from that run, and runs it once.
   *
   * A request before its instant (`notBefore`) goes at once to a node whose stream starts runs at
   * their instant; to any other node it goes at its instant. Each request is one dispatch span
   * (its `traceparent` goes with it).
   */
  async #send(attempt: AttemptContext, node: ExecutorNodeRecord, unstamped: RunRequest, signal: AbortSignal, onSent?: () => void): Promise<DispatchResult> {
    const { notBefore } = attempt;
    const early = notBefore - this.#deps.clock.now();
    if (early > 0 && !this.#timed(node)) {
      if (!await waitUntil(this.#deps.clock, notBefore, signal)) return { kind: 'aborted' };
    }
    this.#deps.directory.track(node.id, 1);
    const span = attempt.dispatch(unstamped, { transport: node.mode === 'pull' ? 'pull' : node.transport, executor: node.id, leg: unstamped.shard });
    const { request } = span;
    let result: DispatchResult = { kind: 'aborted' };
    try {
      const transport = this.#transport(node);
      result = await transport.send(node, request, signal, onSent, notBefore);
      if (result.kind === 'failed' && result.unreachable && !signal.aborted) result = await transport.send(node, request, signal, onSent, notBefore);
      if (result.kind === 'failed' && result.unreachable) this.#deps.directory.suspect(node);
      return result;
    } finally {
      span.end(result);
      this.#deps.directory.track(node.id, -1);
    }
  }

  #transport(node: ExecutorNodeRecord): NodeTransport {
    if (node.mode === 'pull') return this.#pullTransport;
    if (node.transport === 'grpc') {
      const grpc = this.#deps.transports?.grpc;
      if (grpc) return grpc;
      return { send: async () => ({ kind: 'failed', error: 'this server has no gRPC transport', unreachable: true }), cancel: () => {} };
    }
    return this.#httpTransport;
  }

  readonly #httpTransport: NodeTransport = {
    send: async (node, request, signal, onSent) => {
      const secret = await this.#deps.directory.secret(node);
      return this.#deps.http.dispatch({ type: 'http', url: node.address!, secret }, request, signal, onSent);
    },
    cancel: (node, body) => {
      void this.#deps.directory.secret(node).then((secret) => this.#deps.http.cancel({ type: 'http', url: node.address!, secret }, body, node.namespace));
    },
  };

  readonly #pullTransport: NodeTransport = {
    send: (node, request, signal, onSent, notBefore) => this.#deps.pull.send(node.id, request, signal, onSent, notBefore),
    cancel: (_node, body) => this.#deps.pull.cancelRun(body.runId, body.attempt, body.reason),
  };

  async #wait(ms: number, signal: AbortSignal): Promise<void> {
    await waitOn(this.#deps.clock, ms, signal);
  }
}
