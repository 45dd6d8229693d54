/**
 * Bulk task actions: creates N tasks (default 670) through `POST /api/v1/tasks:batch`, then times
 * `POST /api/v1/tasks:pause` and `tasks:resume`, first by ids (one request naming every task), then
 * by a label selector matching them all, and last `tasks:delete` by ids. Prints the figures; it
 * asserts nothing, but counts the items that answered an error.
 *
 *   node bench/bulk-actions.ts [--n 670] [--store sqlite|postgres|mysql] [--postgres-url URL] [--mysql-url URL]
 *
 * On PostgreSQL and MySQL the server runs in a scratch schema or database of its own, dropped after.
 * The tasks fire hourly, so nothing fires meanwhile. `ECRON_BENCH_BIN=<checkout>/packages/server/bin/ecron.js`
 * runs another checkout's server (A/B: the per-task path before the chunked store verbs).
 */
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { createScratch, type Scratch } from '../packages/server/scripts/scratch-sql-store.ts';
import { startWatchdog } from './lib/children.ts';
import { serverBin, startEcronServer } from './lib/processes.ts';
import { machineLine, printResult, printTable, progress } from './lib/table.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '670' },
    store: { type: 'string', default: 'sqlite' },
    'postgres-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    'mysql-url': { type: 'string', default: 'mysql://root@127.0.0.1:3306/test' },
  },
});
const n = Number(values.n);
if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new Error('--n: 1..10000 (one request takes at most 10,000 ids)');
if (!['sqlite', 'postgres', 'mysql'].includes(values.store)) throw new Error('--store: sqlite, postgres or mysql');
startWatchdog(1_800_000, 'bulk-actions');

const LABELS = { bench: 'bulk-actions' };

/** One JSON request; the parsed answer, or an error naming the status. */
async function post(pool: Pool, auth: string, path: string, body: unknown): Promise<{ items: ({ id: string; ok?: true } | { id: string; error: { code: string } })[] }> {
  const response = await pool.request({
    path, method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', authorization: auth },
    headersTimeout: 1_200_000, bodyTimeout: 1_200_000,
  });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`POST ${path} answered ${response.statusCode}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

async function main(): Promise<void> {
  console.log(`# bulk task actions: ${n} tasks on ${values.store} (${machineLine()})`);
  const scratch: Scratch | null = values.store === 'sqlite' ? null : await createScratch(values.store === 'postgres' ? values['postgres-url'] : values['mysql-url']);
  const server = await startEcronServer({ args: scratch ? ['--store', scratch.storeUrl] : [] });
  progress(`server ${serverBin()} up at ${server.url} on ${values.store}${scratch ? ` (${scratch.name})` : ''}`);
  const pool = new Pool(server.url, { connections: 4, keepAliveTimeout: 60_000 });
  const auth = `Bearer ${server.token}`;
  try {
    const target = { type: 'http', url: 'http://127.0.0.1:1/never' };
    const ids: string[] = [];
    for (let from = 0; from < n; from += 5000) {
      const items = Array.from({ length: Math.min(5000, n - from) }, (_, k) => ({
        namespace: 'bulk', name: `a-${from + k}`, schedule: { every: '1h' }, target, labels: LABELS,
      }));
      const answer = await post(pool, auth, '/api/v1/tasks:batch', { items });
      for (const item of answer.items) {
        if (!('id' in item) || 'error' in item) throw new Error(`tasks:batch: ${JSON.stringify(item)}`);
        ids.push(item.id);
      }
    }
    progress(`${ids.length} tasks created`);
    const steps: [string, string, unknown][] = [
      ['pause', 'ids', { ids }], ['resume', 'ids', { ids }],
      ['pause', 'selector', { selector: { labels: LABELS } }], ['resume', 'selector', { selector: { labels: LABELS } }],
      ['delete', 'ids', { ids }],
    ];
    const rows: (string | number)[][] = [];
    const result: Record<string, unknown> = { n, store: values.store };
    for (const [action, by, body] of steps) {
      const started = performance.now();
      const answer = await post(pool, auth, `/api/v1/tasks:${action}`, body);
      const ms = performance.now() - started;
      const failed = answer.items.filter((item) => 'error' in item).length;
      rows.push([`tasks:${action}`, by, answer.items.length, failed, `${(ms / 1000).toFixed(3)} s`, `${Math.round(answer.items.length / (ms / 1000))}/s`]);
      result[`${action}By${by === 'ids' ? 'Ids' : 'Selector'}Ms`] = Math.round(ms);
      progress(`tasks:${action} by ${by}: ${Math.round(ms)} ms`);
    }
    printTable(['action', 'by', 'items', 'errors', 'time', 'rate'], rows);
    printResult(result);
  } finally {
    await pool.close().catch(() => {});
    await server.stop();
    await scratch?.drop();
  }
}

await main();
