/**
 * Sustained load: N tasks each `every: 1s`, for increasing N. For each N, a fresh server is
 * started, the N tasks are created (their phases spread over the second by their creation times),
 * and after a warm-up the fires due in a measurement window are checked: fires/s achieved vs
 * expected (N/s), fire lag p50/p99/max (receipt at the executor − scheduledAt), duplicates and
 * missed fires (due in the window but not delivered within the grace period after it).
 * Reports the highest rate with p99 < 50 ms (goal ≥ 5,000 fires/s).
 *
 *   node bench/sustained.ts [--quick] [--levels 1000,2000,5000] [--window-s 15] [--warmup-s 5] [--cpu-prof] [--dump-dir DIR]
 *
 * Levels stop early once one is saturated (achieved < 80% of expected, or lag p99 > 2 s).
 * Exits 1 on a duplicate delivery.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EcronApi } from './lib/api.ts';
import { sleep, startWatchdog } from './lib/children.ts';
import { commonFlags, COMMON_OPTIONS, startExecutor, startServer } from './lib/setup.ts';
import { fmt } from './lib/stats.ts';
import { loadLine, machineLine, printResult, printTable, progress } from './lib/table.ts';
import { analyseWindow, machineText, watchWindow, type WindowFigures } from './lib/window.ts';

const { values } = parseArgs({
  options: {
    ...COMMON_OPTIONS,
    levels: { type: 'string' },
    'window-s': { type: 'string' },
    'warmup-s': { type: 'string' },
    'grace-s': { type: 'string', default: '3' },
    'dump-dir': { type: 'string' },
  },
});
const flags = commonFlags(values);
const levels = (values.levels ?? (flags.quick ? '200' : '1000,2000,3000,4000,5000,6000,8000,10000')).split(',').map(Number);
const windowS = Number(values['window-s'] ?? (flags.quick ? 5 : 15));
const warmupS = Number(values['warmup-s'] ?? (flags.quick ? 3 : 5));
const graceS = Number(values['grace-s']);
if (levels.some((n) => !Number.isInteger(n) || n < 1 || n > 100_000)) throw new Error('--levels: integers 1..100000');
if (!Number.isInteger(windowS) || windowS < 1 || windowS > 600) throw new Error('--window-s: whole seconds 1..600');
if (!(warmupS >= 0 && warmupS <= 600) || !(graceS >= 0 && graceS <= 120)) throw new Error('--warmup-s / --grace-s out of range');
startWatchdog(flags.quick ? 120_000 : 45 * 60_000, 'sustained');

const GOAL_RATE = 5000;
const P99_BOUND_MS = 50;

interface LevelResult extends WindowFigures {
  n: number;
  created: number;
  createPerSecond: number;
  noiseP99: number;
  load: string;
}

async function runLevel(n: number, received: Awaited<ReturnType<typeof startExecutor>>['received'], runUrl: string, executorPid: number | undefined): Promise<LevelResult> {
  await received.reset();
  const server = await startServer(flags);
  const api = new EcronApi(server.url, server.token);
  try {
    progress(`N=${n}: creating ${n} tasks every 1s`);
    const created = await api.createTasks(n, (i) => ({
      name: `sustained-${i}`, schedule: { every: '1s' }, target: { type: 'http', url: runUrl },
    }), { onProgress: (done) => progress(`  ${done}/${n} created`) });
    progress(`N=${n}: created in ${Math.round(created.ms)} ms (${Math.round(created.perSecond)}/s); warm-up ${warmupS} s`);
    await sleep(warmupS * 1000);
    const windowStart = Date.now() + 1;
    const windowEnd = windowStart + windowS * 1000;
    progress(`N=${n}: measuring ${windowS} s (${loadLine()})`);
    const machine = await watchWindow(windowEnd, { server: server.child.pid, executor: executorPid });
    await sleep(windowEnd - Date.now() + graceS * 1000);
    const { records } = await received.records();
    if (values['dump-dir']) mkdirSync(values['dump-dir'], { recursive: true });
    if (values['dump-dir']) writeFileSync(join(values['dump-dir'], `sustained-${n}.json`), JSON.stringify({ windowStart, windowEnd, records }));
    const result = { n, ...analyseWindow(n, records, windowStart, windowEnd) };
    progress(`N=${n}: ${Math.round(result.achievedPerSecond)} fires/s, lag p50 ${result.lag.p50} p99 ${result.lag.p99} max ${result.lag.max} ms, missed ${result.missed}, duplicates ${result.duplicates}`);
    return { ...result, created: created.ids.length, createPerSecond: created.perSecond, noiseP99: machine.noise.p99, load: `${machine.cpuText}; ${machineText(machine)}; ${machine.loadBefore}; after: ${machine.loadAfter}` };
  } finally {
    await api.close().catch(() => {});
    await server.stop();
  }
}

async function main(): Promise<number> {
  console.log(`# sustained: N tasks every 1s, levels ${levels.join(', ')}; warm-up ${warmupS} s, window ${windowS} s, grace ${graceS} s (${machineLine()})`);
  const { executor, received } = await startExecutor();
  const results: LevelResult[] = [];
  try {
    for (const n of levels) {
      const result = await runLevel(n, received, executor.runUrl, executor.child.pid);
      results.push(result);
      if (result.achievedPerSecond < 0.8 * n || result.lag.p99 > 2000) {
        progress(`N=${n} is saturated: not trying higher levels`);
        break;
      }
    }
  } finally {
    await executor.stop();
  }

  console.log('');
  printTable(
    ['N tasks', 'expected/s', 'achieved/s', 'lag p50 ms', 'p90', 'p99', 'max', 'delivered', 'missed', 'duplicates', 'retries', 'create/s', 'noise p99 ms'],
    results.map((r) => [r.n, r.expectedPerSecond, Math.round(r.achievedPerSecond), r.lag.p50, r.lag.p90, r.lag.p99, r.lag.max, r.delivered, r.missed, r.duplicates, r.retries, Math.round(r.createPerSecond), fmt(r.noiseP99, 1)]),
  );
  for (const r of results) console.log(`N=${r.n}: ${r.load}`);
  const ok = results.filter((r) => r.lag.p99 < P99_BOUND_MS && r.missed === 0 && r.achievedPerSecond >= 0.95 * r.n);
  const best = ok.length > 0 ? Math.max(...ok.map((r) => r.n)) : 0;
  const goal = best >= GOAL_RATE ? 'met' : levels.some((n) => n >= GOAL_RATE) ? 'NOT met' : 'not evaluated (no level that high)';
  console.log(`\nhighest rate with lag p99 < ${P99_BOUND_MS} ms (and nothing missed): ${best > 0 ? `${best} fires/s` : 'none of the levels'}; goal ≥ ${GOAL_RATE}/s: ${goal}`);
  console.log(`lag = receipt at the executor − scheduledAt; achieved = deliveries received during the ${windowS} s window / ${windowS}`);
  const duplicates = results.reduce((sum, r) => sum + r.duplicates, 0);
  const failures = duplicates > 0 ? [`${duplicates} duplicates`] : [];
  printResult({
    scenario: 'sustained', quick: flags.quick, windowS,
    levels: results.map((r) => ({ n: r.n, achieved: Math.round(r.achievedPerSecond), p50: r.lag.p50, p99: r.lag.p99, max: r.lag.max, missed: r.missed, duplicates: r.duplicates, noiseP99: Number(r.noiseP99.toFixed(1)) })),
    bestRate: best, goal, goalMet: best >= GOAL_RATE, failures,
  });
  if (failures.length > 0) {
    console.error(`sustained: FAILED: ${failures.join(', ')}`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
