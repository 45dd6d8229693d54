/**
 * The chaos run: a real ecron cluster on PostgreSQL or MariaDB, faults injected for a while, and
 * every fire accounted for at the end (see docs/reliability.md for what it found).
 *
 *   node bench/chaos/run.ts --store postgres|mysql --nodes 3 --tasks 1000 --every 1s \
 *     --duration 180s --fault kill|stop|db-restart|none --fault-every 10s [--quick] [--out FILE]
 *
 * 1. A scratch schema (PostgreSQL) or database (MariaDB) on the machine's server, or, for
 *    `--fault db-restart`, on a private server started for the run (private-db.ts): the shared
 *    one is never restarted. N `ecron start` processes on it, and one executor process: with
 *    `--executor http` (the default), bench/executor.ts, which records every delivery, verifies
 *    signatures, and answers status requests truthfully (`succeeded` for attempts it received,
 *    `unknown` for the others); with `--executor stream`, an SDK executor process in stream mode
 *    (bench/sdk-executor.ts: one WebSocket to every node, `noop` handler recording each call).
 * 2. `--tasks` tasks every `--every`, misfire policy catch-up (10 min window); waits until every
 *    task has been delivered once and the buckets are balanced.
 * 3. For `--duration`, every `--fault-every`: `kill` SIGKILLs a random node and starts a new process
 *    on its data dir after `--kill-pause`; `stop` SIGSTOPs a random node for `--stop-for` (default
 *    2 × lease TTL) then SIGCONTs it; `db-restart` restarts the database server; `none` waits.
 * 4. Stops the faults, waits for catch-up (every expected fire up to then delivered, or
 *    `--catch-up-timeout`), reads the store, stops everything and prints the figures (analyze.ts,
 *    store-report.ts); `--out FILE` writes them as JSON.
 *
 * Exits 1 on a duplicate fire, a missed fire or a node that crashed by itself; timings are printed,
 * never asserted. `--keep-store` keeps the scratch schema/database (and a private server's data
 * stays until exit only), for looking at it afterwards.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EcronApi, ExecutorClient } from '../lib/api.ts';
import { sleep, startWatchdog } from '../lib/children.ts';
import { startBenchExecutor } from '../lib/processes.ts';
import { SdkExecutorProcess, waitRoutable } from '../lib/sdk-executors.ts';
import { snapshotServer } from '../lib/snapshot.ts';
import { fmt } from '../lib/stats.ts';
import { cpuLine, cpuSnapshot, loadLine, machineLine, printTable, progress } from '../lib/table.ts';
import { analyzeDeliveries, countMissing, type Fault } from './analyze.ts';
import { ADMIN_TOKEN, ChaosCluster } from './cluster.ts';
import { startPrivateDb, type PrivateDb } from './private-db.ts';
import { storeReport } from './store-report.ts';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'postgres' },
    nodes: { type: 'string' },
    tasks: { type: 'string' },
    every: { type: 'string', default: '1s' },
    duration: { type: 'string' },
    fault: { type: 'string', default: 'kill' },
    'fault-every': { type: 'string' },
    'kill-pause': { type: 'string', default: '2s' },
    'stop-for': { type: 'string' },
    'lease-ttl': { type: 'string', default: '3s' },
    'lease-renew': { type: 'string', default: '1s' },
    'lease-margin': { type: 'string', default: '1s' },
    'catch-up-timeout': { type: 'string', default: '120s' },
    'db-restart-mode': { type: 'string', default: 'fast' },
    'db-port': { type: 'string' },
    'postgres-url': { type: 'string', default: process.env.ECRON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'mysql-url': { type: 'string', default: process.env.ECRON_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test' },
    rev: { type: 'string' },
    executor: { type: 'string', default: 'http' },
    'log-dir': { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    seed: { type: 'string' },
    out: { type: 'string' },
    'keep-store': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
  },
});

/** '250ms', '3s', '2m' → ms. */
function ms(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text.trim());
  if (!match) throw new Error(`not a duration: ${text} (e.g. 500ms, 10s, 3m)`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
}

