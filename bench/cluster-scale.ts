/**
 * Cluster at scale: a million tasks in PostgreSQL, then nodes started on them.
 *
 *   node bench/cluster-scale.ts [--tasks 1000000] [--nodes 3] [--share-1s 0.001] [--share-10s 0.009]
 *     [--requests 300] [--query-budget-s 30] [--quick] [--keep-store] [--postgres-url URL] [--rev COMMIT]
 *
 * 1. A scratch schema on the machine's PostgreSQL; `--nodes` nodes start once on it (the first
 *    creates the schema and the cluster's keys) and stop.
 * 2. The tasks go in by the bulk path (lib/bulk-tasks.ts: rows built with the server's own
 *    functions, multi-row INSERTs of 10,000), then `tasks` is vacuumed once: most daily (`cron: '0 0 3 * * *'` in eight zones),
 *    `--share-1s` of them `every: '1s'` and `--share-10s` `every: '10s'` (inserted last, anchored
 *    at the insert, so they are due a second or ten later), spread over 100 namespaces, with a
 *    last run status on most (0.1 % 'failed'). Every task targets one executor (bench/executor.ts).
 * 3. Node 1 starts alone: time from spawn to ready, and to its first fire (the first run it recorded,
 *    from the store, and the first delivery at the executor). Then the other nodes start together:
 *    the same figures, and the time until the buckets are balanced.
 * 4. `GET /api/v1/tasks` with filters, `--requests` times each (fewer when `--query-budget-s` per filter runs out, 3 at least),
 *    one at a time, round-robin over the nodes: latency p50/p99/max.
 * 5. RSS of every node, sampled each second: max and last.
 *
 * Goals (printed, never asserted): RSS < 300 MB per node, first fire < 10 s after the process
 * starts, list p99 < 50 ms. Exits 1 only on a crash or a duplicate fire.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Pool } from 'undici';
import { countDuplicates, ExecutorClient } from './lib/api.ts';
import { insertTasks } from './lib/bulk-tasks.ts';
import { sleep, startWatchdog } from './lib/children.ts';
import { serverBin, startBenchExecutor } from './lib/processes.ts';
import { snapshotServer } from './lib/snapshot.ts';
import { fmt, summarize, type Summary } from './lib/stats.ts';
import { cpuLine, cpuSnapshot, loadLine, machineLine, printResult, printTable, progress } from './lib/table.ts';
import { ADMIN_TOKEN, ChaosCluster } from './chaos/cluster.ts';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string' },
    nodes: { type: 'string', default: '3' },
    'share-1s': { type: 'string', default: '0.001' },
    'share-10s': { type: 'string', default: '0.009' },
    requests: { type: 'string' },
    'query-budget-s': { type: 'string' },
    'postgres-url': { type: 'string', default: process.env.ECRON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'keep-store': { type: 'boolean', default: false },
    rev: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const quick = values.quick;
const taskCount = Number(values.tasks ?? (quick ? 20_000 : 1_000_000));
const nodeCount = Number(values.nodes);
const share1s = Number(values['share-1s']);
const share10s = Number(values['share-10s']);
const requests = Number(values.requests ?? (quick ? 30 : 300));
const queryBudgetMs = 1000 * Number(values['query-budget-s'] ?? (quick ? 5 : 30));
if (!Number.isInteger(taskCount) || taskCount < 100 || !Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 8) throw new Error('--tasks ≥ 100, --nodes 1..8');
startWatchdog(quick ? 90_000 : 40 * 60_000, 'cluster-scale');
// The server under test, frozen at a commit (`git archive`): the working tree changes under other hands.
if (values.rev) {
  const { bin, commit } = snapshotServer(values.rev);
  process.env.ECRON_BENCH_BIN = bin;
  progress(`server frozen at ${commit}: ${bin}`);
}

const GOAL_RSS_MB = 300;
const GOAL_FIRST_FIRE_MS = 10_000;
const GOAL_LIST_P99_MS = 50;
const NAMESPACES = 100;
/** Zones whose 03:00 falls far from a typical European evening run (none between 19:00 and 23:00 UTC). */
const ZONES = ['UTC', 'Europe/Paris', 'Europe/London', 'America/New_York', 'America/Los_Angeles', 'America/Sao_Paulo', 'Asia/Tokyo', 'Australia/Sydney'];

