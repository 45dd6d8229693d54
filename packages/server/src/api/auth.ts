/**
 * Bearer-token authentication and role checks. Every route states its access in
 * `config.access`: `public`, or what it needs of the token's role (a {@link RoleRequirement}: the
 * least role of the order viewer < operator < editor < admin; `executor` for the executor nodes'
 * routes; `authenticated` for any role). A route that states nothing fails at startup, so nothing
 * becomes public by omission. A request without a live token (missing, unknown, revoked or
 * expired, all answered alike) is counted against its address's limit of failed authentications
 * (`auth-failures.ts`); one with a live token never is.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EcronError } from '../core/errors.ts';
import { callerFromToken, describeRequirement, roleAllows, type Caller, type RoleRequirement } from '../services/access.ts';
import type { TokenService } from '../services/tokens.ts';
import type { AuthFailureCounter } from './auth-failures.ts';

export type Access = 'public' | RoleRequirement;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route. */
    access?: Access;
  }
  interface FastifyRequest {
    /** The authenticated caller; null on public routes. */
    caller: Caller | null;
  }
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

export function installAuth(app: FastifyInstance, deps: { tokens: TokenService; countFailure: AuthFailureCounter }): void {
  app.decorateRequest('caller', null);

  app.addHook('onRoute', (route) => {
    const access = (route.config as { access?: Access } | undefined)?.access;
    if (access === undefined) throw new Error(`route ${String(route.method)} ${route.url} must declare config.access`);
  });

  app.addHook('onRequest', async (request, reply) => {
    if (request.is404) return; // unknown routes answer ROUTE_NOT_FOUND, with or without a token
    const access = request.routeOptions.config.access ?? 'admin';
    if (access === 'public') return;
    const secret = bearerToken(request);
    if (secret === undefined) {
      await deps.countFailure.fail(request, reply);
      throw new EcronError('UNAUTHENTICATED', 'this route needs an "Authorization: Bearer <token>" header');
    }
    const token = await deps.tokens.authenticate(secret);
    if (!token) {
      await deps.countFailure.fail(request, reply);
      throw new EcronError('UNAUTHENTICATED', 'the bearer token is unknown, revoked or expired');
    }
    await deps.countFailure.pass(request, reply, token.id);
    if (!roleAllows(token.role, access)) {
      throw new EcronError('FORBIDDEN', `this operation needs a token with ${describeRequirement(access)}; this token is ${token.role}`);
    }
    request.caller = callerFromToken(token);
  });
}
