/**
 * Sign-in with OpenID Connect (issue 17): a real provider (`oidc-provider`, in this process, see
 * test/support/oidc-provider.ts) and the real app with a real SQLite store. The browser's part is
 * played with fetch (the provider's redirects and sign-in form) and `inject` (ecron's routes).
 *
 * Checked: the authorization code flow uses PKCE (S256), state and nonce; groups map to grants in
 * namespaces; a user none of whose groups is mapped is refused (SSO_NO_ROLE); a callback that was
 * not started here is refused; the session cookie is httpOnly, SameSite=Lax, path /; unsafe
 * requests with the cookie need the CSRF token; sign-out ends the session on every node; an expired
 * session is refused; bad cookies count against the failed-authentication limit; bad config files
 * fail with CONFIG_INVALID.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { loadOidcConfig, resolveOidcConfig, type OidcConfig } from '../../src/sso/config.ts';
import { signInAtIdp, startTestIdp, type TestIdp } from '../support/oidc-provider.ts';
import { ApiHarness, errorOf } from './api-harness.ts';

const PUBLIC_URL = 'http://127.0.0.1:7777';
const CALLBACK = `${PUBLIC_URL}/auth/sso/callback`;
const COOKIE = 'ecron_session';

let h: ApiHarness;
let idp: TestIdp;
let config: OidcConfig;

function appWith(options: { authFailureLimit?: { max: number; windowMs: number } } = {}): Promise<FastifyInstance> {
  return buildApp({
    store: h.store, control: h.scheduler, clock: h.clock, version: '0.0.0-test', sso: { config, publicUrl: () => PUBLIC_URL },
    ...(options.authFailureLimit ? { authFailureLimit: options.authFailureLimit } : {}),
  });
}

/** The value of cookie `name` set by `res`, with its attributes, or undefined. */
function setCookie(res: LightMyRequestResponse, name: string): string | undefined {
  const lines = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  return lines.find((line) => line.startsWith(`${name}=`));
}
const valueOf = (line: string | undefined): string => line!.split(';')[0]!.slice(line!.indexOf('=') + 1);

/** A whole sign-in as `login`; returns the callback's answer and the authorization URL ecron sent the browser to. */
async function signIn(app: FastifyInstance, login: string, tamper?: (callback: URL) => void): Promise<{ res: LightMyRequestResponse; authorization: URL }> {
  const start = await app.inject({ method: 'GET', url: '/auth/sso/login' });
  expect(start.statusCode, start.body).toBe(303);
  const authorization = new URL(start.headers.location as string);
  const loginCookie = setCookie(start, 'ecron_sso_login');
  expect(loginCookie).toMatch(/HttpOnly/);
  const callback = await signInAtIdp(idp, authorization.href, login);
  expect(callback.href.startsWith(CALLBACK)).toBe(true);
  tamper?.(callback);
  const res = await app.inject({ method: 'GET', url: `${callback.pathname}${callback.search}`, headers: { cookie: `ecron_sso_login=${valueOf(loginCookie)}` } });
  return { res, authorization };
}

/** A request with the session cookie (and its CSRF token unless `csrf` is null). */
function withSession(app: FastifyInstance, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, session: { secret: string; csrf?: string | null }, body?: unknown) {
  const headers: Record<string, string> = { cookie: `${COOKIE}=${session.secret}` };
  if (session.csrf) headers['x-csrf-token'] = session.csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
}

async function signedIn(app: FastifyInstance, login: string): Promise<{ secret: string; csrf: string }> {
  const { res } = await signIn(app, login);
  expect(res.statusCode, res.body).toBe(303);
  const secret = valueOf(setCookie(res, COOKIE));
  const me = await withSession(app, 'GET', '/api/v1/me', { secret });
  return { secret, csrf: me.json().csrfToken };
}

beforeAll(async () => {
  idp = await startTestIdp({
    clients: [{ clientId: 'ecron', clientSecret: 'ecron-client-secret-0123456789', redirectUri: CALLBACK }],
    users: {
      alice: { email: 'alice@example.com', name: 'Alice', groups: ['team-a-editors', 'everyone'] },
      bob: { email: 'bob@example.com', name: 'Bob', groups: ['contractors'] },
    },
  });
  config = resolveOidcConfig({
    issuer: idp.issuer, name: 'Example SSO', clientId: 'ecron', clientSecretEnv: 'TEST_OIDC_SECRET', scopes: ['openid', 'email', 'profile', 'groups'],
    sessionTtl: '1h',
    roles: [
      { group: 'team-a-editors', role: 'editor', namespaces: ['team-a'] },
      { group: 'everyone', role: 'viewer', namespaces: ['team-a', 'team-b'] },
    ],
  }, { source: 'test', env: { TEST_OIDC_SECRET: 'ecron-client-secret-0123456789' } });
  h = await new ApiHarness().start();
  await h.app.close();
  h.app = await appWith();
  await h.createTask({ namespace: 'team-a', name: 'a-task' });
  await h.createTask({ namespace: 'team-b', name: 'b-task' });
  await h.createTask({ namespace: 'team-c', name: 'c-task' });
});
afterAll(async () => {
  await h?.close();
  await idp?.close();
});

