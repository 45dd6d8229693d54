/**
 * The console's workflow pages with a large DAG, in headless Chromium: how long until a person
 * sees the nodes. Prints, never asserts.
 *
 *   node bench/workflow-console-load.ts [--nodes 5000] [--levels 10] [--repeat 3] [--build | --console-dir DIR] [--json FILE] [--quick]
 *
 * Starts `ecron start` on a temporary data dir and the benchmark executor (answers every request
 * at once), creates a workflow of `--nodes` inline HTTP nodes in `--levels` levels (each node
 * needs 1–2 nodes of the level before), triggers one run and waits for it to end. Then, `--repeat`
 * times, each in a fresh browser context (cold HTTP cache, a new page), for the workflow run's page
 * and for the workflow's page:
 * - open: from the navigation until the default view shows its first node: the list's first rows
 *   from 1,000 nodes on (the console's LARGE_DAG), the graph's nodes below that;
 * - switch: from the click on the other view's switch until it shows its first node (the graph
 *   view of a large DAG includes its layout, in a Web Worker).
 * Times are taken by this driver (Playwright's in-page wait, about one frame of slack).
 *
 * The console served is packages/console/dist (what `ecron start` serves) when it holds the
 * workflow pages and is newer than packages/console/src; otherwise (or with `--build`) a fresh
 * production build in a temporary directory, served through ECRON_CONSOLE_DIR. Chromium is
 * Debian's (/usr/bin/chromium, or CHROMIUM_PATH). `--quick` is `--nodes 500 --repeat 1`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { atExit, sleep, startWatchdog } from './lib/children.ts';
import { REPO_ROOT, startBenchExecutor, startEcronServer } from './lib/processes.ts';
import { fmt, percentile } from './lib/stats.ts';
import { cpuLine, cpuSnapshot, loadLine, machineLine, printResult, printTable, progress } from './lib/table.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5000' },
    levels: { type: 'string', default: '10' },
    repeat: { type: 'string', default: '3' },
    build: { type: 'boolean', default: false },
    'console-dir': { type: 'string' },
    json: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const nodeCount = Number(values.quick ? 500 : values.nodes);
const levels = Number(values.levels);
const repeat = Number(values.quick ? 1 : values.repeat);
for (const [name, value] of Object.entries({ nodes: nodeCount, levels, repeat })) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name}: a positive integer`);
}
if (nodeCount > 10_000) throw new Error('a workflow has at most 10,000 nodes');
if (levels > nodeCount) throw new Error('--levels: at most --nodes');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
/** The console's LARGE_DAG (packages/console/src/workflow/layout.ts): from this many nodes the list is the default view. */
const LARGE_DAG = 1000;
const UI_TIMEOUT = 300_000;
startWatchdog(30 * 60_000, 'workflow-console-load');

/** The newest modification time under `dir` (ms). */
function newest(dir: string): number {
  return Math.max(0, ...readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => statSync(join(e.parentPath, e.name)).mtimeMs));
}

/** The console build to serve, and how it was chosen. */
function consoleBuild(): { dir: string; note: string } {
  if (values['console-dir']) return { dir: values['console-dir'], note: `${values['console-dir']} (--console-dir)` };
  const served = join(REPO_ROOT, 'packages/console/dist');
  let reason = '--build';
  if (!values.build) {
    const index = join(served, 'index.html');
    if (!existsSync(index)) reason = 'packages/console/dist has no build';
    else if (!readdirSync(join(served, 'assets')).some((name) => /^WorkflowRunDetail-.*\.js$/.test(name))) reason = 'packages/console/dist has no workflow pages';
    else if (statSync(index).mtimeMs < newest(join(REPO_ROOT, 'packages/console/src'))) reason = 'packages/console/dist is older than packages/console/src';
    else return { dir: served, note: 'packages/console/dist (what ecron start serves)' };
  }
  const dir = mkdtempSync(join(tmpdir(), 'ecron-bench-console-'));
  atExit(() => rmSync(dir, { recursive: true, force: true }));
  progress(`building the console into ${dir} (${reason})`);
  execFileSync('npm', ['run', 'build', '-w', '@ecron/console', '--', '--outDir', dir, '--emptyOutDir'], {
    cwd: REPO_ROOT, stdio: 'pipe', env: { ...process.env, NODE_ENV: 'production' },
  });
  return { dir, note: `a fresh build in a temporary directory (${reason})` };
}

/** `levels` levels of about nodes ÷ levels; each node needs 1–2 nodes of the level before (a fixed pseudo-random choice). */
function dagNodes(url: string): { id: string; needs?: string[]; target: { type: 'http'; url: string } }[] {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const width = Math.ceil(nodeCount / levels);
  const nodes: { id: string; needs?: string[]; target: { type: 'http'; url: string } }[] = [];
  for (let i = 0; i < nodeCount; i += 1) {
    const level = Math.floor(i / width);
    const needs = new Set<string>();
    if (level > 0) {
      // The level before is a full one (only the last level may be short).
      const wanted = random() < 0.5 ? 1 : Math.min(2, width);
      while (needs.size < wanted) needs.add(`n${level - 1}_${Math.floor(random() * width)}`);
    }
    nodes.push({ id: `n${level}_${i - level * width}`, ...(needs.size ? { needs: [...needs] } : {}), target: { type: 'http', url } });
  }
  return nodes;
}

function api(url: string, token: string) {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}/api/v1${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  };
}

interface Measure {
  page: 'workflow run' | 'workflow';
  defaultView: 'list' | 'graph';
  openMs: number;
  switchMs: number;
  /** Rows of the list in the page (a long list is virtualized: only those in view). */
  listRows: number;
  /** Nodes of the graph in the page (a large graph draws only those in view). */
  graphNodes: number;
}

