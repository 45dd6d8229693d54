/**
 * Map/reduce on the executor: claims the subtasks of this node's group for the handlers declared
 * with `{ subtasks: true }` (`POST /api/v1/executors/{id}/subtasks/claim`, a long poll asking for
 * as many as there are free slots, so that one node never takes more than it can run), runs them,
 * and reports their outcomes in batches (`…/results`), which also extend the leases of those
 * still running every third of a lease. A subtask whose lease the server says is lost is aborted.
 *
 * At stop: no more claims; running subtasks get `graceMs` to end and be reported; the rest are
 * aborted without a report, and their leases expire on the server, which gives them to others.
 */
import type { ClaimedSubtask, RunRequest, SubtaskClaimReply, SubtaskResultPage, SubtaskResults, SubtaskResultsReply } from '@ecron/contracts';
import { apiRequest, type ApiConnection } from './api-request.ts';
import type { Handler, HandlerContext } from './context.ts';
import { ExecutorError } from './errors.ts';
import { describeError, type LogLevel, type SdkLogger } from './log.ts';

type Result = NonNullable<SubtaskResults['results']>[number];
const MAX_LOGS = 100;
const RESULT_LINGER_MS = 10;
const PAGE = 500;

export interface SubtaskEventInfo {
  runId: string;
  index: number;
  kind: 'map' | 'reduce';
  handler: string;
  tries: number;
}

export interface SubtaskWorkerOptions {
  connection: ApiConnection;
  id: string;
  maxConcurrency: number;
  waitMs: number;
  handlers: ReadonlyMap<string, Handler>;
  log: SdkLogger;
  onStarted(info: SubtaskEventInfo): void;
  onEnded(info: SubtaskEventInfo & { status: 'succeeded' | 'failed'; error?: string }): void;
}

interface Running {
  subtask: ClaimedSubtask;
  abort: AbortController;
  done: Promise<void>;
}

export class SubtaskWorker {
  readonly #o: SubtaskWorkerOptions;
  readonly #running = new Map<string, Running>();
  readonly #stop = new AbortController();
  #results: Result[] = [];
  #posting: Promise<void> | null = null;
  #loop: Promise<void> | null = null;
  #slotFreed: (() => void) | null = null;
  #extendTimer: NodeJS.Timeout | null = null;

  constructor(options: SubtaskWorkerOptions) {
    this.#o = options;
  }

  start(): void {
    this.#loop = this.#claimLoop();
  }