const count1s = Math.round(taskCount * share1s);
const count10s = Math.round(taskCount * share10s);
const dailyCount = taskCount - count1s - count10s;
const command = `node bench/cluster-scale.ts ${process.argv.slice(2).join(' ')}`;
console.log(`# cluster-scale: ${command}`);
console.log(machineLine());
console.log(`server: ${serverBin()}`);
console.log(loadLine());
console.log(`${taskCount} tasks: ${dailyCount} daily (cron 0 0 3 * * * in ${ZONES.length} zones), ${count1s} every 1s, ${count10s} every 10s; ${NAMESPACES} namespaces; ${nodeCount} nodes on PostgreSQL`);
const cpuAtStart = cpuSnapshot();

// 1. Executor, scratch schema, schema migrated by a first start.
const executor = await startBenchExecutor();
const received = new ExecutorClient(executor.url);
const cluster = new ChaosCluster(values['postgres-url'], []);
await cluster.start(nodeCount);
await cluster.stop();
const schema = cluster.scratchName;
progress(`schema ${schema} created by ${nodeCount} nodes, which stopped; executor at ${executor.url}`);

let failure: string | null = null;
try {
  // 2. The tasks.
  const target = { type: 'http', url: executor.runUrl };
  const templates = [
    ...ZONES.map((timezone) => ({ name: 'x', schedule: { cron: '0 0 3 * * *', timezone }, target })),
    { name: 'x', schedule: { every: '1s' }, target },
    { name: 'x', schedule: { every: '10s' }, target },
  ];
  const daily0 = Date.now();
  let everyBase = 0;
  const insertStarted = performance.now();
  await insertTasks({
    serverUrl: values['postgres-url'], schema, templates, count: taskCount,
    taskAt: (i) => {
      const namespace = `team-${String(i % NAMESPACES).padStart(2, '0')}`;
      if (i < dailyCount) {
        return {
          template: i % ZONES.length, namespace, name: `job-${String(i).padStart(7, '0')}`, createdAt: daily0,
          lastRunStatus: i % 1000 === 7 ? 'failed' : i % 10 === 0 ? null : 'succeeded',
        };
      }
      if (everyBase === 0) everyBase = Date.now();
      const k = i - dailyCount;
      // Phases spread over the period, as creation times spread them through the API.
      return k < count1s
        ? { template: ZONES.length, namespace, name: `tick-1s-${String(k).padStart(6, '0')}`, createdAt: everyBase - (k % 1000) }
        : { template: ZONES.length + 1, namespace, name: `tick-10s-${String(k).padStart(6, '0')}`, createdAt: everyBase - ((k * 7) % 10_000) };
    },
    onBatch: (done) => { if (done % 100_000 === 0 || done === taskCount) progress(`  ${done}/${taskCount} inserted`); },
  });
  const insertMs = performance.now() - insertStarted;
  progress(`${taskCount} tasks inserted in ${fmt(insertMs / 1000)} s`);
  // What autovacuum does after a load of this size (insert threshold): without it, the visibility
  // map is empty and every index-only scan of `tasks` reads the table. The machine's server may run
  // with autovacuum off: then nothing vacuums while the nodes fire (their updates leave dead rows).
  const vacuumStarted = performance.now();
  const maintenance = new pg.Client({ connectionString: values['postgres-url'] });
  await maintenance.connect();
  await maintenance.query(`SET search_path TO ${schema}`);
  await maintenance.query('VACUUM (ANALYZE) tasks');
  const autovacuum = (await maintenance.query<{ autovacuum: string }>('SHOW autovacuum')).rows[0]!.autovacuum;
  await maintenance.end();
  progress(`tasks vacuumed in ${fmt((performance.now() - vacuumStarted) / 1000)} s; the server's autovacuum is ${autovacuum}`);
  console.log(`PostgreSQL autovacuum: ${autovacuum} (tasks vacuumed once after the insert)`);

  // 3. Node 1 alone, then the others.
  await received.reset();
  const rssTimer = setInterval(() => cluster.sampleRss(), 1000);
  const spawns: { slot: number; spawnAt: number; readyAt: number }[] = [];
  const startSlot = async (slot: number) => {
    const spawnAt = Date.now();
    await cluster.startSlot(slot);
    spawns.push({ slot, spawnAt, readyAt: Date.now() });
  };
  await startSlot(0);
  const firstDeliveryDeadline = Date.now() + 60_000;
  while ((await received.count()) === 0 && Date.now() < firstDeliveryDeadline) await sleep(20);
  const firstDelivery = (await received.records()).records.reduce((min, r) => Math.min(min, r.receivedAt), Infinity);
  progress(`node 1 up in ${spawns[0]!.readyAt - spawns[0]!.spawnAt} ms, first delivery ${firstDelivery - spawns[0]!.spawnAt} ms after its spawn`);
  await sleep(quick ? 3000 : 10_000);
  let balancedMs = 0;
  if (nodeCount > 1) {
    await Promise.all(Array.from({ length: nodeCount - 1 }, (_, i) => startSlot(i + 1)));
    balancedMs = await cluster.waitBalanced(120_000);
    progress(`${nodeCount} nodes balanced ${balancedMs} ms after the last was ready`);
    await sleep(quick ? 2000 : 10_000);
  }

  // 4. List latency.
  const listStart = Date.now();
  const live = cluster.processes.filter((p) => p.end === null);
  const pools = live.map((p) => new Pool(p.url, { connections: 1, keepAliveTimeout: 60_000 }));
  const queries: { label: string; query: (i: number) => string }[] = [
    { label: 'no filter, limit 50', query: () => 'limit=50' },
    { label: 'namespace + state=active, limit 50', query: (i) => `namespace=team-${String(i % NAMESPACES).padStart(2, '0')}&state=active&limit=50` },
    { label: 'lastRunStatus=failed, limit 50', query: () => 'lastRunStatus=failed&limit=50' },
    { label: 'namespace + lastRunStatus=failed, limit 50', query: (i) => `namespace=team-${String(i % NAMESPACES).padStart(2, '0')}&lastRunStatus=failed&limit=50` },
    { label: 'q= substring, common (\'tick-1s\')', query: () => 'q=tick-1s&limit=50' },
    { label: 'q= substring, one match', query: (i) => `q=job-${String((i * 7919) % dailyCount).padStart(7, '0')}&limit=50` },
    { label: 'namespace + q= substring, one match', query: (i) => { const n = (i * 7919) % dailyCount; return `namespace=team-${String(n % NAMESPACES).padStart(2, '0')}&q=job-${String(n).padStart(7, '0')}&limit=50`; } },
    { label: 'name= exact, no namespace', query: (i) => `name=job-${String((i * 7919) % dailyCount).padStart(7, '0')}&limit=50` },
    { label: 'namespace + name= exact', query: (i) => { const n = (i * 7919) % dailyCount; return `namespace=team-${String(n % NAMESPACES).padStart(2, '0')}&name=job-${String(n).padStart(7, '0')}&limit=50`; } },
    { label: 'q= 3 digits (~0.3 % match)', query: (i) => `q=${100 + ((i * 37) % 900)}&limit=50` },
    // No three letters or digits in a row: no trigram to look up, every name is read (docs/benchmarks.md).
    { label: 'q= 2 characters, no match', query: (i) => `q=${'zqxw'[i % 4]}${'vykq'[(i >> 2) % 4]}&limit=50` },
    { label: 'page 2 (cursor), namespace', query: () => '' },
  ];
  const latencies: { label: string; summary: Summary; items: number; errors: number }[] = [];
  for (const { label, query } of queries) {
    const times: number[] = [];
    let items = 0;
    let errors = 0;
    const started = Date.now();
    let cursor: string | null = null;
    // One warm-up request (not timed), then up to `requests`, within the budget but at least 3.
    for (let i = 0; i <= requests && (i <= 3 || Date.now() - started < queryBudgetMs); i += 1) {
      let path = `/api/v1/tasks?${query(i)}`;
      if (label.startsWith('page 2')) {
        // A first page (not timed), then its next page (timed).
        const first = await pools[i % pools.length]!.request({ path: `/api/v1/tasks?namespace=team-${String(i % NAMESPACES).padStart(2, '0')}&limit=50`, method: 'GET', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        cursor = ((await first.body.json()) as { nextCursor: string | null }).nextCursor;
        path = `/api/v1/tasks?namespace=team-${String(i % NAMESPACES).padStart(2, '0')}&limit=50&cursor=${encodeURIComponent(cursor ?? '')}`;
      }
      const t0 = performance.now();
      const response = await pools[i % pools.length]!.request({ path, method: 'GET', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, headersTimeout: 120_000, bodyTimeout: 120_000 });
      const body = (await response.body.json()) as { items?: unknown[] };
      const ms = performance.now() - t0;
      if (response.statusCode !== 200) errors += 1;
      if (i === 0) continue;
      times.push(ms);
      items += body.items?.length ?? 0;
    }
    const summary = summarize(times);
    latencies.push({ label, summary, items: times.length ? items / times.length : 0, errors });
    progress(`${label}: ${times.length} requests, p50 ${fmt(summary.p50)} p99 ${fmt(summary.p99)} max ${fmt(summary.max)} ms`);
  }
  await Promise.all(pools.map((p) => p.close()));

  // 5. Figures.
  clearInterval(rssTimer);
  cluster.sampleRss();
  const db = new pg.Client({ connectionString: values['postgres-url'] });
  await db.connect();
  await db.query(`SET search_path TO ${schema}`);
  const firstRuns = new Map((await db.query<{ owner: string; first: string; runs: string }>('SELECT owner, min(created_at) AS first, count(*) AS runs FROM runs GROUP BY owner')).rows
    .map((r) => [r.owner, { first: Number(r.first), runs: Number(r.runs) }]));
  const sizes = (await db.query<{ name: string; size: string }>(`SELECT relname AS name, pg_total_relation_size(c.oid)::text AS size FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = $1 AND relname IN ('tasks', 'task_revisions', 'runs', 'attempts')`, [schema])).rows;
  await db.end();
  const { records } = await received.records();
  const duplicates = countDuplicates(records);
  const runs = records.filter((r) => r.event === 'run');
  const lagSummary = summarize(runs.filter((r) => r.scheduledAt >= listStart).map((r) => r.receivedAt - r.scheduledAt));
  const startupLag = summarize(runs.filter((r) => r.scheduledAt < listStart).map((r) => r.receivedAt - r.scheduledAt));

  console.log('');
  console.log(`bulk insert: ${taskCount} tasks in ${fmt(insertMs / 1000)} s (${Math.round(taskCount / (insertMs / 1000))}/s); table sizes: ${sizes.map((s) => `${s.name} ${fmt(Number(s.size) / 2 ** 20, 0)} MiB`).join(', ')}`);
  console.log('');
  const nodeRows = spawns.sort((a, b) => a.slot - b.slot).map((s) => {
    const node = cluster.processes.filter((p) => p.slot === s.slot).at(-1)!;
    const own = node.nodeId ? firstRuns.get(node.nodeId) : undefined;
    return {
      slot: s.slot + 1, pid: node.pid, readyMs: s.readyAt - s.spawnAt, firstFireMs: own ? own.first - s.spawnAt : NaN, runs: own?.runs ?? 0,
      maxRss: node.maxRssBytes / 2 ** 20, lastRss: node.lastRssBytes / 2 ** 20,
    };
  });
  printTable(['node', 'pid', 'spawn → ready ms', 'spawn → first fire ms', 'runs recorded', 'max RSS MiB', 'last RSS MiB'],
    nodeRows.map((r) => [r.slot, r.pid, r.readyMs, fmt(r.firstFireMs, 0), r.runs, fmt(r.maxRss), fmt(r.lastRss)]));
  console.log(`first delivery at the executor: ${firstDelivery - spawns.find((s) => s.slot === 0)!.spawnAt} ms after node 1's spawn; buckets balanced ${balancedMs} ms after nodes 2-${nodeCount} were ready`);
  console.log(`deliveries: ${runs.length}, duplicates ${duplicates.byRun + duplicates.byFire}; fire lag during the list requests p50 ${lagSummary.p50} p99 ${lagSummary.p99} max ${lagSummary.max} ms (${lagSummary.count} fires); before them (start-up, bucket moves) p50 ${startupLag.p50} p99 ${startupLag.p99} max ${startupLag.max} ms`);
  console.log('');
  printTable(['GET /api/v1/tasks', 'requests', 'items/page', 'p50 ms', 'p90', 'p99', 'max', 'errors'],
    latencies.map((l) => [l.label, l.summary.count, fmt(l.items, 0), fmt(l.summary.p50), fmt(l.summary.p90), fmt(l.summary.p99), fmt(l.summary.max), l.errors]));
  console.log('');
  console.log(loadLine());
  console.log(cpuLine(cpuAtStart));
  const maxRss = Math.max(...nodeRows.map((r) => r.maxRss));
  const maxFirst = Math.max(...nodeRows.map((r) => r.firstFireMs));
  const worstP99 = Math.max(...latencies.map((l) => l.summary.p99));
  const slowFilters = latencies.filter((l) => l.summary.p99 >= GOAL_LIST_P99_MS).map((l) => l.label);
  console.log(`goals: RSS < ${GOAL_RSS_MB} MB: ${maxRss < GOAL_RSS_MB ? 'met' : 'NOT met'} (max ${fmt(maxRss)} MiB); first fire < ${GOAL_FIRST_FIRE_MS / 1000} s: ${maxFirst < GOAL_FIRST_FIRE_MS ? 'met' : 'NOT met'} (max ${fmt(maxFirst, 0)} ms); list p99 < ${GOAL_LIST_P99_MS} ms: ${worstP99 < GOAL_LIST_P99_MS ? 'met' : 'NOT met'} (worst ${fmt(worstP99)} ms${slowFilters.length ? `; missed by: ${slowFilters.join(', ')}` : ''})`);
  const crashes = cluster.processes.filter((p) => p.end === 'crash');
  if (duplicates.byRun + duplicates.byFire > 0) failure = `${duplicates.byRun + duplicates.byFire} duplicate deliveries`;
  if (crashes.length > 0) failure = `${crashes.length} node(s) crashed: ${crashes.map((c) => `${c.exit}\n${c.output}`).join('\n')}`;
  printResult({
    scenario: 'cluster-scale', quick, tasks: taskCount, nodes: nodeRows, insertMs: Math.round(insertMs),
    list: latencies.map((l) => ({ label: l.label, p50: l.summary.p50, p99: l.summary.p99, max: l.summary.max, count: l.summary.count })),
    goals: { rss: maxRss < GOAL_RSS_MB, firstFire: maxFirst < GOAL_FIRST_FIRE_MS, listP99: worstP99 < GOAL_LIST_P99_MS }, failures: failure ? [failure] : [],
  });
} finally {
  await cluster.stop();
  await executor.stop();
  await cluster.dropStore(values['keep-store']);
}
if (failure) console.error(`cluster-scale: FAILED: ${failure}`);
process.exit(failure ? 1 : 0);