const kind = values.store === 'mysql' || values.store === 'mariadb' ? 'mysql' : values.store === 'postgres' ? 'postgres' : null;
const FAULTS = ['kill', 'stop', 'db-restart', 'none'] as const;
const fault = FAULTS.find((f) => f === values.fault);
if (!kind || !fault) {
  process.stderr.write('usage: node bench/chaos/run.ts --store postgres|mysql --fault kill|stop|db-restart|none [--nodes 3 --tasks 1000 --every 1s --duration 180s --fault-every 10s --quick --out FILE]\n');
  process.exit(2);
}
const quick = values.quick;
const nodeCount = Number(values.nodes ?? 3);
const taskCount = Number(values.tasks ?? (quick ? 100 : 1000));
const periodMs = ms(values.every);
const durationMs = ms(values.duration ?? (quick ? '30s' : '180s'));
const faultEveryMs = ms(values['fault-every'] ?? (quick ? '8s' : '10s'));
const ttlMs = ms(values['lease-ttl']);
const stopForMs = ms(values['stop-for'] ?? `${2 * ttlMs}ms`);
const killPauseMs = ms(values['kill-pause']);
const catchUpTimeoutMs = ms(values['catch-up-timeout']);
const pgMode = values['db-restart-mode'] === 'immediate' ? 'immediate' : 'fast';
let seed = Number(values.seed ?? Date.now() % 100_000);
const initialSeed = seed;
/** A small deterministic PRNG (mulberry32), so that a run's fault sequence can be replayed with --seed. */
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

startWatchdog(durationMs + catchUpTimeoutMs + 10 * 60_000, 'the chaos run');
if (values.rev) {
  const { bin, commit } = snapshotServer(values.rev);
  process.env.ECRON_BENCH_BIN = bin;
  progress(`server frozen at ${commit}: ${bin}`);
}

const command = `node bench/chaos/run.ts ${process.argv.slice(2).join(' ')}`;
console.log(`chaos: ${command}`);
console.log(machineLine());
console.log(loadLine());
const cpuAtStart = cpuSnapshot();

// 1. The database, the cluster, the executor.
let privateDb: PrivateDb | null = null;
if (fault === 'db-restart') {
  privateDb = await startPrivateDb(kind, Number(values['db-port'] ?? (kind === 'postgres' ? 5499 : 3399)), pgMode);
  progress(privateDb.describe);
}
const serverUrl = privateDb?.url ?? (kind === 'postgres' ? values['postgres-url'] : values['mysql-url']);
const leaseArgs = ['--lease-ttl', values['lease-ttl'], '--lease-renew', values['lease-renew'], '--lease-margin', values['lease-margin']];
const logDir = values['log-dir'] ?? mkdtempSync(join(tmpdir(), 'ecron-chaos-logs-'));
mkdirSync(logDir, { recursive: true });
const cluster = new ChaosCluster(serverUrl, leaseArgs, { logDir, logLevel: values['log-level'] });
progress(`node logs in ${logDir}`);
await cluster.start(nodeCount);
progress(`${nodeCount} nodes up on ${cluster.storeUrl}`);
if (values.executor !== 'http' && values.executor !== 'stream') throw new Error('--executor: http or stream');
progress(`balanced in ${await cluster.waitBalanced(30_000)} ms`);
const viaUrl = (await cluster.nodeList()).items.find((item) => item.alive)?.address;
const { executor, received, target } = values.executor === 'stream' ? await (async () => {
  const sdk = await SdkExecutorProcess.start({ server: viaUrl!, token: ADMIN_TOKEN, group: 'chaos', id: 'chaos-stream-1', mode: 'stream', maxConcurrency: 10_000 });
  await waitRoutable(viaUrl!, ADMIN_TOKEN, 'chaos', 1);
  progress('SDK executor up in stream mode (group chaos: one WebSocket to each node)');
  // The SDK refuses a frame that fails its MAC before any handler runs: no bad signature reaches the records.
  return { executor: sdk, received: { records: async () => ({ records: await sdk.records(), badSignatures: 0 }) }, target: { type: 'executor', group: 'chaos', handler: 'noop' } };
})() : await (async () => {
  const bench = await startBenchExecutor({ verifyKeyFile: cluster.signingKeyFile(), trackStatus: true });
  progress(`executor up at ${bench.url} (signatures verified, status requests answered from its receipts)`);
  return { executor: bench, received: new ExecutorClient(bench.url), target: { type: 'http', url: bench.runUrl } };
})();

