/**
 * Namespace quotas under a flood, with real processes (issue 17): 3 `ecron start` nodes on one
 * PostgreSQL scratch schema (bench/chaos/cluster.ts), SDK executor processes in stream mode
 * (bench/quota-executor.ts), and one node SIGKILLed mid-run.
 *
 *   node bench/quota-isolation.ts [--a-tasks 20000] [--a-concurrency 50] [--a-rate 600] [--a-handler-ms 2000]
 *     [--a-executors 2] [--b-tasks 100] [--window-s 90] [--kill-at-s 15] [--kill-slot 1] [--nodes 3]
 *     [--quick] [--postgres-url URL] [--log-dir DIR] [--log-level warn] [--keep-store] [--out FILE] [--dump FILE]
 *
 * - Namespace `a`: `PUT /api/v1/namespaces/a` with `quotas: { maxConcurrentRuns, maxFiresPerMinute }`
 *   (--a-concurrency, --a-rate). --a-tasks one-shot tasks, all due at one instant T, created with
 *   `POST /api/v1/tasks:batch` shortly before T, target executor group `flood` of namespace `a`,
 *   whose handler sleeps --a-handler-ms (--a-executors processes, each allowing 1,000 runs at once:
 *   the executors never limit; the quota must).
 * - Namespace `b`, no quotas: --b-tasks tasks `every: 1s` (misfire catch-up, so that no fire goes
 *   uncounted), target group `steady` of namespace `b`, handler returns at once (one process).
 * - The window runs from T for --window-s; --kill-at-s into it, node --kill-slot (0-based) is
 *   SIGKILLed and not restarted: the rest of the window runs on the other nodes.
 *
 * Measured at the executors (the handler's own start and end, `Date.now()`, on this one machine):
 * - A's handlers in flight: sampled every 100 ms on wall-clock ticks in each process and added up
 *   tick by tick, and exactly, as the most start−end intervals open at any instant (all processes);
 * - A's runs started (the first handler start of each run id) in any sliding 60 s (with a window
 *   under 60 s: all of them), and per minute from T; handler starts with redeliveries, apart;
 * - B's fire lag = handler start − scheduledAt (from the run envelope), over B's fires due in the
 *   window: all, before the kill, and outside the takeover (from the kill until every bucket is
 *   owned by a live node again, + 1 s);
 * - duplicates: a run started again while its earlier start was not aborted, or one fire (task,
 *   scheduledAt) started under two run ids. A run started again after its earlier start was aborted
 *   (`connection-closed`: the node that sent it died; the server sends it again) is a redelivery,
 *   counted apart.
 * From the API at the end of the window: `GET /api/v1/runs?namespace=a&status=throttled` (paged),
 * A's runs succeeded, `GET /api/v1/namespaces/a` (polled every second during the window too). From
 * the store: runs by namespace and status, and the most runs and attempt rows of `a` open at once.
 *
 * The exact count decides: the 100 ms samples of two processes on one tick are taken a few ms
 * apart, so that their sum may count a run that just ended in one process and the run the server
 * sent next to the other (reported as sampling skew when only the samples pass the limit).
 *
 * Exits 1 when A exceeded a limit, a run was executed twice, a fire was doubled, A never ran, A's
 * throttled runs never resumed after the first minute (windows of 75 s or more), or a node or an
 * executor crashed by itself. `--out FILE`: the figures as JSON; `--dump FILE`: every handler start.
 * B's lag is reported against its goal (p99 < 1 s), never asserted.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { NamespaceResource } from '@ecron/contracts';
import { adminStatement } from '../packages/server/scripts/scratch-sql-store.ts';
import { ADMIN_TOKEN, ChaosCluster, type NodeProcess } from './chaos/cluster.ts';
import { EcronApi, measureCreateRate } from './lib/api.ts';
import { sleep, startWatchdog } from './lib/children.ts';
import { IpcChild } from './lib/ipc-child.ts';
import { REPO_ROOT, serverBin } from './lib/processes.ts';
import { waitRoutable } from './lib/sdk-executors.ts';
import { fmt, summarize, type Summary } from './lib/stats.ts';
import { loadLine, machineLine, printResult, printTable, progress } from './lib/table.ts';
import { machineText, watchWindow, type MachineFigures } from './lib/window.ts';

const USAGE = `usage: node bench/quota-isolation.ts [--a-tasks 20000] [--a-concurrency 50] [--a-rate 600] [--a-handler-ms 2000] [--a-executors 2]
  [--b-tasks 100] [--window-s 90] [--kill-at-s 15] [--kill-slot 1] [--nodes 3] [--quick]
  [--postgres-url postgres://postgres@127.0.0.1:5432/test] [--log-dir DIR] [--log-level warn] [--keep-store] [--out FILE] [--dump FILE]`;

const { values } = parseArgs({
  options: {
    'a-tasks': { type: 'string' },
    'a-concurrency': { type: 'string' },
    'a-rate': { type: 'string' },
    'a-handler-ms': { type: 'string' },
    'a-executors': { type: 'string' },
    'b-tasks': { type: 'string' },
    'window-s': { type: 'string' },
    'kill-at-s': { type: 'string' },
    'kill-slot': { type: 'string', default: '1' },
    nodes: { type: 'string', default: '3' },
    'grace-s': { type: 'string', default: '3' },
    'postgres-url': { type: 'string', default: process.env.ECRON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'log-dir': { type: 'string' },
    dump: { type: 'string' },
    'log-level': { type: 'string', default: 'warn' },
    'keep-store': { type: 'boolean', default: false },
    out: { type: 'string' },
    quick: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const quick = values.quick;
const int = (name: string, text: string | undefined, fallback: number, min: number, max: number): number => {
  const value = Number(text ?? fallback);
  if (!Number.isInteger(value) || value < min || value > max) {
    process.stderr.write(`--${name}: an integer from ${min} to ${max}\n${USAGE}\n`);
    process.exit(2);
  }
  return value;
};
const aTasks = int('a-tasks', values['a-tasks'], quick ? 400 : 20_000, 1, 100_000);
const aConcurrency = int('a-concurrency', values['a-concurrency'], quick ? 20 : 50, 1, 10_000);
const aRate = int('a-rate', values['a-rate'], quick ? 120 : 600, 1, 1_000_000);
const aHandlerMs = int('a-handler-ms', values['a-handler-ms'], quick ? 1000 : 2000, 0, 600_000);
const aExecutors = int('a-executors', values['a-executors'], 2, 1, 8);
const bTasks = int('b-tasks', values['b-tasks'], quick ? 20 : 100, 1, 10_000);
const windowS = int('window-s', values['window-s'], quick ? 40 : 90, 5, 1800);
// While A's handlers run: with the defaults, A's first 600 fires take ~24 s at 50 at once, then A
// waits, throttled, until the minute is over (a kill at 30 s would find nothing of A in flight).
const killAtS = int('kill-at-s', values['kill-at-s'], quick ? 3 : 15, 0, 1800);
const nodeCount = int('nodes', values.nodes, 3, 1, 8);
const killSlot = int('kill-slot', values['kill-slot'], 1, -1, 7);
const graceS = int('grace-s', values['grace-s'], 3, 0, 60);
if (killSlot >= nodeCount || killAtS >= windowS) {
  process.stderr.write(`--kill-slot must be below --nodes (-1: no kill), --kill-at-s below --window-s\n${USAGE}\n`);
  process.exit(2);
}
const killing = killSlot >= 0;
startWatchdog((windowS + 600) * 1000, 'quota-isolation');

const SAMPLE_MS = 100;
const RATE_WINDOW_MS = 60_000;
const B_P99_GOAL_MS = 1000;
const NS_A = 'a';
const NS_B = 'b';
const GROUP_A = 'flood';
const GROUP_B = 'steady';

const uptime = (): string => {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return loadLine();
  }
};

/** One handler call, as an executor process recorded it. */
interface Start {
  process: string;
  start: number;
  /** NaN while it ran when the records were read. */
  end: number;
  scheduledAt: number;
  taskId: string;
  runId: string;
  attempt: number;
  /** The abort reason of its run's signal, '' when not aborted. */
  aborted: string;
}

