/**
 * `GET /api/v1/tasks` latency at scale (issue 16: p99 < 50 ms for every filter at 1,000,000 tasks).
 *
 *   node bench/task-list-latency.ts [--store sqlite|postgres|mysql] [--tasks 1000000] [--quick]
 *     [--requests 300] [--budget-s 20] [--filter TEXT] [--keep-store NAME | --reuse-store NAME] [--load-only]
 *     [--postgres-url URL] [--mysql-url URL]
 *
 * 1. N tasks (lib/task-list-data.ts: 100 namespaces, 5 % paused, 0.5 % completed, 2 % last run
 *    failed, labels on a third) go into a scratch store with the server stopped: PostgreSQL by the
 *    bulk path (lib/bulk-tasks.ts `insertTasks`, then VACUUM ANALYZE as autovacuum would), SQLite
 *    and MySQL/MariaDB through the store's `upsertTasks` verb (the batch API's path), chunks of 1,000.
 *    `--keep-store NAME` keeps the loaded store (a PostgreSQL schema, a MySQL database, or
 *    `$TMPDIR/NAME.db`) for later runs with `--reuse-store NAME`, which load nothing;
 *    `--load-only` stops after the load (and keeps the store).
 * 2. A real `ecron start --store …` on it; the tasks fire once a year, so it is idle.
 * 3. Every filter of lib/task-list-data.ts, `--requests` times (one warm-up first, not timed), one at
 *    a time on one keep-alive connection, `limit=50`; a filter stops early when `--budget-s` runs
 *    out (after 10 timed requests, or 3 budgets), so that full scans cannot hold the run past its
 *    20 minutes. A filter whose warm-up alone outlasts 3 budgets reports that one request (`1*`).
 *    Page 2 fetches page 1 (not timed) for the cursor.
 *
 * Prints p50/p99/max per filter, the store, N, the commit and the machine's load. Asserts nothing:
 * the figures mean something only on a quiet machine.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { adminStatement, createScratch, scratchName } from '../packages/server/scripts/scratch-sql-store.ts';
import { createStore, parseStoreUrl } from '../packages/server/src/store-config.ts';
import { insertTasks, upsertTasksInChunks } from './lib/bulk-tasks.ts';
import { startWatchdog } from './lib/children.ts';
import { REPO_ROOT, serverBin, startEcronServer, type ServerHandle } from './lib/processes.ts';
import { fmt, summarize, type Summary } from './lib/stats.ts';
import { FILTERS, SCOPED_NAMESPACES, taskAt, TEMPLATES, type ListFilter } from './lib/task-list-data.ts';
import { loadLine, machineLine, printResult, printTable, progress } from './lib/table.ts';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite' },
    tasks: { type: 'string' },
    quick: { type: 'boolean', default: false },
    requests: { type: 'string', default: '300' },
    'budget-s': { type: 'string' },
    filter: { type: 'string' },
    'keep-store': { type: 'string' },
    'reuse-store': { type: 'string' },
    'load-only': { type: 'boolean', default: false },
    'postgres-url': { type: 'string', default: process.env.ECRON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'mysql-url': { type: 'string', default: process.env.ECRON_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test' },
  },
});
const kind = values.store;
if (kind !== 'sqlite' && kind !== 'postgres' && kind !== 'mysql') throw new Error('--store: sqlite, postgres or mysql');
const requested = Number(values.tasks ?? (values.quick ? 20_000 : 1_000_000));
const requests = Number(values.requests);
const budgetMs = 1000 * Number(values['budget-s'] ?? (values.quick ? 5 : 20));
const MIN_REQUESTS = 10;
const PAGE = 50;
if (!Number.isInteger(requested) || requested < 1000) throw new Error('--tasks: 1000 at least');
if (values['keep-store'] && values['reuse-store']) throw new Error('--keep-store or --reuse-store, not both');
const NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
const named = values['reuse-store'] ?? values['keep-store'];
if (named !== undefined && !NAME_PATTERN.test(named)) throw new Error('--keep-store/--reuse-store: a lowercase identifier (letters, digits, _)');
const keep = named !== undefined || values['load-only'];
startWatchdog(20 * 60_000, 'task-list-latency');

/** The admin secret, fixed so that a kept store's admin token still works in the next run. */
const ADMIN_TOKEN = `ecr_tasklist_${'0'.repeat(40)}`;

