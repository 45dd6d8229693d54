/**
 * pg-boss on the machine's PostgreSQL, database `bench_pgboss` (recreated per run). Handlers run in
 * this process. One-shot jobs: `insert()` (its bulk send) with `startAfter`. Recurring:
 * `schedule(queue, cron, data, { key })`; pg-boss files one job per schedule per 60 s slot, so its
 * finest interval is one minute. Its cron pass runs every `cronMonitorIntervalSeconds` and forwards
 * occurrences through an internal queue polled every `cronWorkerIntervalSeconds` (both 1..45 s).
 */
import { PgBoss } from 'pg-boss';
import { dailyCron, type Footprint, type OneShot, type RegisterResult, StartLog, type Start, type System } from '../common.ts';
import { databaseSizeMb, query, recreateDatabase } from './pg.ts';

const DB = 'bench_pgboss';
const QUEUE = 'bench';
const SCHEMA = 'pgboss';

export interface PgBossSettings {
  batchSize: number;
  pollingIntervalSeconds: number;
  localConcurrency: number;
  /** How often the cron pass runs (1..45 s; default 30). */
  cronMonitorIntervalSeconds: number;
  /** The poll of its internal send-it queue, which forwards due occurrences to their queue (1..45 s; default 5). */
  cronWorkerIntervalSeconds: number;
}

export const PGBOSS_DEFAULTS: PgBossSettings = { batchSize: 100, pollingIntervalSeconds: 0.5, localConcurrency: 4, cronMonitorIntervalSeconds: 1, cronWorkerIntervalSeconds: 1 };

export class PgBossSystem implements System {
  readonly name = 'pg-boss';
  readonly mode = 'in-process handler';
  readonly recurring = { intervalMs: 60_000, minInterval: '1 min (one job per schedule per 60 s slot; cron pass every cronMonitorIntervalSeconds ≥ 1 s)', timezones: 'yes (tz option, IANA)' };
  readonly config: Record<string, string | number | boolean>;
  readonly #settings: PgBossSettings;
  readonly #log = new StartLog();
  #boss: PgBoss | null = null;
  #url = '';

  constructor(settings: Partial<PgBossSettings> = {}) {
    this.#settings = { ...PGBOSS_DEFAULTS, ...settings };
    this.config = { ...this.#settings, burstWhenBatchFull: true, pgPool: 10 };
  }

  async prepare(): Promise<void> {
    this.#url = await recreateDatabase(DB);
    await this.#start();
    await this.#boss!.createQueue(QUEUE);
  }

  async #start(): Promise<void> {
    const boss = new PgBoss({ connectionString: this.#url, schema: SCHEMA, max: 10, cronMonitorIntervalSeconds: this.#settings.cronMonitorIntervalSeconds,
      cronWorkerIntervalSeconds: this.#settings.cronWorkerIntervalSeconds, supervise: true });
    boss.on('error', (error) => process.stderr.write(`pg-boss: ${(error as Error).message}\n`));
    await boss.start();
    this.#boss = boss;
  }

  /** With `restart` (W4), a new instance is started on the registered schedules: the start is measured. */
  async startWorkers(options: { restart?: boolean } = {}): Promise<void> {
    if (options.restart) {
      await this.#boss!.stop({ graceful: false, timeout: 5000 });
      await this.#start();
    }
    const boss = this.#boss!;
    await boss.work<{ key: string; due?: number }>(QUEUE, {
      batchSize: this.#settings.batchSize, pollingIntervalSeconds: this.#settings.pollingIntervalSeconds,
      localConcurrency: this.#settings.localConcurrency, burstWhenBatchFull: true, includeMetadata: true,
    }, async (jobs) => {
      const at = Date.now();
      for (const job of jobs) {
        // One-shot jobs carry their due instant; a scheduled job's occurrence is its 60 s slot.
        const slot = (job as { singletonOn?: Date | null }).singletonOn;
        const due = job.data.due ?? (slot ? slot.getTime() : Math.floor(at / 60_000) * 60_000);
        this.#log.record(job.data.key, due, at);
      }
    });
  }

  async addOneShots(jobs: OneShot[]): Promise<void> {
    const boss = this.#boss!;
    for (let i = 0; i < jobs.length; i += 5000) {
      await boss.insert(QUEUE, jobs.slice(i, i + 5000).map((job) => ({ data: { key: job.key, due: job.due }, startAfter: new Date(job.due) })));
    }
  }

  async addRecurring(keys: string[], kind: 'finest' | 'daily', bulk = false): Promise<RegisterResult> {
    const started = performance.now();
    if (bulk) {
      // Direct SQL into pg-boss's own schedule table (the rows schedule() writes), for large N.
      await query(DB, `INSERT INTO ${SCHEMA}.schedule (name, key, cron, timezone, data, options)
        SELECT $1, k, c, 'UTC', jsonb_build_object('key', k), '{}'::jsonb FROM unnest($2::text[], $3::text[]) AS t(k, c)`,
      [QUEUE, keys, keys.map((_, i) => (kind === 'daily' ? dailyCron(i) : '* * * * *'))]);
      return { ms: performance.now() - started, method: 'direct SQL INSERT into pgboss.schedule' };
    }
    const boss = this.#boss!;
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < keys.length) {
        const i = next++;
        await boss.schedule(QUEUE, kind === 'daily' ? dailyCron(i) : '* * * * *', { key: keys[i]! }, { key: keys[i]!, tz: 'UTC' });
      }
    }));
    return { ms: performance.now() - started, method: 'schedule() (public API, 8 in flight)' };
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

  async listSchedules(): Promise<number> {
    const started = performance.now();
    await this.#boss!.getSchedules(QUEUE, undefined, { limit: 100 });
    return performance.now() - started;
  }

  async footprint(): Promise<Footprint> {
    return { rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20), storeMb: await databaseSizeMb(DB), storeWhat: 'pg_database_size' };
  }

  async stop(): Promise<void> {
    await this.#boss?.stop({ graceful: false, timeout: 5000 }).catch(() => {});
    this.#boss = null;
  }
}