interface ExecutorRecords {
  starts: Start[];
  /** Wall-clock tick (Date.now() / 100) → handlers in flight, sampled in the process. */
  samples: Map<number, number>;
  peak: number;
}

/** An executor process of bench/quota-executor.ts, driven over IPC. */
class QuotaExecutor extends IpcChild {
  readonly name: string;

  private constructor(name: string, child: ChildProcess) {
    super(`executor ${name}`, child);
    this.name = name;
  }

  static async start(options: { server: string; namespace: string; group: string; name: string; handlerMs: number }): Promise<QuotaExecutor> {
    const child = IpcChild.spawn(join(REPO_ROOT, 'bench/quota-executor.ts'), {
      ECRON_SERVER: options.server, ECRON_TOKEN: ADMIN_TOKEN, NAMESPACE: options.namespace, GROUP: options.group,
      NODE_ID: options.name, HANDLER_MS: String(options.handlerMs), MAX_CONCURRENCY: '1000', SAMPLE_MS: String(SAMPLE_MS),
    });
    const handle = new QuotaExecutor(options.name, child);
    await handle.next('ready', 30_000);
    return handle;
  }

  async status(): Promise<{ inFlight: number; peak: number; starts: number }> {
    return (await this.ask('status')) as unknown as { inFlight: number; peak: number; starts: number };
  }

  async records(): Promise<ExecutorRecords> {
    const c = (await this.ask('records', 120_000)) as unknown as {
      start: number[]; end: number[]; scheduledAt: number[]; taskId: string[]; runId: string[]; attempt: number[]; aborted: string[];
      tick: number[]; sampled: number[]; peak: number;
    };
    const starts = c.start.map((start, i): Start => ({
      process: this.name, start, end: c.end[i]!, scheduledAt: c.scheduledAt[i]!, taskId: c.taskId[i]!, runId: c.runId[i]!, attempt: c.attempt[i]!, aborted: c.aborted[i]!,
    }));
    return { starts, samples: new Map(c.tick.map((tick, i) => [tick, c.sampled[i]!])), peak: c.peak };
  }
}

/** The most intervals [start, end) open at one instant (an end at the same millisecond as a start closes first); NaN ends are open. */
function maxOpen(intervals: { start: number; end: number }[]): { max: number; at: number } {
  const events: [number, number][] = [];
  for (const { start, end } of intervals) {
    events.push([start, 1]);
    if (Number.isFinite(end)) events.push([end, -1]);
  }
  events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let max = 0;
  let at = NaN;
  for (const [time, delta] of events) {
    open += delta;
    if (open > max) {
      max = open;
      at = time;
    }
  }
  return { max, at };
}

