/**
 * Map/reduce on the server (issue 20; the store's contract is `store/run-subtasks.ts`). It owns:
 *
 * - the map attempt's calls (run-scoped token, like callbacks): appending subtasks and sealing;
 * - the executors' calls: long-poll claims (woken in-process when subtasks become claimable here,
 *   and re-read every `pollMs` for those another node made claimable), results and lease
 *   extensions, and the reduce's pages of results;
 * - ending the run when its map is decided: the store decides (exactly once, in the transaction
 *   that ended the last subtask), this applies the decision through the supervisor as a final
 *   end of the map attempt. A decision the node died before applying is found by the sweep;
 * - the sweep (every `sweepMs`, on every node, idempotent): expired leases back to pending, maps
 *   of runs that ended cancelled, decided maps applied.
 *
 * While its subtasks run, the map attempt stays in flight (accepted, like a 202), so the task's
 * deadline, cancel, overlap and retry policies apply to the whole map as they do to any attempt.
 */
import { EventEmitter } from 'node:events';
import {
  MAP_PAYLOAD_MAX_BYTES, MAP_SEALED_KEY, MAP_SUBTASKS_MAX, type ClaimedSubtask, type MapAppendSchema, type SubtaskClaimReply, type SubtaskClaimSchema,
  type SubtaskResultPage, type SubtaskResultsReply, type SubtaskResultsSchema,
} from '@ecron/contracts';
import type { z } from 'zod';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import type { RunRecord, TaskRecord } from '../core/model.ts';
import { runLogAppends } from '../core/run-log-signal.ts';
import { verifyRunToken } from '../dispatch/run-token.ts';
import type { MapDecision, SubtaskRecord } from '../store/run-subtasks.ts';
import type { ExecutorNodeRecord, Store } from '../store/store.ts';

/** A claim's lease; the SDK extends it every third of it. */
export const SUBTASK_LEASE_MS = 30_000;
/** A subtask that failed on a node waits this long for another node before that node may take it again. */
const AVOID_MS = 2000;
/** Leases a subtask may lose (its node died) before it fails. */
const MAX_LOST_LEASES = 5;
/** A decided map whose run is still in flight this long after is ended by the sweep. */
const DECIDED_GRACE_MS = 5000;
const SWEEP_PAGE = 1000;

export interface MapCoordinatorDeps {
  store: Store;
  clock: Clock;
  callbackKey: string;
  getTask: (run: RunRecord) => Promise<TaskRecord | null>;
  /** Ends the map attempt with the map's outcome, final whatever the retry policy says. */
  endAttempt: (run: RunRecord, decision: MapDecision) => Promise<void>;
  log: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /** @default 2000 */
  sweepMs?: number;
  /** How often a waiting claim reads the store without a wake-up here. @default 1000 */
  pollMs?: number;
}

/** True when an attempt's output says its map was sealed (the store is asked before it counts). */
export function isMapSealedOutput(output: unknown): boolean {
  return typeof output === 'object' && output !== null && MAP_SEALED_KEY in output;
}

export class MapCoordinator {
  /** `claimable`: subtasks became claimable on this node (long polls look again). */
  readonly events = new EventEmitter<{ claimable: []; decided: [MapDecision] }>();
  readonly #d: MapCoordinatorDeps;
  #timer: TimerHandle | null = null;
  #stopped = false;
  #sweeping = false;
  /** Runs this node knows have a map (appended through it, or checked sealed): a run's end cancels its map at once only then. */
  readonly #mapped = new Set<string>();

  constructor(deps: MapCoordinatorDeps) {
    this.#d = deps;
    this.events.setMaxListeners(0);
  }