describe('GET /api/v1/auth/sso', () => {
  it('says SSO is configured, with the button\'s name and where to sign in; a server without SSO says it is not', async () => {
    expect((await h.call('GET', '/api/v1/auth/sso', { token: null })).json()).toEqual({ enabled: true, name: 'Example SSO', loginUrl: '/auth/sso/login' });
    const plain = await buildApp({ store: h.store, control: h.scheduler, clock: h.clock, version: '0.0.0-test' });
    expect((await plain.inject({ method: 'GET', url: '/api/v1/auth/sso' })).json()).toEqual({ enabled: false });
    const login = await plain.inject({ method: 'GET', url: '/auth/sso/login' });
    expect([login.statusCode, login.json().error.code]).toEqual([404, 'SSO_NOT_CONFIGURED']);
    await plain.close();
  });
});

describe('sign-in', () => {
  it('uses the authorization code flow with PKCE (S256), state and nonce, and sets an httpOnly SameSite=Lax session cookie', async () => {
    const tokenRequestsBefore = idp.tokenRequests.length;
    const { res, authorization } = await signIn(h.app, 'alice');
    expect(res.statusCode, res.body).toBe(303);
    expect(res.headers.location).toBe('/?sso=signed-in');
    const params = authorization.searchParams;
    expect(Object.fromEntries(['response_type', 'client_id', 'redirect_uri', 'scope', 'code_challenge_method'].map((k) => [k, params.get(k)]))).toEqual({
      response_type: 'code', client_id: 'ecron', redirect_uri: CALLBACK, scope: 'openid email profile groups', code_challenge_method: 'S256',
    });
    for (const k of ['state', 'nonce', 'code_challenge']) expect(params.get(k)?.length, k).toBeGreaterThanOrEqual(22);
    // The token request proved the verifier whose S256 hash was the challenge.
    await expect.poll(() => idp.tokenRequests.length).toBeGreaterThan(tokenRequestsBefore);
    const verifier = idp.tokenRequests.at(-1)!.get('code_verifier')!;
    expect(createHash('sha256').update(verifier).digest('base64url')).toBe(params.get('code_challenge'));

    const cookie = setCookie(res, COOKIE)!;
    expect(cookie).toMatch(/^ecron_session=ecs_[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).not.toMatch(/; Secure/); // the public URL is http
    // The login cookie is cleared.
    expect(setCookie(res, 'ecron_sso_login')).toMatch(/Expires=Thu, 01 Jan 1970/);
  });

  it('maps the user\'s groups to grants: editor in team-a, viewer in team-b, nothing in team-c', async () => {
    const session = await signedIn(h.app, 'alice');
    const me = (await withSession(h.app, 'GET', '/api/v1/me', session)).json();
    expect(me).toEqual({
      actor: 'user:alice', name: 'Alice', role: 'editor', namespaces: ['team-a', 'team-b'], csrfToken: session.csrf,
      grants: [{ role: 'editor', namespaces: ['team-a'] }, { role: 'viewer', namespaces: ['team-a', 'team-b'] }],
    });
    const tasks = (await withSession(h.app, 'GET', '/api/v1/tasks', session)).json().items as { namespace: string; id: string; spec: unknown }[];
    expect(tasks.map((t) => t.namespace).sort()).toEqual(['team-a', 'team-b']);
    const b = tasks.find((t) => t.namespace === 'team-b')!;
    const a = tasks.find((t) => t.namespace === 'team-a')!;
    expect(errorOf(await withSession(h.app, 'POST', `/api/v1/tasks/${b.id}/pause`, session)).code).toBe('FORBIDDEN');
    const paused = await withSession(h.app, 'POST', `/api/v1/tasks/${a.id}/pause`, session);
    expect(paused.statusCode, paused.body).toBe(200);
    // The audit log names the user, and so does the session's creation.
    const audit = (await h.call('GET', '/api/v1/audit?limit=50')).json().items as { actor: string; action: string; details: any }[];
    expect(audit.find((e) => e.action === 'task.pause')).toMatchObject({ actor: 'user:alice' });
    expect(audit.find((e) => e.action === 'session.create')).toMatchObject({ actor: 'user:alice', details: expect.objectContaining({ via: 'sso', groups: ['team-a-editors', 'everyone'] }) });
  });

  it('refuses a user none of whose groups is mapped: SSO_NO_ROLE, no session, and an audit entry', async () => {
    const { res } = await signIn(h.app, 'bob');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/?sso_error=SSO_NO_ROLE');
    expect(setCookie(res, COOKIE)).toBeUndefined();
    const audit = (await h.call('GET', '/api/v1/audit?limit=50')).json().items as { actor: string; action: string; details: any }[];
    expect(audit.find((e) => e.action === 'session.refused')).toMatchObject({ actor: 'user:bob', details: { reason: 'SSO_NO_ROLE', groups: ['contractors'] } });
  });

  it('refuses a callback it did not start (no login cookie), and one whose state was changed', async () => {
    const stray = await h.app.inject({ method: 'GET', url: '/auth/sso/callback?code=abc&state=def' });
    expect([stray.statusCode, stray.headers.location]).toEqual([303, '/?sso_error=SSO_LOGIN_FAILED']);
    const { res } = await signIn(h.app, 'alice', (callback) => callback.searchParams.set('state', 'forged-state-0123456789'));
    expect([res.statusCode, res.headers.location]).toEqual([303, '/?sso_error=SSO_LOGIN_FAILED']);
    expect(setCookie(res, COOKIE)).toBeUndefined();
    // A login cookie whose signature does not check is no better.
    const forged = await h.app.inject({ method: 'GET', url: '/auth/sso/callback?code=abc&state=def', headers: { cookie: 'ecron_sso_login=eyJzdGF0ZSI6ImRlZiJ9.forged' } });
    expect(forged.headers.location).toBe('/?sso_error=SSO_LOGIN_FAILED');
  });
});

describe('the session cookie', () => {
  it('needs the CSRF token on POST, PUT and DELETE, not on GET', async () => {
    const session = await signedIn(h.app, 'alice');
    const task = (await withSession(h.app, 'GET', '/api/v1/tasks?namespace=team-a', session)).json().items[0];
    for (const csrf of [null, 'wrong-token', `${session.csrf}x`]) {
      for (const [method, url, body] of [['POST', `/api/v1/tasks/${task.id}/resume`], ['PUT', `/api/v1/tasks/${task.id}`, task.spec], ['DELETE', `/api/v1/tasks/${task.id}`]] as const) {
        const res = await withSession(h.app, method, url, { secret: session.secret, csrf }, body);
        expect([res.statusCode, errorOf(res).code], `${method} ${url} with ${csrf}`).toEqual([403, 'CSRF_TOKEN_INVALID']);
      }
    }
    expect((await withSession(h.app, 'GET', `/api/v1/tasks/${task.id}`, { secret: session.secret, csrf: null })).statusCode).toBe(200);
    expect((await withSession(h.app, 'POST', `/api/v1/tasks/${task.id}/resume`, session)).statusCode).toBe(200);
    // Another session's CSRF token does not do.
    const other = await signedIn(h.app, 'alice');
    expect(errorOf(await withSession(h.app, 'POST', `/api/v1/tasks/${task.id}/resume`, { secret: session.secret, csrf: other.csrf })).code).toBe('CSRF_TOKEN_INVALID');
  });

  it('gives way to a bearer token sent with it', async () => {
    const session = await signedIn(h.app, 'alice');
    const viewer = await h.token('viewer', ['team-c'], 'viewer-c');
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: `${COOKIE}=${session.secret}`, authorization: `Bearer ${viewer.secret}` } });
    expect(res.json()).toMatchObject({ actor: `token:${viewer.id}`, role: 'viewer', namespaces: ['team-c'] });
    expect(res.json().csrfToken).toBeUndefined();
  });

  it('is ended by sign-out, on every node of the cluster', async () => {
    const session = await signedIn(h.app, 'alice');
    const otherNode = await appWith();
    expect((await withSession(otherNode, 'GET', '/api/v1/me', session)).statusCode).toBe(200);
    expect(errorOf(await withSession(h.app, 'POST', '/api/v1/auth/logout', { secret: session.secret, csrf: null })).code).toBe('CSRF_TOKEN_INVALID');
    const out = await withSession(h.app, 'POST', '/api/v1/auth/logout', session);
    expect(out.statusCode, out.body).toBe(204);
    expect(setCookie(out, COOKIE)).toMatch(/^ecron_session=;.*Expires=Thu, 01 Jan 1970/);
    for (const app of [h.app, otherNode]) {
      const res = await withSession(app, 'GET', '/api/v1/me', session);
      expect([res.statusCode, errorOf(res).code]).toEqual([401, 'UNAUTHENTICATED']);
    }
    const audit = (await h.call('GET', '/api/v1/audit?limit=5')).json().items as { actor: string; action: string }[];
    expect(audit[0]).toMatchObject({ actor: 'user:alice', action: 'session.delete' });
    // Sign-out with a token does nothing, and says so with a 204.
    expect((await h.call('POST', '/api/v1/auth/logout')).statusCode).toBe(204);
    await otherNode.close();
  });

  it('is refused once expired (the config says 1h)', async () => {
    const session = await signedIn(h.app, 'alice');
    expect((await withSession(h.app, 'GET', '/api/v1/me', session)).statusCode).toBe(200);
    await h.clock.advance(3_600_000);
    const res = await withSession(h.app, 'GET', '/api/v1/me', session);
    expect([res.statusCode, errorOf(res).code, errorOf(res).message]).toEqual([401, 'UNAUTHENTICATED', 'the session has ended or expired: sign in again']);
  });

  it('counts an unknown session cookie as a failed authentication', async () => {
    const app = await appWith({ authFailureLimit: { max: 3, windowMs: 60_000 } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await withSession(app, 'GET', '/api/v1/tasks', { secret: `ecs_${'x'.repeat(43)}` })).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    await app.close();
  });
});