// 2. The tasks.
const api = new EcronApi(viaUrl!, ADMIN_TOKEN, 16);
const created = await api.createTasks(taskCount, (i) => ({
  name: `chaos-${i}`, schedule: { every: periodMs }, misfire: { policy: 'catch-up', windowMs: 600_000, maxCatchUp: 1000 },
  target,
}), { concurrency: 16 });
await api.close();
const taskIds = created.ids;
progress(`${taskCount} tasks created in ${fmt(created.ms / 1000)} s`);
for (const deadline = Date.now() + 60_000; ;) {
  const { records } = await received.records();
  const seen = new Set(records.filter((r) => r.event === 'run').map((r) => r.taskId));
  if (seen.size >= taskCount) break;
  if (Date.now() > deadline) {
    // Not fatal: the figures will show it (a task that never fires counts as missing its fires).
    console.log(`WARNING: only ${seen.size} of ${taskCount} tasks had a delivery within 60 s of their creation`);
    break;
  }
  await sleep(1000);
}
await sleep(2 * periodMs);
progress('every task fired; faults begin');

// 3. Faults.
const faults: Fault[] = [];
const rssTimer = setInterval(() => cluster.sampleRss(), 2000);
const faultsStart = Date.now();
const faultsEnd = faultsStart + durationMs;
const pick = (slots: number[]) => slots[Math.floor(random() * slots.length)]!;
const failedRestarts: string[] = [];
/** Starts a new process in `slot`; a kill at `killedAt` is recorded as a fault once it is ready (or failed). */
async function restart(slot: number, killedAt: number | null): Promise<void> {
  try {
    await cluster.startSlot(slot);
  } catch (error) {
    failedRestarts.push(`slot ${slot} at ${new Date().toISOString()}: ${(error as Error).message.split('\n')[0]}`);
    progress(`restarting slot ${slot} failed: ${(error as Error).message.split('\n')[0]}`);
  }
  if (killedAt !== null) faults.push({ kind: 'kill', slot, at: killedAt, over: Date.now() });
}
while (Date.now() < faultsEnd && fault !== 'none') {
  const tickAt = Date.now();
  const empty = cluster.emptySlots();
  if (empty.length > 0) {
    // A restart that failed (the process died or was not ready in time): try again first.
    await restart(empty[0]!, null);
  } else if (fault === 'kill') {
    const slot = pick(cluster.liveSlots());
    const killed = cluster.kill(slot);
    await sleep(killPauseMs);
    await restart(slot, killed.endedAt!);
    progress(`SIGKILL slot ${slot} (pid ${killed.pid}); restarted and ready ${Date.now() - killed.endedAt!} ms after the kill`);
  } else if (fault === 'stop') {
    const slot = pick(cluster.liveSlots());
    const at = Date.now();
    cluster.freeze(slot, true);
    await sleep(stopForMs);
    cluster.freeze(slot, false);
    faults.push({ kind: 'stop', slot, at, over: Date.now() });
    progress(`SIGSTOP slot ${slot} for ${Date.now() - at} ms, then SIGCONT`);
  } else {
    const { downAt, upAt } = await privateDb!.restart();
    faults.push({ kind: 'db-restart', at: downAt, over: upAt });
    progress(`database restarted: down for ${upAt - downAt} ms`);
  }
  await sleep(Math.min(tickAt + faultEveryMs, faultsEnd) - Date.now());
}
if (fault === 'none') await sleep(faultsEnd - Date.now());
for (const slot of cluster.emptySlots()) await restart(slot, null);
const endAt = Date.now();
progress(`faults over (${faults.length}); waiting for catch-up`);