/** The most instants of an ascending array inside one half-open window of `windowMs`, and where that window starts. */
function maxInWindow(sorted: number[], windowMs: number): { max: number; from: number } {
  let max = 0;
  let from = NaN;
  let j = 0;
  for (let i = 0; i < sorted.length; i += 1) {
    while (sorted[i]! - sorted[j]! >= windowMs) j += 1;
    if (i - j + 1 > max) {
      max = i - j + 1;
      from = sorted[j]!;
    }
  }
  return { max, from };
}

/** Runs started twice: again after an aborted start (a redelivery) or not (a double execution); fires under two run ids. */
function duplicatesOf(starts: Start[]): { doubleExecutions: number; redeliveries: number; duplicateFires: number; examples: string[] } {
  const byRun = new Map<string, Start[]>();
  const fires = new Map<string, string>();
  let duplicateFires = 0;
  const examples: string[] = [];
  for (const s of [...starts].sort((x, y) => x.start - y.start)) {
    const list = byRun.get(s.runId) ?? [];
    list.push(s);
    byRun.set(s.runId, list);
    const fire = `${s.taskId}@${s.scheduledAt}`;
    const seen = fires.get(fire);
    if (seen === undefined) fires.set(fire, s.runId);
    else if (seen !== s.runId) {
      duplicateFires += 1;
      if (examples.length < 10) examples.push(`fire ${fire}: runs ${seen} and ${s.runId}`);
    }
  }
  let doubleExecutions = 0;
  let redeliveries = 0;
  for (const [runId, list] of byRun) {
    for (let k = 1; k < list.length; k += 1) {
      if (list[k - 1]!.aborted !== '') redeliveries += 1;
      else {
        doubleExecutions += 1;
        if (examples.length < 10) examples.push(`run ${runId}: started at ${iso(list[k - 1]!.start)} (${list[k - 1]!.process}, attempt ${list[k - 1]!.attempt}) and ${iso(list[k]!.start)} (${list[k]!.process}, attempt ${list[k]!.attempt})`);
      }
    }
  }
  return { doubleExecutions, redeliveries, duplicateFires, examples };
}

const iso = (ms: number): string => (Number.isFinite(ms) ? new Date(ms).toISOString().slice(11, 23) : '-');

interface RunPage {
  items: unknown[];
  nextCursor: string | null;
}

