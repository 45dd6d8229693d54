/**
 * One markdown table from the JSON files of several chaos runs (`run.ts --out FILE`), one column
 * per run, for docs/reliability.md.
 *
 *   node bench/chaos/summarize.ts a.json b.json …
 */
import { readFileSync } from 'node:fs';
import { fmt } from '../lib/stats.ts';
import type { DeliveryFigures } from './analyze.ts';
import type { StoreFigures } from './store-report.ts';

interface RunFile {
  command: string;
  fault: string;
  store: string;
  tasks: number;
  catchUpMs: number;
  load: string;
  cpu: string;
  failedRestarts?: string[];
  figures: DeliveryFigures;
  storeFigures: StoreFigures | { error: string };
  processes: { end: string | null; maxRssBytes: number }[];
}

const runs = process.argv.slice(2).map((file) => JSON.parse(readFileSync(file, 'utf8')) as RunFile);
const ms = (value: number | null) => (value !== null && Number.isFinite(value) ? `${fmt(value / 1000, 1)} s` : 'never');
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]!;
};
const rows: [string, (run: RunFile) => string][] = [
  ['faults', (r) => `${r.figures.faults.length} × ${r.fault}`],
  ['fires expected', (r) => r.figures.expected.toLocaleString('en')],
  ['fires recorded (runs in the store)', (r) => ('recorded' in r.storeFigures ? r.storeFigures.recorded.toLocaleString('en') : 'n/a')],
  ['fires delivered', (r) => r.figures.delivered.toLocaleString('en')],
  ['**duplicate fires**', (r) => String(r.figures.duplicateFires + ('duplicateFires' in r.storeFigures ? r.storeFigures.duplicateFires : 0))],
  ['duplicate deliveries', (r) => String(r.figures.duplicateDeliveries)],
  ['**missed fires**', (r) => `${r.figures.missed.toLocaleString('en')}${r.figures.expected ? ` (${fmt((100 * r.figures.missed) / r.figures.expected, 2)} %)` : ''}`],
  ['runs by status at the end', (r) => ('recordedByStatus' in r.storeFigures ? Object.entries(r.storeFigures.recordedByStatus).map(([s, n]) => `${s} ${n.toLocaleString('en')}`).join(', ') : 'n/a')],
  ['longest gap per task: p99 / max', (r) => `${ms(r.figures.longestGapMs.p99)} / ${ms(r.figures.longestGapMs.max)}`],
  ['fire lag p50 / p99', (r) => `${fmt(r.figures.lagMs.p50, 0)} ms / ${r.figures.lagMs.p99 < 1000 ? `${fmt(r.figures.lagMs.p99, 0)} ms` : ms(r.figures.lagMs.p99)}`],
  ['resume after a fault: median / max', (r) => {
    // JSON writes Infinity (a task never fired again) as null.
    const resume = r.figures.faults.map((f) => f.resumeMs ?? Infinity);
    return resume.length === 0 ? '-' : `${ms(median(resume))} / ${ms(Math.max(...resume))}`;
  }],
  ['catch-up after the faults', (r) => ms(r.catchUpMs)],
  ['node crashes / failed restarts', (r) => `${r.processes.filter((p) => p.end === 'crash').length} / ${r.failedRestarts?.length ?? 0}`],
  ['max RSS of a node', (r) => `${fmt(Math.max(...r.processes.map((p) => p.maxRssBytes)) / 2 ** 20, 0)} MiB`],
  ['machine during the run', (r) => `${r.cpu.replace(/ \(all processes.*\)/, '')}; ${r.load.replace(/ \(1\/5\/15 min, 2 CPUs\)/, '')} (1/5/15 min) at the end`],
];
console.log(`| | ${runs.map((r) => `${r.fault} on ${r.store}, ${r.tasks} tasks`).join(' | ')} |`);
console.log(`|---|${runs.map(() => '---').join('|')}|`);
for (const [name, cell] of rows) console.log(`| ${name} | ${runs.map(cell).join(' | ')} |`);