  /** Arms the sweep (idempotent); the first map/reduce call does it. */
  start(): void {
    if (this.#stopped || this.#timer) return;
    this.#arm();
  }

  /** Stops the sweep and answers waiting claims; final. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) this.#d.clock.clearTimer(this.#timer);
    this.#timer = null;
    this.events.emit('claimable');
  }

  /** The run's map of its current attempt is sealed (or further): the attempt waits for its subtasks. */
  async isSealed(run: RunRecord): Promise<boolean> {
    this.start();
    const map = await this.#d.store.getRunMap(run.id);
    if (map !== null) this.#knowMapped(run.id);
    return map !== null && map.attempt === run.attempt && map.state !== 'mapping';
  }

  /** `POST /runs/{id}/subtasks`: a batch of the map attempt's subtasks. */
  async append(runId: string, token: string | undefined, body: z.output<typeof MapAppendSchema>): Promise<{ total: number; inserted: number }> {
    this.start();
    const run = await this.#mapAttempt(runId, token, body.attempt);
    const task = await this.#d.getTask(run);
    const target = task?.spec.target;
    if (!task || target?.type !== 'executor') throw new EcronError('MAP_NOT_ALLOWED', 'only the runs of executor tasks map: their group\'s nodes run the subtasks');
    const payloads = body.items.map((item, i) => {
      const json = JSON.stringify(item) ?? 'null';
      if (Buffer.byteLength(json) > MAP_PAYLOAD_MAX_BYTES) throw new EcronError('MAP_TOO_LARGE', `item ${body.offset + i} is larger than ${MAP_PAYLOAD_MAX_BYTES} bytes of JSON`);
      return json;
    });
    const { options } = body;
    const result = await this.#d.store.appendSubtasks({
      runId, attempt: body.attempt, offset: body.offset, handler: body.handler, payloads, namespace: run.namespace, group: target.group, maxTotal: MAP_SUBTASKS_MAX,
      options: {
        reduce: options.reduce ?? null, maxAttempts: options.maxAttempts ?? task.spec.retry.maxAttempts, onSubtaskFailure: options.onSubtaskFailure,
        maxFailedRatio: options.maxFailedRatio ?? null, backoff: task.spec.retry.backoff,
      },
    });
    this.#knowMapped(runId);
    if (result.inserted > 0) this.events.emit('claimable');
    return result;
  }

  /** `POST /runs/{id}/subtasks/seal`: the map attempt emitted all its subtasks. */
  async seal(runId: string, token: string | undefined, attempt: number): Promise<{ total: number; state: string }> {
    await this.#mapAttempt(runId, token, attempt);
    const sealed = await this.#d.store.sealMap({ runId, attempt });
    if (!sealed) throw new EcronError('MAP_NOT_ALLOWED', `attempt ${attempt} of run ${runId} has not mapped: call ctx.map first`);
    if (sealed.decision) await this.#apply([sealed.decision]);
    return { total: sealed.map.total, state: sealed.map.state };
  }

  /** The run an attempt's token speaks for, checked as callbacks are. */
  async #mapAttempt(runId: string, token: string | undefined, attempt: number): Promise<RunRecord> {
    const check = verifyRunToken(this.#d.callbackKey, token);
    if (!check.ok) throw new EcronError('CALLBACK_TOKEN_INVALID');
    if (check.runId !== runId) throw new EcronError('CALLBACK_RUN_MISMATCH');
    if (check.attempt !== attempt) throw new EcronError('CALLBACK_TOKEN_INVALID', `the callback token is for attempt ${check.attempt}, not ${attempt}`);
    if (check.shard !== undefined) throw new EcronError('MAP_NOT_ALLOWED', 'a shard of a fan-out attempt cannot map');
    const run = await this.#d.store.getRun(runId);
    if (!run) throw new EcronError('RUN_NOT_FOUND');
    if (run.finishedAt !== null) throw new EcronError('RUN_ALREADY_FINISHED');
    if (run.attempt !== attempt) throw new EcronError('CALLBACK_ATTEMPT_SUPERSEDED');
    return run;
  }

  /** A long poll: claims subtasks for `node`, waiting up to `waitMs` for some. */
  async claim(node: ExecutorNodeRecord, body: z.output<typeof SubtaskClaimSchema>, signal: AbortSignal): Promise<SubtaskClaimReply> {
    this.start();
    const until = this.#d.clock.now() + body.waitMs;
    for (;;) {
      const claimed = await this.#d.store.claimSubtasks({
        executor: node.id, namespace: node.namespace, group: node.group, handlers: body.handlers, limit: body.max, leaseMs: SUBTASK_LEASE_MS, avoidMs: AVOID_MS,
      });
      if (claimed.length > 0) return { subtasks: await this.#describe(claimed) };
      const left = until - this.#d.clock.now();
      if (left <= 0 || signal.aborted || this.#stopped) return { subtasks: [] };
      await this.#wake(Math.min(left, this.#d.pollMs ?? 1000), signal);
    }
  }

  #wake(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#d.clock.clearTimer(timer);
        this.events.off('claimable', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = this.#d.clock.setTimer(done, ms);
      this.events.once('claimable', done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  async #describe(claimed: SubtaskRecord[]): Promise<ClaimedSubtask[]> {
    const runs = new Map<string, RunRecord | null>();
    for (const subtask of claimed) if (!runs.has(subtask.runId)) runs.set(subtask.runId, await this.#d.store.getRun(subtask.runId));
    const out: ClaimedSubtask[] = [];
    for (const subtask of claimed) {
      const run = runs.get(subtask.runId);
      if (!run) continue;
      const summary = subtask.kind === 'reduce' ? (await this.#d.store.getRunMap(run.id))?.counts : undefined;
      out.push({
        runId: run.id, index: subtask.index, kind: subtask.kind, handler: subtask.handler, payload: subtask.payload, lease: subtask.lease,
        tries: subtask.lease - subtask.lost, leaseMs: SUBTASK_LEASE_MS,
        run: {
          runId: run.id, taskId: run.taskId, namespace: run.namespace, task: run.taskName, scheduledAt: new Date(run.scheduledAt).toISOString(),
          attempt: subtask.attempt, params: run.params, deadline: run.deadlineAt === null ? null : new Date(run.deadlineAt).toISOString(),
        },
        ...(summary ? { summary: { total: summary.succeeded + summary.failed + summary.cancelled, succeeded: summary.succeeded, failed: summary.failed } } : {}),
      });
    }
    return out;
  }

  /** Outcomes and lease extensions of `node`. */
  async results(node: ExecutorNodeRecord, body: z.output<typeof SubtaskResultsSchema>): Promise<SubtaskResultsReply> {
    let accepted = 0;
    if (body.results.length > 0) {
      const report = await this.#d.store.reportSubtasks({
        executor: node.id,
        results: body.results.map((r) => ({ runId: r.runId, index: r.index, lease: r.lease, status: r.status, output: r.output ?? null, error: r.error ?? null })),
      });
      accepted = report.accepted.length;
      await this.#appendLogs(report.accepted, body.results);
      if (report.claimable) this.events.emit('claimable');
      await this.#apply(report.decisions);
    }
    const lost = await this.#d.store.extendSubtaskLeases({ executor: node.id, keys: body.extend, leaseMs: SUBTASK_LEASE_MS });
    return { accepted, lost };
  }

  async #appendLogs(accepted: SubtaskRecord[], results: z.output<typeof SubtaskResultsSchema>['results']): Promise<void> {
    const now = this.#d.clock.now();
    const lines = accepted.flatMap((subtask) => {
      const result = results.find((r) => r.runId === subtask.runId && r.index === subtask.index);
      const who = subtask.kind === 'reduce' ? 'reduce' : `subtask ${subtask.index}`;
      return (result?.logs ?? []).map((line) => ({ runId: subtask.runId, attempt: subtask.attempt, at: now, level: line.level, message: `[${who}] ${line.message}` }));
    });
    if (lines.length === 0) return;
    await this.#d.store.appendRunLogs(lines);
    for (const runId of new Set(lines.map((line) => line.runId))) runLogAppends.notify(runId);
  }

  /** A page of the ended subtasks of a run of `node`'s group (the reduce reads them). */
  async page(node: ExecutorNodeRecord, runId: string, after: number, limit: number): Promise<SubtaskResultPage> {
    const map = await this.#d.store.getRunMap(runId);
    if (!map) return { items: [], next: null };
    if (map.namespace !== node.namespace || map.group !== node.group) throw new EcronError('RUN_NOT_FOUND', `run ${runId} has no map in this node's group`);
    const items = await this.#d.store.readSubtaskResults({ runId, afterIndex: after, limit });
    return {
      items: items.map((s) => ({ index: s.index, status: s.state as 'succeeded' | 'failed' | 'cancelled', output: s.output, error: s.error })),
      next: items.length < limit ? null : items[items.length - 1]!.index,
    };
  }

  /**
   * An executor node left the registry (killed, or silent past its TTL): the subtasks it holds go
   * back to the other nodes at the next sweep, run at once, rather than when their leases expire.
   */
  nodeGone(nodeId: string): void {
    void this.#d.store.expireSubtaskLeasesOf({ executor: nodeId }).then((count) => {
      if (count === 0) return;
      this.#d.log('info', 'an executor node left: its subtasks go to the others', { nodeId, count });
      return this.sweep();
    }).catch((error: unknown) => this.#d.log('warn', 'giving back the subtasks of a node that left failed; their leases will expire', { nodeId, error: String(error) }));
  }

  /** Remembers a run that mapped (the oldest forgotten past 10,000: the sweep still covers them). */
  #knowMapped(runId: string): void {
    this.#mapped.add(runId);
    if (this.#mapped.size > 10_000) this.#mapped.delete(this.#mapped.values().next().value!);
  }

  /**
   * A run ended here: its map and the subtasks left are cancelled, at once when this node knows
   * the run mapped or the run was stopped (cancelled, timed out, lost); else by the sweep, within
   * its period (a transaction per ended run would double the store's work per run, for the few
   * runs that map and end on another node than the one their subtasks went through).
   */
  runEnded(run: RunRecord): void {
    const known = this.#mapped.delete(run.id);
    if (!known && run.status !== 'cancelled' && run.status !== 'timed_out' && run.status !== 'lost') return;
    void this.#d.store.cancelMap({ runId: run.id, error: `cancelled: the run ended ${run.status}` }).catch((error: unknown) => {
      this.#d.log('warn', 'cancelling the subtasks of an ended run failed; the sweep will', { runId: run.id, error: String(error) });
    });
  }

  /** Ends the runs of decided maps (still in flight at the map's attempt). */
  async #apply(decisions: MapDecision[]): Promise<void> {
    for (const decision of decisions) {
      this.events.emit('decided', decision);
      const run = await this.#d.store.getRun(decision.runId);
      if (!run || run.finishedAt !== null || run.attempt !== decision.attempt) continue;
      await this.#d.endAttempt(run, decision);
    }
  }

  #arm(): void {
    if (this.#stopped) return;
    this.#timer = this.#d.clock.setTimer(() => {
      this.#timer = null;
      void this.sweep().finally(() => this.#arm());
    }, this.#d.sweepMs ?? 2000);
  }

  /** One sweep (see the header); also called by tests. */
  async sweep(): Promise<void> {
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      const now = await this.#d.store.now();
      const swept = await this.#d.store.sweepSubtasks({ limit: SWEEP_PAGE, maxLost: MAX_LOST_LEASES, decidedBefore: now - DECIDED_GRACE_MS });
      if (swept.released > 0) {
        this.#d.log('info', 'subtasks whose lease expired are claimable again', { count: swept.released });
        this.events.emit('claimable');
      }
      await this.#apply(swept.decisions);
    } catch (error) {
      this.#d.log('warn', 'the map/reduce sweep failed', { error: String(error) });
    } finally {
      this.#sweeping = false;
    }
  }
}

/**
 * The map coordinator of a scheduler: decided maps end through its supervisor (final, whatever
 * the retry policy), and the map of a run that ended here is cancelled at once.
 */
export function schedulerMaps(p: Omit<MapCoordinatorDeps, 'endAttempt'> & {
  supervisor: () => { endMapped(run: RunRecord, status: 'succeeded' | 'failed', fields: { output?: unknown; error?: string | null }): Promise<unknown> };
  events: { on(event: 'run:ended', listener: (run: RunRecord) => void): unknown };
}): MapCoordinator {
  const { supervisor, events, ...deps } = p;
  const maps = new MapCoordinator({
    ...deps,
    endAttempt: async (run, decision) => {
      await supervisor().endMapped(run, decision.status, { output: decision.output, error: decision.error ?? null });
    },
  });
  events.on('run:ended', (run) => maps.runEnded(run));
  return maps;
}
