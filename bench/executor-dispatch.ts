/**
 * Executor dispatch throughput: one `ecron start` process (SQLite in a temporary data dir, or a
 * scratch PostgreSQL schema with `--store postgres`) and 2 SDK executor processes
 * (bench/sdk-executor.ts) in one group, each with a `noop` handler that returns at once. N tasks
 * `every: 1s` target `{ type: 'executor', group, handler: 'noop', routing: round-robin }`, so the
 * offered rate is N runs/s (their phases spread over the second by their creation times).
 *
 * Each mode (push: the server POSTs each run to the SDK's HTTP listener; stream: the SDK holds a
 * WebSocket and runs and results travel in signed batches; pull: the SDK long-polls
 * for runs and posts results back) and level gets a fresh server and fresh executors. After the
 * first fire of every task and a warm-up, a window is measured:
 * - runs/s handled by the executors (handler calls in the window, from their own records), and
 *   the split between the two;
 * - runs/s completed according to the store (finished_at in the window), by status and executor;
 * - lag = the handler's Date.now() − ctx.scheduledAt, for the fires due in the window (p50/p90/p99/max);
 * - missed fires (due in the window, not handled within the grace) and duplicates;
 * - the CPU of the server and of each executor, the machine's load.
 *
 *   node bench/executor-dispatch.ts [--mode push|pull|stream|both|all] [--levels 1000,2000,5000,10000]
 *     [--window-s 10] [--warmup-s 5] [--grace-s 3] [--quick] [--store sqlite|postgres] [--postgres-url URL]
 *     [--max-concurrency N] [--all-levels] [--cpu-prof] [--cpu-prof-dir DIR] [--cpu-prof-executors] [--json FILE] [--rev COMMIT] [--keep-store]
 *
 * Levels of a mode stop early once one is saturated (handled < 80 % of offered, or lag p99 > 2 s),
 * unless --all-levels. Writes the figures to bench/results/executor-dispatch-<time>.json (--quick:
 * to the temporary directory) unless --json says where. Exits 1 on a duplicate or a crash; timing
 * goals are reported, never asserted.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createScratch, type Scratch } from '../packages/server/scripts/scratch-sql-store.ts';
import { EcronApi, type Received } from './lib/api.ts';
import { atExit, sleep, startWatchdog } from './lib/children.ts';
import { REPO_ROOT, serverBin, startEcronServer, type ServerHandle } from './lib/processes.ts';
import { SdkExecutorProcess, waitRoutable } from './lib/sdk-executors.ts';
import { snapshotServer } from './lib/snapshot.ts';
import { fmt } from './lib/stats.ts';
import { readStoreWindow, type StoreLocation, type StoreWindow } from './lib/store-runs.ts';
import { loadLine, machineLine, printResult, printTable, progress } from './lib/table.ts';
import { analyseWindow, machineText, watchWindow, type MachineFigures, type WindowFigures } from './lib/window.ts';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'both' },
    levels: { type: 'string' },
    'window-s': { type: 'string' },
    'warmup-s': { type: 'string' },
    'grace-s': { type: 'string' },
    store: { type: 'string', default: 'sqlite' },
    'postgres-url': { type: 'string', default: process.env.ECRON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'max-concurrency': { type: 'string' },
    'all-levels': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    'cpu-prof-dir': { type: 'string' },
    'cpu-prof-executors': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'warn' },
    json: { type: 'string' },
    rev: { type: 'string' },
    'keep-store': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
  },
});
const quick = values.quick;
type Mode = 'push' | 'pull' | 'stream';
const modes = (values.mode === 'both' ? ['push', 'pull'] : values.mode === 'all' ? ['push', 'pull', 'stream'] : values.mode!.split(',')) as Mode[];
const levels = (values.levels ?? (quick ? '200' : '1000,2000,5000,10000')).split(',').map(Number);
const windowS = Number(values['window-s'] ?? (quick ? 2 : 10));
const warmupS = Number(values['warmup-s'] ?? (quick ? 1 : 5));
const graceS = Number(values['grace-s'] ?? (quick ? 2 : 3));
const maxConcurrency = values['max-concurrency'] === undefined ? undefined : Number(values['max-concurrency']);
if (modes.some((m) => m !== 'push' && m !== 'pull' && m !== 'stream')) throw new Error('--mode: push, pull, stream (comma-separated), both (push,pull) or all');
if (levels.some((n) => !Number.isInteger(n) || n < 1 || n > 100_000)) throw new Error('--levels: integers 1..100000');
if (!Number.isInteger(windowS) || windowS < 1 || windowS > 600) throw new Error('--window-s: whole seconds 1..600');
if (!(warmupS >= 0 && warmupS <= 600) || !(graceS >= 0 && graceS <= 120)) throw new Error('--warmup-s / --grace-s out of range');
if (values.store !== 'sqlite' && values.store !== 'postgres') throw new Error('--store: sqlite or postgres');
if (maxConcurrency !== undefined && !(Number.isInteger(maxConcurrency) && maxConcurrency >= 1)) throw new Error('--max-concurrency: a positive integer');
startWatchdog(quick ? 120_000 : 60 * 60_000, 'executor-dispatch');
// The server under test, frozen at a commit (`git archive`): the working tree changes under other hands.
// The SDK executors always run the working tree's packages/sdk.
let frozenAt: string | null = null;
if (values.rev) {
  const { bin, commit } = snapshotServer(values.rev);
  process.env.ECRON_BENCH_BIN = bin;
  frozenAt = commit;
  progress(`server frozen at ${commit}: ${bin}`);
}

const GOAL_RATE = 10_000;
const P99_BOUND_MS = 100;
const GROUP = 'bench';
const EXECUTOR_IDS = ['exec-1', 'exec-2'];
const profileDir = values['cpu-prof-dir'] ?? (values['cpu-prof'] || values['cpu-prof-executors'] ? join(tmpdir(), 'ecron-bench-profiles') : undefined);
if (profileDir) mkdirSync(profileDir, { recursive: true });
/** Executor or server processes that exited on their own during a level. */
let crashes = 0;
const profileArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];

