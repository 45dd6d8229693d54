/**
 * ecron, in four modes. Which process the handler runs in is what differs:
 *
 * - `sdk` ("ecron SDK"): `ecron start` (embedded SQLite) in its own process, and the handler in an
 *   SDK executor process (bench/sdk-executor.ts: one `Executor` of @ecron/sdk, push mode, group
 *   `bench`, handler `noop`, which records the run and returns null). Tasks target
 *   `{ type: 'executor', group: 'bench', handler: 'noop' }`. This is how a user runs ecron: the
 *   scheduler signs each run, the SDK verifies it, calls the handler and answers with its outcome.
 * - `inproc` ("ecron in-process"): the server started programmatically (`startServer`) inside the
 *   driver process, and an SDK `Executor` with the same handler in the same process. The closest
 *   the architecture allows to the peers' in-process handlers: the handler is a function given to
 *   the library, in the scheduler's process; a run is still a signed HTTP request over loopback,
 *   because ecron has no in-process dispatch. (It replaced the bare listener of bench/executor.ts
 *   in that process: a user never runs that, and it skips the signature check and the handler call.)
 * - `http` ("ecron bare HTTP"): `ecron start`, and bench/executor.ts in another process as the
 *   target of `{ type: 'http' }` tasks: a bare HTTP listener that records each request and answers
 *   200 at once, without verifying signatures. The lower bound of what a run costs the scheduler.
 * - `postgres` ("ecron PostgreSQL"): as `http`, on the machine's PostgreSQL (database bench_ecron).
 *
 * Tasks are created through the REST API (POST /api/v1/tasks, 64 in flight). W4's million daily
 * schedules go in by a bulk path: on SQLite the public bulk API (`POST /api/v1/tasks:batch`, the
 * server running), on PostgreSQL a direct SQL insert with the server stopped (bench/lib/bulk-tasks.ts). The
 * handler start is the SDK's call of the handler, or the bare listener's receipt of the request.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import type * as Sdk from '@ecron/sdk';
import type { RunningServer, startServer as StartServer } from '../../../packages/server/src/server.ts';
import { EcronApi, ExecutorClient, measureCreateRate } from '../../lib/api.ts';
import { insertTasks } from '../../lib/bulk-tasks.ts';
import { atExit } from '../../lib/children.ts';
import { freePort, serverBin, startBenchExecutor, startEcronServer, type ServerHandle } from '../../lib/processes.ts';
import { SdkExecutorProcess, waitRoutable } from '../../lib/sdk-executors.ts';
import { databaseSizeMb, databaseUrl, recreateDatabase } from './pg.ts';
import { cronAtMinute, dailyCron, dailyMinute, MINUTES_PER_DAY, mb, type Footprint, type OneShot, type RegisterResult, type Start, type System } from '../common.ts';

export type EcronMode = 'sdk' | 'stream' | 'inproc' | 'http' | 'postgres';

const PG_DB = 'bench_ecron';
const GROUP = 'bench';
const HANDLER = 'noop';
/** The stream's credit (the SDK's maxConcurrency): as BullMQ's concurrency here, for a handler that returns at once. */
const STREAM_CONCURRENCY = Number(process.env.ECRON_BENCH_STREAM_CONCURRENCY ?? 25_000);

/** A handler start: when the handler was called (or the request received), the task and its instant. */
type Row = { receivedAt: number; taskId: string; scheduledAt: number };

function rssMbOf(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024);
  } catch {
    return NaN;
  }
}

function storeMbOf(dataDir: string): number {
  let bytes = 0;
  for (const file of ['ecron.db', 'ecron.db-wal']) {
    try {
      bytes += statSync(join(dataDir, file)).size;
    } catch {
      // absent
    }
  }
  return mb(bytes);
}

/** The server's source directory: that of ECRON_BENCH_BIN (a frozen copy) or the working tree. */
const serverSrc = (): string => resolve(dirname(serverBin()), '../src');

/** The SDK of the same copy as the server (snapshot.ts copies packages/sdk), else the working tree's. */
function sdkEntry(): string | undefined {
  const entry = resolve(dirname(serverBin()), '../../sdk/src/index.ts');
  return existsSync(entry) ? entry : undefined;
}

