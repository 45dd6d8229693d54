/**
 * Live updates in the web console end to end (issue 18), in headless Debian Chromium driven by
 * playwright-core, against a real `ecron start` process and a real HTTP executor whose runs the
 * test moves on by hand (running, progress, succeeded, through the run's callback): the run list,
 * a run's page, the dashboard and the executors page follow the changes from the event stream
 * (`GET /api/v1/events`, src/event-stream.ts) without a reload and without the polling they did
 * before (every 3 s, 1 s, 5 s and 5 s): the requests the page makes are counted.
 *
 * As console.e2e.test.ts: the console is built for the test into a temporary directory
 * (ECRON_CONSOLE_DIR), packages/console/dist is left alone. Waits are on page state; the only
 * fixed waits are the quiet spells that show that no polling request goes out.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page, Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ServerProcess, tempDataDir } from '../../server/test/support/server-process.ts';
import { TestExecutor, type ReceivedRequest } from '../../server/test/support/test-executor.ts';
import { buildConsole, chromiumFor, directoryState, launchChromium, openPage, pickOption, screenshotFailure, SERVED_DIST, signed, UI_TIMEOUT } from './e2e-support.ts';

const ADMIN_TOKEN = 'ecr_live_e2e_admin_token_0123456789abcdef';
/** Longer than the longest interval a page polled at before (5 s). */
const QUIET_MS = 6000;

const haveChromium = chromiumFor('live updates e2e tests');