interface LevelResult extends WindowFigures {
  mode: Mode;
  n: number;
  /** Handler calls in the window per executor, per second. */
  perExecutor: Record<string, number>;
  store: StoreWindow;
  storeCompletedPerSecond: number;
  createPerSecond: number;
  machine: MachineFigures;
  loadBefore: string;
}

async function waitForRuns(executors: SdkExecutorProcess[], expected: number, deadline: number): Promise<number> {
  for (;;) {
    const seen = (await Promise.all(executors.map((e) => e.count()))).reduce((a, b) => a + b, 0);
    if (seen >= expected || Date.now() > deadline) return seen;
    await sleep(250);
  }
}

/** One level's processes: the server and the two SDK executors; `stop()` stops them all once. */
interface LevelRig {
  server: ServerHandle;
  api: EcronApi;
  token: string;
  executors: SdkExecutorProcess[];
  store: StoreLocation;
  stop(): Promise<void>;
}

async function startLevelRig(mode: Mode, dataDir: string, scratch: Scratch | null): Promise<LevelRig> {
  const token = `ecr_bench_${randomBytes(16).toString('hex')}`;
  const server = await startEcronServer({
    dataDir, keepDataDir: true, adminToken: token, logLevel: values['log-level'], readyTimeoutMs: 60_000,
    nodeArgs: values['cpu-prof'] ? profileArgs : [], args: scratch ? ['--store', scratch.storeUrl] : [],
  });
  const api = new EcronApi(server.url, token, 32);
  const executors: SdkExecutorProcess[] = [];
  let stopped: Promise<void> | null = null;
  const rig: LevelRig = {
    server, api, token, executors,
    store: scratch ? { kind: 'postgres', url: values['postgres-url'], schema: scratch.name } : { kind: 'sqlite', path: join(dataDir, 'ecron.db') },
    stop: () => (stopped ??= (async () => {
      await api.close().catch(() => {});
      await Promise.all(executors.map((e) => e.stop()));
      crashes += executors.filter((e) => e.crashed).length + (server.child.exitCode !== null || server.child.signalCode !== null ? 1 : 0);
      await server.stop();
    })()),
  };
  try {
    executors.push(...await Promise.all(EXECUTOR_IDS.map((id) => SdkExecutorProcess.start({
      server: server.url, token, group: GROUP, id, mode, maxConcurrency, nodeArgs: values['cpu-prof-executors'] ? profileArgs : [],
    }))));
    await waitRoutable(server.url, token, GROUP, executors.length);
  } catch (error) {
    await rig.stop();
    throw error;
  }
  return rig;
}

