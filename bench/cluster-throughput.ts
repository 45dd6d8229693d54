/**
 * Cluster throughput: 3 nodes on PostgreSQL and one executor process, N tasks `every: 1s` for
 * rising N. Each level gets a fresh scratch schema and fresh nodes (bench/chaos/cluster.ts), the N
 * tasks created through the API (POSTs in parallel, spread over the nodes; their phases spread
 * over the second by their creation times), a warm-up once every task has fired, then a window:
 * fires/s achieved vs expected, fire lag p50/p99/max (receipt at the executor − scheduledAt),
 * missed and duplicate fires, the CPU of each node, of the executor and of PostgreSQL.
 *
 *   node bench/cluster-throughput.ts [--levels 1000,2000,4000,6000,8000,10000] [--nodes 3]
 *     [--window-s 15] [--warmup-s 5] [--grace-s 3] [--quick] [--postgres-url URL] [--dump-dir DIR] [--keep-store]
 *     [--log-dir DIR --log-level info] [--all-levels] [--rev COMMIT] [--executor http|stream]
 *
 * `--executor http` (the default): bench/executor.ts, a bare listener, as the target of `http`
 * tasks. `--executor stream`: an SDK executor process in stream mode (one WebSocket to each node,
 * `noop` handler, maxConcurrency 10,000), started for each level, as the target of `executor` tasks.
 *
 * Levels stop early once one is saturated (achieved < 80 % of expected, or lag p99 > 2 s), unless --all-levels.
 * Reports the highest level with lag p99 < 100 ms and nothing missed (goal ≥ 10,000 fires/s).
 * Exits 1 on a duplicate fire or a node that crashed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EcronApi, ExecutorClient, type Received } from './lib/api.ts';
import { SdkExecutorProcess, waitRoutable } from './lib/sdk-executors.ts';
import { sleep, startWatchdog } from './lib/children.ts';
import { serverBin, startBenchExecutor } from './lib/processes.ts';
import { snapshotServer } from './lib/snapshot.ts';
import { fmt } from './lib/stats.ts';
import { cpuMsBetween, cpuMsByCommand, loadLine, machineLine, printResult, printTable, progress } from './lib/table.ts';
import { analyseWindow, machineText, watchWindow, type MachineFigures, type WindowFigures } from './lib/window.ts';
import { ADMIN_TOKEN, ChaosCluster } from './chaos/cluster.ts';

const { values } = parseArgs({
  options: {
    levels: { type: 'string' },
    nodes: { type: 'string', default: '3' },
    'window-s': { type: 'string' },
    'warmup-s': { type: 'string' },
    'grace-s': { type: 'string', default: '3' },
    'postgres-url': { type: 'string', default: process.env.ECRON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'dump-dir': { type: 'string' },
    'keep-store': { type: 'boolean', default: false },
    'log-dir': { type: 'string' },
    'all-levels': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'warn' },
    rev: { type: 'string' },
    quick: { type: 'boolean', default: false },
    executor: { type: 'string', default: 'http' },
  },
});
if (values.executor !== 'http' && values.executor !== 'stream') throw new Error('--executor: http or stream');
const streamExecutor = values.executor === 'stream';
const quick = values.quick;
const levels = (values.levels ?? (quick ? '300' : '1000,2000,4000,6000,8000,10000')).split(',').map(Number);
const nodeCount = Number(values.nodes);
const windowS = Number(values['window-s'] ?? (quick ? 5 : 15));
const warmupS = Number(values['warmup-s'] ?? (quick ? 2 : 5));
const graceS = Number(values['grace-s']);
if (levels.some((n) => !Number.isInteger(n) || n < 1 || n > 100_000)) throw new Error('--levels: integers 1..100000');
if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 8) throw new Error('--nodes: 1..8');
if (!Number.isInteger(windowS) || windowS < 1 || windowS > 600) throw new Error('--window-s: whole seconds 1..600');
startWatchdog(quick ? 100_000 : 60 * 60_000, 'cluster-throughput');
// The server under test, frozen at a commit (`git archive`): the working tree changes under other hands.
if (values.rev) {
  const { bin, commit } = snapshotServer(values.rev);
  process.env.ECRON_BENCH_BIN = bin;
  progress(`server frozen at ${commit}: ${bin}`);
}

const GOAL_RATE = 10_000;
const P99_BOUND_MS = 100;

interface LevelResult extends WindowFigures {
  n: number;
  createPerSecond: number;
  machine: MachineFigures;
  postgresCpuPct: number;
  crashes: number;
}

/** What a level needs of its executor: its records, its pid, what tasks target. */
interface LevelExecutor {
  records(): Promise<{ records: Received[] }>;
  waitForCount(count: number, deadline: number): Promise<void>;
  pid: number | undefined;
  target: Record<string, unknown>;
  stop(): Promise<void>;
}

