/**
 * Container targets in the web console end to end, in headless Debian Chromium driven by
 * playwright-core, against a real `ecron start` process: as an admin, limit the default
 * namespace's container images through the namespace form, create a container task with every
 * field through the task form (the API's refusal of an image the namespace does not allow shown on the image field), find the
 * stored spec as filled in, read the target on the task page, and save it again unchanged: the
 * same spec.
 *
 * No container runs: the task is manual and never triggered, so no engine is needed. As
 * console.e2e.test.ts: the console is built for the test into a temporary directory
 * (ECRON_CONSOLE_DIR), packages/console/dist and docs/images are left alone. Waits are on page
 * state, never on sleeps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page, Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ServerProcess, tempDataDir } from '../../server/test/support/server-process.ts';
import {
  buildConsole, chromiumFor, directoryState, DOCS_IMAGES, launchChromium, openPage, pickOption, screenshotFailure, SERVED_DIST, UI_TIMEOUT,
} from './e2e-support.ts';

const ADMIN_TOKEN = 'ecr_container_e2e_admin_token_0123456789';
const IMAGES = ['registry.example/team/**', 'busybox:*'];
/** What the form below fills in, as the API stores it. */
const TARGET = {
  type: 'container', image: 'registry.example/team/export:2',
  command: ['sh', '-c', 'echo "$GREETING"\nexport-all --to /out'], args: ['--label', 'nightly run'],
  env: { GREETING: 'hello, world', LOG_LEVEL: 'debug' }, workingDir: '/work', resources: { cpus: 1.5, memoryMb: 256 },
  pull: 'always', engine: 'podman', group: 'batch', routing: { strategy: 'least-busy' },
};

const haveChromium = chromiumFor('container e2e tests');