async function runLevel(mode: Mode, n: number): Promise<LevelResult> {
  const keep = values['keep-store'];
  const dataDir = mkdtempSync(join(tmpdir(), 'ecron-bench-'));
  if (!keep) atExit(() => rmSync(dataDir, { recursive: true, force: true }));
  let scratch: Scratch | null = null;
  let rig: LevelRig | null = null;
  try {
    scratch = values.store === 'postgres' ? await createScratch(values['postgres-url']) : null;
    rig = await startLevelRig(mode, dataDir, scratch);
    progress(`${mode} N=${n}: server ${rig.server.url} (${scratch ? `PostgreSQL schema ${scratch.name}` : 'SQLite'}), ${rig.executors.length} SDK executors ready; creating ${n} tasks every 1s`);
    return await measureLevel(rig, mode, n);
  } finally {
    await rig?.stop();
    if (keep) {
      progress(`kept the data dir ${dataDir}${scratch ? ` and the schema ${scratch.name}` : ''}`);
    } else {
      rmSync(dataDir, { recursive: true, force: true });
      await scratch?.drop().catch((error: unknown) => progress(`dropping ${scratch!.name} failed: ${String(error)}`));
    }
  }
}

async function measureLevel(rig: LevelRig, mode: Mode, n: number): Promise<LevelResult> {
  const { executors } = rig;
  const created = await rig.api.createTasks(n, (i) => ({
    name: `dispatch-${i}`, schedule: { every: '1s' },
    target: { type: 'executor', group: GROUP, handler: 'noop', routing: { strategy: 'round-robin' } },
  }), { concurrency: 32 });
  progress(`${mode} N=${n}: created at ${Math.round(created.perSecond)}/s; waiting for a first fire of each, then a warm-up of ${warmupS} s`);
  const seen = await waitForRuns(executors, n, Date.now() + 30_000);
  if (seen < n) progress(`${mode} N=${n}: only ${seen} runs after 30 s (expected ${n} first fires); measuring anyway`);
  await sleep(warmupS * 1000);
  const windowStart = Date.now() + 1;
  const windowEnd = windowStart + windowS * 1000;
  const loadBefore = loadLine();
  progress(`${mode} N=${n}: measuring ${windowS} s (${loadBefore})`);
  const pids: Record<string, number | undefined> = { server: rig.server.child.pid };
  for (const e of executors) pids[e.id] = e.pid;
  const machine = await watchWindow(windowEnd, pids);
  await sleep(windowEnd - Date.now() + graceS * 1000);
  const recordsBy = await Promise.all(executors.map((e) => e.records()));
  const records: Received[] = recordsBy.flat();
  const perExecutor = Object.fromEntries(executors.map((e, k) => [e.id, recordsBy[k]!.filter((r) => r.receivedAt >= windowStart && r.receivedAt < windowEnd).length / windowS]));
  const figures = analyseWindow(n, records, windowStart, windowEnd);
  // The server holds its SQLite file in exclusive locking mode: the store is read once it has stopped.
  const stopAt = Date.now();
  await rig.stop();
  const store = await readStoreWindow(rig.store, windowStart, windowEnd, stopAt);
  const storeCompletedPerSecond = (store.finishedByStatus.succeeded ?? 0) / windowS;
  progress(`${mode} N=${n}: handled ${Math.round(figures.achievedPerSecond)}/s (${executors.map((e) => `${e.id} ${Math.round(perExecutor[e.id]!)}`).join(', ')}), store ${Math.round(storeCompletedPerSecond)}/s succeeded; lag p50 ${figures.lag.p50} p99 ${figures.lag.p99} max ${figures.lag.max} ms; missed ${figures.missed}, duplicates ${figures.duplicates}; ${machine.cpuText}`);
  return { mode, n, ...figures, perExecutor, store, storeCompletedPerSecond, createPerSecond: created.perSecond, machine, loadBefore };
}