/** An SDK executor process in stream mode, registered with this level's cluster. */
async function streamExecutorFor(server: string, n: number): Promise<LevelExecutor> {
  const sdk = await SdkExecutorProcess.start({ server, token: ADMIN_TOKEN, group: 'tp', id: `tp-stream-${n}`, mode: 'stream', maxConcurrency: 10_000 });
  await waitRoutable(server, ADMIN_TOKEN, 'tp', 1);
  return {
    records: async () => ({ records: await sdk.records() }),
    waitForCount: async (count, deadline) => {
      while ((await sdk.count()) < count && Date.now() < deadline) await sleep(500);
    },
    pid: sdk.pid, target: { type: 'executor', group: 'tp', handler: 'noop' },
    stop: () => sdk.stop(),
  };
}

async function runLevel(n: number, shared: ExecutorClient | null, runUrl: string, executorPid: number | undefined): Promise<LevelResult> {
  await shared?.reset();
  const logDir = values['log-dir'] ? join(values['log-dir'], `n${n}`) : undefined;
  if (logDir) mkdirSync(logDir, { recursive: true });
  const cluster = new ChaosCluster(values['postgres-url'], [], { logDir, logLevel: values['log-level'] });
  const apis: EcronApi[] = [];
  let levelExecutor: LevelExecutor | null = null;
  try {
    await cluster.start(nodeCount);
    await cluster.waitBalanced(60_000);
    progress(`N=${n}: ${nodeCount} nodes balanced on ${cluster.storeUrl}; creating ${n} tasks every 1s`);
    const urls = cluster.processes.map((p) => p.url);
    levelExecutor = shared
      ? { records: () => shared.records(), waitForCount: async (count, deadline) => { await shared.waitForCount(count, deadline); }, pid: executorPid, target: { type: 'http', url: runUrl }, stop: async () => {} }
      : await streamExecutorFor(urls[0]!, n);
    const received = levelExecutor;
    const target = levelExecutor.target;
    for (const url of urls) apis.push(new EcronApi(url, ADMIN_TOKEN, 32));
    const share = Math.ceil(n / urls.length);
    const started = performance.now();
    // Each node creates a share, all at once: creation times (the phases) spread over the second.
    await Promise.all(apis.map((api, k) => api.createTasks(Math.max(0, Math.min(share, n - k * share)), (i) => ({
      name: `tp-${k}-${i}`, schedule: { every: '1s' }, target,
    }), { concurrency: 16 })));
    const createPerSecond = n / ((performance.now() - started) / 1000);
    progress(`N=${n}: created at ${Math.round(createPerSecond)}/s; waiting for a first fire of each, then a warm-up of ${warmupS} s`);
    await received.waitForCount(n, Date.now() + 30_000);
    await sleep(warmupS * 1000);
    const windowStart = Date.now() + 1;
    const windowEnd = windowStart + windowS * 1000;
    progress(`N=${n}: measuring ${windowS} s (${loadLine()})`);
    const pids: Record<string, number | undefined> = Object.fromEntries(cluster.processes.map((p) => [`node ${p.slot + 1}`, p.pid]));
    pids.executor = levelExecutor.pid;
    const pgBefore = cpuMsByCommand('postgres');
    const pgStarted = performance.now();
    const machine = await watchWindow(windowEnd, pids);
    const postgresCpuPct = (100 * cpuMsBetween(pgBefore, cpuMsByCommand('postgres'))) / (performance.now() - pgStarted);
    await sleep(windowEnd - Date.now() + graceS * 1000);
    const { records } = await received.records();
    if (values['dump-dir']) {
      mkdirSync(values['dump-dir'], { recursive: true });
      writeFileSync(join(values['dump-dir'], `cluster-throughput-${n}.json`), JSON.stringify({ windowStart, windowEnd, records }));
    }
    const result = analyseWindow(n, records, windowStart, windowEnd);
    const crashes = cluster.processes.filter((p) => p.end === 'crash');
    for (const c of crashes) process.stderr.write(`node ${c.slot + 1} crashed (${c.exit}):\n${c.output}\n`);
    progress(`N=${n}: ${Math.round(result.achievedPerSecond)} fires/s, lag p50 ${result.lag.p50} p99 ${result.lag.p99} max ${result.lag.max} ms, missed ${result.missed}, duplicates ${result.duplicates}; ${machine.cpuText}, postgres ${Math.round(postgresCpuPct)}%`);
    return { n, ...result, createPerSecond, machine, postgresCpuPct, crashes: crashes.length };
  } finally {
    await Promise.all(apis.map((api) => api.close().catch(() => {})));
    await levelExecutor?.stop();
    await cluster.stop();
    await cluster.dropStore(values['keep-store']);
  }
}

