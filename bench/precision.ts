/**
 * Precision: one-shot tasks, each due at its own instant, spread evenly (default 1,000 over 20 s,
 * one every 20 ms, starting ~5 s after the last is created). Fire lag = the instant the dispatch
 * reached the executor − scheduledAt. Goal: p99 ≤ 5 ms. An early fire (lag < 0) is a bug.
 *
 *   node bench/precision.ts [--quick] [--count 1000] [--spacing-ms 20] [--cpu-prof] [--dump FILE]
 *
 * `--dump FILE` writes the executor's records (JSON) for further analysis.
 *
 * Exits 1 on an early fire, a duplicate, a missing fire or a fire at the wrong instant.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { countDuplicates, measureCreateRate } from './lib/api.ts';
import { sleep, startWatchdog } from './lib/children.ts';
import { commonFlags, COMMON_OPTIONS, startRig, stopRig } from './lib/setup.ts';
import { fmt, measureTimerLateness, summarize } from './lib/stats.ts';
import { cpuLine, cpuSnapshot, loadLine, machineLine, printResult, printTable, progress } from './lib/table.ts';

const { values } = parseArgs({
  options: {
    ...COMMON_OPTIONS,
    count: { type: 'string' },
    'spacing-ms': { type: 'string', default: '20' },
    dump: { type: 'string' },
  },
});
const flags = commonFlags(values);
const count = Number(values.count ?? (flags.quick ? 100 : 1000));
const spacingMs = Number(values['spacing-ms']);
if (!Number.isInteger(count) || count < 1 || count > 100_000) throw new Error('--count: 1..100000');
if (!Number.isInteger(spacingMs) || spacingMs < 1) throw new Error('--spacing-ms: a positive integer');
startWatchdog(flags.quick ? 90_000 : 600_000, 'precision');

const GOAL_P99_MS = 5;

async function main(): Promise<number> {
  console.log(`# precision: ${count} one-shot tasks, one every ${spacingMs} ms (${machineLine()})`);
  const rig = await startRig(flags);
  try {
    const rate = await measureCreateRate(rig.api, flags.quick ? 100 : 300);
    const leadMs = Math.ceil((count / rate) * 1000 * 1.2) + 5000;
    const first = Date.now() + leadMs;
    const instants = Array.from({ length: count }, (_, i) => first + i * spacingMs);
    const last = instants[count - 1]!;
    progress(`creating ${count} tasks (≈${Math.round(rate)}/s measured); first due in ${leadMs} ms`);
    const created = await rig.api.createTasks(count, (i) => ({
      name: `precision-${i}`,
      schedule: { at: new Date(instants[i]!).toISOString() },
      target: { type: 'http', url: rig.executor.runUrl },
    }));
    const gapMs = first - Date.now();
    progress(`created in ${Math.round(created.ms)} ms (${Math.round(created.perSecond)}/s); first fire in ${gapMs} ms`);
    if (gapMs < 1000) progress('warning: creation ended less than 1 s before the first fire: early instants overlap creation');

    // While the fires happen, this idle process measures its own timer lateness: the noise floor.
    await sleep(first - Date.now() - 100);
    const cpuBefore = cpuSnapshot();
    const noise = await measureTimerLateness(last + 200);
    const cpu = cpuLine(cpuBefore);
    const seen = await rig.received.waitForCount(count, Date.now() + 30_000);
    progress(`executor received ${seen} requests`);
    const { records } = await rig.received.records();
    if (values.dump) writeFileSync(values.dump, JSON.stringify(records));

    const expectedAt = new Map(created.ids.map((id, i) => [id, instants[i]!]));
    const firstByTask = new Map<string, number>();
    let wrongInstant = 0;
    let unknownTask = 0;
    const lags: number[] = [];
    for (const r of records) {
      if (r.event !== 'run') continue;
      const expected = expectedAt.get(r.taskId);
      if (expected === undefined) {
        unknownTask += 1;
        continue;
      }
      if (r.scheduledAt !== expected) wrongInstant += 1;
      if (firstByTask.has(r.taskId)) continue;
      firstByTask.set(r.taskId, r.receivedAt);
      lags.push(r.receivedAt - r.scheduledAt);
    }
    const lag = summarize(lags);
    const early = lags.filter((l) => l < 0).length;
    const missing = count - firstByTask.size;
    const dup = countDuplicates(records);
    const duplicates = dup.byRun + dup.byFire;

    console.log('');
    printTable(
      ['tasks', 'spread s', 'received', 'lag p50 ms', 'p90', 'p99', 'max', 'mean', 'early', 'missing', 'duplicates', 'wrong instant'],
      [[count, fmt((count * spacingMs) / 1000), firstByTask.size, lag.p50, lag.p90, lag.p99, lag.max, fmt(lag.mean, 2), early, missing, duplicates, wrongInstant + unknownTask]],
    );
    console.log(`\ngoal p99 ≤ ${GOAL_P99_MS} ms: ${lag.p99 <= GOAL_P99_MS ? 'met' : 'NOT met'}; lag = receipt at the executor − scheduledAt (both Date.now(), same machine, 1 ms resolution)`);
    console.log(`noise floor: setTimeout lateness of the idle benchmark process during the fires: p50 ${fmt(noise.p50, 2)}, p99 ${fmt(noise.p99, 2)}, max ${fmt(noise.max, 2)} ms (${noise.count} samples); ${cpu}`);
    console.log(`creation: ${Math.round(created.perSecond)} tasks/s; gap between the end of creation and the first fire: ${gapMs} ms; ${loadLine()}`);
    const failures = [
      early > 0 && `${early} early fires`, duplicates > 0 && `${duplicates} duplicates`, missing > 0 && `${missing} missing fires`,
      wrongInstant + unknownTask > 0 && `${wrongInstant + unknownTask} fires at a wrong instant or of an unknown task`,
    ].filter(Boolean) as string[];
    printResult({
      scenario: 'precision', quick: flags.quick, tasks: count, spacingMs, lagP50: lag.p50, lagP90: lag.p90, lagP99: lag.p99, lagMax: lag.max,
      early, missing, duplicates, noiseP99: Number(noise.p99.toFixed(2)), noiseMax: Number(noise.max.toFixed(2)), goalMet: lag.p99 <= GOAL_P99_MS, failures,
    });
    if (failures.length > 0) {
      console.error(`precision: FAILED: ${failures.join(', ')}`);
      return 1;
    }
    return 0;
  } finally {
    await stopRig(rig);
  }
}

process.exitCode = await main();
