/**
 * One system, one workload, one repetition, in this process (bench/peers/run.ts starts one driver
 * per cell). Prints the figures as a BENCH_RESULT line.
 *
 *   node bench/peers/driver.ts --system ecron-sdk|ecron-stream|ecron-inproc|ecron-http|ecron-pg|pg-boss|bullmq|graphile-worker --workload w1|w2|w3|w4
 *     [--n N] [--seconds S] [--occurrences K] [--warmup-ms MS] [--bulk] [--set key=value,...]
 *
 * `--set` overrides a peer's settings (e.g. `--set batchSize=50,pollingIntervalSeconds=1`), to try
 * them. Exits 1 on a correctness failure (duplicates, missing, early or unknown jobs), 2 on a crash.
 * W3's missed occurrences are a figure, not a failure: past capacity, ecron's misfire policy merges
 * late occurrences by design.
 */
import { parseArgs } from 'node:util';
import { startWatchdog } from '../lib/children.ts';
import { printResult, progress } from '../lib/table.ts';
import { type System, SYSTEMS, type SystemId } from './common.ts';
import { BullMqSystem } from './systems/bullmq.ts';
import { EcronSystem } from './systems/ecron.ts';
import { GraphileSystem } from './systems/graphile.ts';
import { PgBossSystem } from './systems/pgboss.ts';
import { w1Burst, w2Precision, w3Recurring, w4Scale, type Metrics } from './workloads.ts';

function makeSystem(id: SystemId, settings: Record<string, number> = {}): System {
  switch (id) {
    case 'ecron-sdk': return new EcronSystem('sdk');
    case 'ecron-stream': return new EcronSystem('stream');
    case 'ecron-inproc': return new EcronSystem('inproc');
    case 'ecron-http': return new EcronSystem('http');
    case 'ecron-pg': return new EcronSystem('postgres');
    case 'pg-boss': return new PgBossSystem(settings);
    case 'bullmq': return new BullMqSystem(settings);
    case 'graphile-worker': return new GraphileSystem(settings);
  }
}

const { values } = parseArgs({
  options: {
    system: { type: 'string' },
    workload: { type: 'string' },
    n: { type: 'string' },
    seconds: { type: 'string', default: '20' },
    occurrences: { type: 'string' },
    'warmup-ms': { type: 'string', default: '5000' },
    bulk: { type: 'boolean', default: false },
    set: { type: 'string', default: '' },
    'timeout-s': { type: 'string', default: '900' },
  },
});
const id = values.system as SystemId;
if (!SYSTEMS.includes(id)) throw new Error(`--system: one of ${SYSTEMS.join(', ')}`);
const settings = Object.fromEntries(values.set.split(',').filter(Boolean).map((kv) => {
  const [key, value] = kv.split('=');
  return [key!, Number(value)];
}));
startWatchdog(Number(values['timeout-s']) * 1000, `driver ${id} ${values.workload}`);

const system = makeSystem(id, settings);
const n = values.n === undefined ? undefined : Number(values.n);
let metrics: Metrics;
try {
  switch (values.workload) {
    case 'w1': metrics = await w1Burst(system, n ?? 20_000); break;
    case 'w2': metrics = await w2Precision(system, n ?? 200, Number(values.seconds)); break;
    case 'w3': {
      const occurrences = Number(values.occurrences ?? (system.recurring.intervalMs >= 60_000 ? 2 : 15));
      metrics = await w3Recurring(system, n ?? 1000, occurrences, Number(values['warmup-ms']));
      break;
    }
    case 'w4': metrics = await w4Scale(system, n ?? 1_000_000, values.bulk); break;
    default: throw new Error('--workload: w1, w2, w3 or w4');
  }
} finally {
  await system.stop();
}
const failures = metrics.invalid ? [] : [
  Number(metrics.duplicates) > 0 && `${metrics.duplicates} duplicates`,
  Number(metrics.missing) > 0 && `${metrics.missing} missing`,
  Number(metrics.early) > 0 && `${metrics.early} early`,
  Number(metrics.unknown) > 0 && `${metrics.unknown} unknown jobs`,
].filter(Boolean) as string[];
progress(`${system.name} ${values.workload}: ${JSON.stringify(metrics)}${failures.length ? ` FAILURES: ${failures.join(', ')}` : ''}${metrics.invalid ? ` INVALID: ${metrics.invalid}` : ''}`);
printResult({
  system: id, name: system.name, mode: system.mode, workload: values.workload, config: system.config,
  recurring: system.recurring, metrics, failures,
});
process.exitCode = failures.length > 0 ? 1 : 0;
