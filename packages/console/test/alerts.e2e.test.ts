/**
 * Alerts in the web console end to end (issue 19), in headless Debian Chromium driven by
 * playwright-core, against a real `ecron start` process and an HTTP receiver run by the test: as an
 * admin, create a webhook channel (the API's issue for a bad URL on its field, the generated secret
 * shown once), send a test through it (the receiver gets it, signed with that secret; a receiver
 * that answers 500 gives ALERT_CHANNEL_FAILED), create a rule on the rules page (the API's issue
 * for a too-short repeat interval on its field), add a failure alert from a task's page, trigger
 * the task (its target answers 500), see the incident the server's evaluator opens, its webhook
 * notification delivered, acknowledge it and resolve it; then read the alert pages in Chinese.
 *
 * As console.e2e.test.ts: the console is built for the test into a temporary directory
 * (ECRON_CONSOLE_DIR), packages/console/dist is left alone. One screenshot per page goes to the
 * test's temporary directory (printed, kept). Waits are on page state, never on sleeps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifySignature } from '@ecron/contracts/signature';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpReceiver, type ReceivedRequest } from '../../server/test/alerts/receivers.ts';
import { ServerProcess, tempDataDir } from '../../server/test/support/server-process.ts';
import {
  buildConsole, chromiumFor, directoryState, launchChromium, OPEN_DROPDOWN, openPage, pickOption, screenshotFailure, SCREENSHOT_TIMEOUT, SERVED_DIST, UI_TIMEOUT,
} from './e2e-support.ts';

const ADMIN_TOKEN = 'ecr_alerts_e2e_admin_token_0123456789ab';

const haveChromium = chromiumFor('alerts e2e tests');

describe.skipIf(!haveChromium)('alerts in the console, in Chromium', { timeout: 90_000 }, () => {
  let server: ServerProcess;
  let receiver: HttpReceiver;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let consoleDir: string;
  let servedDistBefore: string[];
  /** Screenshots of this run: the test's own temporary directory, kept for a look afterwards. */
  const shots = mkdtempSync(join(tmpdir(), 'ecron-alerts-e2e-shots-'));
  let taskId = '';
  let secret = '';
  let hookAnswer = 200;
  const consoleMessages: string[] = [];

  const api = <T = any>(method: string, path: string, body?: unknown) => server.api<T>(method, `/api/v1${path}`, body);
  const visible = (locator: Locator) => locator.first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
  const nav = (name: string) => page.locator('.ant-layout-sider .ant-menu').getByRole('link', { name, exact: true }).click();
  const heading = (name: string) => visible(page.getByRole('heading', { name, exact: true }));
  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true, animations: 'disabled', timeout: SCREENSHOT_TIMEOUT });
  const hooks = () => receiver.requests.filter((r) => r.url === '/hook');
  /** Picks `option` in the single-choice antd Select named `name` inside `scope` (a dialog: the page has selects of the same name). */
  async function pick(scope: Locator, name: string, option: string): Promise<void> {
    await scope.getByRole('combobox', { name }).click();
    const list = page.locator(OPEN_DROPDOWN);
    await list.locator(`.ant-select-item-option[title="${option}"]`).click();
    await list.waitFor({ state: 'hidden' });
  }
  /** Adds `option` to the multiple-choice Select named `name` inside `dialog`, then closes its list by clicking the dialog's title. */
  async function pickMany(dialog: Locator, name: string, option: string): Promise<void> {
    await dialog.getByRole('combobox', { name }).click();
    const list = page.locator(OPEN_DROPDOWN);
    await list.locator(`.ant-select-item-option[title="${option}"]`).click();
    await visible(dialog.locator('.ant-select-selection-item').filter({ hasText: option }));
    await dialog.locator('.ant-modal-title, .ant-card-head-title').first().click();
    await list.waitFor({ state: 'hidden' });
  }

  beforeAll(async () => {
    servedDistBefore = directoryState(SERVED_DIST);
    consoleDir = buildConsole();
    receiver = await new HttpReceiver().start();
    // The task's target fails; the channel's webhook answers `hookAnswer`.
    receiver.answer = (req: ReceivedRequest) => (req.url === '/task' ? { status: 500, body: 'the report broke' } : { status: hookAnswer, body: hookAnswer === 200 ? 'ok' : 'down for maintenance' });
    server = new ServerProcess(tempDataDir('ecron-alerts-'));
    await server.start([], { ECRON_ADMIN_TOKEN: ADMIN_TOKEN, ECRON_CONSOLE_DIR: consoleDir });
    const task = await api('POST', '/tasks', {
      name: 'nightly-report', schedule: { manual: true }, target: { type: 'http', url: `${receiver.origin}/task` }, retry: { maxAttempts: 1 },
    });
    expect(task.status, JSON.stringify(task.body)).toBe(201);
    taskId = task.body.id;
    userDataDir = mkdtempSync(join(tmpdir(), 'ecron-chromium-'));
    context = await launchChromium(userDataDir);
    page = await openPage(context, consoleMessages);
    console.info(`alerts e2e screenshots: ${shots}`);
  }, 90_000);

  afterEach(async ({ task }) => {
    await screenshotFailure(page, 'alerts', task);
  });

  afterAll(async () => {
    await context?.close();
    await server?.kill('SIGTERM');
    await receiver?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
  });

  it('signs in, and finds the three alert pages in the menu', async () => {
    await page.goto(server.url);
    await page.getByLabel('API token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: /Sign in/ }).click();
    await heading('Dashboard');
    await nav('Incidents');
    await heading('Incidents');
    await visible(page.getByTestId('incidents-table').getByText('No incident'));
    await nav('Rules');
    await heading('Alert rules');
    await nav('Channels');
    await heading('Alert channels');
  });

  it('creates a webhook channel: the API\'s issue on the URL field, then the generated secret shown once', async () => {
    await page.getByTestId('new-channel').click();
    const dialog = page.locator('.channel-form-modal');
    // Each type has its own fields.
    await pick(dialog, 'Type', 'E-mail');
    await visible(page.getByTestId('channel-host'));
    await visible(dialog.getByRole('switch', { name: 'Require STARTTLS' }));
    expect(await page.getByTestId('channel-url').count()).toBe(0);
    await pick(dialog, 'Type', 'Webhook');
    await visible(page.getByTestId('channel-secret'));
    await page.getByTestId('channel-name').fill('ops-hook');
    await page.getByTestId('channel-url').fill('ftp://127.0.0.1/hook');
    await page.getByTestId('channel-save').click();
    await visible(page.getByTestId('channel-form-error').getByText('VALIDATION_FAILED', { exact: false }));
    const field = dialog.locator('.ant-form-item-has-error').filter({ hasText: 'URL' });
    await visible(field);
    expect(await field.locator('.ant-form-item-explain').innerText()).toContain('http://');
    expect(await dialog.locator('.ant-form-item-has-error').count()).toBe(1);
    await shot('channel-form');

    await page.getByTestId('channel-url').fill(`${receiver.origin}/hook`);
    await page.getByTestId('channel-save').click();
    await dialog.waitFor({ state: 'hidden' });
    const shown = page.getByTestId('channel-generated-secret');
    await visible(shown);
    secret = (await shown.innerText()).trim();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await page.locator('.channel-secret-modal').getByRole('button', { name: 'Done' }).click();
    await page.locator('.channel-secret-modal').waitFor({ state: 'hidden' });

    const row = page.getByTestId('channels-table').locator('tr.ant-table-row').filter({ hasText: 'ops-hook' });
    await visible(row.getByText('Webhook', { exact: true }));
    const stored = (await api('GET', '/alert-channels?namespace=default')).body.items;
    expect(stored).toMatchObject([{ name: 'ops-hook', type: 'webhook', locale: 'en', config: { url: `${receiver.origin}/hook`, secret: '***' } }]);
  });

  it('sends a test: the receiver gets it signed; a receiver that refuses gives ALERT_CHANNEL_FAILED', async () => {
    const row = page.getByTestId('channels-table').locator('tr.ant-table-row').filter({ hasText: 'ops-hook' });
    await row.getByTestId('channel-test').click();
    await visible(page.locator('[data-testid="channel-test-result"][data-ok="true"]'));
    expect(hooks()).toHaveLength(1);
    const [sent] = hooks();
    expect(JSON.parse(sent!.body)).toMatchObject({ test: true, state: 'firing', severity: 'info', channel: 'ops-hook' });
    expect(verifySignature(secret, sent!.body, sent!.headers['x-ecron-signature'] as string, Date.now())).toMatchObject({ ok: true });
    await expect.poll(() => row.getByTestId('channel-last-sent').innerText()).not.toBe('—');

    hookAnswer = 500;
    await row.getByTestId('channel-test').click();
    const failed = page.locator('[data-testid="channel-test-result"][data-ok="false"]');
    await visible(failed);
    expect(await failed.innerText()).toMatch(/ALERT_CHANNEL_FAILED: .*500.*down for maintenance/);
    await visible(row.getByTestId('channel-last-error').getByText('500', { exact: false }));
    hookAnswer = 200;
    await shot('channels');
  });

  it('creates a rule on the rules page: the API\'s issue for a too-short repeat interval on its field', async () => {
    await nav('Rules');
    await heading('Alert rules');
    await page.getByTestId('new-rule').click();
    const dialog = page.locator('.rule-form-modal');
    await page.getByTestId('rule-name').fill('report-streak');
    await pick(dialog, 'Kind', 'Consecutive failures');
    // Only the kind's own parameters are offered.
    const count = dialog.getByRole('spinbutton', { name: 'Runs in a row' });
    await visible(count);
    expect(await dialog.getByRole('combobox', { name: 'Attempts' }).count()).toBe(0);
    await count.fill('3');
    await dialog.getByText('A task', { exact: true }).click();
    await pick(dialog, 'Task', 'nightly-report');
    await pickMany(dialog, 'Channels', 'ops-hook');
    await page.getByTestId('rule-repeatInterval').fill('10s');
    await page.getByTestId('rule-save').click();
    await visible(page.getByTestId('rule-form-error').getByText('VALIDATION_FAILED', { exact: false }));
    const field = dialog.locator('.ant-form-item-has-error').filter({ hasText: 'Repeat every' });
    await visible(field);
    expect(await dialog.locator('.ant-form-item-has-error').count()).toBe(1);
    await shot('rule-form');

    await page.getByTestId('rule-repeatInterval').fill('1h');
    await page.getByTestId('rule-save').click();
    await dialog.waitFor({ state: 'hidden' });
    const row = page.getByTestId('rules-table').locator('tr.ant-table-row').filter({ hasText: 'report-streak' });
    await visible(row.getByTestId('rule-kind').getByText('Consecutive failures'));
    await visible(row.getByTestId('rule-scope').getByText('nightly-report'));
    const rules = (await api('GET', '/alert-rules')).body.items;
    expect(rules).toMatchObject([{ name: 'report-streak', on: 'consecutive-failures', count: 3, scope: { taskId }, channels: ['ops-hook'], repeatInterval: '1h', enabled: true }]);

    // Disabled and enabled again from the list.
    await row.getByTestId('rule-enabled').click();
    await expect.poll(async () => (await api('GET', `/alert-rules/${rules[0].id}`)).body.enabled).toBe(false);
    await row.getByTestId('rule-enabled').click();
    await expect.poll(async () => (await api('GET', `/alert-rules/${rules[0].id}`)).body.enabled).toBe(true);
    await shot('rules');
  });

  it('adds a failure alert from the task\'s page, and lists the task\'s rules there', async () => {
    await page.goto(`${server.url}/tasks/${taskId}`);
    await page.getByTestId('task-alerts-tab').click();
    const section = page.getByTestId('task-alert-rules');
    await visible(section.getByRole('link', { name: 'report-streak' }));
    expect(await page.getByTestId('quick-rule-name').inputValue()).toBe('nightly-report-failure');
    await pickMany(section, 'Channels', 'ops-hook');
    await page.getByTestId('quick-rule-add').click();
    await visible(section.getByRole('link', { name: 'nightly-report-failure' }));
    const rule = (await api('GET', '/alert-rules')).body.items.find((r: any) => r.name === 'nightly-report-failure');
    expect(rule).toMatchObject({ on: 'failure', attempts: 'final', scope: { taskId }, channels: ['ops-hook'], severity: 'critical', sendResolved: true });
    await shot('task-alerts');
    // The task's form lists them too; a new task's form says where they go once it exists.
    await page.goto(`${server.url}/tasks/${taskId}/edit`);
    await visible(page.getByTestId('task-alert-rules').getByRole('link', { name: 'nightly-report-failure' }));
    await page.goto(`${server.url}/tasks/new`);
    await visible(page.getByTestId('task-form-alerts-later'));
    await page.goto(`${server.url}/tasks/${taskId}`);
  });

  it('triggers the failing task: the incident opens, its notification is delivered; acknowledge, then resolve', async () => {
    await page.getByTestId('trigger').click();
    await page.getByTestId('trigger-ok').click();
    await page.waitForURL(/\/runs\//);
    await nav('Incidents');
    await heading('Incidents');
    const row = page.getByTestId('incidents-table').locator('tr.ant-table-row').filter({ hasText: 'nightly-report-failure' });
    await visible(row.locator('[data-testid="incident-state"][data-state="open"]'));
    await visible(row.locator('[data-severity="critical"]'));
    await visible(row.getByTestId('incident-subject').getByText('nightly-report', { exact: true }));
    // One failure: the streak of three has not opened one.
    expect(await page.getByTestId('incidents-table').locator('tr.ant-table-row').count()).toBe(1);
    await shot('incidents');

    await row.getByTestId('incident-link').click();
    await visible(page.getByRole('heading', { name: 'Incident of nightly-report-failure' }));
    const deliveries = page.getByTestId('incident-notifications');
    await visible(deliveries.locator('tr.ant-table-row').filter({ hasText: 'ops-hook' }).locator('[data-state="sent"]'));
    const firing = hooks().map((r) => JSON.parse(r.body)).find((n) => !n.test && n.state === 'firing');
    expect(firing).toMatchObject({ severity: 'critical', rule: { name: 'nightly-report-failure', on: 'failure' }, subject: { kind: 'task', name: 'nightly-report' } });
    await visible(page.getByTestId('incident-details').getByText('runId'));
    await shot('incident');

    await page.getByTestId('incident-acknowledge').click();
    await page.getByTestId('incident-acknowledge-ok').filter({ visible: true }).click();
    await visible(page.locator('[data-testid="incident-state"][data-state="acknowledged"]'));
    expect(await page.getByTestId('incident-acknowledge').count()).toBe(0);

    await page.getByTestId('incident-resolve').click();
    await page.getByTestId('incident-resolve-ok').filter({ visible: true }).click();
    await visible(page.locator('[data-testid="incident-state"][data-state="resolved"]'));
    expect(await page.getByTestId('incident-resolve').count()).toBe(0);
    expect(await page.getByTestId('incident-resolved-by').innerText()).not.toContain('condition');
    // The resolved notification reaches the receiver too.
    await expect.poll(() => hooks().map((r) => JSON.parse(r.body)).some((n) => n.state === 'resolved' && n.incidentId === firing.incidentId)).toBe(true);
    await visible(deliveries.locator('tr.ant-table-row').filter({ hasText: 'resolved' }).locator('[data-state="sent"]'));

    // Resolved ones are not in the default list.
    await nav('Incidents');
    await visible(page.getByTestId('incidents-table').getByText('No incident'));
  });

  it('reads the alert pages in Chinese', async () => {
    await pickOption(page, 'Language', '简体中文');
    await heading('告警事件');
    await visible(page.locator('.ant-layout-sider').getByRole('link', { name: '告警事件', exact: true }));
    const titles = await page.getByTestId('incidents-table').locator('.ant-table-thead th').allTextContents();
    expect(titles).toEqual(['状态', '级别', '规则', '对象', '发生时间', '摘要']);
    await nav('规则');
    await heading('告警规则');
    await visible(page.getByTestId('rules-table').getByText('连续失败', { exact: true }));
    await shot('rules-zh');
    await nav('通道');
    await heading('告警通道');
    await visible(page.getByTestId('channel-test').first().getByText('发送测试'));
    await shot('channels-zh');
    await pickOption(page, '语言', 'English');
    await heading('Alert channels');
  });

  it('logged no error or development warning in the browser, and left packages/console/dist alone', () => {
    // The API's refusals (400 for the bad URL and repeat interval, 502 for the failed test) are logged by the browser itself.
    expect(consoleMessages.filter((m) => /React DevTools|Warning: |\[antd|^pageerror|^error/.test(m)
      && !/^error: Failed to load resource: the server responded with a status of (4\d\d|502)/.test(m))).toEqual([]);
    expect(directoryState(SERVED_DIST)).toEqual(servedDistBefore);
  });
});
