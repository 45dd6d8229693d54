/**
 * What every system driver of the peer benchmark implements, and what the workloads measure with.
 *
 * A driver runs in its own process (bench/peers/driver.ts), one per system, workload and
 * repetition. The peers' handlers run in that process, as their users run them. ecron runs as a
 * server with its handler in an SDK executor process (`ecron-sdk`), as the server and an SDK
 * executor in the driver's process (`ecron-inproc`), or with the bare HTTP listener of
 * bench/executor.ts as its executor (`ecron-http`, and `ecron-pg` on PostgreSQL): see systems/ecron.ts.
 */

/** The systems, in the order of the tables. */
export const SYSTEMS = ['ecron-sdk', 'ecron-stream', 'ecron-inproc', 'ecron-http', 'ecron-pg', 'pg-boss', 'bullmq', 'graphile-worker'] as const;
export type SystemId = (typeof SYSTEMS)[number];

/** One handler start: which job or occurrence, its due instant and when the handler began (epoch ms). */
export interface Start {
  key: string;
  due: number;
  at: number;
}

/** A one-shot job of W1/W2. */
export interface OneShot {
  key: string;
  due: number;
}

/** How a system's recurring schedules are expressed (W3, W4). */
export interface RecurringSupport {
  /** The interval W3 uses: the finest the system supports. */
  intervalMs: number;
  /** What the finest interval is, as the system documents or enforces it. */
  minInterval: string;
  timezones: string;
}

export interface RegisterResult {
  ms: number;
  /** How the schedules were registered (public API, bulk API or direct SQL). */
  method: string;
}

export interface Footprint {
  /** Resident memory of the scheduler process(es), MB. */
  rssMb: number;
  /** Size of what the system stores (database, Redis keys), MB; NaN when unknown. */
  storeMb: number;
  /** What storeMb measures. */
  storeWhat: string;
  /** Resident memory of a separate handler process (ecron's executor), MB; absent when the handler runs in the scheduler's process. */
  handlerRssMb?: number;
}

export interface System {
  readonly name: string;
  /** Where the handler runs, e.g. "in-process handler" or "executor process over HTTP". */
  readonly mode: string;
  /** The settings used, printed with the results. */
  readonly config: Record<string, string | number | boolean>;
  readonly recurring: RecurringSupport;
  /** Fresh state (its own database, Redis keys or data dir); the system is ready to register work. */
  prepare(): Promise<void>;
  /** Starts the handlers (workers, executor). For ecron with `restart`, restarts the server on the same data. */
  startWorkers(options?: { restart?: boolean }): Promise<void>;
  addOneShots(jobs: OneShot[]): Promise<void>;
  /** Registers one recurring schedule per key: `every` = the finest interval, `daily` at spread times of day. */
  addRecurring(keys: string[], kind: 'finest' | 'daily', bulk?: boolean): Promise<RegisterResult>;
  /** Every handler start recorded so far. */
  starts(): Promise<Start[]>;
  /** How many handler starts so far (cheap, for polling). */
  count(): Promise<number>;
  /** The rate (per second) at which addOneShots is expected to go, to choose how far ahead jobs are due. */
  enqueueRateHint(): Promise<number>;
  /** Latency (ms) of listing the first page (100) of registered schedules; null when the system has no way. */
  listSchedules?(): Promise<number | null>;
  footprint(): Promise<Footprint>;
  stop(): Promise<void>;
}

/** The handler starts recorded in this process (peers and ecron in-process). */
export class StartLog {
  readonly #keys: string[] = [];
  readonly #dues: number[] = [];
  readonly #ats: number[] = [];

  record(key: string, due: number, at = Date.now()): void {
    this.#keys.push(key);
    this.#dues.push(due);
    this.#ats.push(at);
  }

  get size(): number {
    return this.#ats.length;
  }

  all(): Start[] {
    return this.#ats.map((at, i) => ({ key: this.#keys[i]!, due: this.#dues[i]!, at }));
  }
}

export const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const REDIS = { host: process.env.BENCH_REDIS_HOST ?? '127.0.0.1', port: Number(process.env.BENCH_REDIS_PORT ?? 6379), db: Number(process.env.BENCH_REDIS_DB ?? 7) };

export const MINUTES_PER_DAY = 1440;

/** The minute of the day (UTC) of the i-th daily schedule: spread over the day. */
export const dailyMinute = (i: number): number => (i * 7919) % MINUTES_PER_DAY;

/** The cron expression (5 fields, UTC) of a daily schedule at minute `m` of the day. */
export const cronAtMinute = (m: number): string => `${m % 60} ${Math.floor(m / 60)} * * *`;

/** The cron expression of the i-th daily schedule: spread over the minutes of the day, in UTC. */
export function dailyCron(i: number): string {
  return cronAtMinute(dailyMinute(i));
}

export const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
