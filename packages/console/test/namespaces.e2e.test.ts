/**
 * Namespaces in the web console end to end, in headless Debian Chromium driven by playwright-core,
 * against a real `ecron start` process: as an admin, create a namespace with a quota and an outbound
 * rule through the namespaces page, watch its usage follow tasks created through the API, see the
 * API's field issue for a bad CIDR on its field, choose the namespace in the header (the task list
 * shows its tasks only, the runs list asks for it, new tasks and workflows start in it, and a reload
 * keeps the choice), be refused the delete of a namespace that holds tasks, read the page in
 * Chinese, and delete the namespace once empty.
 *
 * As console.e2e.test.ts: the console is built for the test into a temporary directory
 * (ECRON_CONSOLE_DIR), packages/console/dist and docs/images are left alone, screenshots go to
 * packages/console/test-output/screenshots. Waits are on page state, never on sleeps.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page, Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ServerProcess, tempDataDir } from '../../server/test/support/server-process.ts';
import {
  buildConsole, chromiumFor, directoryState, DOCS_IMAGES, launchChromium, openPage, pickOption, screenshotFailure, SCREENSHOT_TIMEOUT, SCREENSHOTS, SERVED_DIST, UI_TIMEOUT,
} from './e2e-support.ts';

const ADMIN_TOKEN = 'ecr_namespaces_e2e_admin_token_0123456789';
/** Never called: the tasks here are manual and never triggered. */
const TARGET = { type: 'http', url: 'http://127.0.0.1:9/never-called' };

const haveChromium = chromiumFor('namespaces e2e tests');

