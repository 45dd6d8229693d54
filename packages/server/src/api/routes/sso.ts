/**
 * Sign-in with the organisation's identity provider (OpenID Connect), for the console:
 *
 * - `GET /api/v1/auth/sso` (public) says whether SSO is configured, for the console's sign-in page;
 * - `GET /auth/sso/login` sends the browser to the provider (authorization code flow, PKCE S256,
 *   `state` and `nonce`, kept in a signed httpOnly cookie that lives 10 minutes);
 * - `GET /auth/sso/callback` exchanges the code, checks the ID token, maps the user's groups to
 *   grants (`sso/role-mapping.ts`), starts a session (`services/sessions.ts`) and sets its cookie
 *   (httpOnly, SameSite=Lax, Secure under an https public URL, path `/`), then sends the browser to
 *   the console (`/?sso=signed-in`); a failure sends it to the console's sign-in page with `?sso_error=CODE`
 *   (SSO_NO_ROLE for a user none of whose groups is mapped);
 * - `POST /api/v1/auth/logout` ends the caller's session in the store (every node refuses it from
 *   then on) and clears the cookie. With a bearer token it does nothing.
 *
 * Without an SSO configuration the routes exist: the first answers `enabled: false`, the login and
 * callback 404 SSO_NOT_CONFIGURED.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EcronError } from '../../core/errors.ts';
import type { SessionService } from '../../services/sessions.ts';
import type { Store } from '../../store/store.ts';
import type { OidcConfig } from '../../sso/config.ts';
import type { LoginChecks, OidcClient, SignedInUser } from '../../sso/oidc-client.ts';
import { grantsForGroups } from '../../sso/role-mapping.ts';
import { BEARER_SECURITY } from '../auth.ts';
import { ERROR_RESPONSES } from '../schemas.ts';

export const SSO_LOGIN_PATH = '/auth/sso/login';
export const SSO_CALLBACK_PATH = '/auth/sso/callback';
/** The cookie of a sign-in under way: state, nonce and PKCE verifier, signed. */
const LOGIN_COOKIE = 'ecron_sso_login';
const LOGIN_TTL_MS = 10 * 60_000;

/** What the routes need when SSO is configured. */
export interface SsoRouteDeps {
  config: OidcConfig;
  client: OidcClient;
  sessions: SessionService;
  store: Store;
  /** The session cookie's name. */
  cookieName: string;
  /** Whether cookies get `Secure` (the public URL is https). */
  secure: boolean;
}

const SsoStatusSchema = z.object({
  enabled: z.boolean(),
  name: z.string().optional().describe('the label of the sign-in button: "Sign in with NAME"'),
  loginUrl: z.string().optional().describe('where the console sends the browser to sign in'),
});