function gitRevision(): string {
  if (frozenAt) return `server at ${frozenAt} (frozen), SDK from the working tree (${gitHead()})`;
  return gitHead();
}

function gitHead(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages/server/src', 'packages/sdk/src', 'packages/contracts/src'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${head} + uncommitted changes in packages/*/src` : head;
  } catch {
    return 'unknown';
  }
}

const pct = (v: number | null | undefined): string => (v == null ? '-' : `${Math.round(v)}%`);

/** CPU µs that the named processes spent per run handled in the window (% of a core × 10,000 / runs per second). */
function cpuPerRun(r: LevelResult, names: string[]): string {
  const shares = names.map((name) => r.machine.cpuPct[name]);
  if (shares.some((v) => v == null) || r.achievedPerSecond <= 0) return '-';
  return String(Math.round((shares.reduce((a, b) => a! + b!, 0)! * 10_000) / r.achievedPerSecond));
}

function printMode(mode: string, results: LevelResult[]): void {
  console.log(`\n## ${mode} mode (${results[0]?.store ? (values.store === 'postgres' ? 'PostgreSQL' : 'SQLite') : ''} store, 2 SDK executors, ${windowS} s window)`);
  printTable(
    ['N tasks', 'offered/s', 'handled/s', 'exec-1/s', 'exec-2/s', 'store ok/s', 'lag p50 ms', 'p90', 'p99', 'max', 'missed', 'dup', 'fire→stored p50', 'p99', 'load 1m'],
    results.map((r) => [r.n, r.expectedPerSecond, Math.round(r.achievedPerSecond), Math.round(r.perExecutor['exec-1'] ?? 0), Math.round(r.perExecutor['exec-2'] ?? 0),
      Math.round(r.storeCompletedPerSecond), r.lag.p50, r.lag.p90, r.lag.p99, r.lag.max, r.missed, r.duplicates,
      fmt(r.store.fireToFinished.p50, 0), fmt(r.store.fireToFinished.p99, 0), r.loadBefore.split(' ')[2]!]),
  );
  console.log('CPU during the window, % of one core (2 vCPUs = 200 %), and CPU µs per run handled:');
  printTable(['N tasks', 'server', 'exec-1', 'exec-2', 'server µs/run', 'executors µs/run', 'machine busy', 'steal', 'noise p99 ms'],
    results.map((r) => [r.n, pct(r.machine.cpuPct.server), pct(r.machine.cpuPct['exec-1']), pct(r.machine.cpuPct['exec-2']),
      cpuPerRun(r, ['server']), cpuPerRun(r, EXECUTOR_IDS),
      pct(r.machine.busyPct === null ? null : 2 * r.machine.busyPct), r.machine.stealPct === null ? '-' : `${r.machine.stealPct.toFixed(1)}%`, fmt(r.machine.noise.p99, 1)]));
  for (const r of results) {
    const other = Object.entries(r.store.finishedByStatus).filter(([s]) => s !== 'succeeded');
    const pending = Object.entries(r.store.dueByStatus).filter(([s]) => s !== 'succeeded');
    console.log(`N=${r.n}: store: ended in the window ${JSON.stringify(r.store.finishedByStatus)}${other.length ? ' (not all succeeded)' : ''}, by executor ${JSON.stringify(r.store.succeededByExecutor)}; due in the window ${JSON.stringify(r.store.dueByStatus)}${pending.length ? ' (not all succeeded by the end of the grace; open = not ended then)' : ''}`);
    console.log(`N=${r.n}: ${r.machine.cpuText}; ${machineText(r.machine)}; ${r.loadBefore}; after: ${r.machine.loadAfter}`);
  }
}

