/**
 * `Idempotency-Key` on API calls that create things (task create, `tasks:batch`, trigger). The first
 * request with a key claims it in the store (its primary key decides between concurrent requests)
 * and runs; its answer, success or 4xx error, is stored with the key for {@link KEY_TTL_MS}. A later
 * request of the same caller with the same key gets that answer again without running, provided it
 * is the same request (method, route, path parameters and body: its fingerprint); another request
 * with the key is IDEMPOTENCY_KEY_REUSED, and one that comes while the first still runs is
 * IDEMPOTENCY_KEY_IN_PROGRESS. A 5xx answer or a crash stores nothing: the key is released (or,
 * after a crash, taken over once {@link ABANDONED_AFTER_MS} has passed), so the client may retry.
 * Expired keys are deleted as keys are used, at most once every {@link PURGE_EVERY_MS}.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import type { Store } from '../store/store.ts';
import type { Caller } from './access.ts';

export const KEY_TTL_MS = 24 * 3_600_000;
/** A claim still in progress after this long is taken to be from a process that died. */
export const ABANDONED_AFTER_MS = 15 * 60_000;
const PURGE_EVERY_MS = 10 * 60_000;
const PURGE_LIMIT = 10_000;
/** Keys are 1..255 visible ASCII characters (a UUID is typical). */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export interface IdempotentAnswer {
  status: number;
  body: unknown;
  /** True when this is the stored answer of an earlier request. */
  replayed: boolean;
}

export interface IdempotencyService {
  /**
   * Runs `execute` once per (caller, key): see the file's header. `request` is what the fingerprint is
   * taken of. Without a key, simply runs it. A coded 4xx error of `execute` is stored and rethrown.
   */
  run(p: {
    caller: Caller; key: string | undefined; request: unknown; execute: () => Promise<{ status: number; body: unknown }>;
  }): Promise<IdempotentAnswer>;
}

function fingerprintOf(request: unknown): string {
  return createHash('sha256').update(JSON.stringify(request) ?? 'null').digest('base64url');
}

export function createIdempotencyService(deps: { store: Store; clock: Clock }): IdempotencyService {
  const { store, clock } = deps;
  let lastPurgeAt = 0;

  function purge(now: number): void {
    if (now - lastPurgeAt < PURGE_EVERY_MS) return;
    lastPurgeAt = now;
    store.deleteExpiredIdempotencyKeys({ before: now, limit: PURGE_LIMIT }).catch(() => undefined); // the next purge tries again
  }

  return {
    async run({ caller, key, request, execute }) {
      if (key === undefined) return { ...(await execute()), replayed: false };
      if (!KEY_PATTERN.test(key)) {
        throw new EcronError('VALIDATION_FAILED', 'headers.idempotency-key: must be 1-255 visible ASCII characters', {
          issues: [{ path: 'headers.idempotency-key', code: 'INVALID_VALUE', message: 'must be 1-255 visible ASCII characters' }],
        });
      }
      const now = clock.now();
      purge(now);
      const scope = caller.actor;
      const fingerprint = fingerprintOf(request);
      const existing = await store.claimIdempotencyKey({ scope, key, fingerprint, at: now, expiresAt: now + KEY_TTL_MS, staleBefore: now - ABANDONED_AFTER_MS });
      if (existing !== null) {
        if (existing.fingerprint !== fingerprint) {
          throw new EcronError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was first used with another request: use a new key for a new request');
        }
        if (existing.status === null || existing.body === null) {
          throw new EcronError('IDEMPOTENCY_KEY_IN_PROGRESS', 'the first request with this Idempotency-Key has not finished: retry later');
        }
        return { status: existing.status, body: JSON.parse(existing.body) as unknown, replayed: true };
      }
      let answer: { status: number; body: unknown };
      try {
        answer = await execute();
      } catch (error) {
        if (error instanceof EcronError && error.status < 500) {
          const body = { error: { code: error.code, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) } };
          await store.completeIdempotencyKey({ scope, key, fingerprint, status: error.status, body: JSON.stringify(body) });
        } else {
          await store.releaseIdempotencyKey({ scope, key, fingerprint }).catch(() => undefined); // else it is taken over when abandoned
        }
        throw error;
      }
      // Done is done: a failure to store the answer leaves the key in progress (taken over once abandoned), not the call failed.
      await store.completeIdempotencyKey({ scope, key, fingerprint, status: answer.status, body: JSON.stringify(answer.body) }).catch(() => undefined);
      return { ...answer, replayed: false };
    },
  };
}
