/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. a benchmark run with `--cpu-prof`):
 * the functions with the most self time and the most inclusive time, optionally within a time
 * window of the profile (to look at a burst only).
 *
 *   node bench/profile-summary.ts FILE.cpuprofile [--top 25] [--from-ms A] [--to-ms B] [--busiest-ms W [--skip-ms S]] [--timeline MS]
 *
 * `--busiest-ms W` picks the W ms window with the fewest idle samples by itself (ignoring the
 * first S ms: start-up). `--timeline MS` prints how busy each MS-long slice of the profile was.
 * `--stalls MS` lists the stretches of at least MS ms without an idle sample (event-loop stalls)
 * with the functions that took most of each (inclusive, this repository's code first).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './lib/processes.ts';
import { printTable } from './lib/table.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '25' },
    'from-ms': { type: 'string' },
    'to-ms': { type: 'string' },
    'busiest-ms': { type: 'string' },
    'skip-ms': { type: 'string', default: '0' },
    timeline: { type: 'string' },
    stalls: { type: 'string' },
  },
});
const file = positionals[0];
if (!file) throw new Error('usage: node bench/profile-summary.ts FILE.cpuprofile [--top N] [--from-ms A] [--to-ms B] [--busiest-ms W]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const top = Number(values.top);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Sample instants, relative to the profile start (ms).
const times: number[] = [];
let t = 0;
for (const d of profile.timeDeltas) {
  t += d;
  times.push(t / 1000);
}
const isIdle = (id: number) => byId.get(id)!.callFrame.functionName === '(idle)';

const label = (n: ProfileNode) => {
  const { functionName, url, lineNumber } = n.callFrame;
  const where = url ? `${relative(REPO_ROOT, url.replace(/^file:\/\//, '')).replace(/^node_modules\//, '')}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
};

if (values.timeline !== undefined) {
  const slice = Number(values.timeline);
  const slices = new Map<number, [number, number]>();
  times.forEach((time, i) => {
    const k = Math.floor(time / slice);
    const entry = slices.get(k) ?? [0, 0];
    entry[1] += 1;
    if (!isIdle(profile.samples[i]!)) entry[0] += 1;
    slices.set(k, entry);
  });
  console.log(`busy % per ${slice} ms slice (start ms:busy%):`);
  console.log([...slices].map(([k, [busyCount, n]]) => `${k * slice}:${Math.round((100 * busyCount) / n)}`).join(' '));
}

if (values.stalls !== undefined) {
  const minMs = Number(values.stalls);
  const stretches: { start: number; end: number; first: number; last: number }[] = [];
  let first = -1;
  for (let i = 0; i <= times.length; i++) {
    const busySample = i < times.length && !isIdle(profile.samples[i]!);
    if (busySample && first < 0) first = i;
    if (!busySample && first >= 0) {
      const start = i > 0 && first > 0 ? times[first - 1]! : times[first]!;
      const end = times[Math.min(i, times.length - 1)]!;
      if (end - start >= minMs) stretches.push({ start, end, first, last: i - 1 });
      first = -1;
    }
  }
  console.log(`${stretches.length} busy stretches of ≥ ${minMs} ms (start ms, length ms: top functions by inclusive time)`);
  for (const s of stretches.slice(0, 200)) {
    const counts = new Map<string, number>();
    for (let i = s.first; i <= s.last; i++) {
      const seen = new Set<string>();
      for (let cur: number | undefined = profile.samples[i]; cur !== undefined; cur = parent.get(cur)) {
        const node = byId.get(cur)!;
        const l = node.callFrame.url.includes('/packages/') || node.callFrame.functionName === '(garbage collector)' ? label(node) : '';
        if (!l || seen.has(l)) continue;
        seen.add(l);
        counts.set(l, (counts.get(l) ?? 0) + 1);
      }
    }
    const n = s.last - s.first + 1;
    const topFns = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([l, c]) => `${l} ${Math.round((100 * c) / n)}%`).join('; ');
    console.log(`${s.start.toFixed(0)} ms, ${(s.end - s.start).toFixed(1)} ms: ${topFns}`);
  }
}

let from = values['from-ms'] !== undefined ? Number(values['from-ms']) : 0;
let to = values['to-ms'] !== undefined ? Number(values['to-ms']) : Infinity;
if (values['busiest-ms'] !== undefined) {
  const w = Number(values['busiest-ms']);
  let best = -1;
  let j = 0;
  let busy = 0;
  const skip = Number(values['skip-ms']);
  while (j < times.length && times[j]! < skip) j += 1;
  for (let i = j; i < times.length; i++) {
    if (!isIdle(profile.samples[i]!)) busy += 1;
    while (times[i]! - times[j]! > w) {
      if (!isIdle(profile.samples[j]!)) busy -= 1;
      j += 1;
    }
    if (busy > best) {
      best = busy;
      from = times[j]!;
      to = times[i]!;
    }
  }
}


const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
let idle = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const time = times[i]!;
  if (time < from || time > to) continue;
  const id = profile.samples[i]!;
  const node = byId.get(id)!;
  const dt = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
  total += dt;
  if (node.callFrame.functionName === '(idle)') {
    idle += dt;
    continue;
  }
  self.set(label(node), (self.get(label(node)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
  }
}

const busy = total - idle;
console.log(`profile ${file}: window ${from.toFixed(0)}..${Number.isFinite(to) ? to.toFixed(0) : 'end'} ms, ${total.toFixed(0)} ms sampled, ${busy.toFixed(0)} ms busy (${((busy / total) * 100).toFixed(0)}%)`);
const rows = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, ms]) => [ms.toFixed(1), ((ms / busy) * 100).toFixed(1), name]);
console.log('\nself time');
printTable(['ms', '% busy', 'function'], rows(self));
console.log('\ninclusive time');
printTable(['ms', '% busy', 'function'], rows(inclusive));