describe.skipIf(!haveChromium)('container targets in the console, in Chromium', { timeout: 90_000 }, () => {
  let server: ServerProcess;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let consoleDir: string;
  let servedDistBefore: string[];
  let docsImagesBefore: string[];
  let taskId: string;
  const consoleMessages: string[] = [];

  const api = <T = any>(method: string, path: string, body?: unknown) => server.api<T>(method, `/api/v1${path}`, body);
  const visible = (locator: Locator) => locator.first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
  const nav = (name: string) => page.locator('.ant-layout-sider .ant-menu').getByRole('link', { name, exact: true }).click();
  const box = (name: string) => page.getByRole('textbox', { name, exact: true });

  beforeAll(async () => {
    servedDistBefore = directoryState(SERVED_DIST);
    docsImagesBefore = directoryState(DOCS_IMAGES);
    consoleDir = buildConsole();
    server = new ServerProcess(tempDataDir('ecron-container-console-'));
    await server.start([], { ECRON_ADMIN_TOKEN: ADMIN_TOKEN, ECRON_CONSOLE_DIR: consoleDir });
    userDataDir = mkdtempSync(join(tmpdir(), 'ecron-chromium-'));
    context = await launchChromium(userDataDir);
    page = await openPage(context, consoleMessages);
  }, 90_000);

  afterEach(async ({ task }) => {
    await screenshotFailure(page, 'container', task);
  });

  afterAll(async () => {
    await context?.close();
    await server?.kill('SIGTERM');
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
  });

  it('signs in, and limits the default namespace\'s images through the namespace form (only that sent), shown in its details', async () => {
    await page.goto(server.url);
    await page.getByLabel('API token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: /Sign in/ }).click();
    await visible(page.getByRole('heading', { name: 'Dashboard' }));
    await nav('Namespaces');
    const sent: unknown[] = [];
    const onRequest = (request: Request) => {
      if (request.method() === 'PUT' && new URL(request.url()).pathname === '/api/v1/namespaces/default') sent.push(request.postDataJSON());
    };
    page.on('request', onRequest);
    try {
      await page.getByTestId('namespaces-table').locator('tr[data-row-key="default"]').getByTestId('namespace-edit').click();
      const dialog = page.locator('.namespace-form-modal');
      const images = dialog.getByRole('combobox', { name: 'Allowed container images' });
      for (const pattern of IMAGES) {
        await images.fill(pattern);
        await images.press('Enter');
      }
      await visible(page.getByTestId('quota-containerImages').getByText('busybox:*', { exact: true }));
      await page.getByTestId('namespace-save').click();
      await dialog.waitFor({ state: 'hidden' });
    } finally {
      page.off('request', onRequest);
    }
    expect(sent).toEqual([{ quotas: { containerImages: IMAGES } }]);
    expect((await api('GET', '/namespaces/default')).body.quotas).toMatchObject({ containerImages: IMAGES, allowedTargetTypes: null });
    // The namespace's details list them.
    await page.getByTestId('namespaces-table').locator('tr[data-row-key="default"]').getByTestId('namespace-link').click();
    for (const pattern of IMAGES) await visible(page.getByTestId('detail-container-images').getByText(pattern, { exact: true }));
    await page.locator('.namespace-drawer').getByRole('button', { name: 'Close' }).click();
    await page.locator('.namespace-drawer').waitFor({ state: 'hidden' });
  });

  it('creates a container task with every field through the form; the API\'s refusal of the image lands on its field', async () => {
    await nav('Tasks');
    await page.getByTestId('new-task').click();
    await visible(page.getByRole('heading', { name: 'New task' }));
    await page.getByTestId('task-name').fill('nightly-export');
    await page.getByTestId('schedule-kind').getByText('Manual', { exact: true }).click();
    await pickOption(page, 'Type', 'Container');
    await page.getByTestId('target-image').fill('alpine:3');
    // One argument per box: spaces and the line break stay inside the argument.
    for (const [list, values] of [['containerCommand', TARGET.command], ['args', TARGET.args]] as const) {
      for (const [index, value] of values.entries()) {
        await page.getByTestId(`target-${list}-add`).click();
        await box(`${list === 'args' ? 'Arguments' : 'Command'}, argument ${index + 1}`).fill(value);
      }
    }
    for (const [index, [name, value]] of Object.entries(TARGET.env).entries()) {
      await page.getByTestId('target-env-add').click();
      await box(`Name of variable ${index + 1}`).fill(name);
      await box(`Value of variable ${index + 1}`).fill(value);
    }
    await page.getByTestId('target-working-dir').fill('/work');
    await page.getByRole('spinbutton', { name: 'CPUs' }).fill('1.5');
    await page.getByRole('spinbutton', { name: 'Memory (MB)' }).fill('256');
    await pickOption(page, 'Pull the image', 'always');
    await page.getByTestId('target-engine').fill('podman');
    // The routing fields come with a group.
    expect(await page.getByRole('combobox', { name: 'Routing strategy' }).count()).toBe(0);
    const group = page.getByRole('combobox', { name: 'Executor group (optional)' });
    await group.fill('batch');
    await group.press('Escape');
    await pickOption(page, 'Routing strategy', 'least-busy');

    await page.getByRole('tab', { name: 'JSON' }).click();
    expect(JSON.parse(await page.getByTestId('spec-json').inputValue()).target).toEqual({ ...TARGET, image: 'alpine:3' });
    await page.getByRole('tab', { name: 'Form' }).click();
    expect(await box('Command, argument 3').inputValue()).toBe(TARGET.command[2]);

    await page.getByTestId('save-task').click();
    await visible(page.getByTestId('form-error').getByText('target.image', { exact: true }));
    const field = page.locator('.ant-form-item-has-error');
    await visible(field.filter({ has: page.getByTestId('target-image') }));
    expect(await field.count()).toBe(1);
    expect(await field.locator('.ant-form-item-explain').innerText()).toContain('alpine:3');

    await page.getByTestId('target-image').fill(TARGET.image);
    await page.getByTestId('save-task').click();
    await visible(page.getByTestId('task-title').getByText('default/nightly-export'));
    taskId = new URL(page.url()).pathname.split('/').at(-1)!;
    expect((await api('GET', `/tasks/${taskId}`)).body.spec.target).toEqual(TARGET);
    expect(await page.getByTestId('task-target').innerText()).toBe(`container ${TARGET.image} on batch`);
  });

  it('edits it: the form shows every value, an API issue of a variable lands on the variables, and saving unchanged stores the same spec', async () => {
    const before = (await api('GET', `/tasks/${taskId}`)).body;
    await page.getByRole('button', { name: 'Edit' }).click();
    await visible(page.getByRole('heading', { name: /Edit nightly-export \(revision 1\)/ }));
    expect(await page.getByTestId('target-image').inputValue()).toBe(TARGET.image);
    expect(await box('Command, argument 3').inputValue()).toBe(TARGET.command[2]);
    expect(await box('Arguments, argument 2').inputValue()).toBe('nightly run');
    expect(await box('Value of variable 1').inputValue()).toBe('hello, world');
    expect(await page.getByRole('spinbutton', { name: 'Memory (MB)' }).inputValue()).toBe('256');
    expect(await page.getByRole('combobox', { name: 'Executor group (optional)' }).inputValue()).toBe('batch');
    // A name only ecron sets is refused in the form; a value too long, by the API, its issue (target.env.LOG_LEVEL) under the variables.
    await box('Name of variable 2').fill('ECRON_LEVEL');
    await visible(page.locator('.ant-form-item-has-error').getByText('ecron sets the ECRON_ variables and TRACEPARENT itself'));
    await box('Name of variable 2').fill('LOG_LEVEL');
    await box('Value of variable 2').fill('x'.repeat(32_769));
    await page.getByTestId('save-task').click();
    await visible(page.getByTestId('form-error').getByText('target.env.LOG_LEVEL', { exact: true }));
    await visible(page.getByTestId('target-env-add').locator('xpath=..').locator('.ant-form-item-explain-error').getByText(/32768/));
    await box('Value of variable 2').fill('debug');
    await page.getByTestId('save-task').click();
    await expect.poll(async () => (await api('GET', `/tasks/${taskId}`)).body.revision, { timeout: UI_TIMEOUT }).toBe(2);
    expect((await api('GET', `/tasks/${taskId}`)).body.spec).toEqual(before.spec);
  });

  it('logged no error or development warning in the browser, and left packages/console/dist and docs/images alone', () => {
    // The API's refusal (400 for the image) is logged by the browser itself.
    expect(consoleMessages.filter((m) => /React DevTools|Warning: |\[antd|^pageerror|^error/.test(m) && !/^error: Failed to load resource: the server responded with a status of 4\d\d/.test(m))).toEqual([]);
    expect(directoryState(SERVED_DIST)).toEqual(servedDistBefore);
    expect(directoryState(DOCS_IMAGES)).toEqual(docsImagesBefore);
  });
});