describe.skipIf(!haveChromium)('namespaces in the console, in Chromium', { timeout: 90_000 }, () => {
  let server: ServerProcess;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let consoleDir: string;
  let servedDistBefore: string[];
  let docsImagesBefore: string[];
  const teamTasks: string[] = [];
  /** What the page wrote to its console during the whole run. */
  const consoleMessages: string[] = [];

  const api = <T = any>(method: string, path: string, body?: unknown) => server.api<T>(method, `/api/v1${path}`, body);
  const visible = (locator: Locator) => locator.first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
  const nav = (name: string) => page.locator('.ant-layout-sider .ant-menu').getByRole('link', { name, exact: true }).click();
  const row = (name: string) => page.getByTestId('namespaces-table').locator(`tr[data-row-key="${name}"]`);
  /** What the header's namespace switch shows. */
  const switchText = async () => (await page.getByTestId('namespace-switch').innerText()).trim();
  /** The namespace and name of each row of the task list. */
  const taskRows = () => page.locator('.ant-table-tbody tr.ant-table-row').evaluateAll((rows) =>
    rows.map((r: any) => `${r.cells[1].innerText.trim()}/${r.cells[2].innerText.trim().split('\n')[0]}`).sort());

  beforeAll(async () => {
    servedDistBefore = directoryState(SERVED_DIST);
    docsImagesBefore = directoryState(DOCS_IMAGES);
    consoleDir = buildConsole();
    mkdirSync(SCREENSHOTS, { recursive: true });
    server = new ServerProcess(tempDataDir('ecron-namespaces-'));
    await server.start([], { ECRON_ADMIN_TOKEN: ADMIN_TOKEN, ECRON_CONSOLE_DIR: consoleDir });
    userDataDir = mkdtempSync(join(tmpdir(), 'ecron-chromium-'));
    context = await launchChromium(userDataDir);
    page = await openPage(context, consoleMessages);
  }, 90_000);

  afterEach(async ({ task }) => {
    await screenshotFailure(page, 'namespaces', task);
  });

  afterAll(async () => {
    await context?.close();
    await server?.kill('SIGTERM');
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
  });

  it('signs in as admin, and lists default as implicit', async () => {
    await page.goto(server.url);
    await page.getByLabel('API token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: /Sign in/ }).click();
    await visible(page.getByRole('heading', { name: 'Dashboard' }));
    await expect.poll(switchText).toBe('All namespaces');
    await nav('Namespaces');
    await visible(page.getByRole('heading', { name: 'Namespaces' }));
    await visible(row('default').getByTestId('namespace-implicit'));
    await visible(row('default').getByTestId('ns-tasks').getByText('0', { exact: true }));
  });

  it('creates team-a with a concurrency quota and an outbound deny rule', async () => {
    await page.getByTestId('new-namespace').click();
    const dialog = page.locator('.namespace-form-modal');
    await page.getByTestId('namespace-name').fill('team-a');
    await page.getByTestId('namespace-description').fill('Team A\'s reports');
    await dialog.getByRole('spinbutton', { name: 'Max concurrent runs' }).fill('50');
    const deny = dialog.getByRole('combobox', { name: 'Outbound deny' });
    await deny.fill('10.99.0.0/16');
    await deny.press('Enter');
    await visible(page.getByTestId('outbound-deny').getByText('10.99.0.0/16', { exact: true }));
    await page.getByTestId('namespace-save').click();
    await dialog.waitFor({ state: 'hidden' });

    await visible(row('team-a').getByTestId('ns-active-runs').getByText('0 / 50', { exact: true }));
    expect(await row('team-a').getByTestId('namespace-implicit').count()).toBe(0);
    const stored = (await api('GET', '/namespaces/team-a')).body;
    expect(stored).toMatchObject({
      name: 'team-a', description: 'Team A\'s reports', implicit: false,
      quotas: { maxConcurrentRuns: 50, maxFiresPerMinute: null, minIntervalMs: 1000, maxTasks: null },
      outbound: { allow: [], deny: ['10.99.0.0/16'] }, usage: { tasks: 0 },
    });
  });

  it('shows the tasks created in team-a through the API, refreshed live, and the details in a drawer', async () => {
    for (const name of ['a-report', 'a-cleanup']) {
      const created = await api('POST', '/tasks', { namespace: 'team-a', name, schedule: { manual: true }, target: TARGET });
      expect(created.status).toBe(201);
      teamTasks.push(created.body.id);
    }
    expect((await api('POST', '/tasks', { name: 'elsewhere', schedule: { manual: true }, target: TARGET })).status).toBe(201);
    // No reload: the page polls.
    await visible(row('team-a').getByTestId('ns-tasks').getByText('2', { exact: true }));
    await visible(row('default').getByTestId('ns-tasks').getByText('1', { exact: true }));
    await page.screenshot({ path: join(SCREENSHOTS, 'namespaces.png'), fullPage: true, animations: 'disabled', timeout: SCREENSHOT_TIMEOUT });

    await row('team-a').getByTestId('namespace-link').click();
    await expect.poll(() => new URL(page.url()).searchParams.get('name')).toBe('team-a');
    const details = page.getByTestId('namespace-details');
    await visible(details.getByTestId('detail-tasks').getByText('2', { exact: true }));
    await visible(details.getByTestId('detail-active-runs').getByText('0 / 50', { exact: true }));
    await visible(details.getByTestId('detail-deny').getByText('10.99.0.0/16', { exact: true }));
    const quotas = await details.getByTestId('namespace-quotas').innerText();
    expect(quotas).toMatch(/Max concurrent runs\s+50/);
    expect(quotas).toMatch(/Min interval between fires\s+1s/);
    expect(quotas).toMatch(/Max tasks\s+no limit/);
    expect(quotas).toMatch(/Allowed target types\s+all/);
    await page.screenshot({ path: join(SCREENSHOTS, 'namespace-drawer.png'), animations: 'disabled', timeout: SCREENSHOT_TIMEOUT });
    await page.locator('.namespace-drawer').getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('name')).toBeNull();
  });

  it('shows the API\'s issue for a bad CIDR on its field, and sends only what changed', async () => {
    const sent: unknown[] = [];
    const onRequest = (request: Request) => {
      if (request.method() === 'PUT' && new URL(request.url()).pathname === '/api/v1/namespaces/team-a') sent.push(request.postDataJSON());
    };
    page.on('request', onRequest);
    try {
      await row('team-a').getByTestId('namespace-edit').click();
      const dialog = page.locator('.namespace-form-modal');
      expect(await dialog.getByRole('spinbutton', { name: 'Max concurrent runs' }).inputValue()).toBe('50');
      const allow = dialog.getByRole('combobox', { name: 'Outbound allow' });
      await allow.fill('10.0.0.0/33');
      await allow.press('Enter');
      await page.getByTestId('namespace-save').click();
      await visible(page.getByTestId('namespace-form-error').getByText('VALIDATION_FAILED', { exact: false }));
      const field = dialog.locator('.ant-form-item-has-error').filter({ hasText: 'Outbound allow' });
      await visible(field);
      expect(await field.locator('.ant-form-item-explain').innerText()).toContain('10.0.0.0/33');
      expect(await dialog.locator('.ant-form-item-has-error').count()).toBe(1);
      expect(sent).toEqual([{ outbound: { allow: ['10.0.0.0/33'] } }]);
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
    } finally {
      page.off('request', onRequest);
    }
    expect((await api('GET', '/namespaces/team-a')).body.outbound).toEqual({ allow: [], deny: ['10.99.0.0/16'] });
  });

  it('switches the header to team-a: the lists show its tasks only, and new tasks and workflows start in it', async () => {
    await pickOption(page, 'Namespace', 'team-a');
    expect(await page.evaluate(() => localStorage.getItem('ecron.namespace'))).toBe('team-a');
    await nav('Tasks');
    await visible(page.getByRole('heading', { name: 'Tasks' }));
    await expect.poll(taskRows).toEqual(['team-a/a-cleanup', 'team-a/a-report']);
    // The header chooses the namespace: the page's own namespace box is gone.
    expect(await page.getByPlaceholder('Namespace', { exact: true }).count()).toBe(0);

    const runQueries: (string | null)[] = [];
    const onRequest = (request: Request) => {
      const url = new URL(request.url());
      if (url.pathname === '/api/v1/runs') runQueries.push(url.searchParams.get('namespace'));
    };
    page.on('request', onRequest);
    try {
      await nav('Runs');
      await visible(page.getByRole('heading', { name: 'Runs' }));
      await expect.poll(() => runQueries.length).toBeGreaterThan(0);
      expect(new Set(runQueries)).toEqual(new Set(['team-a']));
    } finally {
      page.off('request', onRequest);
    }

    await nav('Tasks');
    await page.getByTestId('new-task').click();
    await visible(page.getByRole('heading', { name: 'New task' }));
    // (The header's switch is a combobox of that name; the form's field is a text box.)
    expect(await page.getByRole('textbox', { name: 'Namespace', exact: true }).inputValue()).toBe('team-a');
    await nav('Workflows');
    await page.getByTestId('new-workflow').click();
    await expect.poll(() => page.getByTestId('workflow-namespace').inputValue()).toBe('team-a');
  });

  it('keeps the choice across a reload', async () => {
    await nav('Tasks');
    await page.reload();
    await visible(page.getByRole('heading', { name: 'Tasks' }));
    await expect.poll(switchText).toBe('team-a');
    await expect.poll(taskRows).toEqual(['team-a/a-cleanup', 'team-a/a-report']);
  });

  it('refuses to delete a namespace that holds tasks, and says why', async () => {
    await nav('Namespaces');
    await row('team-a').getByTestId('namespace-delete').click();
    await page.getByTestId('namespace-delete-ok').filter({ visible: true }).click();
    const error = page.getByTestId('namespace-error');
    await visible(error.getByText('NAMESPACE_NOT_EMPTY', { exact: false }));
    expect(await error.textContent()).toBe('Namespace team-a still holds 2 task(s) and 0 workflow(s): delete or move them first. (NAMESPACE_NOT_EMPTY)');
    expect((await api('GET', '/namespaces/team-a')).status).toBe(200);
    await visible(row('team-a'));
  });

  it('reads in Chinese', async () => {
    await pickOption(page, 'Language', '简体中文');
    await visible(page.getByRole('heading', { name: '命名空间' }));
    await visible(page.locator('.ant-layout-sider').getByRole('link', { name: '命名空间', exact: true }));
    const titles = await page.getByTestId('namespaces-table').locator('.ant-table-thead th').allTextContents();
    expect(titles).toEqual(['名称', '标签', '任务', '工作流', '进行中的运行', '近 1 分钟触发', '操作']);
    await visible(row('default').getByTestId('namespace-implicit').getByText('隐式', { exact: true }));
    await visible(row('team-a').getByTestId('ns-active-runs').getByText('0 / 50', { exact: true }));
    await visible(page.getByTestId('new-namespace').getByText('新建命名空间'));
    await pickOption(page, '命名空间', '全部命名空间');
    await expect.poll(switchText).toBe('全部命名空间');
    await page.screenshot({ path: join(SCREENSHOTS, 'namespaces-zh.png'), fullPage: true, animations: 'disabled', timeout: SCREENSHOT_TIMEOUT });
    await row('team-a').getByTestId('namespace-edit').click();
    await visible(page.locator('.namespace-form-modal').getByText('最大并发运行数'));
    await visible(page.locator('.namespace-form-modal').getByText('出站拒绝'));
    await page.locator('.namespace-form-modal').getByRole('button', { name: /取\s*消/ }).click();
    await page.locator('.namespace-form-modal').waitFor({ state: 'hidden' });
  });

  it('deletes the namespace once it is empty', async () => {
    for (const id of teamTasks) expect((await api('DELETE', `/tasks/${id}`)).status).toBe(204);
    await visible(row('team-a').getByTestId('ns-tasks').getByText('0', { exact: true }));
    await row('team-a').getByTestId('namespace-delete').click();
    await page.getByTestId('namespace-delete-ok').filter({ visible: true }).click();
    await row('team-a').waitFor({ state: 'detached' });
    expect((await api('GET', '/namespaces/team-a')).status).toBe(404);
    await visible(row('default'));
  });

  it('logged no error or development warning in the browser, and left packages/console/dist and docs/images alone', () => {
    // The API's refusals (400 for the bad CIDR, 409 for the delete) are logged by the browser itself.
    expect(consoleMessages.filter((m) => /React DevTools|Warning: |\[antd|^pageerror|^error/.test(m) && !/^error: Failed to load resource: the server responded with a status of 4\d\d/.test(m))).toEqual([]);
    expect(directoryState(SERVED_DIST)).toEqual(servedDistBefore);
    expect(directoryState(DOCS_IMAGES)).toEqual(docsImagesBefore);
  });
});