describe.skipIf(!haveChromium)('live updates in the console, in Chromium', { timeout: 90_000 }, () => {
  let server: ServerProcess;
  let executor: TestExecutor;
  let executorUrl: string;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let consoleDir: string;
  let servedDistBefore: string[];
  let taskId = '';
  /** The requests the executor holds, by run id: the test reports for them. */
  const held = new Map<string, ReceivedRequest>();
  /** Every API request the page made: method, path with query, when. */
  const requests: { method: string; path: string; at: number }[] = [];
  /** The event streams open now. */
  const openStreams = new Set<Request>();
  const consoleMessages: string[] = [];

  const api = <T = any>(method: string, path: string, body?: unknown) => server.api<T>(method, `/api/v1${path}`, body);
  const visible = (locator: Locator) => locator.first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
  const nav = (name: string) => page.locator('.ant-layout-sider .ant-menu').getByRole('link', { name, exact: true }).click();
  const live = () => visible(page.locator('[data-testid="live-status"][data-state="live"]'));
  /** The page's requests to `path` (exact, or a prefix ending with `?`) since `since`. */
  const asked = (path: string, since = 0) => requests.filter((r) => r.method === 'GET' && r.at >= since && (path.endsWith('?') ? r.path.startsWith(path) : r.path === path)).length;

  /** Reports on a held run through its callback, as an executor does. */
  async function report(runId: string, seq: number, body: Record<string, unknown>): Promise<void> {
    await expect.poll(() => held.has(runId), { timeout: UI_TIMEOUT }).toBe(true);
    const req = held.get(runId)!;
    const res = await fetch(req.body.callback.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${req.body.callback.token}` },
      body: JSON.stringify({ attempt: req.body.attempt, seq, ...body }),
    });
    expect(res.status).toBeLessThan(300);
  }

  async function trigger(): Promise<string> {
    const run = await api('POST', `/tasks/${taskId}/trigger`);
    expect(run.status).toBe(201);
    return run.body.id;
  }

  beforeAll(async () => {
    servedDistBefore = directoryState(SERVED_DIST);
    consoleDir = buildConsole();
    server = new ServerProcess(tempDataDir('ecron-live-'));
    await server.start([], { ECRON_ADMIN_TOKEN: ADMIN_TOKEN, ECRON_CONSOLE_DIR: consoleDir });
    executor = new TestExecutor(server.signingKey);
    // Accepted (202) and held: the test says when the run starts, progresses and ends.
    executor.behaviours.set('/held', signed((req) => {
      held.set(req.body.runId, req);
      return { status: 202, body: { accepted: true } };
    }));
    executorUrl = await executor.start();
    const task = await api('POST', '/tasks', { name: 'held-job', schedule: { manual: true }, target: { type: 'http', url: `${executorUrl}/held` } });
    expect(task.status).toBe(201);
    taskId = task.body.id;

    userDataDir = mkdtempSync(join(tmpdir(), 'ecron-chromium-'));
    context = await launchChromium(userDataDir);
    page = await openPage(context, consoleMessages);
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/api/')) requests.push({ method: request.method(), path: `${url.pathname}${url.search}`, at: Date.now() });
      if (url.pathname === '/api/v1/events') openStreams.add(request);
    });
    page.on('requestfinished', (request) => openStreams.delete(request));
    page.on('requestfailed', (request) => openStreams.delete(request));
  }, 90_000);

  afterEach(async ({ task }) => {
    await screenshotFailure(page, 'live', task);
  });

  afterAll(async () => {
    await context?.close();
    await executor?.stop();
    await server?.kill('SIGTERM');
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
  });

  it('signs in; the header says the page is live', async () => {
    await page.goto(server.url);
    await page.getByLabel('API token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: /Sign in/ }).click();
    await visible(page.getByRole('heading', { name: 'Dashboard' }));
    await live();
    await visible(page.getByTestId('live-status').getByText('Live', { exact: true }));
    // The stream of the dashboard: run and task events, with the token.
    expect(requests.some((r) => r.path.startsWith('/api/v1/events?type=run.*%2Ctask.*'))).toBe(true);
  });

  it('the run list shows a run triggered through the API, and its status as it changes, without polling', async () => {
    await nav('Runs');
    await visible(page.getByRole('heading', { name: 'Runs' }));
    await live();
    const runId = await trigger();
    const row = page.getByTestId('runs-table').locator(`tr[data-row-key="${runId}"]`);
    await visible(row.locator('[data-status="dispatched"], [data-status="running"]'));
    await report(runId, 0, { status: 'running' });
    await visible(row.locator('[data-status="running"]'));
    await report(runId, 1, { status: 'succeeded', output: { done: true } });
    await visible(row.locator('[data-status="succeeded"]'));

    // Nothing changes now: no request for the list goes out (it polled every 3 s before).
    const quietFrom = Date.now();
    await page.waitForTimeout(QUIET_MS);
    expect(asked('/api/v1/runs?', quietFrom)).toBe(0);
  });

  it('a run\'s page follows its status and progress, without polling', async () => {
    const runId = await trigger();
    await page.getByTestId('runs-table').locator(`tr[data-row-key="${runId}"]`).getByTestId('run-link').click();
    await visible(page.getByRole('heading', { name: 'Run', exact: true }));
    await live();
    await report(runId, 0, { status: 'running', progress: 40 });
    await visible(page.getByTestId('run-status').locator('[data-status="running"]'));
    await visible(page.locator('.ant-progress').getByText('40%'));

    // Running, and nothing changes: the run is not asked for again (it was every second before).
    const quietFrom = Date.now();
    await page.waitForTimeout(QUIET_MS);
    expect(asked(`/api/v1/runs/${runId}`, quietFrom)).toBe(0);

    await report(runId, 1, { progress: 75 });
    await visible(page.locator('.ant-progress').getByText('75%'));
    await report(runId, 2, { status: 'succeeded', output: { rows: 12 } });
    await visible(page.getByTestId('run-status').locator('[data-status="succeeded"]'));
    // The end fetches the run again: its output shows.
    await visible(page.getByTestId('run-output').getByText('"rows": 12'));
  });

  it('the dashboard counts a run that ends, without a reload', async () => {
    await nav('Dashboard');
    await visible(page.getByRole('heading', { name: 'Dashboard' }));
    await live();
    const succeeded = () => page.getByTestId('Last hour-succeeded').textContent().then(Number);
    await expect.poll(succeeded, { timeout: UI_TIMEOUT }).toBe(2);
    const runId = await trigger();
    await report(runId, 0, { status: 'failed', error: 'the held job broke' });
    await expect.poll(succeeded, { timeout: UI_TIMEOUT }).toBe(2);
    await visible(page.getByTestId('failure-link').filter({ hasText: 'default/held-job' }));
    await expect.poll(() => page.getByTestId('Last hour-failed').textContent().then(Number), { timeout: UI_TIMEOUT }).toBe(1);

    const quietFrom = Date.now();
    await page.waitForTimeout(QUIET_MS);
    expect(asked('/api/v1/stats?', quietFrom)).toBe(0);
    expect(asked('/api/v1/runs?', quietFrom)).toBe(0);
  });

  it('the executors page shows a node that joins and one that leaves, at once', async () => {
    await nav('Executors');
    await visible(page.getByRole('heading', { name: 'Executors' }));
    await live();
    await visible(page.getByTestId('executors-empty'));
    const joined = await api('PUT', '/executors/live-node-1', { group: 'live', mode: 'pull' });
    expect(joined.status).toBe(200);
    const group = page.getByTestId('executor-group-live');
    // Well before the page's 10 s liveness refresh.
    await group.locator('tr', { hasText: 'live-node-1' }).waitFor({ state: 'visible', timeout: 5000 });
    const left = await api('DELETE', '/executors/live-node-1');
    expect(left.status).toBeLessThan(300);
    await page.getByTestId('executors-empty').waitFor({ state: 'visible', timeout: 5000 });
  });

  it('says live in Chinese too, and keeps only the streams the page needs', async () => {
    await pickOption(page, 'Language', '简体中文');
    await visible(page.getByTestId('live-status').getByText('实时', { exact: true }));
    await pickOption(page, '语言', 'English');
    await visible(page.getByTestId('live-status').getByText('Live', { exact: true }));
    // The streams of the pages left were closed (a moment after): only the executors' is open.
    await expect.poll(() => [...openStreams].map((r) => new URL(r.url()).search), { timeout: UI_TIMEOUT }).toEqual(['?type=executor.*']);
  });

  it('wrote no error to the browser console, and left packages/console/dist alone', () => {
    expect(consoleMessages.filter((m) => m.startsWith('error') || m.startsWith('pageerror'))).toEqual([]);
    expect(directoryState(SERVED_DIST)).toEqual(servedDistBefore);
  });
});
