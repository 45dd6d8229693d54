/**
 * The web console end to end, in headless Debian Chromium driven by playwright-core, against a
 * real `ecron start` process and a real HTTP executor (which checks every request's signature
 * with DATA_DIR/signing.key); executor nodes are registered in pull mode and answered through the
 * poll API.
 *
 * The console is built for the tests, in production mode as `npm run build` makes it, into a
 * temporary directory the server is pointed at (ECRON_CONSOLE_DIR): packages/console/dist, the
 * build `ecron start` serves, is left alone. Screenshots go to packages/console/test-output/
 * (ignored by git); `npm run docs:images` copies the ones the docs show into docs/images/.
 *
 * Chromium comes from apt (`apt-get install chromium`, as .ci/run does). Without it the suite is
 * skipped locally, and fails under CI=true.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page, Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ServerProcess, tempDataDir } from '../../server/test/support/server-process.ts';
import { TestExecutor, type ReceivedRequest } from '../../server/test/support/test-executor.ts';
import {
  BUILD_MARK, buildConsole, chromiumFor, directoryState, DOCS_IMAGES, launchChromium, OPEN_DROPDOWN, pickOption, SCREENSHOT_TIMEOUT, SCREENSHOTS, SERVED_DIST, signed,
  UI_TIMEOUT,
} from './e2e-support.ts';

const ADMIN_TOKEN = 'ecr_console_e2e_admin_token_0123456789';
/** Longer than the task list shows on a line. */
const DESCRIPTION = 'Pings the orders service every two seconds and records its answer, so that an outage shows on the dashboard within seconds.';

