/**
 * Bulk enqueue: creates many one-shot tasks (default 20,000) through `POST /api/v1/tasks:batch`, in
 * requests of `--batch` specs (default 5,000; the server writes them in store transactions of 500),
 * `--concurrency` requests in flight, and prints the rate beside that of one `POST /api/v1/tasks` per
 * task (measured on a few hundred). The tasks are due an hour ahead, so nothing fires meanwhile.
 * Against graphile-worker's `addJobs` (issue 16, W1: "with the bulk API, enqueue at least as fast").
 *
 *   node bench/bulk-enqueue.ts [--count 20000] [--batch 5000] [--concurrency 1] [--store URL] [--quick] [--cpu-prof]
 *
 * `--quick` is 2,000 tasks. Exits 1 when an item failed or the server holds another number of tasks.
 */
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { EcronApi, measureCreateRate } from './lib/api.ts';
import { startWatchdog } from './lib/children.ts';
import { serverBin, startEcronServer } from './lib/processes.ts';
import { commonFlags, COMMON_OPTIONS } from './lib/setup.ts';
import { cpuLine, cpuSnapshot, loadLine, machineLine, printResult, printTable, progress } from './lib/table.ts';

const { values } = parseArgs({
  options: {
    ...COMMON_OPTIONS,
    count: { type: 'string' },
    batch: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '1' },
    store: { type: 'string' },
  },
});
const flags = commonFlags(values);
const count = Number(values.count ?? (flags.quick ? 2000 : 20_000));
const batch = Number(values.batch);
const concurrency = Number(values.concurrency);
if (!Number.isInteger(count) || count < 1 || count > 1_000_000) throw new Error('--count: 1..1000000');
if (!Number.isInteger(batch) || batch < 1 || batch > 10_000) throw new Error('--batch: 1..10000');
if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new Error('--concurrency: 1..64');
startWatchdog(flags.quick ? 120_000 : 900_000, 'bulk-enqueue');

async function main(): Promise<number> {
  console.log(`# bulk enqueue: ${count} tasks through tasks:batch, ${batch} per request, ${concurrency} in flight (${machineLine()})`);
  const nodeArgs = flags.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${flags.cpuProfDir}`] : [];
  const server = await startEcronServer({ nodeArgs, keepDataDir: flags.keepDataDir, args: values.store ? ['--store', values.store] : [] });
  progress(`server ${serverBin()} up at ${server.url}${values.store ? ` on ${values.store.replace(/\/\/[^@]*@/, '//')}` : ' (SQLite)'}`);
  const api = new EcronApi(server.url, server.token);
  try {
    const due = new Date(Date.now() + 3_600_000).toISOString();
    const target = { type: 'http', url: 'http://127.0.0.1:1/never' };
    const spec = (i: number) => ({ namespace: 'bulk', name: `b-${i}`, schedule: { at: due }, target, params: { i } });
    const single = await measureCreateRate(api, flags.quick ? 100 : 300);
    const cpuBefore = cpuSnapshot();
    // An item error throws (EcronApi.createTasksBatch names it), so every item that returns was stored.
    const { ms } = await api.createTasksBatch(count, spec, { batch, concurrency });
    const failed = 0;
    const cpu = cpuLine(cpuBefore);
    const perSecond = count / (ms / 1000);
    printTable(['path', 'tasks', 'time', 'rate'], [
      ['POST /api/v1/tasks:batch', count, `${(ms / 1000).toFixed(2)} s`, `${Math.round(perSecond)}/s`],
      ['POST /api/v1/tasks (one per task, 64 in flight)', flags.quick ? 100 : 300, '-', `${Math.round(single)}/s`],
    ]);
    console.log(`${loadLine()}; ${cpu}`);
    const listed = await request(`${server.url}/api/v1/tasks?namespace=bulk&name=b-${count - 1}`, { headers: { authorization: `Bearer ${server.token}` } });
    const found = ((await listed.body.json()) as { items: unknown[] }).items.length;
    printResult({ count, batch, concurrency, ms: Math.round(ms), perSecond: Math.round(perSecond), singlePerSecond: Math.round(single), failed });
    if (failed > 0 || found !== 1) {
      console.error(`FAILED: ${failed} item errors; the last task ${found === 1 ? 'is' : 'is not'} stored`);
      return 1;
    }
    return 0;
  } finally {
    await api.close().catch(() => {});
    await server.stop();
  }
}

process.exitCode = await main();