export const ssoApiRoutes: FastifyPluginAsyncZod<{ sso: SsoRouteDeps | null }> = async (app, { sso }) => {
  app.get('/auth/sso', {
    config: { access: 'public' },
    schema: { summary: 'Whether sign-in with the identity provider (OpenID Connect) is configured', tags: ['auth'], response: { 200: SsoStatusSchema } },
  }, async () => (sso ? { enabled: true, name: sso.config.name, loginUrl: SSO_LOGIN_PATH } : { enabled: false }));

  app.post('/auth/logout', {
    config: { access: 'authenticated' },
    schema: {
      summary: 'Sign out: ends the session of the cookie everywhere and clears the cookie (nothing for a bearer token)', tags: ['auth'], security: BEARER_SECURITY,
      response: { 204: z.null().describe('signed out'), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    if (sso && request.session) {
      await sso.sessions.end(request.session);
      reply.clearCookie(sso.cookieName, { path: '/', httpOnly: true, sameSite: 'lax', secure: sso.secure });
    }
    return reply.status(204).send(null);
  });
};

export const ssoBrowserRoutes: FastifyPluginAsyncZod<{ sso: SsoRouteDeps | null }> = async (app, { sso }) => {
  const configured = (): SsoRouteDeps => {
    if (!sso) throw new EcronError('SSO_NOT_CONFIGURED', 'single sign-on is not configured: start the server with --oidc-config FILE');
    return sso;
  };
  const loginCookie = (secure: boolean) => ({ path: '/auth/sso', httpOnly: true, sameSite: 'lax' as const, secure, signed: true });

  app.get(SSO_LOGIN_PATH, {
    config: { access: 'public' },
    schema: { summary: 'Starts a sign-in: redirects (303) to the identity provider', tags: ['auth'], response: { ...ERROR_RESPONSES } },
  }, async (_request, reply) => {
    const deps = configured();
    const { url, checks } = await deps.client.start();
    const value = Buffer.from(JSON.stringify({ ...checks, exp: Date.now() + LOGIN_TTL_MS })).toString('base64url');
    reply.setCookie(LOGIN_COOKIE, value, { ...loginCookie(deps.secure), maxAge: LOGIN_TTL_MS / 1000 });
    reply.header('cache-control', 'no-store');
    return reply.redirect(url.href, 303);
  });

  app.get(SSO_CALLBACK_PATH, {
    config: { access: 'public' },
    schema: {
      summary: 'The identity provider\'s redirect back: starts a session and redirects (303) to the console', tags: ['auth'],
      description: 'A failed sign-in redirects to the console\'s sign-in page with ?sso_error=CODE (SSO_NO_ROLE, SSO_LOGIN_FAILED, SSO_PROVIDER_UNAVAILABLE).',
      response: { ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const deps = configured();
    reply.header('cache-control', 'no-store');
    reply.clearCookie(LOGIN_COOKIE, loginCookie(deps.secure));
    const refuse = (error: EcronError) => {
      request.log.warn({ code: error.code, reason: error.message }, 'single sign-on refused');
      return reply.redirect(`/?sso_error=${error.code}`, 303);
    };
    try {
      const checks = loginChecks(request.unsignCookie(request.cookies[LOGIN_COOKIE] ?? ''));
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      const user = await deps.client.finish(query, checks);
      const actor = actorOf(deps.config, user);
      const grants = grantsForGroups(deps.config.roles, user.groups);
      if (grants.length === 0) {
        await deps.store.appendAudit({
          at: Date.now(), actor, action: 'session.refused', resourceType: 'session', resourceId: null, details: { reason: 'SSO_NO_ROLE', groups: user.groups },
        });
        throw new EcronError('SSO_NO_ROLE', `none of the groups of ${actor} (${user.groups.join(', ') || 'none'}) is given a role in the SSO configuration`);
      }
      const { session, secret } = await deps.sessions.create({
        actor, name: user.name, grants, ttlMs: deps.config.sessionTtlMs, details: { via: 'sso', issuer: deps.config.issuer.href, groups: user.groups },
      });
      reply.setCookie(deps.cookieName, secret, {
        path: '/', httpOnly: true, sameSite: 'lax', secure: deps.secure, expires: new Date(session.expiresAt),
      });
      request.log.info({ actor, grants }, 'signed in with single sign-on');
      // The mark tells the console to use the cookie (which its scripts cannot see).
      return reply.redirect('/?sso=signed-in', 303);
    } catch (error) {
      if (error instanceof EcronError) return refuse(error);
      throw error;
    }
  });
};

/** The checks of the login cookie, or SSO_LOGIN_FAILED when it is missing, forged or stale. */
function loginChecks(cookie: { valid: boolean; value: string | null }): LoginChecks {
  const failed = () => new EcronError('SSO_LOGIN_FAILED', 'this sign-in was not started here, or took longer than 10 minutes: start it again');
  if (!cookie.valid || !cookie.value) throw failed();
  let parsed: Partial<LoginChecks & { exp: number }>;
  try {
    parsed = JSON.parse(Buffer.from(cookie.value, 'base64url').toString('utf8')) as Partial<LoginChecks & { exp: number }>;
  } catch {
    throw failed();
  }
  const { state, nonce, codeVerifier, exp } = parsed;
  if (typeof state !== 'string' || typeof nonce !== 'string' || typeof codeVerifier !== 'string' || typeof exp !== 'number' || exp < Date.now()) throw failed();
  return { state, nonce, codeVerifier };
}

/** How audit entries name the user: `user:<sub>`, or `user:<email>` when so configured (a verified email only). */
function actorOf(config: OidcConfig, user: SignedInUser): string {
  if (config.actorClaim === 'sub') return `user:${user.subject}`;
  if (user.email === null || !user.emailVerified) {
    throw new EcronError('SSO_LOGIN_FAILED', 'the identity provider gave no verified email, which the SSO configuration names users by (actorClaim: email)');
  }
  return `user:${user.email}`;
}