async function main(): Promise<number> {
  console.log(`# cluster-throughput: ${nodeCount} nodes on PostgreSQL, one executor (${streamExecutor ? "SDK, stream mode" : "bench/executor.ts, http tasks"}); N tasks every 1s, levels ${levels.join(', ')}; warm-up ${warmupS} s, window ${windowS} s, grace ${graceS} s`);
  console.log(machineLine());
  console.log(`server: ${serverBin()}`);
  const executor = streamExecutor ? null : await startBenchExecutor();
  const received = executor ? new ExecutorClient(executor.url) : null;
  const results: LevelResult[] = [];
  try {
    for (const n of levels) {
      const result = await runLevel(n, received, executor?.runUrl ?? '', executor?.child.pid);
      results.push(result);
      if (result.duplicates > 0 || result.crashes > 0) break;
      if (!values['all-levels'] && (result.achievedPerSecond < 0.8 * n || result.lag.p99 > 2000)) {
        progress(`N=${n} is saturated: not trying higher levels`);
        break;
      }
    }
  } finally {
    await executor?.stop();
  }

  const nodeNames = Array.from({ length: nodeCount }, (_, i) => `node ${i + 1}`);
  const pct = (v: number | null | undefined) => (v == null ? '-' : `${Math.round(v)}%`);
  console.log('');
  printTable(
    ['N tasks', 'expected/s', 'achieved/s', 'lag p50 ms', 'p90', 'p99', 'max', 'missed', 'dup', 'create/s', 'steal', 'noise p99 ms', 'load 1m'],
    results.map((r) => [r.n, r.expectedPerSecond, Math.round(r.achievedPerSecond), r.lag.p50, r.lag.p90, r.lag.p99, r.lag.max, r.missed, r.duplicates,
      Math.round(r.createPerSecond), r.machine.stealPct === null ? '-' : `${r.machine.stealPct.toFixed(1)}%`, fmt(r.machine.noise.p99, 1), r.machine.loadBefore.split(' ')[2]!]),
  );
  console.log('');
  console.log('CPU during the window, % of one core (2 vCPUs = 200%):');
  printTable(['N tasks', ...nodeNames, 'executor', 'postgres (all backends)', 'machine busy'],
    results.map((r) => [r.n, ...nodeNames.map((name) => pct(r.machine.cpuPct[name])), pct(r.machine.cpuPct.executor), pct(r.postgresCpuPct), pct(r.machine.busyPct === null ? null : 2 * r.machine.busyPct)]));
  for (const r of results) console.log(`N=${r.n}: ${r.machine.cpuText}; ${machineText(r.machine)}; ${r.machine.loadBefore}; after: ${r.machine.loadAfter}`);
  const ok = results.filter((r) => r.lag.p99 < P99_BOUND_MS && r.missed === 0 && r.achievedPerSecond >= 0.95 * r.n);
  const best = ok.length > 0 ? Math.max(...ok.map((r) => r.n)) : 0;
  const goal = best >= GOAL_RATE ? 'met' : levels.some((n) => n >= GOAL_RATE) ? 'NOT met' : 'not evaluated (no level that high)';
  console.log(`\nhighest rate with lag p99 < ${P99_BOUND_MS} ms (and nothing missed): ${best > 0 ? `${best} fires/s` : 'none of the levels'}; goal ≥ ${GOAL_RATE}/s: ${goal}`);
  console.log(`lag = receipt at the executor − scheduledAt; achieved = deliveries received during the ${windowS} s window / ${windowS}; postgres CPU counts every backend on the machine's server (other users' too)`);
  const duplicates = results.reduce((sum, r) => sum + r.duplicates, 0);
  const crashes = results.reduce((sum, r) => sum + r.crashes, 0);
  const failures = [...(duplicates > 0 ? [`${duplicates} duplicates`] : []), ...(crashes > 0 ? [`${crashes} node crashes`] : [])];
  printResult({
    scenario: 'cluster-throughput', quick, nodes: nodeCount, windowS,
    levels: results.map((r) => ({
      n: r.n, achieved: Math.round(r.achievedPerSecond), p50: r.lag.p50, p99: r.lag.p99, max: r.lag.max, missed: r.missed, duplicates: r.duplicates,
      stealPct: r.machine.stealPct, noiseP99: Number(r.machine.noise.p99.toFixed(1)), cpuPct: r.machine.cpuPct, postgresCpuPct: Math.round(r.postgresCpuPct),
    })),
    bestRate: best, goal, goalMet: best >= GOAL_RATE, failures,
  });
  if (failures.length > 0) {
    console.error(`cluster-throughput: FAILED: ${failures.join(', ')}`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
