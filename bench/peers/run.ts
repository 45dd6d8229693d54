/**
 * The side-by-side benchmark: the same workloads, on this machine, for ecron and its Node peers
 * (pg-boss, BullMQ, graphile-worker), in one run. Each cell (system × workload × repetition) runs
 * in a fresh driver process (bench/peers/driver.ts); repetitions are interleaved, and the order
 * of the systems rotates from one repetition to the next. While a cell runs, this (idle) process
 * measures the noise floor (its own timer lateness) and the machine's CPU steal.
 *
 *   node bench/peers/run.ts [--quick] [--workloads w1,w2,w3,w4] [--systems ecron-sdk,pg-boss,...]
 *     [--repeat 3] [--w1-n 20000] [--w2-rate 200] [--w2-seconds 20] [--w3-n 1000,10000]
 *     [--w3-repeat 1] [--w4-n 1000000] [--json FILE] [--ecron-rev HEAD|REV|worktree]
 *   npm run bench:peers [-- --quick]
 *
 * Systems: ecron-sdk (handler in an SDK executor process, push), ecron-stream (the same, over the stream), ecron-inproc (server and SDK executor in
 * one process), ecron-http (bare HTTP listener as the executor), ecron-pg (as ecron-http, on
 * PostgreSQL), pg-boss, bullmq, graphile-worker (see common.ts and systems/).
 *
 * Prints, per workload, the median of each figure with its min–max over the repetitions, and each
 * system's ratio to ecron SDK (to the first ecron mode run, when ecron-sdk is not). Exits 1 when a
 * cell crashed or reported duplicate, missing, early or unknown jobs; timings are never judged.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isStopping, spawnTracked, startWatchdog, waitForExit } from '../lib/children.ts';
import { fmt, measureTimerLateness, summarize } from '../lib/stats.ts';
import { cpuShares, cpuSnapshot, loadLine, machineLine, printTable, progress, RESULT_PREFIX } from '../lib/table.ts';
import { snapshotServer } from '../lib/snapshot.ts';
import { SYSTEMS, type SystemId } from './common.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    workloads: { type: 'string' },
    systems: { type: 'string' },
    repeat: { type: 'string' },
    'w1-n': { type: 'string' },
    'w2-rate': { type: 'string' },
    'w2-seconds': { type: 'string' },
    'w3-n': { type: 'string' },
    'w3-repeat': { type: 'string' },
    'w4-n': { type: 'string' },
    json: { type: 'string' },
    'ecron-rev': { type: 'string', default: 'HEAD' },
  },
});
const quick = values.quick;
const workloads = (values.workloads ?? 'w1,w2,w3,w4').split(',');
const systems = (values.systems ?? SYSTEMS.join(',')).split(',') as SystemId[];
for (const s of systems) if (!SYSTEMS.includes(s)) throw new Error(`--systems: ${s} is not one of ${SYSTEMS.join(', ')}`);
const repeat = Number(values.repeat ?? (quick ? 1 : 3));
const w1n = Number(values['w1-n'] ?? (quick ? 500 : 20_000));
const w2rate = Number(values['w2-rate'] ?? (quick ? 100 : 200));
const w2seconds = Number(values['w2-seconds'] ?? (quick ? 1 : 20));
const w3ns = (values['w3-n'] ?? (quick ? '100' : '1000,10000')).split(',').map(Number);
const w3repeat = Number(values['w3-repeat'] ?? 1);
const w4n = Number(values['w4-n'] ?? (quick ? 1000 : 1_000_000));
startWatchdog((quick ? 6 : 240) * 60_000, 'bench:peers');

/** Systems whose finest recurring interval is a minute: in --quick, W3 and W4 would wait for a minute boundary. */
const MINUTE_SYSTEMS: SystemId[] = ['pg-boss', 'graphile-worker'];
/**
 * In --quick, these ecron modes run W1 and W4 only (their one-shot, API and bulk paths, and their
 * restart); ecron-sdk runs every workload. Keeps the CI run near 3 minutes.
 */
const QUICK_W1_W4_ONLY: SystemId[] = ['ecron-inproc', 'ecron-http', 'ecron-pg'];
/** The system the ratios are taken to: ecron with its handler in an SDK executor process, or the first ecron mode run. */
const REFERENCE = (['ecron-sdk', 'ecron-stream', 'ecron-inproc', 'ecron-http', 'ecron-pg'] as SystemId[]).find((s) => systems.includes(s));
/** A cell's time limit, s: W4 registers up to a million schedules (BullMQ through its API). */
const cellTimeoutS = (workload: string): number => (quick ? 90 : workload === 'w4' ? 1800 : 900);

