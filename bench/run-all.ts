/**
 * Runs the three benchmarks in sequence (each in its own process, output streamed) and prints a
 * summary. Flags are passed on to every script (e.g. `--quick`, `--cpu-prof`).
 *
 *   node bench/run-all.ts [--quick] [...]      (npm run bench / npm run bench:quick)
 *
 * Exits non-zero when a script fails (a correctness failure: duplicates, early or missing fires)
 * or crashes. Timing goals are reported, never asserted.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isStopping, spawnTracked, startWatchdog, waitForExit } from './lib/children.ts';
import { loadLine, machineLine, printTable, RESULT_PREFIX } from './lib/table.ts';

const here = dirname(fileURLToPath(import.meta.url));
const passThrough = process.argv.slice(2);
const quick = passThrough.includes('--quick');
const SCRIPTS = ['precision.ts', 'burst.ts', 'sustained.ts'];
// Each script bounds itself; this bounds the whole sequence.
startWatchdog(quick ? 6 * 60_000 : 80 * 60_000, 'run-all');

interface Outcome {
  script: string;
  exitCode: number | null;
  seconds: number;
  result: Record<string, unknown> | null;
}

async function runScript(script: string): Promise<Outcome> {
  console.log(`\n=== ${script} ${passThrough.join(' ')} (${loadLine()})`);
  const started = performance.now();
  const child = spawnTracked(process.execPath, [join(here, script), ...passThrough], { stdio: ['ignore', 'pipe', 'inherit'] }, 'SIGTERM');
  let result: Record<string, unknown> | null = null;
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) if (line.startsWith(RESULT_PREFIX)) result = JSON.parse(line.slice(RESULT_PREFIX.length)) as Record<string, unknown>;
  });
  const { code } = await waitForExit(child, quick ? 5 * 60_000 : 60 * 60_000);
  return { script, exitCode: code, seconds: (performance.now() - started) / 1000, result };
}

const outcomes: Outcome[] = [];
for (const script of SCRIPTS) {
  if (isStopping()) break;
  outcomes.push(await runScript(script));
}
if (isStopping()) await new Promise(() => {}); // the signal handler exits once the children are stopped

const describe = (o: Outcome): string => {
  const r = o.result;
  if (!r) return 'no result';
  switch (r.scenario) {
    case 'precision':
      return `lag p50 ${r.lagP50} / p99 ${r.lagP99} / max ${r.lagMax} ms over ${r.tasks} tasks; early ${r.early}, missing ${r.missing}, duplicates ${r.duplicates}; goal p99 ≤ 5 ms ${r.goalMet ? 'met' : 'NOT met'}`;
    case 'burst':
      return `${r.tasks} due at T: first +${r.firstMs} ms, last +${r.lastMs} ms; missing ${r.missing}, duplicates ${r.duplicates}; goal last ≤ 1 s ${r.goalMet ? 'met' : 'NOT met'}`;
    case 'sustained':
      return `best rate with p99 < 50 ms: ${r.bestRate} fires/s (levels ${(r.levels as { n: number; achieved: number; p99: number }[]).map((l) => `${l.n}→${l.achieved}/s p99 ${l.p99} ms`).join(', ')}); goal ≥ 5000/s ${r.goal}`;
    default:
      return JSON.stringify(r);
  }
};

console.log(`\n=== summary (${machineLine()}; ${loadLine()})`);
if (quick) console.log('quick run: small sizes so that CI keeps the scripts working; the goals are judged on full runs (npm run bench)');
printTable(['scenario', 'exit', 'seconds', 'figures'], outcomes.map((o) => [o.script.replace('.ts', ''), String(o.exitCode), Math.round(o.seconds), describe(o)]));
const failed = outcomes.filter((o) => o.exitCode !== 0);
if (failed.length > 0) {
  console.error(`run-all: ${failed.map((o) => o.script).join(', ')} failed`);
  process.exitCode = 1;
}
