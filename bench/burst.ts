/**
 * Burst: many one-shot tasks (default 20,000) all due at the same instant T. Reports the time from
 * T until the first and the last dispatch reached the executor (goal: last ≤ 1 s), duplicates and
 * missing fires.
 *
 *   node bench/burst.ts [--quick] [--count 20000] [--cpu-prof] [--dump FILE]
 *
 * Exits 1 on a duplicate, a missing fire, an early fire or a fire at the wrong instant.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { countDuplicates, measureCreateRate } from './lib/api.ts';
import { sleep, startWatchdog } from './lib/children.ts';
import { commonFlags, COMMON_OPTIONS, startRig, stopRig } from './lib/setup.ts';
import { fmt, summarize } from './lib/stats.ts';
import { cpuLine, cpuSnapshot, loadLine, machineLine, ProcessCpu, printResult, printTable, progress } from './lib/table.ts';

const { values } = parseArgs({
  options: {
    ...COMMON_OPTIONS,
    count: { type: 'string' },
    dump: { type: 'string' },
  },
});
const flags = commonFlags(values);
const count = Number(values.count ?? (flags.quick ? 2000 : 20_000));
if (!Number.isInteger(count) || count < 1 || count > 200_000) throw new Error('--count: 1..200000');
startWatchdog(flags.quick ? 120_000 : 900_000, 'burst');

const GOAL_LAST_MS = 1000;

async function main(): Promise<number> {
  console.log(`# burst: ${count} one-shot tasks due at the same instant (${machineLine()})`);
  const rig = await startRig(flags);
  try {
    const rate = await measureCreateRate(rig.api, flags.quick ? 100 : 300);
    const leadMs = Math.ceil((count / rate) * 1000 * 1.2) + 5000;
    const T = Date.now() + leadMs;
    const at = new Date(T).toISOString();
    progress(`creating ${count} tasks due at ${at} (≈${Math.round(rate)}/s measured, T in ${leadMs} ms)`);
    const created = await rig.api.createTasks(count, (i) => ({
      name: `burst-${i}`, schedule: { at }, target: { type: 'http', url: rig.executor.runUrl },
    }), { onProgress: (done) => progress(`  ${done}/${count} created`) });
    const gapMs = T - Date.now();
    progress(`created in ${Math.round(created.ms)} ms (${Math.round(created.perSecond)}/s); T in ${gapMs} ms`);
    if (gapMs < 2500) progress('warning: creation ended less than 2.5 s before T: the look-ahead may not have loaded every task');

    await sleep(T - Date.now() - 500);
    const cpuBefore = cpuSnapshot();
    const processes = new ProcessCpu({ server: rig.server.child.pid, executor: rig.executor.child.pid });
    await sleep(T - Date.now() + 500);
    const seen = await rig.received.waitForCount(count, Date.now() + 60_000);
    const cpu = cpuLine(cpuBefore);
    const processCpu = processes.line();
    const serverCpuMs = processes.usedMs('server');
    progress(`executor received ${seen} requests`);
    const { records } = await rig.received.records();
    if (values.dump) writeFileSync(values.dump, JSON.stringify(records));

    const ids = new Set(created.ids);
    const delivered = new Set<string>();
    const offsets: number[] = [];
    let wrong = 0;
    for (const r of records) {
      if (r.event !== 'run') continue;
      if (!ids.has(r.taskId) || r.scheduledAt !== T) {
        wrong += 1;
        continue;
      }
      if (delivered.has(r.taskId)) continue;
      delivered.add(r.taskId);
      offsets.push(r.receivedAt - T);
    }
    const s = summarize(offsets);
    const early = offsets.filter((o) => o < 0).length;
    const missing = count - delivered.size;
    const dup = countDuplicates(records);
    const duplicates = dup.byRun + dup.byFire;
    const spanMs = s.max - s.min;

    console.log('');
    printTable(
      ['tasks', 'received', 'first ms', 'p50 ms', 'p99 ms', 'last ms', 'dispatch/s (first→last)', 'early', 'missing', 'duplicates', 'wrong'],
      [[count, delivered.size, s.min, s.p50, s.p99, s.max, spanMs > 0 ? Math.round((delivered.size - 1) / (spanMs / 1000)) : '-', early, missing, duplicates, wrong]],
    );
    console.log(`\ngoal last ≤ ${GOAL_LAST_MS} ms after T: ${s.max <= GOAL_LAST_MS ? 'met' : 'NOT met'}; times are receipt at the executor − T`);
    console.log(`creation: ${Math.round(created.perSecond)} tasks/s; gap between the end of creation and T: ${gapMs} ms; mean ${fmt(s.mean)} ms`);
    console.log(`from T − 0.5 s until the last delivery: ${processCpu}; ${cpu}; ${loadLine()}`);
    if (serverCpuMs !== null) console.log(`server CPU per fire: ${Math.round((serverCpuMs * 1000) / count)} µs (record, dispatch, reply, finish)`);
    const failures = [
      early > 0 && `${early} early fires`, duplicates > 0 && `${duplicates} duplicates`, missing > 0 && `${missing} missing fires`,
      wrong > 0 && `${wrong} fires at a wrong instant or of an unknown task`,
    ].filter(Boolean) as string[];
    printResult({
      scenario: 'burst', quick: flags.quick, tasks: count, firstMs: s.min, p50Ms: s.p50, p99Ms: s.p99, lastMs: s.max,
      early, missing, duplicates, serverCpuUsPerFire: serverCpuMs === null ? null : Math.round((serverCpuMs * 1000) / count), goalMet: s.max <= GOAL_LAST_MS, failures,
    });
    if (failures.length > 0) {
      console.error(`burst: FAILED: ${failures.join(', ')}`);
      return 1;
    }
    return 0;
  } finally {
    await stopRig(rig);
  }
}

process.exitCode = await main();
