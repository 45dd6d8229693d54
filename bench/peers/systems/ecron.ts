/**
 * ecron on its embedded SQLite store, in two modes:
 *
 * - `http` ("ecron"): `ecron start` in its own process; the handler is bench/executor.ts in another
 *   process, called over HTTP. This is how ecron runs today, with a separate executor (there is no
 *   SDK executor yet).
 * - `inproc` ("ecron in-process"): the server started programmatically (`startServer`) inside the
 *   driver process, and the executor's HTTP listener (lib/executor-server.ts) in the same process.
 *   The closest the architecture allows to the peers' in-process handlers: the dispatch is still an
 *   HTTP request over loopback, but no second process is involved.
 *
 * Tasks are created through the REST API (POST /api/v1/tasks, 64 in flight): ecron has no bulk
 * registration API. The handler start is the executor's receipt of the request.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pino from 'pino';
import type { RunningServer, startServer as StartServer } from '../../../packages/server/src/server.ts';
import { EcronApi, ExecutorClient, measureCreateRate } from '../../lib/api.ts';
import { atExit } from '../../lib/children.ts';
import { createBenchExecutor, type BenchExecutor } from '../../lib/executor-server.ts';
import { serverBin, startBenchExecutor, startEcronServer, type ExecutorHandle, type ServerHandle } from '../../lib/processes.ts';
import { databaseSizeMb, recreateDatabase } from './pg.ts';
import { dailyCron, mb, type Footprint, type OneShot, type RegisterResult, type Start, type System } from '../common.ts';

const PG_DB = 'bench_ecron';

/** The records of an executor, with the key of each task. */
type Row = { receivedAt: number; taskId: string; scheduledAt: number; event: string };

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

