/**
 * Map/reduce throughput (issue 20): how long a run takes whose handler maps N subtasks with a
 * trivial handler (it returns its item) and reduces them (a sum over the results' pages), with two
 * SDK executor processes in the task's group, on SQLite and on PostgreSQL (a scratch schema).
 *
 * Printed per store: the run's wall time from the trigger to its end (the API's `startedAt` to
 * `finishedAt`, and as seen by this driver), subtasks per second, and how the subtasks were split
 * between the two executors. Nothing is judged but the result's correctness (exit 1 otherwise).
 *
 *   node bench/map-reduce.ts [--subtasks 10000] [--stores sqlite,postgres] [--postgres-url URL] [--slots 64]
 *   node bench/map-reduce.ts --quick     # 500 subtasks
 *
 * The executors are packages/server/test/map-reduce/fixtures/map-node.ts (handlers `mapper`,
 * `square`, `sum`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createScratch, type Scratch } from '../packages/server/scripts/scratch-sql-store.ts';
import { REPO_ROOT, startEcronServer, type ServerHandle } from './lib/processes.ts';
import { machineLine, printResult, printTable, progress } from './lib/table.ts';

const { values } = parseArgs({
  options: {
    subtasks: { type: 'string' }, stores: { type: 'string', default: 'sqlite,postgres' }, slots: { type: 'string', default: '64' },
    'postgres-url': { type: 'string', default: process.env.ECRON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    quick: { type: 'boolean', default: false },
  },
});
const count = Number(values.subtasks ?? (values.quick ? 500 : 10_000));
const stores = values.stores.split(',').map((s) => s.trim()).filter(Boolean);
const FIXTURE = join(REPO_ROOT, 'packages/server/test/map-reduce/fixtures/map-node.ts');

async function api<T = any>(server: ServerHandle, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${server.url}${path}`, {
    method, headers: { authorization: `Bearer ${server.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json() as T;
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

/** One executor process of the fixture; resolves once it printed `ready`. */
function startExecutor(server: ServerHandle, nodeId: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [FIXTURE], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ECRON_SERVER: server.url, ECRON_TOKEN: server.token, NODE_ID: nodeId, GROUP: 'bench', SLOTS: values.slots },
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => { if (line.includes('"ready"')) resolve(child); });
    child.once('exit', (code) => reject(new Error(`executor ${nodeId} exited with ${code}`)));
  });
}

async function runOn(store: string): Promise<(string | number)[]> {
  const scratch: Scratch | null = store === 'sqlite' ? null : await createScratch(values['postgres-url']);
  const server = await startEcronServer({ args: scratch ? ['--store', scratch.storeUrl] : [] });
  const executors: ChildProcess[] = [];
  try {
    executors.push(await startExecutor(server, 'bench-a'), await startExecutor(server, 'bench-b'));
    const task = await api<{ id: string }>(server, 'POST', '/api/v1/tasks', {
      name: 'map-bench', schedule: { manual: true }, target: { type: 'executor', group: 'bench', handler: 'mapper' },
    });
    progress(`${store}: ${count} subtasks`);
    const started = performance.now();
    const { id } = await api<{ id: string }>(server, 'POST', `/api/v1/tasks/${task.id}/trigger`, { params: { n: count, options: { reduce: 'sum' } } });
    let run: any;
    for (;;) {
      run = await api(server, 'GET', `/api/v1/runs/${id}`);
      if (run.finishedAt) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seenMs = performance.now() - started;
    const expected = (count * (count - 1)) / 2;
    if (run.status !== 'succeeded' || run.output?.sum !== expected || run.output?.count !== count) {
      throw new Error(`${store}: the run ended ${run.status} with ${JSON.stringify(run.output ?? run.error).slice(0, 300)}; expected the sum ${expected}`);
    }
    const serverMs = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
    const split = Object.entries(run.output.nodes as Record<string, number>).map(([node, n]) => `${node}: ${n}`).join(', ');
    printResult({ bench: 'map-reduce', store, subtasks: count, serverMs, seenMs: Math.round(seenMs), perSecond: Math.round(count / (serverMs / 1000)), split: run.output.nodes });
    return [store, count, serverMs, Math.round(seenMs), Math.round(count / (serverMs / 1000)), split];
  } finally {
    for (const child of executors) child.kill('SIGKILL');
    await server.stop();
    await scratch?.drop();
  }
}

console.log(`# map/reduce: ${count} subtasks, 2 executor processes of ${values.slots} slots (${machineLine()})`);
const rows: (string | number)[][] = [];
for (const store of stores) rows.push(await runOn(store));
printTable(['store', 'subtasks', 'run ms (server)', 'ms (driver)', 'subtasks/s', 'split'], rows);
