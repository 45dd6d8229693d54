/**
 * The console's workflow pages end to end, in headless Debian Chromium driven by playwright-core,
 * against a real `ecron start` process and a real HTTP executor (TestExecutor, which checks every
 * request's signature with DATA_DIR/signing.key): a DAG drawn in the editor with the mouse, run,
 * watched live, rerun from its failed node; and a 5,000-node run on its page.
 *
 * As console.e2e.test.ts: the console is built for the test into a temporary directory
 * (ECRON_CONSOLE_DIR), packages/console/dist is left alone, screenshots go to
 * packages/console/test-output/screenshots (`npm run docs:images` copies some into docs/images/).
 * Timeouts are for a loaded 2-core machine; nothing here asserts a speed.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ServerProcess, tempDataDir } from '../../server/test/support/server-process.ts';
import { TestExecutor, type ReceivedRequest } from '../../server/test/support/test-executor.ts';
import {
  buildConsole, chromiumFor, directoryState, DOCS_IMAGES, launchChromium, openPage, SCREENSHOT_TIMEOUT, screenshotFailure, SCREENSHOTS, SERVED_DIST, signed, UI_TIMEOUT,
} from './e2e-support.ts';

const ADMIN_TOKEN = 'ecr_workflow_e2e_admin_token_0123456789';
const WORKFLOW = 'nightly-etl';
/** How long a held request waits at most for the test to let it go (the test fails long before). */
const HOLD_LIMIT_MS = 120_000;
/** The large DAG: LEVELS levels of WIDTH nodes. */
const LEVELS = 10;
const WIDTH = 500;

const haveChromium = chromiumFor('workflow e2e tests');

/** A request held until `release()` (or HOLD_LIMIT_MS). */
class Hold {
  release!: () => void;
  readonly released = new Promise<void>((resolve) => {
    this.release = resolve;
  });

  wait(): Promise<void> {
    return Promise.race([this.released, new Promise<void>((resolve) => setTimeout(resolve, HOLD_LIMIT_MS).unref())]);
  }
}

/** The node of a workflow run a request is for: an inline node's run is named `<workflow>/<node>`. */
const nodeOf = (req: ReceivedRequest): string => String(req.body.task).split('/').at(-1)!;