/** The server and the handler of one mode: started, stopped and started again, asked for records. */
interface Rig {
  readonly url: string;
  readonly token: string;
  readonly dataDir: string;
  /** The target of every task. */
  readonly target: Record<string, unknown>;
  rows(): Promise<Row[]>;
  /** Handler starts (run requests) so far. */
  count(): Promise<number>;
  rssMb(): number;
  /** RSS of a separate handler process; undefined when the handler is in the server's process. */
  handlerRssMb(): number | undefined;
  /** Stops the server (idempotent); the handler stays up. */
  stopServer(): Promise<void>;
  /** Starts the server again on the same data and port. */
  startServer(): Promise<void>;
  stop(): Promise<void>;
}

/** `ecron start` in its own process, with the SDK executor process or the bare listener. */
async function processRig(handler: 'sdk' | 'http', args: string[], sdkMode: 'push' | 'stream' = 'push'): Promise<Rig> {
  const port = await freePort();
  let server: ServerHandle | null = await startEcronServer({ keepDataDir: true, args, port });
  const { dataDir, token, url } = server;
  atExit(() => rmSync(dataDir, { recursive: true, force: true }));
  const handlerSide = handler === 'sdk' ? await (async () => {
    const executor = await SdkExecutorProcess.start({ server: url, token, group: GROUP, id: 'bench-sdk-1', mode: sdkMode, sdk: sdkEntry(), ...(sdkMode === 'stream' ? { maxConcurrency: STREAM_CONCURRENCY } : {}),
      // ECRON_BENCH_SDK_NODE_ARGS adds node flags to the SDK executor process (e.g. "--cpu-prof --cpu-prof-dir=DIR").
      nodeArgs: (process.env.ECRON_BENCH_SDK_NODE_ARGS ?? '').split(' ').filter(Boolean) });
    await waitRoutable(url, token, GROUP, 1);
    return {
      target: { type: 'executor', group: GROUP, handler: HANDLER },
      rows: async () => (await executor.records()).map((r) => ({ receivedAt: r.receivedAt, taskId: r.taskId, scheduledAt: r.scheduledAt })),
      count: () => executor.count(),
      pid: () => executor.pid,
      stop: () => executor.stop(),
    };
  })() : await (async () => {
    const executor = await startBenchExecutor();
    const client = new ExecutorClient(executor.url);
    return {
      target: { type: 'http', url: executor.runUrl },
      rows: async () => (await client.records()).records.filter((r) => r.event === 'run').map((r) => ({ receivedAt: r.receivedAt, taskId: r.taskId, scheduledAt: r.scheduledAt })),
      count: () => client.runCount(),
      pid: () => executor.child.pid,
      stop: () => executor.stop(),
    };
  })();
  return {
    url, token, dataDir, target: handlerSide.target, rows: handlerSide.rows, count: handlerSide.count,
    rssMb: () => rssMbOf(server?.child.pid),
    handlerRssMb: () => rssMbOf(handlerSide.pid()),
    async stopServer() {
      await server?.stop();
      server = null;
    },
    async startServer() {
      server ??= await startEcronServer({ dataDir, keepDataDir: true, args, port });
    },
    async stop() {
      await server?.stop();
      await handlerSide.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The server (`startServer`) and an SDK `Executor` in this process. */
async function inprocRig(): Promise<Rig> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ecron-bench-'));
  atExit(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const env = { ...process.env, ECRON_ADMIN_TOKEN: undefined, ECRON_SIGNING_KEY: undefined };
  // The same code as the `ecron start` of the other modes (ECRON_BENCH_BIN, e.g. a snapshot), SDK included.
  const { startServer } = (await import(pathToFileURL(join(serverSrc(), 'server.ts')).href)) as { startServer: typeof StartServer };
  const entry = sdkEntry();
  const { Executor } = (await import(entry ? pathToFileURL(entry).href : '@ecron/sdk')) as typeof Sdk;
  const start = () => startServer({ dataDir, port, host: '127.0.0.1', roles: ['api', 'scheduler'], env, logger: pino({ level: 'warn' }) });
  let server: RunningServer | null = await start();
  const url = server.url;
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const at: number[] = [];
  const scheduledAt: number[] = [];
  const taskId: string[] = [];
  const executor = new Executor({ server: url, token, group: GROUP, id: 'bench-inproc-1', mode: 'push', shutdownGraceMs: 2000 });
  executor.handle(HANDLER, (ctx) => {
    at.push(Date.now());
    scheduledAt.push(ctx.scheduledAt.getTime());
    taskId.push(ctx.taskId);
    return null;
  });
  await executor.start();
  await waitRoutable(url, token, GROUP, 1);
  return {
    url, token, dataDir, target: { type: 'executor', group: GROUP, handler: HANDLER },
    rows: async () => at.map((receivedAt, i) => ({ receivedAt, taskId: taskId[i]!, scheduledAt: scheduledAt[i]! })),
    count: async () => at.length,
    rssMb: () => Math.round(process.memoryUsage.rss() / 2 ** 20),
    handlerRssMb: () => undefined,
    async stopServer() {
      await server?.stop();
      server = null;
    },
    async startServer() {
      server ??= await start();
    },
    async stop() {
      await executor.stop();
      await server?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const NAMES: Record<EcronMode, string> = { sdk: 'ecron SDK', stream: 'ecron SDK stream', inproc: 'ecron in-process', http: 'ecron bare HTTP', postgres: 'ecron PostgreSQL' };
const MODES: Record<EcronMode, string> = {
  sdk: 'handler in an SDK executor process (@ecron/sdk Executor, push over loopback HTTP, signatures verified)',
  stream: 'handler in an SDK executor process (@ecron/sdk Executor, mode stream: one WebSocket, runs and results in signed batches)',
  inproc: 'server and SDK Executor in one process (push over loopback HTTP, signatures verified)',
  http: 'bare HTTP listener in its own process (bench/executor.ts: records, answers 200 at once; no SDK, signatures not verified)',
  postgres: 'bare HTTP listener in its own process, as ecron bare HTTP',
};

export class EcronSystem implements System {
  readonly name: string;
  readonly mode: string;
  readonly recurring = { intervalMs: 1000, minInterval: '1 s by default, down to 1 ms where an admin lowers a namespace\'s minIntervalMs (every: N ms; cron with a seconds field)', timezones: 'yes (IANA timezone per task, DST rules documented)' };
  readonly config: Record<string, string | number | boolean>;
  readonly #mode: EcronMode;
  #rig: Rig | null = null;
  #api: EcronApi | null = null;
  /** Task id → the workload's key (tasks created through the API). */
  readonly #keys = new Map<string, string>();

  constructor(mode: EcronMode) {
    this.#mode = mode;
    this.name = NAMES[mode];
    this.mode = MODES[mode];
    this.config = {
      store: mode === 'postgres' ? `PostgreSQL (database ${PG_DB}, one node)` : 'SQLite (embedded)', create: 'POST /api/v1/tasks:batch, 5,000 per request, 2 in flight', logLevel: 'warn',
      ...(mode === 'sdk' || mode === 'inproc' || mode === 'stream'
        ? { executor: `@ecron/sdk Executor, ${mode === 'stream' ? `stream, maxConcurrency ${STREAM_CONCURRENCY}` : 'push'}, group ${GROUP}, 1 node, round-robin`, signatures: 'verified by the SDK' }
        : { signatures: 'sent, not verified' }),
    };
  }

  async prepare(): Promise<void> {
    switch (this.#mode) {
      case 'sdk': this.#rig = await processRig('sdk', []); break;
      case 'stream': this.#rig = await processRig('sdk', [], 'stream'); break;
      case 'http': this.#rig = await processRig('http', []); break;
      case 'postgres': this.#rig = await processRig('http', ['--store', await recreateDatabase(PG_DB)]); break;
      case 'inproc': this.#rig = await inprocRig(); break;
    }
    this.#api = new EcronApi(this.#rig.url, this.#rig.token);
  }

  async startWorkers(options: { restart?: boolean } = {}): Promise<void> {
    if (!options.restart) return; // the handler is up since prepare()
    await this.#closeApi();
    await this.#rig!.stopServer();
    await this.#rig!.startServer();
    this.#api = new EcronApi(this.#rig!.url, this.#rig!.token);
  }

  async #closeApi(): Promise<void> {
    await this.#api?.close();
    this.#api = null;
  }

  async #create(keys: string[], scheduleOf: (i: number) => unknown): Promise<number> {
    const target = this.#rig!.target;
    const created = await this.#api!.createTasksBatch(keys.length, (i) => ({ name: keys[i], schedule: scheduleOf(i), target }));
    created.ids.forEach((id, i) => this.#keys.set(id, keys[i]!));
    return created.ms;
  }

  async addOneShots(jobs: OneShot[]): Promise<void> {
    await this.#create(jobs.map((j) => j.key), (i) => ({ at: new Date(jobs[i]!.due).toISOString() }));
  }

  async addRecurring(keys: string[], kind: 'finest' | 'daily', bulk = false): Promise<RegisterResult> {
    if (bulk && kind === 'daily') return this.#bulkDaily(keys);
    const ms = await this.#create(keys, (i) => (kind === 'daily' ? { cron: dailyCron(i), timezone: 'UTC' } : { every: '1s' }));
    return { ms, method: 'POST /api/v1/tasks:batch (public API, 5,000 per request, 2 in flight)' };
  }

  /**
   * Daily schedules by the bulk path, the server stopped (startWorkers({ restart }) starts it):
   * their ids are not kept (W4 waits for the frequent schedule only).
   */
  async #bulkDaily(keys: string[]): Promise<RegisterResult> {
    const rig = this.#rig!;
    if (this.#mode !== 'postgres') {
      // The public bulk API, the server running (startWorkers({ restart }) restarts it afterwards).
      const started = performance.now();
      await this.#api!.createTasksBatch(keys.length, (i) => ({ name: keys[i], schedule: { cron: dailyCron(i), timezone: 'UTC' }, target: rig.target }));
      return { ms: performance.now() - started, method: 'POST /api/v1/tasks:batch (public API, 5,000 per request, 2 in flight), server running' };
    }
    await this.#closeApi();
    await rig.stopServer();
    const started = performance.now();
    const templates = Array.from({ length: MINUTES_PER_DAY }, (_, m) => ({ name: 'x', schedule: { cron: cronAtMinute(m), timezone: 'UTC' }, target: rig.target }));
    const createdAt = Date.now();
    await insertTasks({
      serverUrl: databaseUrl(PG_DB), schema: 'public', templates, count: keys.length,
      taskAt: (i) => ({ template: dailyMinute(i), namespace: 'default', name: keys[i]!, createdAt }),
    });
    return { ms: performance.now() - started, method: 'direct SQL INSERT into tasks + task_revisions (bench/lib/bulk-tasks.ts: rows built by the server\'s own functions; no audit or change-log rows), 10,000 per statement, server stopped' };
  }

  async starts(): Promise<Start[]> {
    const rows = await this.#rig!.rows();
    return rows.map((r) => ({ key: this.#keys.get(r.taskId) ?? `?${r.taskId}`, due: r.scheduledAt, at: r.receivedAt }));
  }

  async count(): Promise<number> {
    return this.#rig!.count();
  }

  /** Creation goes through the bulk API (tasks:batch): measured on throwaway manual tasks. */
  async enqueueRateHint(): Promise<number> {
    return measureCreateRate(this.#api!, 300, true);
  }

  async listSchedules(): Promise<number> {
    const started = performance.now();
    const response = await fetch(`${this.#rig!.url}/api/v1/tasks?limit=100`, { headers: { authorization: `Bearer ${this.#rig!.token}` } });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`GET /api/v1/tasks answered ${response.status}`);
    return performance.now() - started;
  }

  async footprint(): Promise<Footprint> {
    const rig = this.#rig!;
    const handlerRssMb = rig.handlerRssMb();
    const base = { rssMb: rig.rssMb(), ...(handlerRssMb === undefined ? {} : { handlerRssMb }) };
    if (this.#mode === 'postgres') return { ...base, storeMb: await databaseSizeMb(PG_DB), storeWhat: 'pg_database_size' };
    return { ...base, storeMb: storeMbOf(rig.dataDir), storeWhat: 'SQLite file + WAL' };
  }

  async stop(): Promise<void> {
    await this.#closeApi().catch(() => {});
    await this.#rig?.stop();
  }
}
