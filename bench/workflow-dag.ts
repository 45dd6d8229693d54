/**
 * A big workflow on the embedded store: a DAG of `--levels` levels of `--width` no-op SDK
 * handlers (each node needs `--fan-in` nodes of the level above), fired by a trigger, timed from
 * the workflow run's start to its end. Prints, never asserts.
 *
 *   node bench/workflow-dag.ts [--levels 10] [--width 100] [--fan-in 2] [--executors 2] [--repeat 3] [--json FILE]
 *
 * Figures per repeat (instants from the server's own records):
 * - total: the workflow run's startedAt → finishedAt (the goal is ≤ 2 s for 10 × 100);
 * - per node: total ÷ nodes (the goal is ≤ 1 ms);
 * - per level: total ÷ levels (one hop of the critical path: a node's end → its successors' handlers);
 * - activation → sent: for each node, its first attempt's sentAt minus the end of its last
 *   predecessor (the workflow run's start for roots), p50 / p99 / max: the scheduling overhead
 *   of one node, handler time excluded.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { sleep, startWatchdog } from './lib/children.ts';
import { startEcronServer } from './lib/processes.ts';
import { SdkExecutorProcess, waitRoutable } from './lib/sdk-executors.ts';
import { fmt, percentile } from './lib/stats.ts';
import { loadLine, machineLine, printTable, progress } from './lib/table.ts';

const { values } = parseArgs({
  options: {
    levels: { type: 'string', default: '10' },
    width: { type: 'string', default: '100' },
    'fan-in': { type: 'string', default: '2' },
    executors: { type: 'string', default: '2' },
    repeat: { type: 'string', default: '3' },
    json: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const levels = Number(values.quick ? 4 : values.levels);
const width = Number(values.quick ? 20 : values.width);
const fanIn = Number(values['fan-in']);
const executorCount = Number(values.executors);
const repeat = Number(values.quick ? 1 : values.repeat);
for (const [name, value] of Object.entries({ levels, width, fanIn, executorCount, repeat })) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name}: a positive integer`);
}
if (levels * width > 10_000) throw new Error('a workflow has at most 10,000 nodes');
startWatchdog(15 * 60_000, 'workflow-dag');

/** The DAG: node L_i needs `fanIn` distinct nodes of level L−1 (a fixed pseudo-random choice). */
function dagNodes(): { id: string; needs: string[]; target: unknown }[] {
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const nodes = [];
  for (let level = 0; level < levels; level += 1) {
    for (let i = 0; i < width; i += 1) {
      const needs = new Set<string>();
      if (level > 0) while (needs.size < Math.min(fanIn, width)) needs.add(`l${level - 1}_${Math.floor(random() * width)}`);
      nodes.push({ id: `l${level}_${i}`, needs: [...needs], target: { type: 'executor', group: 'dag', handler: 'noop' } });
    }
  }
  return nodes;
}

interface Api { get<T>(path: string): Promise<T>; post<T>(path: string, body?: unknown): Promise<T> }

function api(url: string, token: string): Api {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  };
  return { get: (path) => call('GET', path), post: (path, body) => call('POST', path, body) };
}

interface NodeView { id: string; status: string; runId: string | null; startedAt: string | null; finishedAt: string | null }
interface RunView { id: string; status: string; startedAt: string | null; finishedAt: string | null; nodes: NodeView[] }

async function nodeSentTimes(client: Api, runId: string): Promise<Map<string, number>> {
  const sent = new Map<string, number>();
  let cursor: string | null = null;
  do {
    const page: { items: { nodeId: string; attempts: { sentAt: string | null }[] }[]; nextCursor: string | null } =
      await client.get(`/api/v1/runs?workflowRunId=${runId}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    for (const run of page.items) {
      const at = run.attempts[0]?.sentAt;
      if (at) sent.set(run.nodeId, Date.parse(at));
    }
    cursor = page.nextCursor;
  } while (cursor);
  return sent;
}

console.log(machineLine());
console.log(loadLine());
progress(`starting ecron (embedded store) and ${executorCount} SDK executor process(es)`);
const server = await startEcronServer();
const executors = await Promise.all(Array.from({ length: executorCount }, (_, i) => SdkExecutorProcess.start({
  server: server.url, token: server.token, group: 'dag', id: `dag-${i}`, mode: 'push',
})));
await waitRoutable(server.url, server.token, 'dag', executorCount);
const client = api(server.url, server.token);
const nodes = dagNodes();
const workflow = await client.post<{ id: string }>('/api/v1/workflows', { name: `dag-${levels}x${width}`, nodes });
const preds = new Map(nodes.map((n) => [n.id, n.needs]));

const results: Record<string, number>[] = [];
for (let r = 0; r < repeat; r += 1) {
  progress(`run ${r + 1} of ${repeat}: ${nodes.length} nodes`);
  const triggered = await client.post<{ id: string }>(`/api/v1/workflows/${workflow.id}/trigger`);
  let run: RunView;
  const deadline = Date.now() + 120_000;
  for (;;) {
    run = await client.get<RunView>(`/api/v1/workflow-runs/${triggered.id}`);
    if (run.finishedAt !== null) break;
    if (Date.now() > deadline) throw new Error(`workflow run ${triggered.id} did not finish in 120 s`);
    await sleep(100);
  }
  if (run.status !== 'succeeded') throw new Error(`workflow run ${run.id} ended ${run.status}`);
  const start = Date.parse(run.startedAt!);
  const totalMs = Date.parse(run.finishedAt!) - start;
  const ended = new Map(run.nodes.map((n) => [n.id, Date.parse(n.finishedAt!)]));
  const sent = await nodeSentTimes(client, run.id);
  const overhead = nodes.map((n) => sent.get(n.id)! - Math.max(start, ...preds.get(n.id)!.map((p) => ended.get(p)!))).sort((a, b) => a - b);
  results.push({
    nodes: nodes.length, totalMs, perNodeMs: totalMs / nodes.length, perLevelMs: totalMs / levels,
    activationToSentP50Ms: percentile(overhead, 50), activationToSentP99Ms: percentile(overhead, 99), activationToSentMaxMs: overhead[overhead.length - 1]!,
  });
}
const handled = (await Promise.all(executors.map((e) => e.count()))).reduce((a, b) => a + b, 0);

printTable(['run', 'nodes', 'total ms', 'ms / node', 'ms / level', 'activation→sent p50', 'p99', 'max'], results.map((r, i) => [
  i + 1, r.nodes!, fmt(r.totalMs!, 0), fmt(r.perNodeMs!, 2), fmt(r.perLevelMs!, 1), fmt(r.activationToSentP50Ms!, 1), fmt(r.activationToSentP99Ms!, 1), fmt(r.activationToSentMaxMs!, 1),
]));
console.log(`handlers called: ${handled} (expected ${nodes.length * repeat}); ${levels} levels × ${width}, fan-in ${fanIn}, ${executorCount} SDK executor(s)`);
console.log(loadLine());
if (values.json) writeFileSync(values.json, `${JSON.stringify({ levels, width, fanIn, executors: executorCount, results, handled }, null, 2)}\n`);
await Promise.all(executors.map((e) => e.stop()));
await server.stop();