/** Every page of `GET path` (a runs list), counted; an error answer is returned as text. */
async function countPages(cluster: ChaosCluster, path: string): Promise<number | string> {
  let count = 0;
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page += 1) {
    const query: string = `${path}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const { status, body }: { status: number; body: RunPage } = await cluster.api<RunPage>('GET', query);
    if (status !== 200) return `HTTP ${status}: ${JSON.stringify(body).slice(0, 300)}`;
    count += body.items.length;
    cursor = body.nextCursor;
    if (!cursor) return count;
  }
  return count;
}

/** Polls the node list until every bucket is owned by a live node; ms since `since`, or null after `timeoutMs`. */
async function waitTakeover(cluster: ChaosCluster, since: number, timeoutMs: number): Promise<number | null> {
  while (Date.now() - since < timeoutMs) {
    const list = await cluster.nodeList().catch(() => null);
    if (list) {
      const owned = list.items.filter((n) => n.alive).reduce((sum, n) => sum + n.buckets.length, 0);
      if (list.buckets.unowned === 0 && owned === list.buckets.total && list.items.filter((n) => n.alive).length === cluster.liveSlots().length) return Date.now() - since;
    }
    await sleep(100);
  }
  return null;
}

/**
 * What the store's attempt rows of `a` say (for diagnosis; the executors' count decides): the most
 * runs open at once (first attempt's start → last attempt's end), the most attempt rows open at
 * once, and the runs one of whose attempts started before the previous one had ended.
 */
interface StoreOpen {
  runs: { max: number; at: number };
  attempts: { max: number; at: number };
  overlappingRuns: number;
}

function storeOpenOf(rows: Record<string, unknown>[]): StoreOpen {
  const end = (row: Record<string, unknown>) => (row.finished_at === null ? NaN : Number(row.finished_at));
  const byRun = new Map<string, Record<string, unknown>[]>();
  for (const row of rows) {
    const list = byRun.get(String(row.run_id)) ?? [];
    list.push(row);
    byRun.set(String(row.run_id), list);
  }
  let overlappingRuns = 0;
  const runs: { start: number; end: number }[] = [];
  for (const list of byRun.values()) {
    list.sort((x, y) => Number(x.number) - Number(y.number));
    if (list.some((row, k) => k > 0 && !(end(list[k - 1]!) <= Number(row.started_at)))) overlappingRuns += 1;
    runs.push({ start: Number(list[0]!.started_at), end: end(list.at(-1)!) });
  }
  return { runs: maxOpen(runs), attempts: maxOpen(rows.map((row) => ({ start: Number(row.started_at), end: end(row) }))), overlappingRuns };
}

interface UsagePoll {
  polls: number;
  maxActiveRuns: number;
  maxFiresLastMinute: number;
}

/** What a run measured, for the report. */
interface Measured {
  T: number;
  windowEnd: number;
  readAt: number;
  killed: NodeProcess | null;
  takeoverMs: number | null;
  machine: MachineFigures;
  uptimeAtWindow: string;
  usage: UsagePoll;
  records: ExecutorRecords[];
  recordsB: ExecutorRecords;
  throttled: number | string;
  succeededA: number | string;
  namespaceA: NamespaceResource | string;
  storeByStatus: Record<string, Record<string, number>> | string;
  storeOpen: StoreOpen | string;
  createdA: { ms: number; perSecond: number };
  gapMs: number;
  executorCrashes: number;
}

/** Starts the cluster and the executors, creates the tasks, runs the window with its kill, reads the figures, stops everything. */
async function measure(cluster: ChaosCluster): Promise<Measured> {
  const executorsA: QuotaExecutor[] = [];
  let executorB: QuotaExecutor | null = null;
  let api: EcronApi | null = null;
  try {
    await cluster.start(nodeCount);
    const balancedMs = await cluster.waitBalanced(60_000);
    const urls = cluster.processes.map((p) => p.url);
    progress(`${nodeCount} nodes balanced in ${balancedMs} ms on ${cluster.storeUrl}`);

    // The namespaces.
    const putA = await cluster.api<NamespaceResource>('PUT', `/api/v1/namespaces/${NS_A}`, {
      description: 'quota-isolation: the flooding namespace', quotas: { maxConcurrentRuns: aConcurrency, maxFiresPerMinute: aRate },
    });
    if (putA.status !== 200 && putA.status !== 201) throw new Error(`PUT /api/v1/namespaces/${NS_A} answered ${putA.status}: ${JSON.stringify(putA.body)}`);
    const putB = await cluster.api<NamespaceResource>('PUT', `/api/v1/namespaces/${NS_B}`, { description: 'quota-isolation: the steady namespace (no quotas)' });
    if (putB.status !== 200 && putB.status !== 201) throw new Error(`PUT /api/v1/namespaces/${NS_B} answered ${putB.status}: ${JSON.stringify(putB.body)}`);
    progress(`namespace ${NS_A}: quotas ${JSON.stringify(putA.body.quotas)}; namespace ${NS_B}: quotas ${JSON.stringify(putB.body.quotas)}`);

    // The executors: A's spread over the nodes as their configured server; B's on another.
    for (let k = 0; k < aExecutors; k += 1) {
      executorsA.push(await QuotaExecutor.start({ server: urls[k % urls.length]!, namespace: NS_A, group: GROUP_A, name: `quota-a-${k + 1}`, handlerMs: aHandlerMs }));
    }
    const b = await QuotaExecutor.start({ server: urls[aExecutors % urls.length]!, namespace: NS_B, group: GROUP_B, name: 'quota-b-1', handlerMs: 0 });
    executorB = b;
    await waitRoutable(urls[0]!, ADMIN_TOKEN, GROUP_A, aExecutors);
    await waitRoutable(urls[0]!, ADMIN_TOKEN, GROUP_B, 1);
    progress(`executors registered: ${aExecutors} in ${NS_A}/${GROUP_A} (handler ${aHandlerMs} ms), 1 in ${NS_B}/${GROUP_B} (stream mode, 1,000 runs at once each)`);

    // B's tasks, then one fire of each.
    api = new EcronApi(urls[0]!, ADMIN_TOKEN, 8);
    await api.createTasksBatch(bTasks, (i) => ({
      namespace: NS_B, name: `steady-${i}`, schedule: { every: '1s' }, misfire: { policy: 'catch-up', windowMs: 600_000, maxCatchUp: 1000 },
      target: { type: 'executor', group: GROUP_B, handler: 'work' },
    }), { batch: 5000, concurrency: 1 });
    for (const deadline = Date.now() + 30_000; ;) {
      const seen = new Set((await b.records()).starts.map((s) => s.taskId));
      if (seen.size >= bTasks) break;
      if (Date.now() > deadline) throw new Error(`only ${seen.size} of ${bTasks} tasks of ${NS_B} fired within 30 s of their creation`);
      await sleep(500);
    }
    progress(`${bTasks} tasks of ${NS_B} firing every second`);

    // A's tasks, due at T shortly after their creation.
    const rate = await measureCreateRate(api, quick ? 100 : 300, true);
    const leadMs = Math.ceil((aTasks / rate) * 1000 * 1.5) + 8000;
    const T = Math.ceil((Date.now() + leadMs) / 1000) * 1000;
    const windowEnd = T + windowS * 1000;
    const killAt = T + killAtS * 1000;
    const at = new Date(T).toISOString();
    progress(`creating ${aTasks} tasks of ${NS_A} due at ${at} (bulk creation ≈${Math.round(rate)}/s measured; T in ${T - Date.now()} ms)`);
    const createdA = await api.createTasksBatch(aTasks, (i) => ({
      namespace: NS_A, name: `flood-${i}`, schedule: { at }, target: { type: 'executor', group: GROUP_A, handler: 'work' },
    }), { batch: 5000, concurrency: 2 });
    const gapMs = T - Date.now();
    progress(`created in ${Math.round(createdA.ms)} ms (${Math.round(createdA.perSecond)}/s); T in ${gapMs} ms`);
    if (gapMs < 2500) progress('warning: creation ended less than 2.5 s before T: some fires may be recorded late');
    await api.close();
    api = null;

    // The window: the machine watched, namespace a's usage polled, the kill, progress.
    await sleep(T - Date.now());
    const uptimeAtWindow = uptime();
    progress(`window: ${windowS} s from ${at}; ${uptimeAtWindow}`);
    const pids: Record<string, number | undefined> = Object.fromEntries(cluster.processes.map((p) => [`node ${p.slot + 1}`, p.pid]));
    for (const e of [...executorsA, b]) pids[e.name] = e.pid;
    const watching = watchWindow(windowEnd, pids);
    const killer = (async (): Promise<{ killed: NodeProcess | null; takeoverMs: number | null }> => {
      if (!killing) return { killed: null, takeoverMs: null };
      await sleep(killAt - Date.now());
      const killed = cluster.kill(killSlot);
      progress(`SIGKILL node ${killSlot + 1} (pid ${killed.pid})`);
      const takeoverMs = await waitTakeover(cluster, killed.endedAt!, Math.max(5000, windowEnd - Date.now()));
      progress(takeoverMs === null ? 'its buckets were not all taken over by the end of the window' : `every bucket owned by a live node ${takeoverMs} ms after the kill`);
      return { killed, takeoverMs };
    })();
    const usage: UsagePoll = { polls: 0, maxActiveRuns: 0, maxFiresLastMinute: 0 };
    const polling = (async () => {
      let lastReport = 0;
      while (Date.now() < windowEnd) {
        const { status, body } = await cluster.api<NamespaceResource | null>('GET', `/api/v1/namespaces/${NS_A}`).catch(() => ({ status: 0, body: null }));
        if (status === 200 && body?.usage) {
          usage.polls += 1;
          usage.maxActiveRuns = Math.max(usage.maxActiveRuns, body.usage.activeRuns);
          usage.maxFiresLastMinute = Math.max(usage.maxFiresLastMinute, body.usage.firesLastMinute);
        }
        if (Date.now() - lastReport >= 10_000) {
          lastReport = Date.now();
          const a = await Promise.all(executorsA.map((e) => e.status()));
          const sb = await b.status();
          progress(`+${Math.round((Date.now() - T) / 1000)} s: ${NS_A} in flight ${a.reduce((sum, x) => sum + x.inFlight, 0)}, started ${a.reduce((sum, x) => sum + x.starts, 0)}; `
            + `${NS_B} started ${sb.starts}; API usage of ${NS_A}: ${body?.usage ? `activeRuns ${body.usage.activeRuns}, firesLastMinute ${body.usage.firesLastMinute}` : `HTTP ${status}`}`);
        }
        await sleep(Math.min(1000, windowEnd - Date.now()));
      }
    })();
    const [machine, { killed, takeoverMs }] = await Promise.all([watching, killer, polling]);
    await sleep(graceS * 1000);

    // What the executors saw, then what the API and the store say.
    const records = await Promise.all(executorsA.map((e) => e.records()));
    const recordsB = await b.records();
    const readAt = Date.now();
    const throttled = await countPages(cluster, `/api/v1/runs?namespace=${NS_A}&status=throttled`).catch((error: Error) => error.message);
    const succeededA = await countPages(cluster, `/api/v1/runs?namespace=${NS_A}&status=succeeded`).catch((error: Error) => error.message);
    const nsA = await cluster.api<NamespaceResource | string>('GET', `/api/v1/namespaces/${NS_A}`).catch((error: Error) => ({ status: 0, body: error.message }));
    const namespaceA = nsA.status === 200 ? nsA.body : `HTTP ${nsA.status}: ${JSON.stringify(nsA.body).slice(0, 300)}`;
    const schema = cluster.scratchName;
    const storeByStatus = await adminStatement(values['postgres-url'], `SELECT namespace, status, count(*) AS n FROM ${schema}.runs GROUP BY namespace, status ORDER BY namespace, status`)
      .then((rows) => {
        const out: Record<string, Record<string, number>> = {};
        for (const row of rows) (out[String(row.namespace)] ??= {})[String(row.status)] = Number(row.n);
        return out;
      }).catch((error: Error) => error.message);
    const storeOpen = await adminStatement(values['postgres-url'],
      `SELECT a.run_id, a.number, a.started_at, a.finished_at FROM ${schema}.attempts a JOIN ${schema}.runs r ON r.id = a.run_id WHERE r.namespace = '${NS_A}'`)
      .then(storeOpenOf).catch((error: Error) => error.message);
    return {
      T, windowEnd, readAt, killed, takeoverMs, machine, uptimeAtWindow, usage, records, recordsB, throttled, succeededA, namespaceA, storeByStatus, storeOpen,
      createdA, gapMs, executorCrashes: [...executorsA, b].filter((e) => e.crashed).length,
    };
  } finally {
    await api?.close().catch(() => {});
    await Promise.all([...executorsA, ...(executorB ? [executorB] : [])].map((e) => e.stop()));
    await cluster.stop();
    await cluster.dropStore(values['keep-store']);
  }
}

async function main(): Promise<number> {
  const command = `node bench/quota-isolation.ts ${process.argv.slice(2).join(' ')}`.trim();
  console.log(`# quota-isolation: ${nodeCount} nodes on PostgreSQL; namespace a: ${aTasks} one-shot tasks due at one instant, quotas maxConcurrentRuns ${aConcurrency}, maxFiresPerMinute ${aRate}, handler ${aHandlerMs} ms on ${aExecutors} executor process(es); namespace b: ${bTasks} tasks every 1s, no quotas; window ${windowS} s, SIGKILL of node ${killing ? killSlot + 1 : '-'} at ${killAtS} s`);
  console.log(`command: ${command}`);
  console.log(machineLine());
  const uptimeAtStart = uptime();
  console.log(`uptime at start: ${uptimeAtStart}`);
  console.log(`server: ${serverBin()}`);
  const logDir = values['log-dir'];
  const cluster = new ChaosCluster(values['postgres-url'], [], { logDir, logLevel: values['log-level'] });
  const {
    T, windowEnd, readAt, killed, takeoverMs, machine, uptimeAtWindow, usage, records, recordsB, throttled, succeededA, namespaceA, storeByStatus, storeOpen,
    createdA, gapMs, executorCrashes,
  } = await measure(cluster);
  const uptimeAtEnd = uptime();

  // A: in flight (exact and sampled), starts per 60 s and per minute.
  const startsA = records.flatMap((r) => r.starts);
  const open = maxOpen(startsA);
  const sums = new Map<number, { sum: number; processes: number }>();
  for (const r of records) {
    for (const [tick, n] of r.samples) {
      const entry = sums.get(tick) ?? { sum: 0, processes: 0 };
      entry.sum += n;
      entry.processes += 1;
      sums.set(tick, entry);
    }
  }
  const fromTick = Math.ceil(T / SAMPLE_MS);
  let sampledMax = 0;
  let sampledMaxAt = NaN;
  let samples = 0;
  for (const [tick, { sum, processes }] of sums) {
    if (processes !== records.length || tick < fromTick) continue;
    samples += 1;
    if (sum > sampledMax) {
      sampledMax = sum;
      sampledMaxAt = tick * SAMPLE_MS;
    }
  }
  // The rate counts runs (fires) reaching a handler: a run sent again after its first start was
  // aborted (its node died) is the same fire; every start, redeliveries included, is shown apart.
  const firstStartOf = new Map<string, number>();
  for (const s of startsA) firstStartOf.set(s.runId, Math.min(s.start, firstStartOf.get(s.runId) ?? Infinity));
  const startTimes = [...firstStartOf.values()].sort((x, y) => x - y);
  const rateMax = maxInWindow(startTimes, RATE_WINDOW_MS);
  const rawRateMax = maxInWindow(startsA.map((s) => s.start).sort((x, y) => x - y), RATE_WINDOW_MS);
  const minutes = Math.max(1, Math.ceil((readAt - T) / RATE_WINDOW_MS));
  const perMinute = Array.from({ length: minutes }, (_, m) => startTimes.filter((t) => t >= T + m * RATE_WINDOW_MS && t < T + (m + 1) * RATE_WINDOW_MS).length);
  const spanMin = Math.max(1e-9, (readAt - T) / RATE_WINDOW_MS);
  const startsPerMin = startTimes.filter((t) => t >= T).length / spanMin;
  const killTime = killed?.endedAt ?? NaN;
  const inFlightAtKill = startsA.filter((s) => s.start <= killTime && !(s.end <= killTime)).length;
  const resumedAfterMinute = startTimes.filter((t) => t >= T + RATE_WINDOW_MS + 5000).length;
  const wrongInstant = startsA.filter((s) => s.scheduledAt !== T).length;
  const abortedA = startsA.filter((s) => s.aborted !== '').length;
  const firstStartA = startTimes[0] ?? NaN;

  // B: lag over the fires due in the window.
  const startsB = recordsB.starts;
  const firstByFire = new Map<string, Start>();
  for (const s of [...startsB].sort((x, y) => x.start - y.start)) {
    if (!(s.scheduledAt >= T && s.scheduledAt < windowEnd)) continue;
    const key = `${s.taskId}@${s.scheduledAt}`;
    if (!firstByFire.has(key)) firstByFire.set(key, s);
  }
  const fires = [...firstByFire.values()];
  const lag = (pick: (s: Start) => boolean): Summary => summarize(fires.filter(pick).map((s) => s.start - s.scheduledAt));
  const lagAll = lag(() => true);
  const takeoverEnd = killTime + (takeoverMs ?? windowEnd - killTime) + 1000;
  const lagBeforeKill = killing ? lag((s) => s.scheduledAt < killTime) : lagAll;
  const lagOutsideTakeover = killing ? lag((s) => s.scheduledAt < killTime || s.scheduledAt >= takeoverEnd) : lagAll;
  const lagInTakeover = killing ? lag((s) => s.scheduledAt >= killTime && s.scheduledAt < takeoverEnd) : summarize([]);
  const expectedB = bTasks * windowS;
  const missingB = Math.max(0, expectedB - fires.length);

  const dup = duplicatesOf([...startsA, ...startsB]);
  const crashes = cluster.processes.filter((p) => p.end === 'crash');

  const failures: string[] = [];
  if (open.max > aConcurrency) failures.push(`${NS_A} had ${open.max} handlers in flight at ${iso(open.at)} (limit ${aConcurrency})`);
  // The samples of different processes on one tick are taken a few ms apart: their sum can count a run that ended in one
  // process and the run the server sent next to another. The exact count (above) is what decides.
  const sampleSkew = sampledMax > aConcurrency && open.max <= aConcurrency;
  if (rateMax.max > aRate) failures.push(`${NS_A} started ${rateMax.max} runs in the 60 s from ${iso(rateMax.from)} (limit ${aRate})`);
  if (dup.doubleExecutions > 0) failures.push(`${dup.doubleExecutions} runs executed twice`);
  if (dup.duplicateFires > 0) failures.push(`${dup.duplicateFires} fires started under two run ids`);
  if (startsA.length === 0) failures.push(`${NS_A} never ran`);
  if (windowS >= 75 && resumedAfterMinute === 0 && typeof throttled === 'number' && throttled > 0) failures.push(`${NS_A}'s ${throttled} throttled runs did not resume after the first minute`);
  if (crashes.length > 0) failures.push(`${crashes.length} node(s) crashed by themselves`);
  if (executorCrashes > 0) failures.push(`${executorCrashes} executor process(es) crashed`);

  const storeA = typeof storeByStatus === 'string' ? storeByStatus : Object.entries(storeByStatus[NS_A] ?? {}).map(([s, n]) => `${s} ${n}`).join(', ');
  const storeB = typeof storeByStatus === 'string' ? storeByStatus : Object.entries(storeByStatus[NS_B] ?? {}).map(([s, n]) => `${s} ${n}`).join(', ');
  const ms = (s: Summary) => `${fmt(s.p50, 0)} / ${fmt(s.p99, 0)} / ${fmt(s.max, 0)}`;
  const verdict = (ok: boolean) => (ok ? 'ok' : 'EXCEEDED');
  console.log('');
  printTable(['figure', 'value', 'limit / goal', 'verdict'], [
    [`${NS_A}: most handlers in flight at once (exact, all executors)`, `${open.max} at T+${fmt((open.at - T) / 1000, 1)} s`, `≤ ${aConcurrency}`, verdict(open.max <= aConcurrency)],
    [`${NS_A}: most in flight in a 100 ms sample (sum over ${records.length} processes)`, `${sampledMax} (${samples} samples)`, `≤ ${aConcurrency}`, sampleSkew ? 'skew (see note)' : verdict(sampledMax <= aConcurrency)],
    [`${NS_A}: most runs started in any 60 s (first start of each run)`, `${rateMax.max}${readAt - T < RATE_WINDOW_MS ? ' (whole run < 60 s)' : ` from T+${fmt((rateMax.from - T) / 1000, 1)} s`}`, `≤ ${aRate}`, verdict(rateMax.max <= aRate)],
    [`${NS_A}: handler starts in any 60 s, redeliveries included`, rawRateMax.max, '-', '-'],
    [`${NS_A}: runs started per minute from T`, perMinute.join(', '), '-', '-'],
    [`${NS_A}: runs started in all, and per minute`, `${startTimes.length} in ${fmt((readAt - T) / 1000, 0)} s: ${fmt(startsPerMin, 0)}/min${readAt - T < RATE_WINDOW_MS ? ' (extrapolated from under a minute)' : ''}; ${startsA.length} handler starts`, '-', '-'],
    [`${NS_A}: first start after T, ms`, fmt(firstStartA - T, 0), '-', '-'],
    [`${NS_A}: starts later than T+65 s (throttled runs resuming)`, windowS >= 75 ? resumedAfterMinute : '- (window < 75 s)', windowS >= 75 ? '> 0' : '-', windowS >= 75 ? (resumedAfterMinute > 0 || throttled === 0 ? 'ok' : 'NONE') : '-'],
    [`${NS_A}: runs throttled at the end (API)`, throttled, '-', '-'],
    [`${NS_A}: runs succeeded at the end (API)`, succeededA, '-', '-'],
    [`${NS_A}: API usage, max of ${usage.polls} polls (activeRuns / firesLastMinute)`, `${usage.maxActiveRuns} / ${usage.maxFiresLastMinute}`, `${aConcurrency} / ${aRate}`, '-'],
    [`${NS_A}: store: most runs / attempts open at once; runs with overlapping attempts`, typeof storeOpen === 'string' ? storeOpen
      : `${storeOpen.runs.max} / ${storeOpen.attempts.max}; ${storeOpen.overlappingRuns}`, '-', '-'],
    [`${NS_A}: handlers aborted (run's signal) / scheduled off T`, `${abortedA} / ${wrongInstant}`, '-', '-'],
    [`${NS_A}: runs in the store by status`, storeA, '-', '-'],
    [`${NS_B}: fires due in the window delivered / expected`, `${fires.length} / ${expectedB}`, '-', missingB === 0 ? 'ok' : `${missingB} missing`],
    [`${NS_B}: fire lag p50 / p99 / max, ms (all)`, ms(lagAll), `p99 < ${B_P99_GOAL_MS}`, lagAll.p99 < B_P99_GOAL_MS ? 'met' : 'NOT met'],
    [`${NS_B}: fire lag before the kill`, killing ? ms(lagBeforeKill) : '-', `p99 < ${B_P99_GOAL_MS}`, killing ? (lagBeforeKill.p99 < B_P99_GOAL_MS ? 'met' : 'NOT met') : '-'],
    [`${NS_B}: fire lag outside the takeover (${lagOutsideTakeover.count} fires)`, killing ? ms(lagOutsideTakeover) : '-', `p99 < ${B_P99_GOAL_MS}`, killing ? (lagOutsideTakeover.p99 < B_P99_GOAL_MS ? 'met' : 'NOT met') : '-'],
    [`${NS_B}: fire lag during the takeover (${lagInTakeover.count} fires)`, killing ? ms(lagInTakeover) : '-', '-', '-'],
    [`${NS_B}: runs in the store by status`, storeB, '-', '-'],
    ['duplicates: runs executed twice / fires under two run ids', `${dup.doubleExecutions} / ${dup.duplicateFires}`, '0 / 0', dup.doubleExecutions + dup.duplicateFires === 0 ? 'ok' : 'FAILED'],
    ['redeliveries after an aborted start (connection closed)', dup.redeliveries, '-', '-'],
    ['SIGKILL', killing ? `node ${killSlot + 1} at T+${fmt((killTime - T) / 1000, 1)} s, ${NS_A} then ${inFlightAtKill} in flight; buckets all owned again after ${takeoverMs === null ? '-' : `${takeoverMs} ms`}` : 'none', '-', '-'],
    ['nodes / executors crashed by themselves', `${crashes.length} / ${executorCrashes}`, '0 / 0', crashes.length + executorCrashes === 0 ? 'ok' : 'FAILED'],
  ]);
  console.log('');
  console.log(`creation of ${NS_A}'s tasks: ${Math.round(createdA.perSecond)}/s, ended ${gapMs} ms before T; records read at T+${fmt((readAt - T) / 1000, 1)} s`);
  console.log(`during the window: ${machine.cpuText}; ${machineText(machine)}`);
  console.log(`uptime: at start: ${uptimeAtStart}; at T: ${uptimeAtWindow}; at the end: ${uptimeAtEnd}`);
  if (typeof namespaceA !== 'string') console.log(`GET /api/v1/namespaces/${NS_A} at the end: quotas ${JSON.stringify(namespaceA.quotas)}, usage ${JSON.stringify(namespaceA.usage)}`);
  else console.log(`GET /api/v1/namespaces/${NS_A} at the end: ${namespaceA}`);
  if (sampleSkew) console.log(`note: the 100 ms samples summed to ${sampledMax} at ${iso(sampledMaxAt)} while the exact count never passed ${open.max}: samples of different processes taken a few ms apart`);
  for (const e of dup.examples) console.log(`duplicate: ${e}`);
  for (const p of crashes) console.log(`\nnode ${p.slot + 1} pid ${p.pid} crashed (${p.exit}):\n${p.output ?? ''}`);
  if (logDir) console.log(`node logs in ${logDir}`);

  const result = {
    scenario: 'quota-isolation', quick, command, nodes: nodeCount, aTasks, aConcurrency, aRate, aHandlerMs, aExecutors, bTasks, windowS, killAtS, killSlot,
    T: new Date(T).toISOString(), store: cluster.scratchName,
    a: {
      maxInFlight: open.max, maxInFlightAt: Number.isFinite(open.at) ? open.at - T : null, sampledMaxInFlight: sampledMax, samples, peakPerProcess: records.map((r) => r.peak),
      maxRunsStartedIn60s: rateMax.max, maxHandlerStartsIn60s: rawRateMax.max, runsStartedPerMinute: perMinute, runsStarted: startTimes.length, handlerStarts: startsA.length, startsPerMin: Math.round(startsPerMin), resumedAfterMinute, aborted: abortedA,
      throttledAtEnd: throttled, succeededAtEnd: succeededA, usageMax: usage, store: typeof storeOpen === 'string' ? storeOpen : { maxOpenRuns: storeOpen.runs.max, maxOpenAttempts: storeOpen.attempts.max, overlappingRuns: storeOpen.overlappingRuns },
      storeByStatus: typeof storeByStatus === 'string' ? storeByStatus : storeByStatus[NS_A] ?? {},
    },
    b: {
      expected: expectedB, delivered: fires.length, missing: missingB, lag: lagAll, lagBeforeKill, lagOutsideTakeover, lagInTakeover, goalP99Ms: B_P99_GOAL_MS, goalMet: lagAll.p99 < B_P99_GOAL_MS,
      storeByStatus: typeof storeByStatus === 'string' ? storeByStatus : storeByStatus[NS_B] ?? {},
    },
    duplicates: dup, kill: killing ? { slot: killSlot, atMs: killTime - T, aInFlight: inFlightAtKill, takeoverMs } : null, crashes: crashes.length, executorCrashes,
    machine: { cpuPct: machine.cpuPct, busyPct: machine.busyPct, stealPct: machine.stealPct, noiseP99: machine.noise.p99 },
    uptime: { start: uptimeAtStart, window: uptimeAtWindow, end: uptimeAtEnd }, failures,
  };
  printResult(result);
  if (values.out) writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  if (values.dump) writeFileSync(values.dump, JSON.stringify({ T, windowEnd, killTime, a: startsA, b: startsB }));
  if (failures.length > 0) {
    console.error(`quota-isolation: FAILED: ${failures.join('; ')}`);
    return 1;
  }
  console.log('quota-isolation: ok');
  return 0;
}

process.exitCode = await main();