// 4. Catch-up, then the figures.
const catchUpStarted = Date.now();
while (Date.now() - catchUpStarted < catchUpTimeoutMs) {
  const missing = countMissing((await received.records()).records, taskIds, periodMs, endAt);
  if (missing === 0) break;
  progress(`${missing} fires up to the end of the faults not delivered yet`);
  await sleep(5000);
}
const catchUpMs = Date.now() - catchUpStarted;
// Late redeliveries (adopted runs re-sent) would come now.
await sleep(2 * ttlMs);
clearInterval(rssTimer);
cluster.sampleRss();
const fetched = await received.records();
const records = fetched.records;
const figures = analyzeDeliveries(records, taskIds, periodMs, endAt, faults);
const deliveredSet = new Set(records.filter((r) => r.event === 'run').map((r) => `${r.taskId}@${r.scheduledAt}`));
const store = await storeReport(serverUrl, cluster.scratchName, endAt, figures.missedFires, (taskId, at) => deliveredSet.has(`${taskId}@${at}`), cluster.processes)
  .catch((error: Error) => ({ error: error.message }));
await cluster.stop();
await executor.stop();
await cluster.dropStore(values['keep-store']);
await privateDb?.stop();
const crashes = cluster.processes.filter((p) => p.end === 'crash');

