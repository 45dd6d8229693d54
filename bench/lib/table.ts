/** Plain-text tables and the machine-readable result line of each benchmark script. */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

/** Prints a table with a header row; numbers are right-aligned, text left-aligned. */
export function printTable(headers: string[], rows: (string | number)[][], out: (line: string) => void = console.log): void {
  const cells = rows.map((row) => row.map(String));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: string[], numeric: boolean[]) => row.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number' || /^-?[\d.]+%?$|^-$/.test(String(row[i]))));
  out(line(headers, numeric));
  out(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) out(line(row, numeric));
}

/** Prefix of the one line per script that `run-all.ts` collects. */
export const RESULT_PREFIX = 'BENCH_RESULT ';

export function printResult(result: Record<string, unknown>): void {
  console.log(`${RESULT_PREFIX}${JSON.stringify(result)}`);
}

export function machineLine(): string {
  const cpu = cpus();
  return `node ${process.version}, ${cpu.length} CPU (${cpu[0]?.model.trim() ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`;
}

/** The machine's load averages: other processes on a shared machine skew the figures. */
export function loadLine(): string {
  return `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1/5/15 min, ${cpus().length} CPUs)`;
}

/** A timestamped progress line on stderr (stdout carries the figures). */
export function progress(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${message}\n`);
}

/** Aggregate CPU counters of the machine (Linux /proc/stat), to tell how loaded it was meanwhile. */
export interface CpuSnapshot {
  busy: number;
  steal: number;
  total: number;
}

export function cpuSnapshot(): CpuSnapshot | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    return { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
  } catch {
    return null;
  }
}

/** "machine CPU busy X% (all processes, these benchmarks included), steal Y%" between two snapshots. */
export function cpuLine(from: CpuSnapshot | null, to: CpuSnapshot | null = cpuSnapshot()): string {
  if (!from || !to || to.total <= from.total) return 'machine CPU: unknown';
  const total = to.total - from.total;
  return `machine CPU busy ${((100 * (to.busy - from.busy)) / total).toFixed(0)}% (all processes, the benchmark's included), steal ${((100 * (to.steal - from.steal)) / total).toFixed(1)}%`;
}
