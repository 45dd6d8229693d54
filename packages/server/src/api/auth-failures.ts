/**
 * The limit on failed authentications: a client address that sent `max` requests without a valid
 * bearer token (missing, unknown, revoked or expired) within `windowMs` gets 429
 * TOO_MANY_FAILED_AUTHENTICATIONS, with `Retry-After`, for every further request without a valid
 * token until the window that began with its first failure has passed.
 *
 * Only failures count, and a request with a valid token is never limited, even from an address
 * over the limit: an attacker behind the same NAT or reverse proxy as the users (ecron sees the
 * proxy's address) cannot lock them out. The price is that the limit does not slow guessing:
 * an address over the limit still learns which token is valid (200 rather than 429). What makes
 * guessing hopeless is the token's length (32 random bytes, or at least 32 characters when
 * chosen with ECRON_ADMIN_TOKEN); the limit keeps a flood of wrong tokens from being answered
 * one by one, and shows it in the log.
 *
 * The counts live in this process's memory (@fastify/rate-limit's LRU store, 5,000 addresses):
 * each node of a cluster limits on its own, and a restart forgets them. IPv6 addresses count by
 * /64, as one host usually holds a whole /64.
 */
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EcronError } from '../core/errors.ts';

export interface AuthFailureLimit {
  /** Failed authentications allowed per client address within `windowMs`. @default 20 */
  max: number;
  /** The window, from an address's first failure. @default 60000 — long enough to stop a flood, short enough that a user who mistyped a token waits a minute at most */
  windowMs: number;
}

export const DEFAULT_AUTH_FAILURE_LIMIT: Readonly<AuthFailureLimit> = Object.freeze({ max: 20, windowMs: 60_000 });

/** Counts a failed authentication of `request`; throws TOO_MANY_FAILED_AUTHENTICATIONS once its address is over the limit. */
export type AuthFailureCounter = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * Registers @fastify/rate-limit on `app` without limiting any route by itself (`global: false`):
 * the auth hook calls the counter returned, and only for requests that failed to authenticate.
 */
export async function installAuthFailureLimit(app: FastifyInstance, limit: AuthFailureLimit): Promise<AuthFailureCounter> {
  await app.register(fastifyRateLimit, { global: false });
  const countFailure = app.createRateLimit({ max: limit.max, timeWindow: limit.windowMs });
  /**
   * Until when each address over the limit was reported: the log says it once per window, not
   * once per request of a flood. Cleared when it reaches the size of the rate-limit store.
   */
  const reported = new Map<string, number>();
  return async (request, reply) => {
    const result = await countFailure(request);
    if (result.isAllowed || !result.isExceeded) return;
    const now = Date.now();
    if ((reported.get(result.key) ?? 0) <= now) {
      if (reported.size >= 5000) reported.clear();
      reported.set(result.key, now + result.ttl);
      request.log.warn({ address: result.key, max: limit.max, windowMs: limit.windowMs }, 'too many failed authentications: refusing this address until its window ends');
    }
    reply.header('retry-after', String(result.ttlInSeconds));
    throw new EcronError('TOO_MANY_FAILED_AUTHENTICATIONS',
      `too many failed authentications from ${request.ip} (more than ${limit.max} in ${limit.windowMs / 1000} s): try again in ${result.ttlInSeconds} s with a valid token`,
      { retryAfterSeconds: result.ttlInSeconds });
  };
}
