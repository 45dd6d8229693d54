/**
 * A measurement window over tasks `every: 1s` (bench/sustained.ts, bench/cluster-throughput.ts):
 * what happened on the machine during the window (process CPU, machine busy/steal, the driver's
 * own timer lateness), and what the executor received for the fires due in it.
 */
import { countDuplicates, type Received } from './api.ts';
import { fmt, measureTimerLateness, summarize, type Summary } from './stats.ts';
import { cpuShares, cpuSnapshot, loadLine, ProcessCpu } from './table.ts';

export interface WindowFigures {
  expectedPerSecond: number;
  /** Deliveries received during the window, per second. */
  achievedPerSecond: number;
  /** Distinct fires due in the window and delivered (by the time the records were read). */
  delivered: number;
  expected: number;
  missed: number;
  duplicates: number;
  retries: number;
  /** Receipt at the executor − scheduledAt, over the fires due in the window. */
  lag: Summary;
}

/**
 * The fires of `n` tasks every `periodMs` due in [windowStart, windowEnd): every task has exactly
 * (window / period) instants in a window of whole periods.
 */
export function analyseWindow(n: number, records: Received[], windowStart: number, windowEnd: number, periodMs = 1000): WindowFigures {
  const seconds = (windowEnd - windowStart) / 1000;
  const fires = new Set<string>();
  const lags: number[] = [];
  let receivedInWindow = 0;
  for (const r of records) {
    if (r.event !== 'run') continue;
    if (r.receivedAt >= windowStart && r.receivedAt < windowEnd) receivedInWindow += 1;
    if (!(r.scheduledAt >= windowStart && r.scheduledAt < windowEnd)) continue;
    const key = `${r.taskId}@${r.scheduledAt}`;
    if (fires.has(key)) continue;
    fires.add(key);
    lags.push(r.receivedAt - r.scheduledAt);
  }
  const expected = Math.round((n * (windowEnd - windowStart)) / periodMs);
  const dup = countDuplicates(records);
  return {
    expectedPerSecond: (n * 1000) / periodMs, achievedPerSecond: receivedInWindow / seconds, delivered: fires.size, expected,
    missed: Math.max(0, expected - fires.size), duplicates: dup.byRun + dup.byFire, retries: dup.retries, lag: summarize(lags),
  };
}

export interface MachineFigures {
  /** Per process: % of one core over the window. */
  cpuPct: Record<string, number | null>;
  /** e.g. "server 97% of a core (2.9 s CPU: …), executor …". */
  cpuText: string;
  busyPct: number | null;
  stealPct: number | null;
  /** How late the driver's own timers woke up (the machine's noise floor). */
  noise: Summary;
  loadBefore: string;
  loadAfter: string;
}

/**
 * Watches the machine until `windowEnd` (epoch ms): CPU of the processes in `pids` (name → pid),
 * the machine's busy and steal shares, the noise floor, the load average before and after.
 */
export async function watchWindow(windowEnd: number, pids: Record<string, number | undefined>): Promise<MachineFigures> {
  const loadBefore = loadLine();
  const cpuBefore = cpuSnapshot();
  const started = performance.now();
  const processes = new ProcessCpu(pids);
  const noise = await measureTimerLateness(windowEnd);
  const elapsed = performance.now() - started;
  const shares = cpuShares(cpuBefore);
  const cpuPct = Object.fromEntries(Object.keys(pids).map((name) => {
    const used = processes.usedMs(name);
    return [name, used === null ? null : (100 * used) / elapsed];
  }));
  return { cpuPct, cpuText: processes.line(), busyPct: shares?.busyPct ?? null, stealPct: shares?.stealPct ?? null, noise, loadBefore, loadAfter: loadLine() };
}

/** "machine CPU busy X%, steal Y%; noise floor p99 … ms, max … ms". */
export function machineText(m: MachineFigures): string {
  const shares = m.busyPct === null ? 'machine CPU: unknown' : `machine CPU busy ${m.busyPct.toFixed(0)}% (all processes, the benchmark's included), steal ${m.stealPct!.toFixed(1)}%`;
  return `${shares}; noise floor (idle-process timer lateness) p99 ${fmt(m.noise.p99, 1)} ms, max ${fmt(m.noise.max, 1)} ms`;
}
