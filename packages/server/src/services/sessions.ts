/**
 * Sessions of users signed in through SSO (`sso/`). A session's secret is `ecs_` + 32 random
 * bytes in base64url, carried by an httpOnly cookie; the store keeps only its SHA-256, so a leaked
 * database holds no usable session. Sessions live in the store: every API node of a cluster
 * accepts them, and a sign-out ends one everywhere at once. A session past its expiry is refused
 * exactly as an unknown one is.
 *
 * The CSRF token of a session is derived from its secret (an HMAC keyed by it): the server needs
 * no second value per session, and a page of another origin, which can neither read the cookie nor
 * `GET /api/v1/me`'s answer, cannot learn it.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { newId } from '../core/ids.ts';
import type { GrantRecord, SessionRecord } from '../core/model.ts';
import type { Store } from '../store/store.ts';
import type { Caller } from './access.ts';

export const SESSION_PREFIX = 'ecs_';
/** Expired sessions are deleted at most this often, by the node that signs someone in. */
const PURGE_EVERY_MS = 60_000;
const PURGE_LIMIT = 1000;

/** A live session, as the auth hook hands it to routes. */
export interface ActiveSession {
  id: string;
  caller: Caller;
  /** The value the `x-csrf-token` header of the session's unsafe requests must carry. */
  csrfToken: string;
  name: string | null;
  expiresAt: number;
}

export interface SessionService {
  /** Starts a session; the secret (for the cookie) is returned here and never again. */
  create(p: { actor: string; name: string | null; grants: GrantRecord[]; ttlMs: number; details?: Record<string, unknown> }): Promise<{ session: SessionRecord; secret: string }>;
  /** The live session of this secret, or null (unknown, ended or expired: the caller cannot tell which). */
  authenticate(secret: string): Promise<ActiveSession | null>;
  /** Ends the session: deleted from the store, so refused by every node. False when it was not live. */
  end(session: Pick<ActiveSession, 'id' | 'caller'>): Promise<boolean>;
}

export function hashSessionSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The CSRF token of the session with this secret. */
export function csrfTokenOf(secret: string): string {
  return createHmac('sha256', secret).update('ecron csrf token').digest('base64url');
}

/** True when `presented` is the CSRF token of `secret` (compared in constant time). */
export function csrfTokenMatches(secret: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const expected = Buffer.from(csrfTokenOf(secret));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function createSessionService(deps: { store: Store; clock: Clock }): SessionService {
  const { store, clock } = deps;
  let lastPurgeAt = 0;

  function purge(now: number): void {
    if (now - lastPurgeAt < PURGE_EVERY_MS) return;
    lastPurgeAt = now;
    store.deleteExpiredSessions({ before: now, limit: PURGE_LIMIT }).catch(() => undefined); // the next purge tries again
  }

  return {
    async create(p) {
      const now = clock.now();
      purge(now);
      const secret = SESSION_PREFIX + randomBytes(32).toString('base64url');
      const session: SessionRecord = {
        id: newId(), secretHash: hashSessionSecret(secret), actor: p.actor, name: p.name, grants: p.grants, createdAt: now, expiresAt: now + p.ttlMs,
      };
      const stored = await store.createSession({
        session, audit: { actor: p.actor, action: 'session.create', details: { grants: p.grants, expiresAt: new Date(session.expiresAt).toISOString(), ...p.details } },
      });
      return { session: stored, secret };
    },

    async authenticate(secret) {
      if (!secret.startsWith(SESSION_PREFIX)) return null;
      const session = await store.findSessionByHash(hashSessionSecret(secret));
      if (!session || session.expiresAt <= clock.now()) return null;
      return {
        id: session.id, caller: { actor: session.actor, grants: session.grants }, csrfToken: csrfTokenOf(secret), name: session.name, expiresAt: session.expiresAt,
      };
    },

    end(session) {
      return store.deleteSession({ id: session.id, at: clock.now(), audit: { actor: session.caller.actor, action: 'session.delete' } });
    },
  };
}