describe('the config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecron-oidc-config-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const failure = (path: string, env: Record<string, string> = {}): { code: string; message: string } => {
    try {
      loadOidcConfig(path, env);
    } catch (error) {
      return { code: (error as { code: string }).code, message: (error as Error).message };
    }
    throw new Error('expected CONFIG_INVALID');
  };

  it('reads YAML, with the defaults', () => {
    const path = file('ok.yaml', 'issuer: https://login.example.com/realms/ops\nclientId: ecron\nclientSecretEnv: SECRET\nroles:\n  - { group: ops, role: admin, namespaces: ["*"] }\n');
    const config = loadOidcConfig(path, { SECRET: 's3cret' });
    expect(config).toMatchObject({
      name: 'SSO', clientId: 'ecron', clientSecret: 's3cret', scopes: ['openid', 'profile', 'email'], groupsClaim: 'groups', actorClaim: 'sub',
      sessionTtlMs: 12 * 3_600_000, roles: [{ group: 'ops', role: 'admin', namespaces: ['*'] }],
    });
    expect(config.issuer.href).toBe('https://login.example.com/realms/ops');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads JSON too', () => {
    const path = file('ok.json', JSON.stringify({ issuer: 'http://127.0.0.1:9999', clientId: 'c', roles: [{ group: 'g', role: 'viewer', namespaces: ['a', 'b'] }] }));
    expect(loadOidcConfig(path, {})).toMatchObject({ clientSecret: null, roles: [{ namespaces: ['a', 'b'] }] });
  });

  it('refuses bad files with CONFIG_INVALID, naming each bad field', () => {
    expect(failure(join(dir, 'missing.yaml'))).toEqual({ code: 'CONFIG_INVALID', message: expect.stringMatching(/missing\.yaml cannot be read: ENOENT/) });
    expect(failure(file('syntax.yaml', 'issuer: [unclosed\n'))).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/line \d+, column \d+/) });
    expect(failure(file('list.yaml', '- a\n- b\n')).message).toMatch(/expected a mapping of settings/);
    const bad = failure(file('bad.yaml', [
      'issuer: http://login.example.com', 'clientId: ecron', 'clientSecret: a', 'clientSecretEnv: NOT_SET', 'scopes: [profile]', 'sessionTtl: forever',
      'roles:', '  - { group: ops, role: superuser, namespaces: ["*"] }', '  - { group: dev, role: editor, namespaces: [] }', 'colour: blue',
    ].join('\n')));
    expect(bad.code).toBe('CONFIG_INVALID');
    for (const part of ['sessionTtl: invalid duration', 'roles[0].role: expected one of viewer, operator, editor, admin', 'roles[1].namespaces: name at least one namespace', 'colour']) {
      expect(bad.message).toContain(part);
    }
    const semantic = failure(file('semantic.yaml', [
      'issuer: http://login.example.com', 'clientId: ecron', 'clientSecret: a', 'clientSecretEnv: NOT_SET', 'scopes: [profile]',
      'roles:', '  - { group: ops, role: admin, namespaces: ["*", "a"] }',
    ].join('\n')));
    for (const part of ['issuer: must be an https:// URL', 'clientSecretEnv: give clientSecret or clientSecretEnv, not both', 'clientSecretEnv: the environment variable NOT_SET is not set',
      'scopes: must include "openid"', 'roles[0].namespaces: "*" already means every namespace']) {
      expect(semantic.message).toContain(part);
    }
    expect(failure(file('no-roles.yaml', 'issuer: https://x.example\nclientId: c\nroles: []\n')).message).toContain('roles: map at least one group to a role');
  });
});
