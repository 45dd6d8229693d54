/**
 * Single sign-on in the web console end to end (issue 17), in headless Debian Chromium driven by
 * playwright-core, against a real `ecron start --oidc-config FILE` process and a real OpenID
 * provider (`oidc-provider`, in this process, test/support/oidc-provider.ts) whose user `alice` is
 * in the group `team-a`, mapped to editor in namespace team-a.
 *
 * The user signs in with the sign-in page's SSO button and the provider's form; sees the tasks and
 * the namespace of team-a only, and the roles page says editor in team-a; the API refuses a task in
 * team-b (403) and hides team-b's (404), while one in team-a is created through the session cookie
 * and its CSRF token; after signing out, the session no longer works, from the page nor from
 * anywhere else (it ended in the store, not only in the browser).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../../server/test/support/oidc-provider.ts';
import { ServerProcess, tempDataDir } from '../../server/test/support/server-process.ts';
import { buildConsole, chromiumFor, launchChromium, openPage, screenshotFailure, SCREENSHOT_TIMEOUT, SCREENSHOTS, UI_TIMEOUT } from './e2e-support.ts';

const ADMIN_TOKEN = 'ecr_sso_e2e_admin_token_0123456789abcdef';
const TARGET = { type: 'http', url: 'http://127.0.0.1:9/never-called' };
const CLIENT_SECRET = 'ecron-e2e-client-secret-0123456789';

const haveChromium = chromiumFor('SSO e2e tests');

/** A port nothing listens on now (the provider must know ecron's callback URL before ecron starts). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe.skipIf(!haveChromium)('single sign-on in the console, in Chromium', { timeout: 120_000 }, () => {
  let idp: TestIdp;
  let server: ServerProcess;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let consoleDir: string;
  let configDir: string;
  let sessionCookie = '';
  const tasks: Record<string, string> = {};
  const consoleMessages: string[] = [];

  const visible = (locator: Locator) => locator.first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
  /** A call from the page, as the console makes them: the cookie goes by itself; unsafe ones carry the CSRF token of /me. */
  const fromPage = (method: string, path: string, body?: unknown) => page.evaluate(async ({ method, path, body }) => {
    const me = await fetch('/api/v1/me');
    const csrf = me.ok ? ((await me.json()) as { csrfToken: string }).csrfToken : '';
    const res = await fetch(`/api/v1${path}`, {
      method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(method === 'GET' ? {} : { 'x-csrf-token': csrf }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }, { method, path, body });

  beforeAll(async () => {
    consoleDir = buildConsole();
    mkdirSync(SCREENSHOTS, { recursive: true });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    idp = await startTestIdp({
      clients: [{ clientId: 'ecron-console', clientSecret: CLIENT_SECRET, redirectUri: `${base}/auth/sso/callback` }],
      users: { alice: { email: 'alice@example.com', name: 'Alice Example', groups: ['team-a', 'staff'] } },
    });
    configDir = mkdtempSync(join(tmpdir(), 'ecron-sso-config-'));
    const configFile = join(configDir, 'oidc.yaml');
    writeFileSync(configFile, [
      `issuer: ${idp.issuer}`, 'name: Example IdP', 'clientId: ecron-console', 'clientSecretEnv: E2E_OIDC_SECRET', 'scopes: [openid, email, profile, groups]',
      'roles:', '  - { group: team-a, role: editor, namespaces: [team-a] }', '  - { group: auditors, role: viewer, namespaces: ["*"] }', '',
    ].join('\n'));
    server = new ServerProcess(tempDataDir('ecron-sso-'));
    await server.start(['--port', String(port), '--oidc-config', configFile], { ECRON_ADMIN_TOKEN: ADMIN_TOKEN, ECRON_CONSOLE_DIR: consoleDir, E2E_OIDC_SECRET: CLIENT_SECRET });
    expect(server.url).toBe(base);
    for (const ns of ['team-a', 'team-b']) {
      const created = await server.api('POST', '/api/v1/tasks', { namespace: ns, name: `${ns}-report`, schedule: { manual: true }, target: TARGET });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      tasks[ns] = created.body.id;
    }
    userDataDir = mkdtempSync(join(tmpdir(), 'ecron-chromium-'));
    context = await launchChromium(userDataDir);
    page = await openPage(context, consoleMessages);
  }, 120_000);

  afterEach(async ({ task }) => {
    await screenshotFailure(page, 'sso', task);
  });

  afterAll(async () => {
    await context?.close();
    await server?.kill('SIGTERM');
    await idp?.close();
    for (const dir of [userDataDir, consoleDir, configDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('signs in with the SSO button and the provider\'s form, with PKCE', async () => {
    await page.goto(server.url);
    const button = page.getByTestId('sso-sign-in');
    await visible(button);
    expect((await button.innerText()).trim()).toBe('Sign in with Example IdP');
    await button.click();
    // The provider's own sign-in page.
    await page.waitForURL((url) => url.origin === idp.issuer);
    await page.locator('input[name="login"]').fill('alice');
    await page.locator('input[name="password"]').fill('anything');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await visible(page.getByRole('heading', { name: 'Dashboard' }));
    expect(new URL(page.url()).search, 'the console cleans its address').toBe('');
    const request = idp.authorizationRequests.at(-1)!;
    expect([request.get('code_challenge_method'), request.get('response_type')]).toEqual(['S256', 'code']);
    const cookie = (await context.cookies(server.url)).find((c) => c.name === 'ecron_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    sessionCookie = cookie.value;
    // No bearer token is kept: the session is the cookie.
    expect(await page.evaluate(() => sessionStorage.getItem('ecron.token'))).toBeNull();
    await visible(page.getByTestId('role-tag').getByText(/Alice Example · editor · team-a/));
  });

  it('sees only the tasks and the namespace of team-a, and its roles on the roles page', async () => {
    await page.locator('.ant-layout-sider .ant-menu').getByRole('link', { name: 'Tasks', exact: true }).click();
    await visible(page.getByText('team-a-report'));
    expect(await page.getByText('team-b-report').count()).toBe(0);
    await visible(page.getByTestId('new-task'));
    await page.getByTestId('namespace-switch').click();
    const options = page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option');
    await visible(options);
    expect((await options.allInnerTexts()).map((s) => s.trim())).not.toContain('team-b');
    await page.keyboard.press('Escape');

    await page.getByTestId('role-tag').click();
    await visible(page.getByRole('heading', { name: 'My access' }));
    await visible(page.getByTestId('profile-actor').getByText('Alice Example (user:alice)'));
    const grants = page.getByTestId('profile-grants');
    await visible(grants.getByText('editor'));
    await visible(grants.getByText('team-a'));
    await visible(page.getByTestId('profile-namespaces').locator('tr[data-row-key="team-a"]').getByText('editor'));
    await page.screenshot({ path: join(SCREENSHOTS, 'sso-profile.png'), fullPage: true, animations: 'disabled', timeout: SCREENSHOT_TIMEOUT });
  });

  it('is refused elsewhere by the API: 403 for a task in team-b, 404 for team-b\'s; allowed in team-a', async () => {
    const spec = (ns: string, name: string) => ({ namespace: ns, name, schedule: { manual: true }, target: TARGET });
    const refused = await fromPage('POST', '/tasks', spec('team-b', 'not-mine'));
    expect([refused.status, refused.body.error.code]).toEqual([403, 'FORBIDDEN']);
    expect((await fromPage('GET', `/tasks/${tasks['team-b']}`)).status).toBe(404);
    expect((await fromPage('POST', `/tasks/${tasks['team-b']}/trigger`, {})).status).toBe(404);
    expect((await fromPage('GET', '/tokens')).status).toBe(403);
    const made = await fromPage('POST', '/tasks', spec('team-a', 'made-with-sso'));
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    // The audit log names the user.
    const audit = await server.api('GET', '/api/v1/audit?limit=20');
    expect(audit.body.items.find((e: any) => e.action === 'task.create' && e.details?.name === 'made-with-sso')).toMatchObject({ actor: 'user:alice' });
  });

  it('signs out: back to the sign-in page, and the session works nowhere any more', async () => {
    const before = await fetch(`${server.url}/api/v1/me`, { headers: { cookie: `ecron_session=${sessionCookie}` } });
    expect(before.status).toBe(200);
    await page.getByTestId('sign-out').click();
    await visible(page.getByTestId('sso-sign-in'));
    // Ended in the store: the old cookie, sent from anywhere, is refused.
    await expect.poll(async () => (await fetch(`${server.url}/api/v1/me`, { headers: { cookie: `ecron_session=${sessionCookie}` } })).status).toBe(401);
    expect((await context.cookies(server.url)).find((c) => c.name === 'ecron_session')).toBeUndefined();
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).status);
    expect(me).toBe(401);
    await page.reload();
    await visible(page.getByTestId('sso-sign-in'));
  });

  it('wrote no error to the page\'s console', () => {
    // Left out: the refusals the tests asked for (the browser logs a 401, 403 or 404 of a fetch as an
    // error), and the provider's development sign-in page, which loads a web font from fonts.googleapis.com
    // (no name resolution here).
    const expected = (m: string) => /status of (401|403|404)/.test(m) || m.includes('net::ERR_NAME_NOT_RESOLVED');
    expect(consoleMessages.filter((m) => (m.startsWith('error') || m.startsWith('pageerror')) && !expected(m))).toEqual([]);
  });
});
