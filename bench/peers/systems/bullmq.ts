/**
 * BullMQ on the machine's Redis (DB index REDIS.db, key prefix `ecronbench`; only those keys are
 * deleted). Handlers run in this process. One-shot jobs: `addBulk` with `delay`. Recurring:
 * `upsertJobScheduler(id, { every })`, any interval in ms; the scheduled job's id ends with its
 * due instant (`repeat:<scheduler>:<millis>`).
 */
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { dailyCron, mb, type Footprint, type OneShot, REDIS, type RegisterResult, StartLog, type Start, type System } from '../common.ts';

const QUEUE = 'bench';
const PREFIX = 'ecronbench';

export interface BullMqSettings {
  concurrency: number;
  /** Jobs added per addBulk / upserts in flight. */
  chunk: number;
}

export const BULLMQ_DEFAULTS: BullMqSettings = { concurrency: 1000, chunk: 1000 };

async function deleteOwnKeys(redis: Redis): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 10_000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/** The due instant of a job: its delay from its creation (one-shots carry theirs in data). */
function dueOf(job: Job<{ key: string; due?: number }>): number {
  if (job.data.due !== undefined) return job.data.due;
  const millis = Number(job.id?.slice(job.id.lastIndexOf(':') + 1));
  return Number.isFinite(millis) && millis > 1e12 ? millis : job.timestamp + job.delay;
}

export class BullMqSystem implements System {
  readonly name = 'BullMQ';
  readonly mode = 'in-process handler';
  readonly recurring = { intervalMs: 1000, minInterval: 'any (every: N ms; pattern: cron with seconds)', timezones: 'yes (tz option, IANA, for cron patterns)' };
  readonly config: Record<string, string | number | boolean>;
  readonly #settings: BullMqSettings;
  readonly #log = new StartLog();
  readonly #connection = { host: REDIS.host, port: REDIS.port, db: REDIS.db, maxRetriesPerRequest: null };
  #redis: Redis | null = null;
  #queue: Queue | null = null;
  #worker: Worker | null = null;
  #memoryBefore = 0;

  constructor(settings: Partial<BullMqSettings> = {}) {
    this.#settings = { ...BULLMQ_DEFAULTS, ...settings };
    this.config = { ...this.#settings, redisDb: REDIS.db, prefix: PREFIX };
  }

  async prepare(): Promise<void> {
    this.#redis = new Redis(this.#connection);
    await deleteOwnKeys(this.#redis);
    this.#memoryBefore = await this.#usedMemory();
    this.#queue = new Queue(QUEUE, { connection: this.#connection, prefix: PREFIX });
    await this.#queue.waitUntilReady();
  }

  async startWorkers(): Promise<void> {
    this.#worker = new Worker<{ key: string; due?: number }>(QUEUE, async (job) => {
      this.#log.record(job.data.key, dueOf(job));
    }, { connection: this.#connection, prefix: PREFIX, concurrency: this.#settings.concurrency, removeOnComplete: { count: 1000 } });
    this.#worker.on('error', (error) => process.stderr.write(`bullmq: ${error.message}\n`));
    await this.#worker.waitUntilReady();
  }

  async addOneShots(jobs: OneShot[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += this.#settings.chunk) {
      const now = Date.now();
      await this.#queue!.addBulk(jobs.slice(i, i + this.#settings.chunk).map((job) => ({
        name: 'w', data: { key: job.key, due: job.due }, opts: { delay: Math.max(0, job.due - now), removeOnComplete: true },
      })));
    }
  }

  async addRecurring(keys: string[], kind: 'finest' | 'daily'): Promise<RegisterResult> {
    const started = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(this.#settings.chunk, 256) }, async () => {
      while (next < keys.length) {
        const i = next++;
        const key = keys[i]!;
        await this.#queue!.upsertJobScheduler(key, kind === 'daily' ? { pattern: dailyCron(i), tz: 'UTC' } : { every: 1000 }, {
          name: 'r', data: { key }, opts: { removeOnComplete: true },
        });
      }
    }));
    return { ms: performance.now() - started, method: 'upsertJobScheduler() (public API, 256 in flight)' };
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
    await this.#queue!.getJobSchedulers(0, 99);
    return performance.now() - started;
  }

  async #usedMemory(): Promise<number> {
    const info = await this.#redis!.info('memory');
    return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
  }

  async footprint(): Promise<Footprint> {
    return { rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20), storeMb: mb((await this.#usedMemory()) - this.#memoryBefore), storeWhat: 'Redis used_memory growth' };
  }

  async stop(): Promise<void> {
    await this.#worker?.close(true).catch(() => {});
    await this.#queue?.close().catch(() => {});
    if (this.#redis) {
      await deleteOwnKeys(this.#redis).catch(() => {});
      this.#redis.disconnect();
    }
  }
}