async function main(): Promise<number> {
  const revision = gitRevision();
  console.log(`# executor-dispatch: 1 server (${values.store}), 2 SDK executor processes, N tasks every 1s → N runs/s; modes ${modes.join(', ')}; levels ${levels.join(', ')}; warm-up ${warmupS} s, window ${windowS} s, grace ${graceS} s${maxConcurrency === undefined ? '' : `; pull maxConcurrency ${maxConcurrency}`}`);
  console.log(`${machineLine()}; code ${revision}; server ${serverBin()}`);
  const results: LevelResult[] = [];
  for (const mode of modes) {
    for (const n of levels) {
      const result = await runLevel(mode, n);
      results.push(result);
      if (result.duplicates > 0 || crashes > 0) break;
      if (!values['all-levels'] && (result.achievedPerSecond < 0.8 * n || result.lag.p99 > 2000)) {
        progress(`${mode} N=${n} is saturated: not trying higher levels`);
        break;
      }
    }
  }
  for (const mode of modes) printMode(mode, results.filter((r) => r.mode === mode));

  const best: Record<string, { full: number; fast: number }> = {};
  for (const mode of modes) {
    const own = results.filter((r) => r.mode === mode && r.missed === 0 && r.achievedPerSecond >= 0.95 * r.n);
    best[mode] = { full: Math.max(0, ...own.map((r) => r.n)), fast: Math.max(0, ...own.filter((r) => r.lag.p99 < P99_BOUND_MS).map((r) => r.n)) };
  }
  const goalOf = (mode: string) => (best[mode]!.fast >= GOAL_RATE ? 'met' : levels.some((n) => n >= GOAL_RATE) ? 'NOT met' : 'not evaluated (no level that high)');
  console.log('');
  for (const mode of modes) {
    console.log(`${mode}: highest rate delivered in full (≥ 95 % handled, nothing missed): ${best[mode]!.full || 'none'} runs/s; with lag p99 < ${P99_BOUND_MS} ms too: ${best[mode]!.fast || 'none'}; goal ≥ ${GOAL_RATE}/s: ${goalOf(mode)}`);
  }
  console.log('handled = handler calls in the window / window; lag = handler start − scheduledAt; store ok = runs that ended succeeded in the window (finished_at) / window; fire→stored = finished_at − scheduled_at of the succeeded runs due in the window');

  const duplicates = results.reduce((sum, r) => sum + r.duplicates, 0);
  const failures = [...(duplicates > 0 ? [`${duplicates} duplicates`] : []), ...(crashes > 0 ? [`${crashes} processes crashed`] : [])];
  const summary = {
    scenario: 'executor-dispatch', quick, store: values.store, windowS,
    levels: results.map((r) => ({ mode: r.mode, n: r.n, handled: Math.round(r.achievedPerSecond), stored: Math.round(r.storeCompletedPerSecond), p50: r.lag.p50, p99: r.lag.p99, missed: r.missed, duplicates: r.duplicates })),
    best, goal: Object.fromEntries(modes.map((m) => [m, goalOf(m)])), failures,
  };
  const file = values.json ?? (quick ? join(tmpdir(), 'executor-dispatch-quick.json') : join(REPO_ROOT, 'bench/results', `executor-dispatch-${new Date().toISOString().slice(0, 16).replace(':', '-')}.json`));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({
    ...summary, revision, machine: machineLine(), at: new Date().toISOString(), warmupS, graceS, maxConcurrency: maxConcurrency ?? 'sdk default',
    results: results.map((r) => ({ ...r, lag: r.lag, machine: { ...r.machine, noise: r.machine.noise } })),
  }, null, 2)}\n`);
  console.log(`figures written to ${file}`);
  printResult(summary);
  if (failures.length > 0) {
    console.error(`executor-dispatch: FAILED: ${failures.join(', ')}`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