interface Cell {
  workload: string;
  label: string;
  system: SystemId;
  rep: number;
  args: string[];
}

interface Outcome extends Cell {
  exitCode: number | null;
  seconds: number;
  noiseP99: number;
  stealPct: number | null;
  result: { name: string; mode: string; config: Record<string, unknown>; recurring: Record<string, unknown>; metrics: Record<string, number | string | null>; failures: string[] } | null;
  /** The driver's first error line, quoted in the FAILED summary (CI logs often keep only the tail). */
  error: string | null;
}

/** Rotates the systems by `rep`, so that no system always runs first (or right after another). */
const rotated = (rep: number): SystemId[] => systems.map((_, i) => systems[(i + rep) % systems.length]!);

function plan(): Cell[] {
  const cells: Cell[] = [];
  const add = (workload: string, label: string, rep: number, args: string[], skip: (s: SystemId) => boolean = () => false) => {
    for (const system of rotated(rep)) if (!skip(system)) cells.push({ workload, label, system, rep, args: ['--workload', workload, ...args] });
  };
  const skipMinute = (s: SystemId) => quick && MINUTE_SYSTEMS.includes(s);
  const skipQuick = (s: SystemId) => quick && QUICK_W1_W4_ONLY.includes(s);
  for (let rep = 0; rep < repeat; rep++) {
    if (workloads.includes('w1')) add('w1', `W1 burst: ${w1n} jobs due at T`, rep, ['--n', String(w1n)]);
    if (workloads.includes('w2')) add('w2', `W2 precision: ${w2rate}/s over ${w2seconds} s`, rep, ['--n', String(w2rate), '--seconds', String(w2seconds)], skipQuick);
  }
  for (let rep = 0; rep < w3repeat; rep++) {
    if (workloads.includes('w3')) {
      for (const n of w3ns) {
        add('w3', `W3 recurring: ${n} schedules at the finest interval`, rep, ['--n', String(n), ...(quick ? ['--occurrences', '3', '--warmup-ms', '2000'] : [])], (s) => skipMinute(s) || skipQuick(s));
      }
    }
  }
  if (workloads.includes('w4')) add('w4', `W4 scale: ${w4n} schedules (1 at the finest interval, the rest daily)`, 0, ['--n', String(w4n), '--bulk'], skipMinute);
  return cells;
}

const here = dirname(fileURLToPath(import.meta.url));

async function runCell(cell: Cell, index: number, total: number): Promise<Outcome> {
  progress(`cell ${index + 1}/${total}: ${cell.system} ${cell.label} (rep ${cell.rep + 1}) (${loadLine()})`);
  const started = performance.now();
  const timeoutS = cellTimeoutS(cell.workload);
  const child = spawnTracked(process.execPath, [join(here, 'driver.ts'), '--system', cell.system, ...cell.args, '--timeout-s', String(timeoutS)], { stdio: ['ignore', 'pipe', 'pipe'] }, 'SIGTERM');
  let result: Outcome['result'] = null;
  let error: string | null = null;
  child.stderr!.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    error ??= chunk.toString('utf8').split('\n').find((line) => /\berror\b/i.test(line))?.trim().slice(0, 300) ?? null;
  });
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith(RESULT_PREFIX)) result = JSON.parse(line.slice(RESULT_PREFIX.length)) as Outcome['result'];
      else if (line.trim()) process.stderr.write(`  ${line}\n`);
    }
  });
  const cpuBefore = cpuSnapshot();
  let exited = false;
  const exit = waitForExit(child, (timeoutS + (quick ? 10 : 60)) * 1000).then((r) => {
    exited = true;
    return r;
  });
  const noise = await measureTimerLateness(() => exited);
  const { code } = await exit;
  const shares = cpuShares(cpuBefore);
  return { ...cell, exitCode: code, seconds: (performance.now() - started) / 1000, noiseP99: noise.p99, stealPct: shares ? shares.stealPct : null, result, error };
}

