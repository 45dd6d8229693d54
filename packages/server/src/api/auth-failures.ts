/**
 * The limit on failed authentications: a client address that sent `max` requests without a valid
 * bearer token (missing, unknown, revoked or expired) within `windowMs` gets 429
 * TOO_MANY_FAILED_AUTHENTICATIONS, with `Retry-After`, for every further request without a valid
 * token until the window that began with its first failure has passed.
 *
 * Only failures count. A valid token that was used from the address before it went over the
 * limit keeps working: an attacker behind the same NAT or reverse proxy as the users (ecron sees
 * the proxy's address) cannot lock out those already signed in. Any other token from an address
 * over the limit, valid or not, gets the same 429: a guess that hits is not told from one that
 * misses, so the limit slows guessing too. The tokens seen per address are kept in memory (5,000
 * addresses, 32 tokens each, the oldest forgotten first).
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

/** What the auth hook asks of the limit. */
export interface AuthFailureCounter {
  /** Counts a failed authentication of `request`; throws TOO_MANY_FAILED_AUTHENTICATIONS once its address is over the limit. */
  fail(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /**
   * A valid token `tokenId`: passes, unless its address is over the limit and this token was not
   * used from there before. A token first seen while its address is refused may be a guess that
   * hit: answering it 200, and wrong ones 429, would tell the guesser which is which.
   */
  pass(request: FastifyRequest, reply: FastifyReply, tokenId: string): Promise<void>;
}

/** Addresses remembered with the tokens that authenticated from them, and tokens per address. */
const KNOWN_ADDRESSES = 5000;
const KNOWN_TOKENS_PER_ADDRESS = 32;

/**
 * Registers @fastify/rate-limit on `app` without limiting any route by itself (`global: false`):
 * the auth hook calls the counter returned, and only for requests that failed to authenticate.
 */
export async function installAuthFailureLimit(app: FastifyInstance, limit: AuthFailureLimit): Promise<AuthFailureCounter> {
  await app.register(fastifyRateLimit, { global: false });
  const countFailure = app.createRateLimit({ max: limit.max, timeWindow: limit.windowMs });
  /** Tokens that authenticated from each address while it was not refused (insertion order: the oldest go first). */
  const known = new Map<string, Set<string>>();
  const remember = (address: string, tokenId: string): void => {
    let tokens = known.get(address);
    if (tokens) known.delete(address);
    else if (known.size >= KNOWN_ADDRESSES) known.delete(known.keys().next().value!);
    tokens ??= new Set();
    if (tokens.size >= KNOWN_TOKENS_PER_ADDRESS) tokens.delete(tokens.values().next().value!);
    tokens.add(tokenId);
    known.set(address, tokens);
  };
  /**
   * Until when each address over the limit was reported: the log says it once per window, not
   * once per request of a flood. Cleared when it reaches the size of the rate-limit store.
   */
  const reported = new Map<string, number>();
  const refuse = async (request: FastifyRequest, reply: FastifyReply, increment: boolean): Promise<void> => {
    // A client gone before its request was checked has no address any more (`request.ip` is
    // undefined, which the counter cannot key): there is no one left to answer or to count.
    if ((request.ip as string | undefined) === undefined) return;
    const result = await countFailure(request, { increment });
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
  return {
    fail: (request, reply) => refuse(request, reply, true),
    async pass(request, reply, tokenId) {
      if (known.get(request.ip)?.has(tokenId)) return;
      await refuse(request, reply, false);
      if ((request.ip as string | undefined) !== undefined) remember(request.ip, tokenId);
    },
  };
}