/** The server and executor of one mode: started, restarted, asked for records and stopped. */
interface Rig {
  url: string;
  token: string;
  runUrl: string;
  dataDir: string;
  rows(): Promise<Row[]>;
  /** Run requests received (not cancel or status requests). */
  count(): Promise<number>;
  rssMb(): number;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function httpRig(args: string[]): Promise<Rig> {
  const executor: ExecutorHandle = await startBenchExecutor();
  const client = new ExecutorClient(executor.url);
  let server: ServerHandle = await startEcronServer({ keepDataDir: true, args });
  const dataDir = server.dataDir;
  atExit(() => rmSync(dataDir, { recursive: true, force: true }));
  return {
    get url() { return server.url; },
    get token() { return server.token; },
    runUrl: executor.runUrl,
    dataDir,
    rows: async () => (await client.records()).records,
    count: () => client.runCount(),
    rssMb: () => rssMbOf(server.child.pid),
    async restart() {
      await server.stop();
      server = await startEcronServer({ dataDir, keepDataDir: true, args });
    },
    async stop() {
      await server.stop();
      await executor.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function inprocRig(): Promise<Rig> {
  const executor: BenchExecutor = createBenchExecutor();
  executor.server.listen(0, '127.0.0.1');
  await once(executor.server, 'listening');
  const runUrl = `http://127.0.0.1:${(executor.server.address() as AddressInfo).port}/run`;
  const dataDir = mkdtempSync(join(tmpdir(), 'ecron-bench-'));
  atExit(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { ...process.env, ECRON_ADMIN_TOKEN: undefined, ECRON_SIGNING_KEY: undefined };
  // The same server code as the `ecron start` of the other mode (ECRON_BENCH_BIN, e.g. a snapshot).
  const { startServer } = await import(resolve(dirname(serverBin()), '../src/server.ts')) as { startServer: typeof StartServer };
  const start = () => startServer({ dataDir, port: 0, host: '127.0.0.1', roles: ['api', 'scheduler'], env, logger: pino({ level: 'warn' }) });
  let server: RunningServer = await start();
  return {
    get url() { return server.url; },
    token: readFileSync(join(dataDir, 'admin.token'), 'utf8').trim(),
    runUrl,
    dataDir,
    rows: async () => executor.records().rows.map(([receivedAt, , taskId, scheduledAt, , event]) => ({ receivedAt, taskId, scheduledAt, event })),
    count: async () => executor.runCount(),
    rssMb: () => Math.round(process.memoryUsage.rss() / 2 ** 20),
    async restart() {
      await server.stop();
      server = await start();
    },
    async stop() {
      await server.stop();
      executor.server.closeAllConnections();
      executor.server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export class EcronSystem implements System {
  readonly name: string;
  readonly mode: string;
  readonly recurring = { intervalMs: 1000, minInterval: '1 ms (every: N ms; cron with a seconds field)', timezones: 'yes (IANA timezone per task, DST rules documented)' };
  readonly config: Record<string, string | number | boolean>;
  readonly #inproc: boolean;
  #rig: Rig | null = null;
  #api: EcronApi | null = null;
  /** Task id → the workload's key. */
  readonly #keys = new Map<string, string>();

  readonly #postgres: boolean;

  constructor(mode: 'http' | 'inproc' | 'postgres') {
    this.#inproc = mode === 'inproc';
    this.#postgres = mode === 'postgres';
    this.name = this.#inproc ? 'ecron in-process' : this.#postgres ? 'ecron PostgreSQL' : 'ecron';
    this.mode = this.#inproc ? 'server + executor listener in one process (HTTP over loopback)' : 'executor process over HTTP';
    this.config = { store: this.#postgres ? `PostgreSQL (database ${PG_DB}, one node)` : 'SQLite (embedded)', createConcurrency: 64, logLevel: 'warn', signatures: 'sent, not verified' };
  }

  async prepare(): Promise<void> {
    const args = this.#postgres ? ['--store', await recreateDatabase(PG_DB)] : [];
    this.#rig = this.#inproc ? await inprocRig() : await httpRig(args);
    this.#api = new EcronApi(this.#rig.url, this.#rig.token);
  }

  async startWorkers(options: { restart?: boolean } = {}): Promise<void> {
    if (!options.restart) return; // the executor is up since prepare()
    await this.#api!.close();
    await this.#rig!.restart();
    this.#api = new EcronApi(this.#rig!.url, this.#rig!.token);
  }

  async #create(keys: string[], scheduleOf: (i: number) => unknown): Promise<number> {
    const runUrl = this.#rig!.runUrl;
    const created = await this.#api!.createTasks(keys.length, (i) => ({ name: keys[i], schedule: scheduleOf(i), target: { type: 'http', url: runUrl } }));
    created.ids.forEach((id, i) => this.#keys.set(id, keys[i]!));
    return created.ms;
  }

  async addOneShots(jobs: OneShot[]): Promise<void> {
    await this.#create(jobs.map((j) => j.key), (i) => ({ at: new Date(jobs[i]!.due).toISOString() }));
  }

  async addRecurring(keys: string[], kind: 'finest' | 'daily'): Promise<RegisterResult> {
    const ms = await this.#create(keys, (i) => (kind === 'daily' ? { cron: dailyCron(i), timezone: 'UTC' } : { every: '1s' }));
    return { ms, method: 'POST /api/v1/tasks (public API, 64 in flight)' };
  }

  async starts(): Promise<Start[]> {
    const rows = await this.#rig!.rows();
    return rows.filter((r) => r.event === 'run').map((r) => ({ key: this.#keys.get(r.taskId) ?? `?${r.taskId}`, due: r.scheduledAt, at: r.receivedAt }));
  }

  async count(): Promise<number> {
    return this.#rig!.count();
  }

  /** Creation goes through the REST API, one request per task: measured on throwaway manual tasks. */
  async enqueueRateHint(): Promise<number> {
    return measureCreateRate(this.#api!, 300);
  }

  async listSchedules(): Promise<number> {
    const started = performance.now();
    const response = await fetch(`${this.#rig!.url}/api/v1/tasks?limit=100`, { headers: { authorization: `Bearer ${this.#rig!.token}` } });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`GET /api/v1/tasks answered ${response.status}`);
    return performance.now() - started;
  }

  async footprint(): Promise<Footprint> {
    if (this.#postgres) return { rssMb: this.#rig!.rssMb(), storeMb: await databaseSizeMb(PG_DB), storeWhat: 'pg_database_size' };
    return { rssMb: this.#rig!.rssMb(), storeMb: storeMbOf(this.#rig!.dataDir), storeWhat: 'SQLite file + WAL' };
  }

  async stop(): Promise<void> {
    await this.#api?.close().catch(() => {});
    await this.#rig?.stop();
  }
}