/** "median (min–max)" of a figure over the repetitions; the median alone when they agree or there is one. */
function spread(values: number[], digits = 0): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return '-';
  const s = summarize(finite);
  const median = percentileMedian(finite);
  const f = (v: number) => fmt(Number(v.toFixed(digits)), digits);
  return s.min === s.max ? f(median) : `${f(median)} (${f(s.min)}–${f(s.max)})`;
}

function percentileMedian(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Column {
  header: string;
  metric: string;
  digits?: number;
}

/** Per workload: the figures shown, and the one each system's ratio to ecron is taken of. */
const COLUMNS: Record<string, { columns: Column[]; ratioOf: string; ratioLabel: string }> = {
  w1: {
    columns: [
      { header: 'enqueue/s', metric: 'enqueuePerS' }, { header: 'first ms', metric: 'firstMs' }, { header: 'last ms', metric: 'lastMs' },
      { header: 'jobs/s', metric: 'throughputPerS' }, { header: 'lag p50', metric: 'lagP50' }, { header: 'p99', metric: 'lagP99' }, { header: 'max', metric: 'lagMax' },
      { header: 'dup', metric: 'duplicates' }, { header: 'missing', metric: 'missing' },
    ],
    ratioOf: 'lastMs', ratioLabel: 'last',
  },
  w2: {
    columns: [
      { header: 'lag p50 ms', metric: 'lagP50' }, { header: 'p90', metric: 'lagP90' }, { header: 'p99', metric: 'lagP99' }, { header: 'max', metric: 'lagMax' },
      { header: 'early', metric: 'early' }, { header: 'dup', metric: 'duplicates' }, { header: 'missing', metric: 'missing' },
    ],
    ratioOf: 'lagP99', ratioLabel: 'p99',
  },
  w3: {
    columns: [
      { header: 'interval ms', metric: 'intervalMs' }, { header: 'register/s', metric: 'registerPerS' }, { header: 'expected/s', metric: 'expectedPerS', digits: 1 },
      { header: 'achieved/s', metric: 'achievedPerS', digits: 1 }, { header: 'lag p50 ms', metric: 'lagP50' }, { header: 'p99', metric: 'lagP99' }, { header: 'max', metric: 'lagMax' },
      { header: 'missed', metric: 'missed' }, { header: 'dup', metric: 'duplicates' }, { header: 'early', metric: 'early' },
    ],
    ratioOf: 'lagP99', ratioLabel: 'p99',
  },
  w4: {
    columns: [
      { header: 'register/s', metric: 'registerPerS' }, { header: 'ready ms', metric: 'readyMs' }, { header: 'first fire ms', metric: 'firstFireMs' },
      { header: 'its lag ms', metric: 'firstFireLagMs' }, { header: 'RSS MB', metric: 'rssMb' }, { header: 'handler RSS MB', metric: 'handlerRssMb' },
      { header: 'store MB', metric: 'storeMb', digits: 1 },
      { header: 'list 100 ms', metric: 'listP50Ms', digits: 1 },
    ],
    ratioOf: 'rssMb', ratioLabel: 'RSS',
  },
};

function report(outcomes: Outcome[]): void {
  const labels = [...new Set(outcomes.map((o) => o.label))];
  for (const label of labels) {
    const cells = outcomes.filter((o) => o.label === label);
    const layout = COLUMNS[cells[0]!.workload]!;
    console.log(`\n### ${label}\n`);
    const bySystem = systems.map((s) => cells.filter((c) => c.system === s)).filter((c) => c.length > 0);
    const figure = (cs: Outcome[], metric: string) => cs.map((c) => Number(c.result?.metrics[metric] ?? NaN));
    const ecron = bySystem.find((cs) => cs[0]!.system === REFERENCE);
    const ecronRef = ecron ? percentileMedian(figure(ecron.filter((c) => c.result && !c.result.metrics.invalid), layout.ratioOf).filter(Number.isFinite)) : NaN;
    const referenceName = ecron?.find((c) => c.result)?.result?.name ?? REFERENCE ?? 'ecron';
    printTable(
      ['system', 'runs', ...layout.columns.map((c) => c.header), `${layout.ratioLabel} ÷ ${referenceName}`, 'noise p99 ms', 'steal %'],
      bySystem.map((cs) => {
        // A cell whose enqueueing overran the due instant measured something else: counted apart.
        const ok = cs.filter((c) => c.result && !c.result.metrics.invalid);
        const invalid = cs.filter((c) => c.result?.metrics.invalid).length;
        const mine = percentileMedian(figure(ok, layout.ratioOf).filter(Number.isFinite));
        const ratio = Number.isFinite(mine) && Number.isFinite(ecronRef) && ecronRef > 0 ? `${(mine / ecronRef).toFixed(2)}×` : '-';
        const crashed = cs.length - ok.length - invalid;
        return [
          cs[0]!.result?.name ?? cs[0]!.system, `${ok.length}${crashed ? ` (+${crashed} crashed)` : ''}${invalid ? ` (+${invalid} invalid)` : ''}`,
          ...layout.columns.map((c) => spread(figure(ok, c.metric), c.digits ?? 0)),
          ratio, spread(cs.map((c) => c.noiseP99), 1), spread(cs.map((c) => c.stealPct ?? NaN), 1),
        ];
      }),
    );
  }
}

function describeSystems(outcomes: Outcome[]): void {
  console.log('\n### Systems and settings\n');
  const seen = new Set<string>();
  for (const o of outcomes) {
    if (!o.result || seen.has(o.system)) continue;
    seen.add(o.system);
    const r = o.result;
    console.log(`- ${r.name} (${r.mode}): ${Object.entries(r.config).map(([k, v]) => `${k} ${v}`).join(', ')}; finest recurring interval ${r.recurring.minInterval}; time zones ${r.recurring.timezones}`);
  }
  const methods = new Map<string, string>();
  for (const o of outcomes) if (o.result?.metrics.registerMethod) methods.set(`${o.result.name} ${o.workload.toUpperCase()}`, String(o.result.metrics.registerMethod));
  for (const [what, method] of methods) console.log(`- registration, ${what}: ${method}`);
}

// ecron is measured at a frozen revision (others change the working tree meanwhile), unless
// ECRON_BENCH_BIN names a server already, or --ecron-rev worktree asks for the working tree.
// The SDK executors (ecron-sdk, ecron-inproc) run the same copy's packages/sdk when it has one.
let ecronCode = `working tree${process.env.ECRON_BENCH_BIN ? ` (${process.env.ECRON_BENCH_BIN})` : ''}`;
if (!process.env.ECRON_BENCH_BIN && values['ecron-rev'] !== 'worktree') {
  const snapshot = snapshotServer(values['ecron-rev']);
  process.env.ECRON_BENCH_BIN = snapshot.bin;
  ecronCode = `commit ${snapshot.commit}, server and SDK (snapshot in ${dirname(dirname(dirname(snapshot.bin)))})`;
}
const cells = plan();
console.log(`# bench:peers${quick ? ' --quick' : ''}: ${cells.length} cells; ecron at ${ecronCode}; ${machineLine()}; ${loadLine()}`);
const outcomes: Outcome[] = [];
for (const [i, cell] of cells.entries()) {
  if (isStopping()) break;
  outcomes.push(await runCell(cell, i, cells.length));
}
if (isStopping()) await new Promise(() => {}); // the signal handler exits once the children are stopped

console.log(`\n## Results (ecron at ${ecronCode}; ${machineLine()}; ${loadLine()})`);
if (quick) console.log(`quick run: small sizes, to keep the harness working; minute-interval peers are left out of W3 and W4, and ${QUICK_W1_W4_ONLY.join(', ')} run W1 and W4 only. Timings are printed, never judged.`);
console.log('Figures: median of the repetitions, (min–max) when they differ. Times in ms from the due instant to the handler start (ecron SDK and in-process: the SDK\'s call of the handler; ecron bare HTTP and PostgreSQL: the listener\'s receipt of the request).');
report(outcomes);
describeSystems(outcomes);
const failed = outcomes.filter((o) => o.exitCode !== 0);
for (const o of outcomes) if (o.result?.metrics.invalid) console.log(`INVALID (left out of the figures): ${o.system} ${o.label} rep ${o.rep + 1}: ${o.result.metrics.invalid}`);
for (const o of failed) console.log(`FAILED: ${o.system} ${o.label} rep ${o.rep + 1}: exit ${o.exitCode}${o.result?.failures.length ? `, ${o.result.failures.join(', ')}` : ''}${o.error ? ` (${o.error})` : ''}`);
if (values.json) writeFileSync(values.json, JSON.stringify(outcomes, null, 2));
process.exitCode = failed.length > 0 ? 1 : 0;