describe.skipIf(!haveChromium)('workflow pages in Chromium', { timeout: 120_000 }, () => {
  let server: ServerProcess;
  let executor: TestExecutor;
  let executorUrl: string;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let consoleDir: string;
  let servedDistBefore: string[];
  let docsImagesBefore: string[];
  let workflowId = '';
  let workflowRunId = '';
  /** Requests to /ok for these nodes wait until released. */
  const holds = new Map<string, Hold>();
  let flakyCalls = 0;
  /** What the page wrote to its console during the whole run. */
  const consoleMessages: string[] = [];

  const api = <T = any>(method: string, path: string, body?: unknown) => server.api<T>(method, `/api/v1${path}`, body);
  const visible = (locator: Locator, timeout = UI_TIMEOUT) => locator.first().waitFor({ state: 'visible', timeout });
  /** A node on the canvas (editor or graph view), by its id. */
  const dagNode = (id: string) => page.locator(`[data-testid="dag-node"][data-node-id="${id}"]`);
  const edge = (source: string, target: string) => page.getByTestId(`rf__edge-${source}->${target}`);
  const runsOf = (node: string) => executor.runs().filter((r) => r.body.task === `${WORKFLOW}/${node}`);

  async function screenshot(name: string): Promise<void> {
    // Polled from here: waitForFunction's in-page polling evaluates a string, which the console's CSP forbids.
    await expect.poll(() => page.evaluate("document.fonts.status === 'loaded' && !document.querySelector('.ant-spin-spinning')"), { timeout: 20_000 }).toBe(true);
    await settled();
    await page.screenshot({ path: join(SCREENSHOTS, name), fullPage: true, animations: 'disabled', timeout: SCREENSHOT_TIMEOUT });
  }

  /** Switches the console's language (remembered in localStorage, as the header's switch does) and reloads. */
  async function language(lang: 'en' | 'zh'): Promise<void> {
    await page.evaluate((l) => localStorage.setItem('ecron.language', l), lang);
    await page.reload();
    await expect.poll(() => page.evaluate('document.documentElement.lang'), { timeout: UI_TIMEOUT }).toBe(lang === 'zh' ? 'zh-CN' : 'en');
  }

  /** Waits until the canvas's nodes stop moving (a new layout is followed by an animated fit to the frame). */
  async function settled(): Promise<void> {
    const positions = () => page.evaluate(() => [...(globalThis as any).document.querySelectorAll('.react-flow__node')]
      .map((e: any) => { const r = e.getBoundingClientRect(); return `${e.dataset.id}:${Math.round(r.x)},${Math.round(r.y)},${Math.round(r.width)}`; }).join(' '));
    let last = await positions();
    for (let tries = 0; tries < 100; tries++) {
      await page.waitForTimeout(250);
      const now = await positions();
      if (now === last) return;
      last = now;
    }
    throw new Error(`the canvas never settled: ${last}`);
  }

  async function centre(locator: Locator): Promise<{ x: number; y: number }> {
    const box = await locator.boundingBox();
    if (!box) throw new Error(`not on the page: ${locator}`);
    return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  }

  /** Drags with the mouse from `source`'s right (source) handle to `target`'s left (target) handle: `target` then needs `source`. */
  async function connect(source: string, target: string): Promise<void> {
    await settled();
    const from = await centre(page.getByTestId(`rf__node-${source}`).locator('.react-flow__handle[data-handlepos="right"]'));
    const to = await centre(page.getByTestId(`rf__node-${target}`).locator('.react-flow__handle[data-handlepos="left"]'));
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2 + 20, { steps: 8 });
    await page.mouse.move(to.x, to.y, { steps: 8 });
    await page.mouse.up();
    // (An edge on one line has an empty box: Playwright would never call it visible.)
    await edge(source, target).waitFor({ state: 'attached' });
  }

  /**
   * Clicks an edge of the canvas on its line, at a point where nothing else (a node, a label) is on
   * top of it.
   */
  async function clickEdge(source: string, target: string): Promise<void> {
    await settled();
    const testId = `rf__edge-${source}->${target}`;
    const point = await page.evaluate((testId) => {
      const document = (globalThis as any).document;
      const path = document.querySelector(`[data-testid="${testId}"] path.react-flow__edge-path`);
      if (!path) return null;
      const length = path.getTotalLength();
      const matrix = path.getScreenCTM();
      // From the middle outwards (a backward edge runs behind the nodes in its middle).
      const shares = Array.from({ length: 49 }, (_, i) => (i + 1) / 50).sort((a, b) => Math.abs(a - 0.5) - Math.abs(b - 0.5));
      for (const share of shares) {
        const p = path.getPointAtLength(length * share);
        const x = matrix.a * p.x + matrix.c * p.y + matrix.e;
        const y = matrix.b * p.x + matrix.d * p.y + matrix.f;
        if (document.elementFromPoint(x, y)?.closest('[data-testid^="rf__edge-"]')?.getAttribute('data-testid') === testId) return { x, y };
      }
      return null;
    }, testId);
    if (!point) throw new Error(`no point of edge ${source} → ${target} can be clicked`);
    await page.mouse.click(point.x, point.y);
  }

  /** Adds an inline HTTP node through the editor's dialog. */
  async function addHttpNode(id: string, path: string): Promise<void> {
    await page.getByTestId('add-node').click();
    const dialog = page.getByRole('dialog');
    await visible(dialog.getByTestId('node-id'));
    await dialog.getByTestId('node-id').fill(id);
    await dialog.getByTestId('node-kind').getByText('an inline target', { exact: true }).click();
    await dialog.getByTestId('target-url').fill(`${executorUrl}${path}`);
    await page.getByTestId('node-ok').click();
    await dialog.waitFor({ state: 'detached' });
    await visible(dagNode(id));
  }

  /** The spec the YAML panel shows. */
  async function yamlSpec(): Promise<{ name: string; nodes: { id: string; needs?: unknown[]; target?: unknown }[] }> {
    return YAML.parse(await page.getByTestId('workflow-yaml').inputValue());
  }

  /** The needs of each node, as the YAML panel shows them. */
  async function yamlNeeds(): Promise<Record<string, unknown>> {
    return Object.fromEntries((await yamlSpec()).nodes.map((n) => [n.id, n.needs ?? []]));
  }

  /** A row of the nodes' list (a virtualized list's rows are not `tr`s). */
  const listRow = (node: string) => page.getByTestId('dag-list').locator('.ant-table-row', { has: page.getByTestId('dag-list-node').getByText(node, { exact: true }) });
  const nodeStatus = (id: string) => dagNode(id).getAttribute('data-status');
  const runStatus = () => page.getByTestId('workflow-run-status').locator('[data-status]').getAttribute('data-status');

  beforeAll(async () => {
    servedDistBefore = directoryState(SERVED_DIST);
    docsImagesBefore = directoryState(DOCS_IMAGES);
    consoleDir = buildConsole();
    mkdirSync(SCREENSHOTS, { recursive: true });
    server = new ServerProcess(tempDataDir('ecron-workflow-console-'));
    await server.start([], { ECRON_ADMIN_TOKEN: ADMIN_TOKEN, ECRON_CONSOLE_DIR: consoleDir });

    executor = new TestExecutor(server.signingKey);
    executor.behaviours.set('/ok', signed(async (req) => {
      const node = nodeOf(req);
      await holds.get(node)?.wait();
      return { status: 200, body: { node, rows: 1200 } };
    }));
    // Fails on its first call, succeeds after.
    executor.behaviours.set('/flaky', signed((req) => (++flakyCalls === 1
      ? { status: 500, body: { error: 'schema mismatch: column "amount" is text' } }
      : { status: 200, body: { node: nodeOf(req), rows: 1180 } })));
    executor.behaviours.set('/fast', signed(() => ({ status: 200, body: { ok: true } })));
    executorUrl = await executor.start();

    userDataDir = mkdtempSync(join(tmpdir(), 'ecron-chromium-'));
    // Tall enough for the editor's canvas to be in view whole (the mouse drags on it).
    context = await launchChromium(userDataDir, { width: 1280, height: 900 });
    page = await openPage(context, consoleMessages);
  }, 180_000);

  afterEach(async ({ task }) => {
    await screenshotFailure(page, 'workflow', task);
  });

  afterAll(async () => {
    for (const hold of holds.values()) hold.release();
    await context?.close();
    await executor?.stop();
    await server?.kill('SIGTERM');
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
  });

  it('signs in', async () => {
    await page.goto(server.url);
    await page.getByLabel('API token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: /Sign in/ }).click();
    await visible(page.getByRole('heading', { name: 'Dashboard' }));
  });

  it('1. builds a DAG in the editor with the mouse: nodes from the dialog, dragged needs, an optional edge, a cycle shown then removed', async () => {
    await page.locator('.ant-layout-sider .ant-menu').getByRole('link', { name: 'Workflows', exact: true }).click();
    await page.getByTestId('new-workflow').click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/workflows/new');
    await visible(page.getByRole('heading', { name: 'New workflow' }));
    await page.getByTestId('workflow-name').fill(WORKFLOW);
    await page.getByTestId('workflow-description-input').fill('Extracts the orders, transforms and loads them; reports on the extract.');
    await page.getByTestId('editor-canvas').scrollIntoViewIfNeeded();

    await addHttpNode('extract', '/ok');
    await addHttpNode('transform', '/flaky');
    await addHttpNode('load', '/ok');
    await addHttpNode('report', '/ok');
    expect(await page.locator('[data-testid="dag-node"]').count()).toBe(4);
    expect((await yamlSpec()).nodes).toEqual([
      { id: 'extract', target: { type: 'http', url: `${executorUrl}/ok` } },
      { id: 'transform', target: { type: 'http', url: `${executorUrl}/flaky` } },
      { id: 'load', target: { type: 'http', url: `${executorUrl}/ok` } },
      { id: 'report', target: { type: 'http', url: `${executorUrl}/ok` } },
    ]);

    await connect('extract', 'transform');
    await connect('transform', 'load');
    await connect('extract', 'report');
    expect(await yamlNeeds()).toEqual({ extract: [], transform: ['extract'], load: ['transform'], report: ['extract'] });

    // A click on an edge makes the need optional: the edge is dashed, the YAML says so.
    await clickEdge('extract', 'report');
    await expect.poll(() => yamlNeeds()).toEqual({ extract: [], transform: ['extract'], load: ['transform'], report: [{ node: 'extract', optional: true }] });
    await expect.poll(() => edge('extract', 'report').locator('path.react-flow__edge-path').evaluate((p: any) => p.style.strokeDasharray)).toMatch(/^6(px)?,? 4(px)?$/);
    expect(await edge('extract', 'transform').locator('path.react-flow__edge-path').evaluate((p: any) => p.style.strokeDasharray)).toBe('');
    await visible(page.getByTestId('validation-state').getByText('The API accepts this spec.'));

    // load → extract closes a cycle: the API's issue lands on the canvas (red nodes with the
    // message, the closing edge labelled) and in the issues list.
    await connect('load', 'extract');
    await visible(page.locator('[data-testid="dag-node"][data-invalid="true"]'));
    await visible(page.getByTestId('editor-canvas').getByText('closes a cycle'));
    await visible(page.getByTestId('validation-state').getByText(/Issues \(\d+\)/));
    await visible(page.getByTestId('workflow-issues').getByText('DEPENDENCY_CYCLE'));
    const invalid = await page.locator('[data-testid="dag-node"][data-invalid="true"]').evaluateAll((nodes) => nodes.map((n: any) => n.dataset.nodeId).sort());
    expect(invalid.length).toBeGreaterThan(0);
    expect(['extract', 'load', 'transform']).toEqual(expect.arrayContaining(invalid));
    await page.locator('[data-testid="dag-node"][data-invalid="true"]').first().hover();
    await visible(page.getByTestId('dag-node-issues').getByText(/dependency cycle: .*→/));
    await page.mouse.move(5, 5);

    // Removed: the edge selected by a click, then "Delete selected".
    await clickEdge('load', 'extract');
    await page.getByTestId('delete-selected').click();
    await edge('load', 'extract').waitFor({ state: 'detached' });
    await visible(page.getByTestId('validation-state').getByText('The API accepts this spec.'));
    expect(await page.locator('[data-testid="dag-node"][data-invalid="true"]').count()).toBe(0);
    expect(await page.getByTestId('editor-canvas').getByText('closes a cycle').count()).toBe(0);
    expect(await yamlNeeds()).toEqual({ extract: [], transform: ['extract'], load: ['transform'], report: [{ node: 'extract', optional: true }] });
    await screenshot('workflow-editor.png');

    await page.getByTestId('save-workflow').click();
    await visible(page.getByTestId('workflow-title').getByText(`default/${WORKFLOW}`));
    workflowId = new URL(page.url()).pathname.split('/').at(-1)!;
    const saved = (await api('GET', `/workflows/${workflowId}`)).body;
    // (The API stores each need in its long form.)
    expect(saved.spec.nodes.map((n: any) => [n.id, n.needs ?? []])).toEqual([
      ['extract', []], ['transform', [{ node: 'extract', optional: false }]], ['load', [{ node: 'transform', optional: false }]],
      ['report', [{ node: 'extract', optional: true }]],
    ]);
  });

  it('shows the editor in Chinese', async () => {
    await page.goto(`${server.url}/workflows/${workflowId}/edit`);
    await language('zh');
    await visible(page.getByRole('heading', { name: new RegExp(WORKFLOW) }));
    await expect.poll(() => page.locator('[data-testid="dag-node"]').count()).toBe(4);
    await edge('extract', 'report').waitFor({ state: 'attached' });
    await page.getByTestId('editor-canvas').scrollIntoViewIfNeeded();
    await visible(page.getByTestId('validation-state'));
    await screenshot('workflow-editor-zh.png');
    await language('en');
  });

  it('2. triggers it from its page, and watches its nodes change live on the run page', async () => {
    for (const node of ['extract', 'report', 'load']) holds.set(node, new Hold());
    await page.goto(`${server.url}/workflows/${workflowId}`);
    await visible(page.getByTestId('workflow-title').getByText(`default/${WORKFLOW}`));
    await expect.poll(() => page.locator('[data-testid="dag-node"]').count()).toBe(4);
    await page.getByTestId('trigger').click();
    await page.getByTestId('action-ok').click();
    await expect.poll(() => new URL(page.url()).pathname).toMatch(/^\/workflow-runs\/[\w-]+$/);
    workflowRunId = new URL(page.url()).pathname.split('/').at(-1)!;
    expect((await api('GET', `/workflow-runs/${workflowRunId}`)).body).toMatchObject({ workflowId, trigger: 'manual' });

    // extract's request is held: the page shows it running, the others waiting.
    await visible(dagNode('extract').and(page.locator('[data-status="running"]')));
    await visible(page.getByTestId('workflow-run-status').locator('[data-status="running"]'));
    for (const node of ['transform', 'load', 'report']) expect(await nodeStatus(node)).toBe('waiting');
    await executor.next((r) => r.body.task === `${WORKFLOW}/extract`, UI_TIMEOUT);

    // Let extract go: transform fails, load is skipped, report runs (held).
    holds.get('extract')!.release();
    await visible(dagNode('extract').and(page.locator('[data-status="succeeded"]')));
    await visible(dagNode('transform').and(page.locator('[data-status="failed"]')));
    await visible(dagNode('load').and(page.locator('[data-status="skipped"]')));
    await visible(dagNode('report').and(page.locator('[data-status="running"]')));
    expect(await runStatus()).toBe('running');

    holds.get('report')!.release();
    await visible(dagNode('report').and(page.locator('[data-status="succeeded"]')));
    await visible(page.getByTestId('workflow-run-status').locator('[data-status="failed"]'));
    expect(await dagNode('transform').getByTestId('dag-node-detail').textContent()).toMatch(/^failed · /);
    expect(await nodeStatus('extract')).toBe('succeeded');
    expect(await nodeStatus('load')).toBe('skipped');

    // load has no run: a click opens its panel, which says why.
    await dagNode('load').click();
    const panel = page.getByTestId('node-panel');
    await visible(panel.getByTestId('node-panel-status').locator('[data-status="skipped"]'));
    expect(await panel.getByTestId('node-panel-reason').textContent()).toBe('a node it needs failed');
    await page.locator('.ant-drawer-close').click();
    await panel.waitFor({ state: 'hidden' });
    // The list view says the same, with the reasons.
    await page.getByTestId('dag-view').getByText('List', { exact: true }).click();
    await visible(listRow('load').getByText('a node it needs failed'));
    await visible(listRow('transform').locator('[data-status="failed"]'));
    await visible(listRow('report').locator('[data-status="succeeded"]'));
    await page.getByTestId('dag-view').getByText('Graph', { exact: true }).click();
    await visible(dagNode('transform'));

    const run = (await api('GET', `/workflow-runs/${workflowRunId}`)).body;
    expect(run.status).toBe('failed');
    expect(Object.fromEntries(run.nodes.map((n: any) => [n.id, [n.status, n.reason]]))).toEqual({
      extract: ['succeeded', null], transform: ['failed', null], load: ['skipped', 'upstream_failed'], report: ['succeeded', null],
    });
    await screenshot('workflow-run-failed.png');
    await language('zh');
    await visible(dagNode('transform').and(page.locator('[data-status="failed"]')));
    await visible(page.getByRole('heading', { name: '工作流运行' }));
    await screenshot('workflow-run-failed-zh.png');
    await language('en');
  });

  it('3. reruns from the failed node: transform and load run, extract and report do not', async () => {
    await visible(page.getByTestId('workflow-run-status').locator('[data-status="failed"]'));
    await page.getByTestId('rerun-failed').click();
    await page.getByTestId('action-ok').click();
    // transform runs again (and succeeds), load's request is held: the page shows it running.
    await visible(dagNode('transform').and(page.locator('[data-status="succeeded"]')));
    await visible(dagNode('load').and(page.locator('[data-status="running"]')));
    await visible(page.getByTestId('workflow-run-status').locator('[data-status="running"]'));
    holds.get('load')!.release();
    await visible(dagNode('load').and(page.locator('[data-status="succeeded"]')));
    await visible(page.getByTestId('workflow-run-status').locator('[data-status="succeeded"]'));
    for (const node of ['extract', 'transform', 'load', 'report']) expect(await nodeStatus(node)).toBe('succeeded');
    expect(await page.getByTestId('rerun-failed').isDisabled()).toBe(true);

    expect(runsOf('extract')).toHaveLength(1);
    expect(runsOf('transform')).toHaveLength(2);
    expect(runsOf('load')).toHaveLength(1);
    expect(runsOf('report')).toHaveLength(1);
    expect(executor.runs('/flaky')).toHaveLength(2);
    expect(executor.runs().every((r) => r.signatureOk)).toBe(true);
    expect((await api('GET', `/workflow-runs/${workflowRunId}`)).body.status).toBe('succeeded');

    await screenshot('workflow-run-rerun.png');
    await language('zh');
    await visible(page.getByTestId('workflow-run-status').locator('[data-status="succeeded"]'));
    await visible(dagNode('load').and(page.locator('[data-status="succeeded"]')));
    await screenshot('workflow-run-rerun-zh.png');
    await language('en');
  });

  it('4. opens a node\'s run by clicking the node', async () => {
    await visible(dagNode('transform').and(page.locator('[data-status="succeeded"]')));
    const transform = (await api('GET', `/workflow-runs/${workflowRunId}`)).body.nodes.find((n: any) => n.id === 'transform');
    expect(transform.runId).toEqual(expect.any(String));
    await dagNode('transform').click();
    await expect.poll(() => new URL(page.url()).pathname).toBe(`/runs/${transform.runId}`);
    await visible(page.getByTestId('run-status').locator('[data-status="succeeded"]'));
    await visible(page.getByTestId('run-workflow-run').getByText('Node transform of a workflow run'));
    await visible(page.getByTestId('run-output').getByText('"rows": 1180'));
    // And back to the workflow run.
    await page.getByTestId('run-workflow-run').click();
    await expect.poll(() => new URL(page.url()).pathname).toBe(`/workflow-runs/${workflowRunId}`);
    await visible(dagNode('transform'));
  });

  it('5. shows a 5,000-node run as a list first, and its graph on demand', { timeout: 600_000 }, async () => {
    // LEVELS levels of WIDTH; each node needs its row's node of the level before, and every other
    // one a second node of it too.
    const nodes: { id: string; needs?: string[]; target: { type: 'http'; url: string } }[] = [];
    for (let level = 0; level < LEVELS; level++) {
      for (let i = 0; i < WIDTH; i++) {
        const needs = level === 0 ? [] : [...new Set([`n${level - 1}_${i}`, ...(i % 2 ? [`n${level - 1}_${(i * 7 + 3) % WIDTH}`] : [])])];
        nodes.push({ id: `n${level}_${i}`, ...(needs.length ? { needs } : {}), target: { type: 'http', url: `${executorUrl}/fast` } });
      }
    }
    expect(nodes).toHaveLength(5000);
    const created = await api('POST', '/workflows', { name: 'wide-dag', nodes });
    expect(created.status).toBe(201);
    const triggered = await api('POST', `/workflows/${created.body.id}/trigger`, {});
    expect(triggered.status).toBe(201);
    const runId = triggered.body.id as string;

    await page.goto(`${server.url}/workflow-runs/${runId}`);
    // The list by default, with a word on why; long, so virtualized: only rows in view exist.
    const list = page.getByTestId('dag-list');
    await visible(list.getByTestId('dag-list-node'), 60_000);
    expect(await page.getByTestId('dag-view').locator('.ant-segmented-item-selected').textContent()).toBe('List');
    await visible(page.getByText(/^5,?000 nodes: listed first/));
    expect(await list.getByTestId('dag-list-node').first().textContent()).toBe('n0_0');
    const rows = await list.getByTestId('dag-list-node').count();
    expect(rows).toBeGreaterThan(5);
    expect(rows).toBeLessThan(5000);

    // The run ends; the list follows.
    await expect.poll(async () => (await api('GET', `/workflow-runs/${runId}`)).body.status, { timeout: 420_000, interval: 2000 }).toBe('succeeded');
    await visible(page.getByTestId('workflow-run-status').locator('[data-status="succeeded"]'), 60_000);
    await visible(listRow('n0_0').locator('[data-status="succeeded"]'));
    // The last node is at the list's end.
    await list.locator('.ant-table-tbody-virtual-holder').evaluate((e: any) => { e.scrollTop = e.scrollHeight; });
    await visible(list.getByTestId('dag-list-node').getByText('n9_499', { exact: true }), 60_000);
    await visible(listRow('n9_499').locator('[data-status="succeeded"]'));

    // The graph: laid out in a worker, only the nodes in view drawn.
    await page.getByTestId('dag-view').getByText('Graph', { exact: true }).click();
    await visible(page.getByTestId('dag-canvas'));
    await visible(dagNode('n0_0').and(page.locator('[data-status="succeeded"]')), 180_000);
    const drawn = await page.locator('[data-testid="dag-node"]').count();
    expect(drawn).toBeGreaterThan(0);
    expect(drawn).toBeLessThan(5000);
    expect(await page.locator('[data-testid="dag-node"]:not([data-status="succeeded"])').count()).toBe(0);
    await page.locator('.react-flow__edge').first().waitFor({ state: 'attached' });
  });

  it('logged no error or development warning in the browser, and left packages/console/dist and docs/images alone', () => {
    // The API's refusals (the editor's validation of an unfinished spec answers 400) are logged by the browser itself.
    expect(consoleMessages.filter((m) => /React DevTools|Warning: |\[antd|^pageerror|^error/.test(m) && !/^error: Failed to load resource: the server responded with a status of 4\d\d/.test(m))).toEqual([]);
    expect(directoryState(SERVED_DIST)).toEqual(servedDistBefore);
    expect(directoryState(DOCS_IMAGES)).toEqual(docsImagesBefore);
  });
});