// Print.
const cpu = cpuLine(cpuAtStart);
console.log(loadLine());
console.log(cpu);
console.log(`store: ${privateDb?.describe ?? (kind === 'postgres' ? 'the machine\'s PostgreSQL 15' : 'the machine\'s MariaDB 10.11')}; ${nodeCount} nodes, leases ${values['lease-ttl']}/${values['lease-renew']}/${values['lease-margin']} (TTL/renew/margin); ${taskCount} tasks every ${values.every}; fault ${fault} every ${fmt(faultEveryMs / 1000)} s for ${fmt(durationMs / 1000)} s (seed ${initialSeed})`);
console.log(`signatures: ${fetched.badSignatures} bad`);
console.log('');
const storeOk = 'recorded' in store;
printTable(['figure', 'value'], [
  ['faults injected', faults.length],
  ['fires expected (up to the end of the faults)', figures.expected],
  ['fires delivered', figures.delivered],
  ['tasks never delivered', figures.tasksNeverDelivered],
  ['fires recorded in the store', storeOk ? store.recorded : `error: ${store.error}`],
  ['runs by status', storeOk ? Object.entries(store.recordedByStatus).map(([s, n]) => `${s} ${n}`).join(', ') : '-'],
  ['duplicate fires (receipts / store key)', `${figures.duplicateFires} / ${storeOk ? store.duplicateFires : '-'}`],
  ['duplicate deliveries (same attempt / later attempt)', `${figures.duplicateDeliveries} (${figures.redeliveredSameAttempt} / ${figures.redeliveredLaterAttempt})`],
  ['missed fires', figures.missed],
  ['skipped fires (misfire policy)', storeOk ? store.skippedFires : '-'],
  ['deliveries off the schedule grid', figures.offGrid],
  ['status requests received', figures.statusRequests],
  ['longest gap per task, ms: p50 / p99 / max', `${fmt(figures.longestGapMs.p50, 0)} / ${fmt(figures.longestGapMs.p99, 0)} / ${fmt(figures.longestGapMs.max, 0)}`],
  ['fire lag (receipt − instant), ms: p50 / p99 / max', `${fmt(figures.lagMs.p50, 0)} / ${fmt(figures.lagMs.p99, 0)} / ${fmt(figures.lagMs.max, 0)}`],
  ['catch-up after the faults, s', fmt(catchUpMs / 1000)],
  ['nodes crashed by themselves', crashes.length],
  ['restarts that failed (not ready within 120 s)', failedRestarts.length],
]);
if (faults.length > 0) {
  const resume = figures.faults.map((f) => f.resumeMs).sort((a, b) => a - b);
  console.log('');
  console.log(`resume after each fault (ms; from the ${fault === 'db-restart' ? 'database being up again' : 'fault'} until every task had a fire at or after it delivered): `
    + `median ${fmt(resume[Math.floor(resume.length / 2)]!, 0)}, max ${fmt(resume.at(-1)!, 0)}`);
  printTable(['#', 'fault', 'slot', 'at', 'over after ms', 'resume ms', 'longest gap ms'], figures.faults.map((f, i) => [
    i + 1, f.kind, f.slot ?? '-', new Date(f.at).toISOString().slice(11, 23), f.over - f.at, f.resumeMs, f.longestGapMs,
  ]));
}
console.log('');
printTable(['slot', 'pid', 'ended', 'max RSS MiB', 'last RSS MiB'], cluster.processes.map((p) => [
  p.slot, p.pid, p.end ?? '-', fmt(p.maxRssBytes / 2 ** 20), fmt(p.lastRssBytes / 2 ** 20),
]));
if (storeOk && store.unfinished.length > 0) {
  console.log('\nruns not finished at the end:');
  printTable(['status', 'owner', 'runs'], store.unfinished.map((u) => [u.status, u.owner, u.count]));
}
if (storeOk && store.explained.length > 0) {
  console.log(`\nmissed fires and runs that did not succeed (first ${Math.min(40, store.explained.length)} of ${store.explained.length}; all in --out):`);
  printTable(['task', 'instant', 'delivered', 'run status', 'owner', 'attempts (status, sent)', 'error'], store.explained.slice(0, 40).map((e) => [
    e.taskId.slice(-8), e.scheduledAt.slice(11, 23), e.delivered ? 'yes' : 'no', e.status ?? '-', e.owner ?? '-',
    e.attempts.map((a) => `#${a.number} ${a.status} ${a.sentAt ? `sent ${a.sentAt.slice(11, 23)}` : 'unsent'}`).join('; ') || '-', (e.error ?? '').slice(0, 80),
  ]));
}
for (const line of failedRestarts) console.log(`restart failed: ${line}`);
for (const p of crashes) console.log(`\nslot ${p.slot} pid ${p.pid} crashed (${p.exit}):\n${p.output ?? ''}`);

if (values.out) {
  writeFileSync(values.out, `${JSON.stringify({
    command, at: new Date(faultsStart).toISOString(), machine: machineLine(), load: loadLine(), cpu, seed: initialSeed,
    store: kind, storeServer: privateDb?.describe ?? serverUrl, nodes: nodeCount, tasks: taskCount, periodMs, durationMs, fault, faultEveryMs,
    catchUpMs, badSignatures: fetched.badSignatures, failedRestarts, logDir, figures, storeFigures: store,
    processes: cluster.processes.map(({ output: _output, ...p }) => p),
  }, null, 2)}\n`);
  progress(`figures written to ${values.out}`);
}
const failed = figures.duplicateFires > 0 || (storeOk && store.duplicateFires > 0) || figures.missed > 0 || figures.tasksNeverDelivered > 0 || crashes.length > 0 || fetched.badSignatures > 0;
console.log(`\nchaos: ${failed ? 'FAILED' : 'ok'}: ${figures.duplicateFires} duplicate fires, ${figures.missed} missed fires, ${crashes.length} crashes`);
process.exit(failed ? 1 : 0);
