/**
 * Bearer-token authentication and role checks. Every route states its access in
 * `config.access`: `public`, or the least role it needs (viewer < editor < admin). A route that
 * states nothing fails at startup, so nothing becomes public by omission. A request without a
 * valid token is counted against its address's limit of failed authentications
 * (`auth-failures.ts`); one with a valid token never is.
 */
import type { TokenRole } from '@ecron/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EcronError } from '../core/errors.ts';
import { callerFromToken, roleAllows, type Caller } from '../services/access.ts';
import type { TokenService } from '../services/tokens.ts';
import type { AuthFailureCounter } from './auth-failures.ts';

export type Access = 'public' | TokenRole;

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
      await deps.countFailure(request, reply);
      throw new EcronError('UNAUTHENTICATED', 'this route needs an "Authorization: Bearer <token>" header');
    }
    const token = await deps.tokens.authenticate(secret);
    if (!token) {
      await deps.countFailure(request, reply);
      throw new EcronError('UNAUTHENTICATED', 'the bearer token is unknown or revoked');
    }
    if (!roleAllows(token.role, access)) {
      throw new EcronError('FORBIDDEN', `this operation needs a token with role ${access} or higher; this token is ${token.role}`);
    }
    request.caller = callerFromToken(token);
  });
}
