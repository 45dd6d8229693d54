import { isFinalRunStatus, type TaskSpecInput } from '@ecron/contracts';
import { nextEvent } from './events.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';
import { ExecutorDirectory } from '../../src/dispatch/executor-directory.ts';
import { HttpDispatcher } from '../../src/dispatch/http-dispatcher.ts';
import { PullHub } from '../../src/dispatch/pull-hub.ts';
import { Scheduler, type SchedulerEvents, type SchedulerOptions } from '../../src/scheduler/scheduler.ts';
import { createTaskService, type TaskService } from '../../src/services/task-service.ts';
import type { Caller } from '../../src/services/access.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import type { RunRecord, TaskRecord } from '../../src/core/model.ts';
import { TestExecutor } from './test-executor.ts';

export const SIGNING_KEY = 'test-signing-key-0123456789';
export const CALLBACK_KEY = 'test-callback-key-0123456789';
const LOOK_AHEAD_MS = 2000;
export const ADMIN: Caller = { actor: 'test', grants: [{ role: 'admin', namespaces: ['*'] }] };

/**
 * A scheduler on a manual clock, a real SQLite store and a real HTTP executor. The scheduler can
 * be replaced (`restart`) to simulate a crash or a restart on the same store.
 */
export class SchedulerHarness {
  readonly clock: ManualClock;
  readonly store: Store;
  readonly executor = new TestExecutor(SIGNING_KEY);
  dispatcher!: HttpDispatcher;
  scheduler!: Scheduler;
  tasks!: TaskService;
  executorUrl = '';
  readonly #options: Partial<SchedulerOptions>;
  /** The executor registry as the scheduler sees it (with `executors: true`): refreshed on the manual clock. */
  readonly directory: ExecutorDirectory | null;
  readonly pull = new PullHub({ now: () => this.clock.now() });

  constructor(options: { start?: string; scheduler?: Partial<SchedulerOptions>; executors?: boolean } = {}) {
    this.clock = new ManualClock(options.start ?? '2026-03-01T00:00:00.000Z');
    this.store = createSqliteStore({ path: ':memory:' });
    this.directory = options.executors ? new ExecutorDirectory({ store: this.store, clock: this.clock, log: () => {} }) : null;
    this.#options = { ...(this.directory ? { executors: { directory: this.directory, pull: this.pull } } : {}), ...options.scheduler };
  }

  async start(): Promise<this> {
    await this.store.open();
    await this.directory?.start();
    this.executorUrl = await this.executor.start();
    await this.#startScheduler();
    return this;
  }

  async #startScheduler(): Promise<void> {
    this.dispatcher = new HttpDispatcher({ clock: this.clock, signingKey: SIGNING_KEY });
    this.scheduler = new Scheduler({
      store: this.store, clock: this.clock, random: () => 0.5, dispatcher: this.dispatcher,
      callbackKey: CALLBACK_KEY, publicUrl: 'http://127.0.0.1:1', shutdownGraceMs: 1000, lookAheadMs: LOOK_AHEAD_MS, ...this.#options,
    });
    this.tasks = createTaskService({ store: this.store, control: this.scheduler, clock: this.clock });
    await this.scheduler.start();
  }

  /** Drops the scheduler without draining (a crash as far as the store can tell), then starts a new one. */
  async crashAndRestart(beforeStart?: () => Promise<void>): Promise<void> {
    this.scheduler.events.removeAllListeners();
    await this.scheduler.stopWithoutDrain();
    await this.dispatcher.close();
    if (beforeStart) await beforeStart();
    await this.#startScheduler();
  }

  /** Creates a task through the task service; waits until the scheduler has queued its first fire. */
  async createTask(spec: Partial<TaskSpecInput> & { name: string }, path = '/run', options: { waitQueued?: boolean } = {}): Promise<TaskRecord> {
    const queuedIds = new Set<string>();
    let wake: () => void = () => {};
    const listener = (e: { taskId: string }) => { queuedIds.add(e.taskId); wake(); };
    this.scheduler.events.on('task:queued', listener);
    try {
      const task = await this.tasks.create(ADMIN, { target: { type: 'http', url: `${this.executorUrl}${path}` }, ...spec });
      const inWindow = task.nextFireAt !== null && task.nextFireAt <= this.clock.now() + LOOK_AHEAD_MS;
      if (options.waitQueued !== false && inWindow) {
        while (!queuedIds.has(task.id)) await new Promise<void>((resolve) => { wake = resolve; });
      }
      return task;
    } finally {
      this.scheduler.events.off('task:queued', listener);
    }
  }

  /** Resolves with the next event matching `predicate`. */
  next<E extends keyof SchedulerEvents>(event: E, predicate: (...args: SchedulerEvents[E]) => boolean = () => true, timeoutMs = 5000): Promise<SchedulerEvents[E][0]> {
    return nextEvent(this.scheduler.events, event, predicate, timeoutMs);
  }

  /** Waits for the run to end. */
  async ended(runId: string): Promise<RunRecord> {
    const run = await this.store.getRun(runId);
    if (run && isFinalRunStatus(run.status)) return run;
    return this.next('run:ended', (r) => r.id === runId) as Promise<RunRecord>;
  }

  async runsOf(taskId: string): Promise<RunRecord[]> {
    const page = await this.store.listRuns({ taskId, limit: 1000 });
    return page.items.sort((a, b) => a.scheduledAt - b.scheduledAt);
  }

  /** Stops the scheduler, moving the manual clock through its shutdown grace period. */
  async stopScheduler(): Promise<void> {
    let stopped = false;
    const stopping = this.scheduler.stop().finally(() => { stopped = true; });
    while (!stopped) {
      await this.clock.advance(100);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await stopping;
  }

  async close(): Promise<void> {
    this.directory?.stop();
    await this.stopScheduler();
    await this.dispatcher.close();
    await this.executor.stop();
    await this.store.close();
  }
}
