/**
 * Map/reduce (issue 20): a run whose handler maps N no-op subtasks and reduces them (a sum over
 * the results' pages), with SDK executor processes in the task's group; on the embedded store by
 * default, on PostgreSQL (a scratch schema) too if asked. Optionally one executor is SIGKILLed
 * once half the subtasks have ended: its subtasks go to the others.
 *
 * The issue's goal: 100,000 no-op subtasks across 4 SDK executor processes on the embedded store
 * done in ≤ 60 s, server RSS ≤ 256 MB, and the reduce sees exactly 100,000 results, also when one
 * executor is SIGKILLed halfway. Printed against the goal, never asserted; exit 1 only when the
 * result is wrong (the run not succeeded, the reduce not seeing each result exactly once).
 *
 *   node bench/map-reduce.ts [--subtasks 100000] [--executors 4] [--kill] [--stores sqlite[,postgres]] [--postgres-url URL] [--slots 64]
 *   node bench/map-reduce.ts --quick     # 2,000 subtasks, 2 executors, with the kill
 *
 * The executors are packages/server/test/map-reduce/fixtures/map-node.ts (handlers `mapper`,
 * `noop`, `sum`). Printed per store: the run's time from its start to its end (the API's
 * `startedAt` to `finishedAt`) and as this driver saw it from the trigger, subtasks per second,
 * the server's peak RSS (sampled every 100 ms), how the results split between the executors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createScratch, type Scratch } from '../packages/server/scripts/scratch-sql-store.ts';
import { REPO_ROOT, startEcronServer, type ServerHandle } from './lib/processes.ts';
import { machineLine, printResult, printTable, progress } from './lib/table.ts';

const { values } = parseArgs({
  options: {
    subtasks: { type: 'string' }, executors: { type: 'string' }, kill: { type: 'boolean' }, stores: { type: 'string', default: 'sqlite' },
    slots: { type: 'string', default: '64' }, quick: { type: 'boolean', default: false },
    'postgres-url': { type: 'string', default: process.env.ECRON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const quick = values.quick;
const count = Number(values.subtasks ?? (quick ? 2000 : 100_000));
const executorCount = Number(values.executors ?? (quick ? 2 : 4));
const kill = values.kill ?? quick;
const stores = values.stores.split(',').map((s) => s.trim()).filter(Boolean);
const FIXTURE = join(REPO_ROOT, 'packages/server/test/map-reduce/fixtures/map-node.ts');
const GOAL = { seconds: 60, rssMb: 256 };

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
    child.once('exit', (code, signal) => reject(new Error(`executor ${nodeId} exited with ${code ?? signal}`)));
  });
}

/** Samples a process's resident set (VmRSS) every 100 ms; `peak()` in MiB. */
function rssSampler(pid: number): { peak(): number; stop(): void } {
  let peak = 0;
  const sample = () => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      peak = Math.max(peak, kb / 1024);
    } catch { /* gone */ }
  };
  sample();
  const timer = setInterval(sample, 100);
  return { peak: () => peak, stop: () => clearInterval(timer) };
}

async function runOn(store: string): Promise<(string | number)[]> {
  const scratch: Scratch | null = store === 'sqlite' ? null : await createScratch(values['postgres-url']);
  const server = await startEcronServer({ args: scratch ? ['--store', scratch.storeUrl] : [] });
  const rss = rssSampler(server.child.pid!);
  const executors: ChildProcess[] = [];
  try {
    for (let k = 0; k < executorCount; k++) executors.push(await startExecutor(server, `bench-${String.fromCharCode(97 + k)}`));
    const task = await api<{ id: string }>(server, 'POST', '/api/v1/tasks', {
      name: 'map-bench', schedule: { manual: true }, target: { type: 'executor', group: 'bench', handler: 'mapper' },
    });
    progress(`${store}: ${count} subtasks on ${executorCount} executors${kill ? ', one SIGKILLed halfway' : ''}`);
    const started = performance.now();
    const { id } = await api<{ id: string }>(server, 'POST', `/api/v1/tasks/${task.id}/trigger`, { params: { n: count, handler: 'noop', options: { reduce: 'sum' } } });
    let run: any;
    let killed: { at: number; ended: number } | null = null;
    for (;;) {
      run = await api(server, 'GET', `/api/v1/runs/${id}`);
      if (run.finishedAt) break;
      const ended = (run.map?.succeeded ?? 0) + (run.map?.failed ?? 0);
      if (kill && !killed && ended >= count / 2) {
        executors[executors.length - 1]!.kill('SIGKILL');
        killed = { at: Math.round(performance.now() - started), ended };
        progress(`${store}: SIGKILLed ${executors.length > 1 ? 'one executor' : 'the executor'} after ${ended} subtasks ended (${killed.at} ms)`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seenMs = performance.now() - started;
    const expected = (count * (count - 1)) / 2;
    if (run.status !== 'succeeded' || run.output?.sum !== expected || run.output?.count !== count || run.output?.failed?.length !== 0) {
      throw new Error(`${store}: the run ended ${run.status} with ${JSON.stringify(run.output ?? run.error).slice(0, 300)}; expected ${count} results summing to ${expected}`);
    }
    const serverMs = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
    const peak = Math.round(rss.peak());
    const split = Object.entries(run.output.nodes as Record<string, number>).map(([node, n]) => `${node}: ${n}`).join(', ');
    printResult({
      bench: 'map-reduce', store, subtasks: count, executors: executorCount, killed, serverMs, seenMs: Math.round(seenMs),
      perSecond: Math.round(count / (serverMs / 1000)), peakRssMb: peak, reduceResults: run.output.count, split: run.output.nodes,
    });
    console.log(`${store}: ${fmtS(seenMs)} from the trigger (goal ≤ ${GOAL.seconds} s: ${seenMs <= GOAL.seconds * 1000 ? 'met' : 'NOT met'}), `
      + `server peak RSS ${peak} MiB (goal ≤ ${GOAL.rssMb} MB: ${peak * 1.048576 <= GOAL.rssMb ? 'met' : 'NOT met'}), the reduce saw ${run.output.count} results, each index once`);
    return [store, count, executorCount, killed ? `after ${killed.ended}` : 'no', serverMs, Math.round(seenMs), Math.round(count / (serverMs / 1000)), peak, split];
  } finally {
    rss.stop();
    for (const child of executors) child.kill('SIGKILL');
    await server.stop();
    await scratch?.drop();
  }
}

const fmtS = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

console.log(`# map/reduce: ${count} no-op subtasks, ${executorCount} executor processes of ${values.slots} slots${kill ? ', one SIGKILLed when half have ended' : ''} (${machineLine()})`);
const rows: (string | number)[][] = [];
for (const store of stores) rows.push(await runOn(store));
printTable(['store', 'subtasks', 'executors', 'kill', 'run ms (server)', 'ms (driver)', 'subtasks/s', 'peak RSS MiB', 'results by executor'], rows);
