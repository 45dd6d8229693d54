/**
 * graphile-worker on the machine's PostgreSQL, database `bench_graphile` (recreated per run).
 * Handlers run in this process. One-shot jobs: `WorkerUtils.addJobs` (its bulk add) with `runAt`;
 * future jobs are found by polling (`pollInterval`). Recurring: cron items (its crontab), given to
 * `run()` as `parsedCronItems`; crontab matches whole minutes, so the finest interval is one
 * minute. Each cron job's payload names its occurrence (`_cron.ts`).
 */
import { Logger, makeWorkerUtils, parseCronItems, run, type CronItem, type Runner, type WorkerUtils } from 'graphile-worker';
import { dailyCron, type Footprint, type OneShot, type RegisterResult, StartLog, type Start, type System } from '../common.ts';
import { databaseSizeMb, recreateDatabase } from './pg.ts';

const DB = 'bench_graphile';
const TASK = 'bench';

export interface GraphileSettings {
  concurrency: number;
  pollInterval: number;
  localQueueSize: number;
  completeJobBatchDelay: number;
}

export const GRAPHILE_DEFAULTS: GraphileSettings = { concurrency: 24, pollInterval: 100, localQueueSize: 500, completeJobBatchDelay: 0 };

/** Warnings and errors only: its info logging per cron batch and job would cost in the measurement. */
const quietLogger = new Logger(() => (level: string, message: string) => {
  if (level === 'error' || level === 'warning') process.stderr.write(`graphile-worker ${level}: ${message}\n`);
});

export class GraphileSystem implements System {
  readonly name = 'graphile-worker';
  readonly mode = 'in-process handler';
  readonly recurring = { intervalMs: 60_000, minInterval: '1 min (crontab syntax; no seconds field)', timezones: 'no (crontab is evaluated in UTC, or the server clock\'s zone)' };
  readonly config: Record<string, string | number | boolean>;
  readonly #settings: GraphileSettings;
  readonly #log = new StartLog();
  #url = '';
  #utils: WorkerUtils | null = null;
  #runner: Runner | null = null;
  #cron: CronItem[] = [];
  /** A connection per concurrent job, and two for the pool's own queries (as graphile-worker advises). */
  get #poolSize(): number {
    return Math.max(10, this.#settings.concurrency + 2);
  }

  constructor(settings: Partial<GraphileSettings> = {}) {
    this.#settings = { ...GRAPHILE_DEFAULTS, ...settings };
    this.config = { ...this.#settings, maxPoolSize: this.#poolSize };
  }

  async prepare(): Promise<void> {
    this.#url = await recreateDatabase(DB);
    this.#utils = await makeWorkerUtils({ connectionString: this.#url, logger: quietLogger });
    await this.#utils.migrate();
    this.#cron = [];
  }

  async startWorkers(): Promise<void> {
    this.#runner = await run({
      connectionString: this.#url, concurrency: this.#settings.concurrency, pollInterval: this.#settings.pollInterval,
      noHandleSignals: true, logger: quietLogger, maxPoolSize: this.#poolSize,
      preset: { worker: { localQueue: { size: this.#settings.localQueueSize }, completeJobBatchDelay: this.#settings.completeJobBatchDelay } },
      taskList: {
        [TASK]: async (payload) => {
          const at = Date.now();
          const p = payload as { key: string; due?: number; _cron?: { ts: string } };
          this.#log.record(p.key, p.due ?? (p._cron ? Date.parse(p._cron.ts) : NaN), at);
        },
      },
      parsedCronItems: parseCronItems(this.#cron),
    });
  }

  async addOneShots(jobs: OneShot[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += 5000) {
      await this.#utils!.addJobs(jobs.slice(i, i + 5000).map((job) => ({ identifier: TASK, payload: { key: job.key, due: job.due }, runAt: new Date(job.due) })));
    }
  }

  async addRecurring(keys: string[], kind: 'finest' | 'daily'): Promise<RegisterResult> {
    const started = performance.now();
    // Cron items live in the worker's configuration (crontab), not in the database: they take effect at run().
    this.#cron = this.#cron.concat(keys.map((key, i) => ({ task: TASK, match: kind === 'daily' ? dailyCron(i) : '* * * * *', identifier: key, payload: { key } })));
    return { ms: performance.now() - started, method: 'cron items passed to run() (its crontab, in memory)' };
  }

  async starts(): Promise<Start[]> {
    return this.#log.all();
  }

  async count(): Promise<number> {
    return this.#log.size;
  }

  /** A bulk insert: fast; the lead before the due instant is not the bottleneck. */
  async enqueueRateHint(): Promise<number> {
    return 5000;
  }

  /** The crontab is configuration held by each worker: there is no API to list it. */
  async listSchedules(): Promise<null> {
    return null;
  }

  async footprint(): Promise<Footprint> {
    return { rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20), storeMb: await databaseSizeMb(DB), storeWhat: 'pg_database_size' };
  }

  async stop(): Promise<void> {
    await this.#runner?.stop().catch(() => {});
    await Promise.resolve(this.#utils?.release()).catch(() => {});
    this.#runner = null;
    this.#utils = null;
  }
}