  async stop(graceMs: number): Promise<void> {
    this.#stop.abort();
    this.#slotFreed?.();
    await this.#loop;
    const all = Promise.all([...this.#running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((resolve) => { timer = setTimeout(resolve, graceMs); })]);
    clearTimeout(timer);
    for (const running of this.#running.values()) running.abort.abort('shutdown');
    this.#running.clear();
    if (this.#extendTimer) clearTimeout(this.#extendTimer);
    await this.#flush();
  }

  async #claimLoop(): Promise<void> {
    const { connection, id, waitMs } = this.#o;
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      const free = this.#o.maxConcurrency - this.#running.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => { this.#slotFreed = resolve; });
        continue;
      }
      let reply: SubtaskClaimReply;
      try {
        reply = await apiRequest<SubtaskClaimReply>(connection, {
          method: 'POST', path: `/api/v1/executors/${encodeURIComponent(id)}/subtasks/claim`,
          body: { handlers: [...this.#o.handlers.keys()], max: free, waitMs }, timeoutMs: waitMs + connection.timeoutMs, signal: this.#stop.signal,
        });
        failures = 0;
      } catch (error) {
        if (this.#stop.signal.aborted) return;
        failures += 1;
        this.#o.log('warn', 'claiming subtasks failed; trying again', { error: describeError(error) });
        await sleep(Math.min(5000, 250 * 2 ** Math.min(failures, 5)), this.#stop.signal);
        continue;
      }
      for (const subtask of reply.subtasks) this.#run(subtask);
    }
  }

  #run(subtask: ClaimedSubtask): void {
    const key = `${subtask.runId}#${subtask.index}`;
    const handler = this.#o.handlers.get(subtask.handler);
    const abort = new AbortController();
    const info: SubtaskEventInfo = { runId: subtask.runId, index: subtask.index, kind: subtask.kind, handler: subtask.handler, tries: subtask.tries };
    const logs: { level: LogLevel; message: string }[] = [];
    const deadline = subtask.run.deadline ? Date.parse(subtask.run.deadline) : NaN;
    const timer = Number.isFinite(deadline) ? setTimeout(() => abort.abort('deadline'), Math.max(0, Math.min(deadline - Date.now(), 2 ** 31 - 1))) : null;
    this.#o.onStarted(info);
    this.#armExtend(subtask.leaseMs);
    const running: Running = { subtask, abort, done: Promise.resolve() };
    this.#running.set(key, running);
    running.done = (async () => {
      let result: Result;
      try {
        if (!handler) throw new Error(`no handler "${subtask.handler}" for subtasks on this executor`);
        const output = await handler(this.#context(subtask, abort.signal, logs));
        const text = JSON.stringify(output);
        result = { runId: subtask.runId, index: subtask.index, lease: subtask.lease, status: 'succeeded', output: text === undefined ? null : JSON.parse(text) };
      } catch (error) {
        const text = abort.signal.aborted && abort.signal.reason === 'deadline' ? 'deadline exceeded' : describeError(error) || 'the handler failed';
        result = { runId: subtask.runId, index: subtask.index, lease: subtask.lease, status: 'failed', error: text.slice(0, 16_000) };
      }
      if (timer) clearTimeout(timer);
      if (this.#running.get(key)?.abort !== abort) return; // aborted at stop, or its lease was lost
      this.#running.delete(key);
      this.#slotFreed?.();
      this.#slotFreed = null;
      this.#o.onEnded({ ...info, status: result.status, ...(result.error ? { error: result.error } : {}) });
      this.#results.push(logs.length ? { ...result, logs } : result);
      this.#schedulePost();
    })();
  }

  #context(subtask: ClaimedSubtask, signal: AbortSignal, logs: { level: LogLevel; message: string }[]): HandlerContext {
    const { run } = subtask;
    const request: RunRequest = {
      runId: run.runId, taskId: run.taskId, namespace: run.namespace, task: run.task, scheduledAt: run.scheduledAt, attempt: run.attempt,
      params: run.params, shard: { index: 0, total: 1 }, deadline: run.deadline, callback: { url: '', token: '' }, handler: subtask.handler,
    };
    const summary = subtask.summary ?? { total: 0, succeeded: 0, failed: 0 };
    return Object.freeze({
      runId: run.runId, taskId: run.taskId, namespace: run.namespace, task: run.task, handler: subtask.handler, attempt: run.attempt,
      scheduledAt: new Date(run.scheduledAt), params: run.params, shard: Object.freeze({ index: 0, total: 1 }),
      deadline: run.deadline ? new Date(run.deadline) : null, request, signal,
      log: (message: string, level: LogLevel = 'info') => { if (logs.length < MAX_LOGS) logs.push({ level, message: String(message).slice(0, 16_000) }); },
      progress: () => {},
      detach: () => { throw new ExecutorError('MAP_INVALID', 'a subtask cannot detach: return its result'); },
      map: () => Promise.reject(new ExecutorError('MAP_INVALID', 'a subtask cannot map: only the run\'s own handler can')),
      ...(subtask.kind === 'map'
        ? { subtask: Object.freeze({ id: `${run.runId}#${subtask.index}`, index: subtask.index, payload: subtask.payload, tries: subtask.tries }) }
        : { reduce: Object.freeze({ ...summary, results: this.#results$(run.runId) }) }),
    });
  }

  /** The ended subtasks of a run, page by page. */
  async *#results$(runId: string): AsyncIterable<SubtaskResultPage['items'][number]> {
    let after = -1;
    for (;;) {
      const page = await apiRequest<SubtaskResultPage>(this.#o.connection, {
        method: 'GET', path: `/api/v1/executors/${encodeURIComponent(this.#o.id)}/subtasks/page`, query: { runId, after, limit: PAGE },
      });
      yield* page.items;
      if (page.next === null) return;
      after = page.next;
    }
  }

  /** Extends the leases of running subtasks every third of a lease (one post of results, possibly empty). */
  #armExtend(leaseMs: number): void {
    if (this.#extendTimer) return;
    this.#extendTimer = setTimeout(() => {
      this.#extendTimer = null;
      if (this.#running.size === 0) return;
      void this.#flush(true).finally(() => { if (this.#running.size > 0 && !this.#stop.signal.aborted) this.#armExtend(leaseMs); });
    }, Math.max(1000, leaseMs / 3));
  }

  #schedulePost(): void {
    if (this.#posting) return;
    this.#posting = sleep(RESULT_LINGER_MS).then(() => this.#flush()).finally(() => {
      this.#posting = null;
      if (this.#results.length > 0) this.#schedulePost();
    });
  }

  /** Posts the results gathered (and, with `extend`, the leases of running subtasks); tried again on failure. */
  async #flush(extend = false): Promise<void> {
    const results = this.#results.splice(0, 1000);
    const keys = extend ? [...this.#running.values()].map(({ subtask: s }) => ({ runId: s.runId, index: s.index, lease: s.lease })) : [];
    if (results.length === 0 && keys.length === 0) return;
    for (let round = 0; round < 5; round++) {
      try {
        const reply = await apiRequest<SubtaskResultsReply>(this.#o.connection, {
          method: 'POST', path: `/api/v1/executors/${encodeURIComponent(this.#o.id)}/subtasks/results`, body: { results, extend: keys },
        });
        for (const lost of reply.lost) {
          const running = this.#running.get(`${lost.runId}#${lost.index}`);
          if (!running) continue;
          this.#running.delete(`${lost.runId}#${lost.index}`);
          running.abort.abort('lease-lost');
          this.#slotFreed?.();
        }
        return;
      } catch (error) {
        this.#o.log('warn', 'reporting subtask results failed; trying again', { count: results.length, error: describeError(error) });
        await sleep(250 * 2 ** round);
      }
    }
    this.#o.log('error', 'subtask results could not be reported; their leases will expire and others run them again', { count: results.length });
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}
