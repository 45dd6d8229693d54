/**
 * What the console's browser tests (test/*.e2e.test.ts) share: where
 * things are, Chromium (Debian's, driven by playwright-core), a production build of the console
 * of their own, and a TestExecutor behaviour that checks signatures.
 *
 * The console is built for the tests, in production mode as `npm run build` makes it, into a
 * temporary directory the server is pointed at (ECRON_CONSOLE_DIR): packages/console/dist, the
 * build `ecron start` serves, is left alone.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { ReceivedRequest } from '../../server/test/support/test-executor.ts';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots of this run (ignored by git; `npm run docs:images` copies some into docs/images/). */
export const SCREENSHOTS = join(ROOT, 'packages/console/test-output/screenshots');
/** The build `ecron start` serves by default: the tests must not touch it. */
export const SERVED_DIST = join(ROOT, 'packages/console/dist');
/** Tracked images of the docs: only `npm run docs:images` writes them. */
export const DOCS_IMAGES = join(ROOT, 'docs/images');
/** Appended to the test build's index.html: the page served must be that build's. */
export const BUILD_MARK = '<!-- ecron console e2e build -->';
export const UI_TIMEOUT = 20_000;
/** A full-page screenshot waits for fonts and layout: slow on a busy 2-vCPU machine (it once took over 20 s at load 10). */
export const SCREENSHOT_TIMEOUT = 60_000;

export const haveChromium = existsSync(CHROMIUM);

/**
 * Whether the suite can run: without Chromium it is skipped locally (with a warning), and fails
 * under CI=true.
 */
export function chromiumFor(suite: string): boolean {
  if (!haveChromium && process.env.CI === 'true') {
    throw new Error(`chromium is not installed at ${CHROMIUM}: the console tests need it in CI (apt-get install -y chromium)`);
  }
  if (!haveChromium) console.warn(`${suite} skipped: no chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  return haveChromium;
}

/** The files of a directory with their sizes and mtimes (empty when it does not exist): to see that a run left it alone. */
export function directoryState(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name)).sort().map((file) => `${file} ${statSync(file).size} ${statSync(file).mtimeMs}`);
}

/** A behaviour that refuses requests whose signature does not check. */
export const signed = (fn: (req: ReceivedRequest, signal: AbortSignal) => Promise<{ status: number; body?: unknown }> | { status: number; body?: unknown }) =>
  (req: ReceivedRequest, signal: AbortSignal) => (req.signatureOk ? fn(req, signal) : { status: 401, body: { error: 'bad signature' } });

/** Builds the console in production mode into a new temporary directory, marked with {@link BUILD_MARK}; returns the directory. */
export function buildConsole(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ecron-console-build-'));
  // vitest sets NODE_ENV=test, which would give a build with React's and antd's development code.
  execFileSync('npm', ['run', 'build', '-w', '@ecron/console', '--', '--outDir', dir, '--emptyOutDir'], {
    cwd: ROOT, stdio: 'pipe', env: { ...process.env, NODE_ENV: 'production' },
  });
  appendFileSync(join(dir, 'index.html'), `${BUILD_MARK}\n`);
  return dir;
}

/** Headless Chromium with a profile in `userDataDir`, in English, in the Asia/Shanghai zone. */
export function launchChromium(userDataDir: string, viewport = { width: 1280, height: 800 }): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
    viewport,
    locale: 'en-US',
    timezoneId: 'Asia/Shanghai',
  });
}

/**
 * The dropdown open now: not hidden, and not one still playing its closing animation (under load,
 * the previous list can still be leaving when the next one opens).
 */
export const OPEN_DROPDOWN = '.ant-select-dropdown:not(.ant-select-dropdown-hidden):not(.ant-slide-up-leave)';

/**
 * Picks the option with this exact label in the antd Select named `name`, by keyboard as a user
 * without a mouse would: focus, ArrowDown opens the list, ArrowDown moves to the option, Enter picks it.
 */
export async function pickOption(page: Page, name: string, option: string): Promise<void> {
  const box = page.getByRole('combobox', { name });
  await box.focus();
  await box.press('ArrowDown');
  const list = page.locator(OPEN_DROPDOWN);
  await list.waitFor({ state: 'visible' });
  for (let moves = 0; moves < 40; moves++) {
    const active = await list.locator('.ant-select-item-option-active').first().getAttribute('title', { timeout: 2000 }).catch(() => null);
    if (active === option) break;
    await box.press('ArrowDown');
  }
  await box.press('Enter');
  await list.waitFor({ state: 'hidden' });
}

/**
 * The page of a Chromium context for a test file: the tests' timeout, and every console message
 * and page error pushed to `messages` (each file ends by checking that none is an error).
 */
export async function openPage(context: BrowserContext, messages: string[]): Promise<Page> {
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT);
  page.on('console', (message) => messages.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => messages.push(`pageerror: ${error.message}`));
  return page;
}

/** After a failed test: a picture of the page next to the temporary files (`ecron-<file>-failure-<test>.png`). */
export async function screenshotFailure(page: Page | undefined, file: string, task: { name: string; result?: { state?: string } }): Promise<void> {
  if (task.result?.state !== 'fail') return;
  await page?.screenshot({ path: join(tmpdir(), `ecron-${file}-failure-${task.name.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => undefined);
}
