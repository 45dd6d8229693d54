/**
 * Authentication and role checks. Every route states its access in `config.access`: `public`, or
 * what it needs of the caller's role (a {@link RoleRequirement}: the least role of the order
 * viewer < operator < editor < admin; `executor` for the executor nodes' routes; `authenticated`
 * for any role). A route that states nothing fails at startup, so nothing becomes public by
 * omission.
 *
 * A caller is an API token (`Authorization: Bearer`), or else, when SSO is configured, the session
 * of a signed-in user (its cookie; `services/sessions.ts`). A bearer header always wins: a request
 * that sends one is judged by it alone. A session's unsafe requests (POST, PUT, PATCH, DELETE) must
 * carry its CSRF token in the `x-csrf-token` header, else 403 CSRF_TOKEN_INVALID: a page of another
 * origin can make the browser send the cookie, but cannot know that token.
 *
 * The route-level check passes when any grant of the caller meets the route's requirement; the
 * services check the namespace of what they touch (`services/access.ts`). A request without a live
 * credential (missing, unknown, revoked or expired token or session, all answered alike) is counted
 * against its address's limit of failed authentications (`auth-failures.ts`); one with a live
 * credential never is.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EcronError } from '../core/errors.ts';
import { callerAllows, callerFromToken, callerNoun, describeRequirement, highestRoleOf, type Caller, type RoleRequirement } from '../services/access.ts';
import { csrfTokenMatches, type ActiveSession, type SessionService } from '../services/sessions.ts';
import type { TokenService } from '../services/tokens.ts';
import type { AuthFailureCounter } from './auth-failures.ts';

export type Access = 'public' | RoleRequirement;

/** The header that carries a session's CSRF token. */
export const CSRF_HEADER = 'x-csrf-token';
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route. */
    access?: Access;
  }
  interface FastifyRequest {
    /** The authenticated caller; null on public routes. */
    caller: Caller | null;
    /** The session the caller signed in with; null for a token, and on public routes. */
    session: ActiveSession | null;
  }
}

/** Cookie sessions, when SSO is configured. */
export interface SessionAuth {
  service: SessionService;
  /** The name of the session cookie. */
  cookieName: string;
}

/** The secret of an `Authorization: Bearer <secret>` header, or undefined. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/** The caller of an authenticated route. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new EcronError('UNAUTHENTICATED');
  return request.caller;
}

/** OpenAPI security requirement of authenticated routes. */
export const BEARER_SECURITY = [{ bearerAuth: [] as string[] }];

export function installAuth(app: FastifyInstance, deps: { tokens: TokenService; countFailure: AuthFailureCounter; sessions?: SessionAuth }): void {
  app.decorateRequest('caller', null);
  app.decorateRequest('session', null);

  app.addHook('onRoute', (route) => {
    const access = (route.config as { access?: Access } | undefined)?.access;
    if (access === undefined) throw new Error(`route ${String(route.method)} ${route.url} must declare config.access`);
  });

  /** The session of the request's cookie (null without one); counts a cookie that names no live session as a failure. */
  async function sessionOf(request: FastifyRequest, reply: Parameters<AuthFailureCounter['fail']>[1]): Promise<{ session: ActiveSession; secret: string } | null> {
    if (!deps.sessions) return null;
    const secret = request.cookies?.[deps.sessions.cookieName];
    if (secret === undefined || secret === '') return null;
    const session = await deps.sessions.service.authenticate(secret);
    if (!session) {
      await deps.countFailure.fail(request, reply);
      throw new EcronError('UNAUTHENTICATED', 'the session has ended or expired: sign in again');
    }
    await deps.countFailure.pass(request, reply, `session:${session.id}`);
    return { session, secret };
  }

  app.addHook('onRequest', async (request, reply) => {
    if (request.is404) return; // unknown routes answer ROUTE_NOT_FOUND, with or without a token
    const access = request.routeOptions.config.access ?? 'admin';
    if (access === 'public') return;
    const secret = bearerToken(request);
    if (secret === undefined) {
      const found = await sessionOf(request, reply);
      if (found) {
        const { session } = found;
        if (UNSAFE_METHODS.has(request.method) && !csrfTokenMatches(found.secret, headerValue(request, CSRF_HEADER))) {
          throw new EcronError('CSRF_TOKEN_INVALID', `a ${request.method} signed in with the session cookie needs the session's CSRF token in the ${CSRF_HEADER} header (GET /api/v1/me gives it)`);
        }
        if (!callerAllows(session.caller, access)) {
          throw new EcronError('FORBIDDEN', `this operation needs ${describeRequirement(access)}; ${callerNoun(session.caller)} is ${highestRoleOf(session.caller)}`);
        }
        request.caller = session.caller;
        request.session = session;
        return;
      }
      await deps.countFailure.fail(request, reply);
      throw new EcronError('UNAUTHENTICATED', 'this route needs an "Authorization: Bearer <token>" header');
    }
    const token = await deps.tokens.authenticate(secret);
    if (!token) {
      await deps.countFailure.fail(request, reply);
      throw new EcronError('UNAUTHENTICATED', 'the bearer token is unknown, revoked or expired');
    }
    await deps.countFailure.pass(request, reply, token.id);
    if (!callerAllows(callerFromToken(token), access)) {
      throw new EcronError('FORBIDDEN', `this operation needs a token with ${describeRequirement(access)}; this token is ${token.role}`);
    }
    request.caller = callerFromToken(token);
  });
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}
