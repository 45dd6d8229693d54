/** Plain-text tables and the machine-readable result line of each benchmark script. */
import { readdirSync, readFileSync } from 'node:fs';
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

/** The machine's CPU busy and steal percentages between two snapshots; null when unknown. */
export function cpuShares(from: CpuSnapshot | null, to: CpuSnapshot | null = cpuSnapshot()): { busyPct: number; stealPct: number } | null {
  if (!from || !to || to.total <= from.total) return null;
  const total = to.total - from.total;
  return { busyPct: (100 * (to.busy - from.busy)) / total, stealPct: (100 * (to.steal - from.steal)) / total };
}

/** "machine CPU busy X% (all processes, these benchmarks included), steal Y%" between two snapshots. */
export function cpuLine(from: CpuSnapshot | null, to: CpuSnapshot | null = cpuSnapshot()): string {
  const shares = cpuShares(from, to);
  if (!shares) return 'machine CPU: unknown';
  return `machine CPU busy ${shares.busyPct.toFixed(0)}% (all processes, the benchmark's included), steal ${shares.stealPct.toFixed(1)}%`;
}

/** CPU time (ms) a process has used so far, user and system (Linux /proc; null elsewhere). */
export function processCpuMs(pid: number | undefined): { user: number; system: number } | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime), in clock ticks of 10 ms (USER_HZ = 100 on Linux).
    return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
  } catch {
    return null;
  }
}

/** CPU use of the server and the executor between two readings, as "% of one core". */
export class ProcessCpu {
  readonly #pids: Record<string, number | undefined>;
  readonly #start: Record<string, { user: number; system: number } | null>;
  readonly #at = performance.now();

  constructor(pids: Record<string, number | undefined>) {
    this.#pids = pids;
    this.#start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpuMs(pid)]));
  }

  /** e.g. "server 97% of a core (2.9 s CPU: 2.1 user, 0.8 system)" per process, over the elapsed time. */
  line(): string {
    const elapsed = performance.now() - this.#at;
    return Object.keys(this.#pids).map((name) => {
      const used = this.#used(name);
      if (used === null) return `${name} CPU unknown`;
      const total = used.user + used.system;
      return `${name} ${Math.round((100 * total) / elapsed)}% of a core (${(total / 1000).toFixed(1)} s CPU: ${(used.user / 1000).toFixed(1)} user, ${(used.system / 1000).toFixed(1)} system)`;
    }).join(', ');
  }

  /** CPU ms (user + system) used by `name` since the start. */
  usedMs(name: string): number | null {
    const used = this.#used(name);
    return used === null ? null : used.user + used.system;
  }

  #used(name: string): { user: number; system: number } | null {
    const start = this.#start[name];
    const now = processCpuMs(this.#pids[name]);
    return start == null || now === null ? null : { user: now.user - start.user, system: now.system - start.system };
  }
}

/** CPU time (ms, user + system) of every process whose command name is `comm` (e.g. 'postgres': all its backends), by pid. */
export function cpuMsByCommand(comm: string): Map<number, number> {
  const found = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return found;
  }
  for (const name of entries) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== comm) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      found.set(Number(name), (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** CPU ms used by the processes named `comm` between two {@link cpuMsByCommand} readings (processes present in both). */
export function cpuMsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? ms);
  return total;
}