/** A duration as the console writes it (src/format.ts's formatDuration, for the fire lags here: under a minute). */
function shownDuration(ms: number): string {
  if (ms >= 60_000) throw new Error(`a fire lag of ${ms} ms`);
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** An instant with milliseconds as the console writes it in the browser's zone, Asia/Shanghai (UTC+8, no DST since 1991). */
function shownInstant(iso: string): string {
  return `${new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(0, 23).replace('T', ' ')} UTC+08:00 Asia/Shanghai`;
}

const haveChromium = chromiumFor('console e2e tests');

/** Answers 202, then reports log lines and a failure to the run's callback, like an asynchronous job that breaks. */
async function failWithLog(req: ReceivedRequest): Promise<void> {
  const send = (seq: number, report: Record<string, unknown>) => fetch(req.body.callback.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${req.body.callback.token}` },
    body: JSON.stringify({ attempt: req.body.attempt, seq, ...report }),
  });
  await send(0, { status: 'running', logs: [{ level: 'info', message: `import started (attempt ${req.body.attempt})` }, { level: 'info', message: 'connecting to orders-db:5432' }] });
  await send(1, { logs: [{ level: 'error', message: 'connect ECONNREFUSED orders-db:5432' }] });
  await send(2, { status: 'failed', error: 'database unreachable: connect ECONNREFUSED orders-db:5432' });
}

/** Answers 202, then reports a log line every 200 ms until the server refuses reports (the run ended). */
async function reportUntilStopped(req: ReceivedRequest): Promise<void> {
  for (let seq = 0; seq < 600; seq++) {
    const res = await fetch(req.body.callback.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${req.body.callback.token}` },
      body: JSON.stringify({ attempt: req.body.attempt, seq, ...(seq === 0 ? { status: 'running' } : {}), progress: Math.min(seq, 99), logs: [{ level: 'info', message: `rendering page ${seq + 1}` }] }),
    });
    if (!res.ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.skipIf(!haveChromium)('web console in Chromium', { timeout: 90_000 }, () => {
  let server: ServerProcess;
  let executor: TestExecutor;
  let executorUrl: string;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let consoleDir: string;
  let servedDistBefore: string[];
  let docsImagesBefore: string[];
  let cronTaskId = '';
  let shardedTaskId = '';
  let shardedRunId = '';
  const heartbeats: ReturnType<typeof setInterval>[] = [];
  /** What the page wrote to its console during the whole run. */
  const consoleMessages: string[] = [];

  const api = <T = any>(method: string, path: string, body?: unknown) => server.api<T>(method, `/api/v1${path}`, body);
  const visible = (locator: Locator) => locator.first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
  const nav = (name: string) => page.locator('.ant-layout-sider .ant-menu').getByRole('link', { name, exact: true }).click();

  /** Picks the option with this exact label in the antd Select named `name`, by keyboard (see e2e-support.ts). */
  const pick = (name: string, option: string): Promise<void> => pickOption(page, name, option);

  /** Registers an executor node; with `keepAlive` it heartbeats every second (until the suite ends), else it dies 4 s later. */
  async function registerExecutor(id: string, body: Record<string, unknown>, keepAlive: boolean): Promise<void> {
    const registered = await api('PUT', `/executors/${id}`, body);
    expect(registered.status).toBe(200);
    if (keepAlive) heartbeats.push(setInterval(() => void api('PUT', `/executors/${id}`, body).catch(() => undefined), 1000));
  }

  async function runStatus(runId: string): Promise<string> {
    return (await api('GET', `/runs/${runId}`)).body.status;
  }

  beforeAll(async () => {
    servedDistBefore = directoryState(SERVED_DIST);
    docsImagesBefore = directoryState(DOCS_IMAGES);
    consoleDir = buildConsole();
    mkdirSync(SCREENSHOTS, { recursive: true });
    server = new ServerProcess(tempDataDir('ecron-console-'));
    await server.start([], { ECRON_ADMIN_TOKEN: ADMIN_TOKEN, ECRON_CONSOLE_DIR: consoleDir });
    expect(server.adminToken).toBe(ADMIN_TOKEN);

    executor = new TestExecutor(server.signingKey);
    executor.behaviours.set('/hello', signed((req) => ({ status: 200, body: { greeting: `hello from ${req.body.task}`, params: req.body.params } })));
    executor.behaviours.set('/import', signed((req) => {
      void failWithLog(req);
      return { status: 202, body: { accepted: true } };
    }));
    executor.behaviours.set('/report', signed((req) => {
      void reportUntilStopped(req);
      return { status: 202, body: { accepted: true } };
    }));
    executorUrl = await executor.start();

    userDataDir = mkdtempSync(join(tmpdir(), 'ecron-chromium-'));
    context = await launchChromium(userDataDir);
    page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT);
    page.on('console', (message) => consoleMessages.push(`${message.type()}: ${message.text()}`));
  }, 90_000);

  afterEach(async ({ task }) => {
    // A failed step leaves a picture of the page next to the test's temporary files.
    if (task.result?.state === 'fail') await page?.screenshot({ path: join(tmpdir(), `ecron-console-failure-${task.name.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => undefined);
  });

  afterAll(async () => {
    for (const timer of heartbeats) clearInterval(timer);
    await context?.close();
    await executor?.stop();
    await server?.kill('SIGTERM');
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
  });

  it('serves a production build of its own, and leaves packages/console/dist alone', async () => {
    const served = await (await fetch(server.url)).text();
    expect(served).toBe(readFileSync(join(consoleDir, 'index.html'), 'utf8'));
    expect(served).toContain(BUILD_MARK);
    expect(directoryState(SERVED_DIST)).toEqual(servedDistBefore);
    // React's development build greets the console with a DevTools notice; the production one has no such text.
    const scripts = readdirSync(join(consoleDir, 'assets')).filter((name) => name.endsWith('.js'));
    expect(scripts.filter((name) => readFileSync(join(consoleDir, 'assets', name), 'utf8').includes('Download the React DevTools'))).toEqual([]);
  });

  it('1. signs in with an API token', async () => {
    await page.goto(server.url);
    await visible(page.getByText('Sign in with an API token'));
    await page.getByLabel('API token').fill('ecr_wrong_token_0000000000000000');
    await page.getByRole('button', { name: /Sign in/ }).click();
    await visible(page.getByTestId('login-error'));
    await page.getByLabel('API token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: /Sign in/ }).click();
    await visible(page.getByRole('heading', { name: 'Dashboard' }));
    await visible(page.getByTestId('role-tag').getByText('admin'));
    // The token lives in sessionStorage only.
    expect(await page.evaluate(() => [sessionStorage.getItem('ecron.token'), JSON.stringify(localStorage)])).toEqual([ADMIN_TOKEN, expect.not.stringContaining(ADMIN_TOKEN)]);
  });

  it('2. creates a seconds-level cron task through the builder, pointing at the HTTP executor', async () => {
    await nav('Tasks');
    await page.getByTestId('new-task').click();
    await visible(page.getByRole('heading', { name: 'New task' }));
    await page.getByTestId('task-name').fill('heartbeat');
    await page.getByLabel('Description').fill(DESCRIPTION);
    // Seconds: every 2; the other fields: every.
    await pick('Second: how', 'every N');
    const step = page.getByTestId('cron-second').getByRole('spinbutton', { name: 'Step' });
    await step.fill('2');
    await step.press('Tab');
    await pick('Minute: how', 'every');
    await expect.poll(() => page.getByTestId('cron-expression').inputValue()).toBe('*/2 * * * * *');
    await page.getByRole('combobox', { name: 'Time zone' }).fill('Europe/Paris');
    await page.keyboard.press('Enter');
    await page.getByTestId('target-url').fill(`${executorUrl}/hello`);
    await page.getByLabel('Params').fill('{ "greeting": "bonjour" }');
    // The preview comes from the server: 10 fires, 2 s apart, in the task's zone and the viewer's.
    await expect.poll(() => page.locator('.preview-fire').count(), { timeout: UI_TIMEOUT }).toBe(10);
    await visible(page.getByText('Task zone (Europe/Paris)'));
    await visible(page.getByText('Your zone (Asia/Shanghai)'));
    const fires = await page.locator('.preview-fire').allTextContents();
    expect(fires[0]).toMatch(/Europe\/Paris$/);
    // The JSON view shows the same spec, and can be edited directly.
    await page.getByRole('tab', { name: 'JSON' }).click();
    const json = JSON.parse(await page.getByTestId('spec-json').inputValue());
    expect(json).toMatchObject({ name: 'heartbeat', schedule: { cron: '*/2 * * * * *', timezone: 'Europe/Paris' }, target: { type: 'http', url: `${executorUrl}/hello` } });
    await page.getByRole('tab', { name: 'YAML' }).click();
    expect(await page.getByTestId('spec-yaml').inputValue()).toContain('cron: "*/2 * * * * *"');
    await page.getByRole('tab', { name: 'Form' }).click();
    await page.screenshot({ path: join(SCREENSHOTS, 'task-form.png'), fullPage: true, animations: 'disabled', timeout: SCREENSHOT_TIMEOUT });

    // A field-level error from the API lands on its field.
    await page.getByTestId('cron-expression').fill('*/2 * * * * * *');
    await page.getByTestId('save-task').click();
    await visible(page.getByTestId('form-error'));
    await visible(page.locator('.ant-form-item-has-error').filter({ hasText: 'Cron (with seconds)' }));
    await page.getByTestId('cron-expression').fill('*/2 * * * * *');

    await page.getByTestId('save-task').click();
    await visible(page.getByTestId('task-title').getByText('default/heartbeat'));
    cronTaskId = new URL(page.url()).pathname.split('/').at(-1)!;
    const task = (await api('GET', `/tasks/${cronTaskId}`)).body;
    expect(task.spec.schedule).toEqual({ cron: '*/2 * * * * *', timezone: 'Europe/Paris' });
    // The description is on the task's page, whole.
    expect(task.spec.description).toBe(DESCRIPTION);
    expect(await page.getByTestId('task-description').textContent()).toBe(DESCRIPTION);
  });

  it('3. sees its runs appear and succeed', async () => {
    const succeeded = page.getByTestId('runs-table').locator('[data-status="succeeded"]');
    await expect.poll(() => succeeded.count(), { timeout: UI_TIMEOUT }).toBeGreaterThanOrEqual(2);
    const runs = executor.runs('/hello');
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.every((r) => r.signatureOk)).toBe(true);
  });

  it('4. opens a failing run and reads its error, attempts and log', async () => {
    const created = await api('POST', '/tasks', {
      name: 'orders-import', schedule: { manual: true }, target: { type: 'http', url: `${executorUrl}/import` },
      retry: { maxAttempts: 2, backoff: { type: 'fixed', initialMs: 200 } },
    });
    expect(created.status).toBe(201);
    const run = (await api('POST', `/tasks/${created.body.id}/trigger`)).body;
    await expect.poll(() => runStatus(run.id), { timeout: UI_TIMEOUT }).toBe('failed');

    await nav('Dashboard');
    const failure = page.getByTestId('failure-link').filter({ hasText: 'default/orders-import' });
    await visible(failure);
    await failure.first().click();
    await visible(page.getByTestId('run-error').getByText('database unreachable: connect ECONNREFUSED orders-db:5432'));
    await visible(page.getByTestId('attempts').getByText('Attempt 2'));
    await visible(page.getByTestId('run-log').getByText('connect ECONNREFUSED orders-db:5432'));
    await visible(page.getByTestId('run-log').getByText('import started (attempt 2)'));
    await page.screenshot({ path: join(SCREENSHOTS, 'run-detail.png'), fullPage: true, animations: 'disabled', timeout: SCREENSHOT_TIMEOUT });

    await nav('Dashboard');
    await visible(page.getByTestId('failure-link').filter({ hasText: 'default/orders-import' }));
    await expect.poll(async () => Number(await page.getByTestId('Last hour-succeeded').textContent()), { timeout: UI_TIMEOUT }).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard.png'), fullPage: true, animations: 'disabled', timeout: SCREENSHOT_TIMEOUT });
  });

  it('5. triggers the task with a param override', async () => {
    await page.goto(`${server.url}/tasks/${cronTaskId}`);
    await page.getByTestId('trigger').click();
    await page.getByTestId('trigger-params').fill('{ "who": "console" }');
    await page.getByTestId('trigger-ok').click();
    await visible(page.getByRole('heading', { name: 'Run', exact: true }));
    await visible(page.getByTestId('run-status').locator('[data-status="succeeded"]'));
    await visible(page.getByTestId('run-output').getByText('"who": "console"'));
    const manual = executor.runs('/hello').filter((r) => r.body.params.who === 'console');
    expect(manual).toHaveLength(1);
    expect(manual[0]!.body.params).toEqual({ greeting: 'bonjour', who: 'console' });
  });

  it('6. pauses the task', async () => {
    await page.goto(`${server.url}/tasks/${cronTaskId}`);
    await page.getByTestId('pause').click();
    await visible(page.getByTestId('task-state').locator('[data-status="paused"]'));
    await visible(page.getByTestId('resume'));
    const task = (await api('GET', `/tasks/${cronTaskId}`)).body;
    expect(task.state).toBe('paused');
    expect(task.nextFireAt).toBeNull();
  });

  it('7. cancels a long run, after tailing its log live', async () => {
    const created = (await api('POST', '/tasks', { name: 'long-report', schedule: { manual: true }, target: { type: 'http', url: `${executorUrl}/report` } })).body;
    await page.goto(`${server.url}/tasks/${created.id}`);
    await page.getByTestId('trigger').click();
    await page.getByTestId('trigger-ok').click();
    await visible(page.getByTestId('live-tail'));
    const runId = new URL(page.url()).pathname.split('/').at(-1)!;
    await executor.next((r) => r.path === '/report' && r.body.runId === runId, UI_TIMEOUT);
    // Lines reported while the run goes on appear without a reload.
    await visible(page.getByTestId('run-log').getByText('rendering page 1', { exact: true }));
    await visible(page.getByTestId('run-log').getByText('rendering page 4', { exact: true }));
    await visible(page.getByTestId('run-status').locator('[data-status="running"]'));
    // An active run can be cancelled, not run again.
    expect(await page.getByTestId('rerun').count()).toBe(0);
    await page.getByTestId('cancel-run').click();
    await page.getByTestId('cancel-ok').click();
    await visible(page.getByTestId('run-status').locator('[data-status="cancelled"]'));
    expect(await runStatus(runId)).toBe('cancelled');
    await visible(page.getByTestId('rerun'));
    expect(await page.getByTestId('cancel-run').count()).toBe(0);
  });

  it('edits the task into a new revision, compares revisions, and resumes it from the list', async () => {
    await page.goto(`${server.url}/tasks/${cronTaskId}`);
    await page.getByRole('button', { name: 'Edit' }).click();
    await visible(page.getByRole('heading', { name: /Edit heartbeat \(revision 1\)/ }));
    await pick('Second: how', 'at');
    await page.getByLabel('Values').fill('0,30');
    await expect.poll(() => page.getByTestId('cron-expression').inputValue()).toBe('0,30 * * * * *');
    await page.getByTestId('save-task').click();
    await visible(page.getByRole('tab', { name: 'Revisions' }));
    await page.getByRole('tab', { name: 'Revisions' }).click();
    await visible(page.getByTestId('spec-diff').getByText(/- +cron: "?\*\/2 \* \* \* \* \*/));
    await visible(page.getByTestId('spec-diff').getByText(/\+ +cron: "?0,30 \* \* \* \* \*/));
    expect((await api('GET', `/tasks/${cronTaskId}`)).body).toMatchObject({ revision: 2, state: 'paused' });

    await nav('Tasks');
    await page.getByTestId('task-search').locator('input').fill('heart');
    await page.getByTestId('task-search').locator('input').press('Enter');
    const row = page.locator('tr', { hasText: 'heartbeat' });
    await visible(row.locator('[data-status="paused"]'));
    // The description under the name: one line, cut short, whole in a tooltip.
    const description = row.getByTestId('task-description');
    await visible(description);
    expect(await description.evaluate((e) => e.scrollWidth > e.clientWidth)).toBe(true);
    await description.hover();
    await visible(page.getByRole('tooltip').getByText(DESCRIPTION, { exact: true }));
    await page.mouse.move(0, 0);
    await row.getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Resume' }).click();
    await visible(row.locator('[data-status="active"]'));
    expect((await api('GET', `/tasks/${cronTaskId}`)).body.state).toBe('active');
    await page.getByRole('checkbox').first().check();
    await page.getByRole('button', { name: 'Pause' }).click();
    await visible(row.locator('[data-status="paused"]'));
  });

  it('creates a token (shown once), revokes it, and finds both in the audit log', async () => {
    await nav('Tokens');
    await page.getByRole('button', { name: 'Create token' }).click();
    const dialog = page.locator('.token-create-modal');
    await page.getByTestId('token-name').fill('ci-bot');
    await pick('Role', 'editor');
    await dialog.getByRole('button', { name: 'Create token' }).click();
    const secret = (await page.getByTestId('new-token-secret').textContent())?.trim() ?? '';
    expect(secret).toMatch(/^ecr_/);
    const created = (await api('GET', '/tokens')).body.items.find((t: any) => t.name === 'ci-bot');
    expect(created).toMatchObject({ role: 'editor', namespaces: ['*'], revokedAt: null });
    expect((await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
    await page.locator('.token-secret-modal').getByRole('button', { name: 'OK' }).click();

    // Revoked says when (a dash until then); the button is in the Actions column.
    const row = page.locator('tr', { hasText: 'ci-bot' });
    const revokedAt = row.getByTestId('token-revoked-at');
    expect(await revokedAt.textContent()).toBe('—');
    const titles = await page.locator('.ant-table-thead th').allTextContents();
    expect(titles).toEqual(['Name', 'Role', 'Namespaces', 'Created', 'Last used', 'Expires', 'Revoked', 'Actions']);
    expect(await row.locator('td').nth(titles.indexOf('Revoked')).getByRole('button').count()).toBe(0);
    await row.locator('td').nth(titles.indexOf('Actions')).getByRole('button', { name: 'Revoke' }).click();
    await page.locator('.ant-popconfirm').getByRole('button', { name: 'Revoke' }).click();
    await visible(revokedAt.getByText(/UTC\+08:00/));
    expect(await row.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    await expect.poll(async () => (await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);

    // The last admin token for all namespaces cannot be revoked: the API refuses, and the page says why.
    const adminRow = page.locator('tbody tr').filter({ has: page.getByRole('cell', { name: 'admin', exact: true }) });
    await adminRow.getByRole('button', { name: 'Revoke' }).click();
    await page.locator('.ant-popconfirm').getByRole('button', { name: 'Revoke' }).click();
    await visible(page.getByTestId('token-error').getByText('This is the last admin token for all namespaces', { exact: false }));
    expect(await page.getByTestId('token-error').textContent()).toContain('LAST_ADMIN_TOKEN');
    expect(await adminRow.getByTestId('token-revoked-at').textContent()).toBe('—');
    expect((await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(200);

    // The audit log: each action by its label (the code in a tooltip), each actor by its token's
    // name, each resource linking to its page.
    await nav('Audit log');
    const audit = page.getByTestId('audit-table');
    const entry = (action: string, resource: string) => audit.locator('tbody tr')
      .filter({ has: page.locator(`[data-action="${action}"]`) }).filter({ has: page.getByTestId('audit-resource').filter({ hasText: resource }) });
    await visible(entry('token.revoke', 'ci-bot'));
    expect(await entry('token.revoke', 'ci-bot').getByTestId('audit-action').textContent()).toBe('Revoke token');
    expect(await entry('token.revoke', 'ci-bot').getByTestId('audit-actor').textContent()).toBe('admin');
    expect(await entry('token.create', 'admin').getByTestId('audit-actor').textContent()).toBe('ecron (system)');
    expect(await audit.getByText('token:', { exact: false }).count()).toBe(0);
    await entry('token.revoke', 'ci-bot').getByTestId('audit-action').hover();
    await visible(page.getByRole('tooltip').getByText('token.revoke', { exact: true }));
    await page.mouse.move(0, 0);
    await entry('task.create', 'default/heartbeat').getByTestId('audit-link-task').click();
    await expect.poll(() => new URL(page.url()).pathname).toBe(`/tasks/${cronTaskId}`);
    await nav('Audit log');
    const trigger = entry('task.trigger', '');
    await visible(trigger);
    const runLink = trigger.first().getByTestId('audit-link-run');
    const runId = (await runLink.textContent())!.trim();
    await runLink.click();
    await expect.poll(() => new URL(page.url()).pathname).toBe(`/runs/${runId}`);
    await nav('Audit log');
    await entry('token.create', 'ci-bot').getByTestId('audit-link-token').click();
    await visible(page.getByRole('heading', { name: 'API tokens' }));
  });

  it('lists the scheduler nodes', async () => {
    const nodes = await api('GET', '/nodes');
    expect(nodes.status).toBe(200);
    const { items, buckets } = nodes.body;
    expect(items).toHaveLength(1);
    await nav('Nodes');
    await visible(page.getByText(`${buckets.total - buckets.unowned} of ${buckets.total} buckets leased`));
    const row = page.getByTestId('nodes-table').locator('tr', { hasText: items[0].id });
    await visible(row.locator('[data-status="alive"]'));
    await visible(row.getByText(server.url, { exact: true }));
  });

  it('lists the executor nodes by group, with their labels and liveness, and filters by group', async () => {
    await nav('Executors');
    await visible(page.getByRole('heading', { name: 'Executors' }));
    // No node yet: the page says how to start one.
    await visible(page.getByTestId('executors-empty').getByText('ecron agent --config agent.yaml'));

    // Pull mode needs no listener. billing-eu-1 stays alive; ops-1 heartbeats once and dies 4 s later.
    await registerExecutor('billing-eu-1', { group: 'billing', mode: 'pull', labels: { zone: 'eu-1', tier: 'gold' }, weight: 3, handlers: ['report'], version: '1.4.2' }, true);
    await registerExecutor('ops-1', { group: 'ops', mode: 'pull' }, false);
    const billing = page.getByTestId('executor-group-billing');
    const row = billing.locator('tr', { hasText: 'billing-eu-1' });
    await visible(row.locator('[data-status="alive"]'));
    await visible(billing.getByTestId('group-live').getByText('1 of 1 live'));
    for (const text of ['zone=eu-1', 'tier=gold', 'report', 'pull', '1.4.2']) await visible(row.getByText(text, { exact: true }));
    await visible(row.getByText(/^\d+ s ago$/));
    const ops = page.getByTestId('executor-group-ops');
    await visible(ops.locator('tr', { hasText: 'ops-1' }).locator('[data-status="dead"]'));
    await visible(ops.getByTestId('group-live').getByText('0 of 1 live'));
    expect((await api('GET', '/executors')).body.items.map((n: any) => [n.id, n.alive])).toEqual([['billing-eu-1', true], ['ops-1', false]]);
    await page.screenshot({ path: join(SCREENSHOTS, 'executors.png'), fullPage: true, animations: 'disabled', timeout: SCREENSHOT_TIMEOUT });

    await pick('Executor group', 'ops · 0 of 1 live');
    await expect.poll(() => new URL(page.url()).searchParams.get('group')).toBe('ops');
    await visible(ops);
    // The filtered list comes from the server: the previous one stays up until it answers.
    await expect.poll(() => billing.count()).toBe(0);
    await page.getByTestId('executor-group-filter').locator('.ant-select-clear').click();
    await visible(billing);
  });

  it('creates a task routed to an executor group, sharded, through the form', async () => {
    await nav('Tasks');
    await page.getByTestId('new-task').click();
    await visible(page.getByRole('heading', { name: 'New task' }));
    await page.getByTestId('task-name').fill('nightly-report');
    await page.getByTestId('schedule-kind').getByText('Manual', { exact: true }).click();
    await pick('Type', 'Executor group');
    // The group field suggests the registry's groups.
    const group = page.getByRole('combobox', { name: 'Executor group' });
    await group.fill('bil');
    await visible(page.locator(OPEN_DROPDOWN).getByText('1 of 1 live', { exact: false }));
    await group.press('ArrowDown');
    await group.press('Enter');
    await expect.poll(() => group.inputValue()).toBe('billing');
    await page.getByTestId('target-handler').fill('report');
    await pick('Routing strategy', 'consistent-hash');
    await page.getByTestId('routing-hash-key').fill('customerId');
    const selector = page.getByRole('combobox', { name: 'Label selector' });
    await selector.fill('zone=eu-1');
    await selector.press('Enter');
    await selector.press('Escape');
    await page.getByTestId('routing-mode').getByText('Sharding', { exact: true }).click();
    await page.getByRole('spinbutton', { name: 'Shards' }).fill('4');

    const target = {
      type: 'executor', group: 'billing', handler: 'report',
      routing: { strategy: 'consistent-hash', hashKey: 'customerId', selector: { zone: 'eu-1' }, sharding: { total: 4 } },
    };
    await page.getByRole('tab', { name: 'JSON' }).click();
    expect(JSON.parse(await page.getByTestId('spec-json').inputValue())).toMatchObject({ name: 'nightly-report', schedule: { manual: true }, target });
    await page.getByRole('tab', { name: 'YAML' }).click();
    expect(await page.getByTestId('spec-yaml').inputValue()).toMatch(/sharding:\n\s+total: 4/);
    // Back in the form, the fields show the same routing.
    await page.getByRole('tab', { name: 'Form' }).click();
    expect(await page.getByRole('spinbutton', { name: 'Shards' }).inputValue()).toBe('4');
    await visible(page.getByTestId('routing-selector').getByText('zone=eu-1'));

    // The API's field issue lands on the group field.
    await group.fill('billing eu');
    await page.getByTestId('save-task').click();
    await visible(page.getByTestId('form-error').getByText('target.group'));
    await visible(page.locator('.ant-form-item-has-error').filter({ hasText: 'Executor group' }));
    await group.fill('billing');
    await group.press('Escape');

    await page.getByTestId('save-task').click();
    await visible(page.getByTestId('task-title').getByText('default/nightly-report'));
    shardedTaskId = new URL(page.url()).pathname.split('/').at(-1)!;
    expect((await api('GET', `/tasks/${shardedTaskId}`)).body.spec.target).toEqual(target);
  });

  it('shows the shards of a sharded run, and the node of each', async () => {
    const run = (await api('POST', `/tasks/${shardedTaskId}/trigger`, {})).body;
    shardedRunId = run.id;
    // The pull node takes the 4 shards and answers: shard 3 fails.
    const deliveries: { id: string; request: { runId: string; shard: { index: number; total: number } } }[] = [];
    const deadline = Date.now() + UI_TIMEOUT;
    while (deliveries.length < 4 && Date.now() < deadline) {
      deliveries.push(...(await api('POST', '/executors/billing-eu-1/poll', { waitMs: 2000 })).body.deliveries.filter((d: any) => d.request.runId === run.id));
    }
    expect(deliveries.map((d) => d.request.shard.index).sort()).toEqual([0, 1, 2, 3]);
    const results = deliveries.map(({ id, request: { shard } }) => (shard.index === 3
      ? { id, status: 'failed', error: 'disk full on /var/reports' }
      : { id, status: 'succeeded', output: { rows: 100 + shard.index } }));
    expect((await api('POST', '/executors/billing-eu-1/results', { results })).body).toEqual({ accepted: 4 });
    await expect.poll(() => runStatus(run.id), { timeout: UI_TIMEOUT }).toBe('failed');

    await page.goto(`${server.url}/runs/${run.id}`);
    await visible(page.getByText('Shards (4)'));
    const legs = page.getByTestId('run-legs');
    await expect.poll(() => legs.locator('tbody tr.ant-table-row').count()).toBe(4);
    await visible(legs.locator('tr', { hasText: 'disk full on /var/reports' }).locator('[data-status="failed"]'));
    await visible(legs.locator('tr', { hasText: '{"rows":101}' }).getByText('billing-eu-1'));
    expect(await legs.locator('[data-status="succeeded"]').count()).toBe(3);
    await visible(page.getByTestId('attempt-executor').getByText('billing (4 shards)'));
  });

  it('runs a finished run again: its params prefilled and checked, the new run opened, the API\'s refusal shown', async () => {
    // The run triggered with an override in step 5.
    const runs = (await api('GET', `/runs?taskId=${cronTaskId}&limit=100`)).body.items as any[];
    const previous = runs.find((r) => r.trigger === 'manual' && r.params.who === 'console');
    expect(previous).toMatchObject({ status: 'succeeded', params: { greeting: 'bonjour', who: 'console' } });
    await page.goto(`${server.url}/runs/${previous.id}`);
    await visible(page.getByTestId('run-status').locator('[data-status="succeeded"]'));
    const sent: unknown[] = [];
    const onRequest = (request: Request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname.endsWith('/rerun')) sent.push(request.postDataJSON());
    };
    page.on('request', onRequest);
    try {
      await page.getByTestId('rerun').click();
      const params = page.getByTestId('rerun-params');
      expect(JSON.parse(await params.inputValue())).toEqual(previous.params);
      // A syntax error, then JSON that is not an object: said in the dialog, nothing sent.
      await params.fill('{ "who": ');
      await page.getByTestId('rerun-ok').click();
      await visible(page.getByTestId('rerun-error').getByText('The params are not valid JSON', { exact: false }));
      await params.fill('["who"]');
      await page.getByTestId('rerun-ok').click();
      await visible(page.getByTestId('rerun-error').getByText('The params must be a JSON object', { exact: false }));
      expect(sent).toEqual([]);
      // Edited params take the place of the run's (they are not merged); the new run opens.
      await params.fill('{ "who": "again" }');
      await page.getByTestId('rerun-ok').click();
      await expect.poll(() => new URL(page.url()).pathname).not.toBe(`/runs/${previous.id}`);
      const rerunId = new URL(page.url()).pathname.split('/').at(-1)!;
      await visible(page.getByTestId('run-status').locator('[data-status="succeeded"]'));
      await visible(page.getByTestId('run-output').getByText('"who": "again"'));
      expect(sent).toEqual([{ params: { who: 'again' } }]);
      expect((await api('GET', `/runs/${rerunId}`)).body).toMatchObject({ taskId: cronTaskId, trigger: 'manual', params: { who: 'again' } });
      expect(executor.runs('/hello').filter((r) => r.body.runId === rerunId).map((r) => r.body.params)).toEqual([{ who: 'again' }]);
      // Params left as they are send {}: the API repeats the run's own.
      await page.getByTestId('rerun').click();
      expect(JSON.parse(await page.getByTestId('rerun-params').inputValue())).toEqual({ who: 'again' });
      await page.getByTestId('rerun-ok').click();
      await expect.poll(() => new URL(page.url()).pathname).not.toBe(`/runs/${rerunId}`);
      const repeatId = new URL(page.url()).pathname.split('/').at(-1)!;
      await visible(page.getByTestId('run-status').locator('[data-status="succeeded"]'));
      expect(sent).toEqual([{ params: { who: 'again' } }, {}]);
      expect((await api('GET', `/runs/${repeatId}`)).body.params).toEqual({ who: 'again' });
    } finally {
      page.off('request', onRequest);
    }

    // The task of this finished run was deleted: the dialog shows the API's TASK_NOT_FOUND, and stays.
    const gone = (await api('POST', '/tasks', { name: 'short-lived', schedule: { manual: true }, target: { type: 'http', url: `${executorUrl}/hello` } })).body;
    const goneRun = (await api('POST', `/tasks/${gone.id}/trigger`, {})).body;
    await expect.poll(() => runStatus(goneRun.id), { timeout: UI_TIMEOUT }).toBe('succeeded');
    expect((await api('DELETE', `/tasks/${gone.id}`)).status).toBe(204);
    await page.goto(`${server.url}/runs/${goneRun.id}`);
    await visible(page.getByTestId('run-status').locator('[data-status="succeeded"]'));
    await page.getByTestId('rerun').click();
    await page.getByTestId('rerun-ok').click();
    await visible(page.getByTestId('rerun-error').getByText(`TASK_NOT_FOUND: the task of run ${goneRun.id} was deleted`));
    expect(new URL(page.url()).pathname).toBe(`/runs/${goneRun.id}`);
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
  });

  it('clones a task under a new name and namespace, with the API\'s refusals in the dialog', async () => {
    const source = (await api('GET', '/tasks?name=orders-import')).body.items[0];
    await page.goto(`${server.url}/tasks/${source.id}`);
    await visible(page.getByTestId('task-title').getByText('default/orders-import'));
    await page.getByTestId('clone').click();
    const name = page.getByTestId('clone-name');
    expect(await name.inputValue()).toBe('orders-import-copy');
    // A name in use: the API's TASK_NAME_TAKEN, on the name field.
    await name.fill('heartbeat');
    await page.getByTestId('clone-ok').click();
    await visible(page.getByTestId('clone-error').getByText('TASK_NAME_TAKEN', { exact: false }));
    await visible(page.locator('.ant-form-item-has-error').filter({ hasText: 'New name' }));
    // Not a name: the API's field issue, on its field.
    await name.fill('orders import');
    await page.getByTestId('clone-ok').click();
    await visible(page.getByTestId('clone-error').getByText('VALIDATION_FAILED: name:', { exact: false }));
    await visible(page.locator('.ant-form-item-has-error').filter({ hasText: 'New name' }));
    expect((await api('GET', '/tasks?q=orders-import')).body.items.map((t: any) => t.name)).toEqual(['orders-import']);

    await name.fill('orders-import-copy');
    await page.getByTestId('clone-namespace').fill('staging');
    await page.getByTestId('clone-ok').click();
    await visible(page.getByTestId('task-title').getByText('staging/orders-import-copy'));
    const copyId = new URL(page.url()).pathname.split('/').at(-1)!;
    expect(copyId).not.toBe(source.id);
    const copy = (await api('GET', `/tasks/${copyId}`)).body;
    expect(copy).toMatchObject({ namespace: 'staging', name: 'orders-import-copy', revision: 1, state: 'active' });
    expect({ ...copy.spec, namespace: 'default', name: 'orders-import' }).toEqual(source.spec);
  });

  it('opens a run by the id pasted on the runs page, and says so when no run has that id', async () => {
    await nav('Runs');
    const search = page.getByTestId('run-id-search').locator('input');
    await search.fill(`  ${shardedRunId}\t `);
    await search.press('Enter');
    await expect.poll(() => new URL(page.url()).pathname).toBe(`/runs/${shardedRunId}`);
    await visible(page.getByText('Shards (4)'));
    for (const unknown of ['01NORUNHASTHISID000000000', 'x'.repeat(200)]) {
      await nav('Runs');
      await search.fill(unknown);
      await search.press('Enter');
      await visible(page.getByTestId('run-not-found').getByText('No run with this id', { exact: true }));
      await visible(page.getByText(`There is no run with the id ${unknown}`, { exact: false }));
    }
    await page.getByRole('button', { name: 'All runs' }).click();
    await visible(page.getByTestId('run-id-search'));
  });

  it('shows a scheduled run\'s fire lag up to its first attempt\'s send, and when each attempt was sent', async () => {
    const runs = (await api('GET', `/runs?taskId=${cronTaskId}&limit=100`)).body.items as any[];
    const lag = (run: any, until: string) => shownDuration(Date.parse(until) - Date.parse(run.scheduledAt));
    const scheduled = runs.filter((r) => r.trigger === 'schedule' && r.status === 'succeeded');
    expect(scheduled.length).toBeGreaterThan(0);
    expect(scheduled.every((r) => r.attempts[0].sentAt !== null)).toBe(true);
    // One where the send differs from the start (the lag the page used to show), when there is one.
    const run = scheduled.find((r) => lag(r, r.attempts[0].sentAt) !== lag(r, r.startedAt)) ?? scheduled[0];
    const sentAt = run.attempts[0].sentAt as string;
    await page.goto(`${server.url}/runs/${run.id}`);
    await visible(page.getByTestId('run-status').locator('[data-status="succeeded"]'));
    expect(await page.getByTestId('fire-lag').textContent()).toBe(lag(run, sentAt));
    await page.getByTestId('fire-lag-label').hover();
    await visible(page.getByRole('tooltip').getByText('until the first attempt reached its executor', { exact: false }));
    await page.mouse.move(0, 0);
    expect(await page.getByTestId('attempt-sent').allTextContents()).toEqual([`Sent: ${shownInstant(sentAt)}`]);

    // A manual run has no fire lag.
    const manual = runs.find((r) => r.trigger === 'manual' && r.status === 'succeeded');
    await page.goto(`${server.url}/runs/${manual.id}`);
    await visible(page.getByTestId('run-status').locator('[data-status="succeeded"]'));
    expect(await page.getByTestId('fire-lag').textContent()).toBe('—');
    await visible(page.getByTestId('attempt-sent'));
  });

  it('8. switches to Chinese, and remembers it', async () => {
    await nav('Dashboard');
    await pick('Language', '简体中文');
    await visible(page.getByRole('heading', { name: '仪表盘' }));
    await visible(page.locator('.ant-layout-sider').getByText('任务', { exact: true }));
    await visible(page.locator('.ant-layout-sider').getByText('执行器', { exact: true }));
    expect(await page.evaluate('document.documentElement.lang')).toBe('zh-CN');
    await page.reload();
    await visible(page.getByRole('heading', { name: '仪表盘' }));
    await visible(page.getByRole('button', { name: /退出登录/ }));
    expect(await page.evaluate(() => localStorage.getItem('ecron.language'))).toBe('zh');
  });

  /**
   * What is wrong with the layout of the page shown: it scrolls sideways, it has a frame, or (at
   * 1280 px) the side menu is squeezed or a table hides columns; at any width, a table cell cut
   * off, a column title on more than one line, or an id, code, status or tag in a table broken
   * over lines.
   * At phone width a table may scroll sideways inside its card.
   */
  async function layoutProblems(wide: boolean): Promise<string[]> {
    return page.evaluate((wide) => {
      // Runs in the page (this file is type-checked without the DOM's types).
      const document = (globalThis as any).document;
      const all = (selector: string): any[] => [...document.querySelectorAll(selector)];
      const problems: string[] = [];
      const root = document.documentElement;
      const text = (e: any) => String(e?.innerText ?? '').trim().replace(/\s+/g, ' ').slice(0, 40);
      const lines = (e: any) => {
        const range = document.createRange();
        range.selectNodeContents(e);
        return new Set([...range.getClientRects()].filter((r: any) => r.width > 0).map((r: any) => Math.round(r.bottom))).size;
      };
      if (root.scrollWidth > root.clientWidth) problems.push(`the page scrolls sideways: ${root.scrollWidth} > ${root.clientWidth} px`);
      const layout = document.querySelector('.ant-layout')!.getBoundingClientRect();
      if (layout.left !== 0 || layout.top !== 0) problems.push(`a frame around the page: it starts at ${layout.left},${layout.top}`);
      if (wide) {
        const sider = document.querySelector('.ant-layout-sider')!.getBoundingClientRect().width;
        if (sider !== 200) problems.push(`the side menu is ${sider} px wide, not 200`);
        for (const scroller of all('.ant-table-content, .ant-table-body')) {
          if (scroller.scrollWidth > scroller.clientWidth) problems.push(`a table hides columns: ${scroller.scrollWidth} > ${scroller.clientWidth} px (${text(scroller.querySelector('thead'))})`);
        }
      }
      for (const cell of all('.ant-table-thead th, .ant-table-tbody td')) {
        if (cell.scrollWidth > cell.clientWidth) problems.push(`a cell cut off: "${text(cell)}" ${cell.scrollWidth} > ${cell.clientWidth} px`);
      }
      for (const title of all('.ant-table-thead th')) if (lines(title) > 1) problems.push(`a column title on ${lines(title)} lines: "${text(title)}"`);
      for (const code of all('.ant-table-tbody td code')) if (lines(code) > 1) problems.push(`a code on ${lines(code)} lines: "${text(code)}"`);
      for (const label of all('.ant-table-tbody td .ant-badge-status-text, .ant-table-tbody td .ant-tag')) {
        if (lines(label) > 1) problems.push(`a status or tag on ${lines(label)} lines: "${text(label)}"`);
      }
      return problems;
    }, wide);
  }

  it('lays out every page at 1280×800 and 390×844, in Chinese and in English', { timeout: 300_000 }, async () => {
    const pages = [
      { name: 'dashboard', path: '/', ready: page.getByTestId('failure-link') },
      { name: 'tasks', path: '/tasks', ready: page.locator('.ant-table-row') },
      { name: 'task-detail', path: `/tasks/${cronTaskId}`, ready: page.getByTestId('runs-table').locator('.ant-table-row') },
      { name: 'task-form', path: '/tasks/new', ready: page.getByTestId('task-name') },
      { name: 'runs', path: '/runs', ready: page.getByTestId('runs-table').locator('.ant-table-row') },
      { name: 'run-detail', path: `/runs/${shardedRunId}`, ready: page.getByTestId('run-legs').locator('.ant-table-row') },
      { name: 'nodes', path: '/nodes', ready: page.getByTestId('nodes-table').locator('.ant-table-row') },
      { name: 'executors', path: '/executors', ready: page.getByTestId('executor-group-billing').locator('.ant-table-row') },
      { name: 'tokens', path: '/tokens', ready: page.locator('.ant-table-row') },
      { name: 'audit', path: '/audit', ready: page.getByTestId('audit-table').locator('.ant-table-row') },
    ];
    const problems: string[] = [];
    async function checkAll(language: 'en' | 'zh', width: number, height: number): Promise<void> {
      await page.setViewportSize({ width, height });
      for (const shown of pages) {
        await page.goto(`${server.url}${shown.path}`);
        await visible(shown.ready);
        // Polled from here: waitForFunction's in-page polling evaluates a string, which the console's CSP forbids.
        await expect.poll(() => page.evaluate("document.fonts.status === 'loaded' && !document.querySelector('.ant-spin-spinning, .ant-skeleton')"), { timeout: 20_000 }).toBe(true);
        expect(await page.evaluate('document.documentElement.lang')).toBe(language === 'zh' ? 'zh-CN' : 'en');
        problems.push(...(await layoutProblems(width >= 1280)).map((problem) => `${shown.name} ${width}×${height} ${language}: ${problem}`));
        await page.screenshot({ path: join(SCREENSHOTS, 'layout', `${shown.name}-${width}x${height}-${language}.png`), fullPage: true, animations: 'disabled', timeout: SCREENSHOT_TIMEOUT });
        if (shown.name === 'run-detail') expect(await page.getByTestId('rerun').textContent()).toBe(language === 'zh' ? '重新运行' : 'Run again');
        if (shown.name === 'task-detail') expect(await page.getByTestId('clone').textContent()).toBe(language === 'zh' ? '复制' : 'Clone');
        if (shown.name === 'runs') expect(await page.getByTestId('run-id-search').locator('input').getAttribute('placeholder')).toBe(language === 'zh' ? '运行 ID' : 'Run id');
        if (shown.name === 'audit') {
          // The actions in the viewer's language, the code in a tooltip.
          const revoke = page.locator('[data-action="token.revoke"]').first();
          expect(await revoke.textContent()).toBe(language === 'zh' ? '吊销令牌' : 'Revoke token');
        }
      }
    }
    // Chinese is on (the test before chose it); the header's switch goes to English and back.
    await checkAll('zh', 1280, 800);
    await checkAll('zh', 390, 844);
    await pick('语言', 'English');
    await checkAll('en', 390, 844);
    await checkAll('en', 1280, 800);
    await pick('Language', '简体中文');
    await visible(page.locator('.ant-layout-sider').getByText('任务', { exact: true }));
    expect(problems).toEqual([]);
  });

  it('fits a phone-width screen, and shows a clear screen when the token lacks a permission', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.url}/runs`);
    await visible(page.getByRole('heading', { name: '运行记录' }));
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    // The menu folds into a header button, reachable by keyboard.
    await page.getByRole('button', { name: '打开菜单' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('.ant-layout-sider').getByRole('link', { name: '任务', exact: true }).click();
    await visible(page.getByRole('heading', { name: '任务', exact: true }));
    // The fold is an animation: on a busy machine it can take longer than expect.poll's default second.
    await expect.poll(() => page.locator('.ant-layout-sider').boundingBox().then((box) => box?.width ?? 0), { timeout: UI_TIMEOUT }).toBe(0);
    await page.setViewportSize({ width: 1280, height: 800 });

    const viewer = (await api('POST', '/tokens', { name: 'read-only', role: 'viewer' })).body;
    await page.getByRole('button', { name: /退出登录/ }).click();
    await page.getByLabel('API 令牌').fill(viewer.secret);
    await page.getByRole('button', { name: /登\s*录/ }).click();
    await visible(page.getByTestId('role-tag').getByText('查看者'));
    expect(await page.locator('.ant-layout-sider').getByText('令牌').count()).toBe(0);
    // A viewer may not run a run again, nor clone a task (checked once the role is known).
    await page.goto(`${server.url}/runs/${shardedRunId}`);
    await visible(page.getByTestId('role-tag').getByText('查看者'));
    await visible(page.getByTestId('run-status').locator('[data-status="failed"]'));
    expect(await page.getByTestId('rerun').count()).toBe(0);
    await page.goto(`${server.url}/tasks/${cronTaskId}`);
    await visible(page.getByTestId('role-tag').getByText('查看者'));
    await visible(page.getByTestId('task-title'));
    expect(await page.getByTestId('clone').count()).toBe(0);
    expect(await page.getByTestId('trigger').count()).toBe(0);
    await page.goto(`${server.url}/tokens`);
    await visible(page.getByTestId('forbidden'));
  });

  it('logged no development warning in the browser, and left packages/console/dist and docs/images alone', () => {
    // A development build says so on the console (React's DevTools notice, antd's deprecation warnings).
    expect(consoleMessages.filter((m) => /React DevTools|Warning: |\[antd/.test(m))).toEqual([]);
    expect(directoryState(SERVED_DIST)).toEqual(servedDistBefore);
    expect(directoryState(DOCS_IMAGES)).toEqual(docsImagesBefore);
  });
});