const LIST_ROW = '[data-testid="dag-list-node"]';
const GRAPH_NODE = '[data-testid="dag-node"]';

/** One measurement of one page, in a fresh context. */
async function measure(browser: Browser, token: string, url: string, name: Measure['page']): Promise<Measure> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', timezoneId: 'UTC' });
  try {
    // Signed in as the login page does it: the token in sessionStorage.
    await context.addInitScript((secret) => sessionStorage.setItem('ecron.token', secret), token);
    const page: Page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT);
    const opened = performance.now();
    await page.goto(url, { waitUntil: 'commit' });
    await page.locator(`${LIST_ROW}, ${GRAPH_NODE}`).first().waitFor({ state: 'visible' });
    const openMs = performance.now() - opened;
    const defaultView = (await page.locator(LIST_ROW).count()) > 0 ? 'list' : 'graph';
    const drawn = { list: 0, graph: 0 };
    const count = async (view: 'list' | 'graph') => {
      drawn[view] = await page.locator(view === 'list' ? LIST_ROW : GRAPH_NODE).count();
    };
    await count(defaultView);
    // The switch: Graph is its first option, List its second.
    const other = defaultView === 'list' ? 'graph' : 'list';
    const switched = performance.now();
    await page.getByTestId('dag-view').locator('.ant-segmented-item').nth(other === 'graph' ? 0 : 1).click();
    await page.locator(other === 'graph' ? GRAPH_NODE : LIST_ROW).first().waitFor({ state: 'visible' });
    const switchMs = performance.now() - switched;
    await count(other);
    return { page: name, defaultView, openMs, switchMs, listRows: drawn.list, graphNodes: drawn.graph };
  } finally {
    await context.close();
  }
}

console.log(machineLine());
console.log(loadLine());
const build = consoleBuild();
process.env.ECRON_CONSOLE_DIR = build.dir;
progress('starting ecron (embedded store) and the benchmark executor');
const server = await startEcronServer();
const executor = await startBenchExecutor();
let browser: Browser | null = null;
try {
  const call = api(server.url, server.token);
  const nodes = dagNodes(executor.runUrl);
  const workflow = await call<{ id: string }>('POST', '/workflows', { name: 'console-load', nodes });
  progress(`workflow ${workflow.id}: ${nodes.length} nodes in ${levels} levels; triggering one run`);
  const triggered = await call<{ id: string }>('POST', `/workflows/${workflow.id}/trigger`, {});
  let run: { status: string; startedAt: string | null; finishedAt: string | null; nodes: { status: string }[] };
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    run = await call('GET', `/workflow-runs/${triggered.id}`);
    if (run.finishedAt !== null) break;
    if (Date.now() > deadline) throw new Error(`workflow run ${triggered.id} did not end in 15 min`);
    await sleep(1000);
  }
  const ranMs = Date.parse(run.finishedAt) - Date.parse(run.startedAt ?? run.finishedAt);
  progress(`workflow run ${triggered.id} ended ${run.status} in ${fmt(ranMs / 1000, 1)} s`);

  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  const cpuBefore = cpuSnapshot();
  const measures: (Measure & { repeat: number })[] = [];
  for (let r = 1; r <= repeat; r += 1) {
    progress(`repeat ${r} of ${repeat}`);
    measures.push({ repeat: r, ...await measure(browser, server.token, `${server.url}/workflow-runs/${triggered.id}`, 'workflow run') });
    measures.push({ repeat: r, ...await measure(browser, server.token, `${server.url}/workflows/${workflow.id}`, 'workflow') });
  }
  const cpu = cpuLine(cpuBefore);

  console.log(`\n${nodes.length} nodes in ${levels} levels (the run: ${run.status}, ${fmt(ranMs / 1000, 1)} s); console: ${build.note}; Chromium ${browser.version()}, 1280×800, a fresh context per page`);
  console.log(`open: navigation → the default view's first node; switch: click → the other view's first node (default view: ${nodes.length >= LARGE_DAG ? 'list' : 'graph'} at ${nodes.length} nodes)`);
  printTable(['repeat', 'page', 'default view', 'open ms', 'switch ms', 'list rows in page', 'graph nodes in page'], measures.map((m) => [
    m.repeat, m.page, m.defaultView, fmt(m.openMs, 0), fmt(m.switchMs, 0), m.listRows, m.graphNodes,
  ]));
  const median = (list: number[]) => percentile([...list].sort((a, b) => a - b), 50);
  const summary = (['workflow run', 'workflow'] as const).map((name) => {
    const of = measures.filter((m) => m.page === name);
    return { page: name, defaultView: of[0]!.defaultView, openMs: of.map((m) => Math.round(m.openMs)), switchMs: of.map((m) => Math.round(m.switchMs)) };
  });
  if (repeat > 1) {
    console.log('');
    printTable(['page', 'open ms p50', 'open ms max', 'switch ms p50', 'switch ms max'], summary.map((s) => [
      s.page, fmt(median(s.openMs), 0), Math.max(...s.openMs), fmt(median(s.switchMs), 0), Math.max(...s.switchMs),
    ]));
  }
  console.log(cpu);
  console.log(loadLine());
  const result = { scenario: 'workflow-console-load', nodes: nodes.length, levels, repeat, runStatus: run.status, runMs: ranMs, pages: summary };
  printResult(result);
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ ...result, measures }, null, 2)}\n`);
} finally {
  await browser?.close();
  await executor.stop();
  await server.stop();
}
