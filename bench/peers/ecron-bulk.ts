/**
 * W4's bulk registration of ecron's daily schedules on its SQLite store, in a process of its own
 * (so that the in-process mode's driver does not carry the garbage of a million records):
 * opens the store file of a stopped server with the server's own store code (the frozen copy of
 * ECRON_BENCH_BIN when set) and creates the tasks through the store's `createTask` verb
 * (bench/lib/bulk-tasks.ts: each task one transaction with its revision 1 and its audit entry,
 * as `POST /api/v1/tasks` stores it; no HTTP, no token check, no scheduler running).
 *
 *   node bench/peers/ecron-bulk.ts JOB.json
 *
 * JOB.json: `{ "dataDir": "...", "names": ["d0", ...], "target": { ... } }`: the i-th task is named
 * `names[i]`, in namespace `default`, with the schedule of `dailyCron(i)` in UTC. Prints one
 * BENCH_RESULT line `{ created, ms }`.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type * as StoreConfig from '../../packages/server/src/store-config.ts';
import { createTasksThroughStore } from '../lib/bulk-tasks.ts';
import { serverBin } from '../lib/processes.ts';
import { printResult, progress } from '../lib/table.ts';
import { cronAtMinute, dailyMinute, MINUTES_PER_DAY } from './common.ts';

const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { dataDir: string; names: string[]; target: unknown };
const { createStore, parseStoreUrl } = (await import(resolve(dirname(serverBin()), '../src/store-config.ts'))) as typeof StoreConfig;
const store = createStore(parseStoreUrl(undefined, job.dataDir));
const started = performance.now();
await store.open();
try {
  // One template per minute of the day: the i-th task's is dailyMinute(i).
  const templates = Array.from({ length: MINUTES_PER_DAY }, (_, m) => ({ name: 'x', schedule: { cron: cronAtMinute(m), timezone: 'UTC' }, target: job.target }));
  const createdAt = Date.now();
  await createTasksThroughStore({
    store, templates, count: job.names.length, actor: 'bench-bulk',
    taskAt: (i) => ({ template: dailyMinute(i), namespace: 'default', name: job.names[i]!, createdAt }),
    onBatch: (done) => { if (done % 200_000 === 0) progress(`  ecron bulk: ${done}/${job.names.length} created`); },
  });
} finally {
  await store.close();
}
printResult({ created: job.names.length, ms: Math.round(performance.now() - started) });