function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} + uncommitted changes` : head;
  } catch {
    return 'unknown';
  }
}

interface ScratchStore {
  name: string;
  url: string;
  exists(): Promise<boolean>;
  count(): Promise<number>;
  drop(): Promise<void>;
}

async function scratchStore(name: string): Promise<ScratchStore> {
  if (kind === 'sqlite') {
    const path = join(tmpdir(), `${name}.db`);
    /** One statement's row on a connection of its own, closed at once (the server locks the file). */
    const first = (statement: string): Record<string, unknown> | undefined => {
      const db = new DatabaseSync(path);
      try {
        return db.prepare(statement).get();
      } finally {
        db.close();
      }
    };
    return {
      name, url: `sqlite:${path}`,
      exists: async () => { try { return first("SELECT 1 FROM sqlite_master WHERE name = 'tasks'") !== undefined; } catch { return false; } },
      count: async () => Number(first("SELECT count(*) AS n FROM tasks WHERE kind = 'task'")!.n),
      drop: async () => { for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true }); },
    };
  }
  const server = kind === 'postgres' ? values['postgres-url'] : values['mysql-url'];
  const scratch = await createScratch(server, name);
  const count = async () => Number((await adminStatement(scratch.storeUrl.replace(/\?schema=.*$/, ''),
    `SELECT count(*) AS n FROM ${name}.tasks WHERE kind = 'task'`))[0]!.n);
  return {
    name, url: scratch.storeUrl, count, drop: scratch.drop,
    exists: async () => { try { await count(); return true; } catch { return false; } },
  };
}

/** Loads `n` tasks into the (new) store, migrating it first. */
async function load(target: ScratchStore, n: number): Promise<void> {
  const createdAt = Date.now();
  const onBatch = (done: number) => { if (done % 100_000 === 0 || done === n) progress(`  ${done}/${n} tasks`); };
  const store = createStore(parseStoreUrl(target.url, tmpdir()));
  await store.open();
  if (kind !== 'postgres') {
    try {
      await upsertTasksInChunks({ store, templates: TEMPLATES, count: n, taskAt: (i) => taskAt(i, createdAt), onBatch });
    } finally {
      await store.close();
    }
    if (kind === 'mysql') await adminStatement(target.url, 'ANALYZE TABLE tasks');
    return;
  }
  await store.close();
  await insertTasks({ serverUrl: values['postgres-url'], schema: target.name, templates: TEMPLATES, count: n, taskAt: (i) => taskAt(i, createdAt), onBatch });
  // What autovacuum does after a load of this size: without it, index-only scans read the table.
  await adminStatement(values['postgres-url'], `VACUUM (ANALYZE) ${target.name}.tasks`);
}

interface Measured { label: string; summary: Summary; items: number; errors: number; warmUpOnly: boolean }

async function measure(server: ServerHandle, filter: ListFilter, n: number, scopedToken: string): Promise<Measured> {
  const pool = new Pool(server.url, { connections: 1, keepAliveTimeout: 60_000 });
  const headers = { authorization: `Bearer ${filter.scoped ? scopedToken : server.token}` };
  const get = async (query: string) => {
    const response = await pool.request({ path: `/api/v1/tasks?${query}`, method: 'GET', headers, headersTimeout: 600_000, bodyTimeout: 600_000 });
    const body = (await response.body.json()) as { items?: unknown[]; nextCursor?: string | null };
    return { status: response.statusCode, body };
  };
  const times: number[] = [];
  let items = 0;
  let errors = 0;
  let warmUp = NaN;
  const started = performance.now();
  try {
    for (let i = 0; i <= requests; i += 1) {
      const elapsed = performance.now() - started;
      if (i > 0 && elapsed >= budgetMs && (times.length >= MIN_REQUESTS || elapsed >= 3 * budgetMs)) break;
      let query = [filter.query(i, n), `limit=${PAGE}`].filter(Boolean).join('&');
      if (filter.page2) {
        const first = await get(query);
        query += `&cursor=${encodeURIComponent(first.body.nextCursor ?? '')}`;
      }
      const t0 = performance.now();
      const { status, body } = await get(query);
      const ms = performance.now() - t0;
      if (status !== 200) errors += 1;
      if (i === 0) {
        warmUp = ms;
        continue;
      }
      times.push(ms);
      items += body.items?.length ?? 0;
    }
  } finally {
    await pool.close();
  }
  const warmUpOnly = times.length === 0;
  return { label: filter.label, summary: summarize(warmUpOnly ? [warmUp] : times), items: times.length ? items / times.length : NaN, errors, warmUpOnly };
}

async function createScopedToken(server: ServerHandle): Promise<string> {
  const pool = new Pool(server.url, { connections: 1 });
  try {
    const response = await pool.request({
      path: '/api/v1/tokens', method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `bench-list-${Date.now()}`, role: 'viewer', namespaces: SCOPED_NAMESPACES }),
    });
    const text = await response.body.text();
    if (response.statusCode !== 201) throw new Error(`POST /api/v1/tokens answered ${response.statusCode}: ${text}`);
    return (JSON.parse(text) as { secret: string }).secret;
  } finally {
    await pool.close();
  }
}

async function main(): Promise<void> {
  const command = `node bench/task-list-latency.ts ${process.argv.slice(2).join(' ')}`;
  console.log(`# task-list-latency: ${command}`);
  console.log(`${machineLine()}; commit ${commit()}; server ${serverBin()}`);
  console.log(loadLine());
  const target = await scratchStore(named ?? scratchName());
  let server: ServerHandle | null = null;
  try {
    if (values['reuse-store']) {
      if (!(await target.exists())) throw new Error(`--reuse-store ${target.name}: no such ${kind} store (load it first with --keep-store ${target.name})`);
      progress(`reusing the ${kind} store ${target.name}`);
    } else {
      const started = performance.now();
      await load(target, requested);
      progress(`${requested} tasks loaded into ${kind} store ${target.name} in ${fmt((performance.now() - started) / 1000)} s`);
    }
    const n = await target.count();
    console.log(`store: ${kind} (${target.name}), ${n} tasks`);
    if (values['load-only']) return;

    server = await startEcronServer({ args: ['--store', target.url], adminToken: ADMIN_TOKEN, readyTimeoutMs: 300_000 });
    progress(`server up at ${server.url}`);
    const scopedToken = await createScopedToken(server);
    const filters = FILTERS.filter((f) => !values.filter || f.label.includes(values.filter));
    const results: Measured[] = [];
    for (const filter of filters) {
      const result = await measure(server, filter, n, scopedToken);
      results.push(result);
      progress(`${filter.label}: ${result.summary.count} requests, p50 ${fmt(result.summary.p50)} p99 ${fmt(result.summary.p99)} max ${fmt(result.summary.max)} ms`);
    }
    console.log('');
    printTable(['GET /api/v1/tasks (limit 50)', 'requests', 'items/page', 'p50 ms', 'p99 ms', 'max ms', 'errors'],
      results.map((r) => [r.label, r.warmUpOnly ? '1*' : r.summary.count, fmt(r.items, 0), fmt(r.summary.p50), fmt(r.summary.p99), fmt(r.summary.max), r.errors]));
    if (results.some((r) => r.warmUpOnly)) console.log(`1*: the warm-up request alone outlasted ${3 * budgetMs / 1000} s; its time is shown`);
    console.log('');
    console.log(`store ${kind}, ${n} tasks; ${loadLine()}`);
    printResult({
      scenario: 'task-list-latency', store: kind, tasks: n, commit: commit(), quick: values.quick,
      filters: results.map((r) => ({ label: r.label, count: r.summary.count, p50: r.summary.p50, p99: r.summary.p99, max: r.summary.max, errors: r.errors })),
    });
  } finally {
    await server?.stop();
    if (keep) progress(`kept the ${kind} store ${target.name} (${target.url}); reuse it with --reuse-store ${target.name}`);
    else await target.drop();
  }
}

await main();
process.exit(0);
