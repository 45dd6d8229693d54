/**
 * Checks `x-ecron-signature` on requests to the executor: authentic (HMAC with the group's
 * secret), fresh (within SIGNATURE_MAX_AGE_MS of this clock), and never seen before (nonces are
 * kept until the signature they came with could no longer pass as fresh).
 */
import { SIGNATURE_MAX_AGE_MS } from '@ecron/contracts';
import { verifySignature } from '@ecron/contracts/signature';

export type SignatureRefusal = 'SIGNATURE_MISSING' | 'SIGNATURE_MALFORMED' | 'SIGNATURE_MISMATCH' | 'SIGNATURE_STALE' | 'SIGNATURE_REPLAYED';

export type GateResult = { ok: true } | { ok: false; code: SignatureRefusal | 'EXECUTOR_NOT_READY'; message: string };

const MESSAGES: Record<SignatureRefusal, string> = {
  SIGNATURE_MISSING: 'the request has no x-ecron-signature header',
  SIGNATURE_MALFORMED: 'the x-ecron-signature header is malformed',
  SIGNATURE_MISMATCH: 'the signature does not match the body',
  SIGNATURE_STALE: 'the signature is too old (or too far in the future)',
  SIGNATURE_REPLAYED: 'the signature nonce was already used',
};

/** How often expired nonces are swept out (at most). */
const SWEEP_INTERVAL_MS = 30_000;

export class SignatureGate {
  /** The current secret first; a rotated-out one stays valid for SIGNATURE_MAX_AGE_MS. */
  #secrets: { secret: string; until: number }[] = [];
  /** nonce → the instant after which its signature is stale anyway. */
  readonly #nonces = new Map<string, number>();
  #lastSweep = 0;
  readonly #maxAgeMs: number;

  constructor(maxAgeMs = SIGNATURE_MAX_AGE_MS) {
    this.#maxAgeMs = maxAgeMs;
  }

  get ready(): boolean {
    return this.#secrets.length > 0;
  }

  /** Sets the group's secret (from each heartbeat reply); a previous one is honoured a while longer. */
  setSecret(secret: string, now = Date.now()): void {
    if (this.#secrets[0]?.secret === secret) return;
    const previous = this.#secrets[0];
    this.#secrets = [{ secret, until: Infinity }];
    if (previous) this.#secrets.push({ secret: previous.secret, until: now + this.#maxAgeMs });
  }

  check(body: string, header: string | undefined, now = Date.now()): GateResult {
    this.#secrets = this.#secrets.filter((entry) => entry.until > now);
    if (this.#secrets.length === 0) return { ok: false, code: 'EXECUTOR_NOT_READY', message: 'the executor has not registered yet' };
    let result = verifySignature(this.#secrets[0]!.secret, body, header, now, this.#maxAgeMs);
    for (const entry of this.#secrets.slice(1)) {
      if (result.ok || result.code !== 'SIGNATURE_MISMATCH') break;
      result = verifySignature(entry.secret, body, header, now, this.#maxAgeMs);
    }
    if (!result.ok) return { ok: false, code: result.code, message: MESSAGES[result.code] };
    this.#sweep(now);
    if (this.#nonces.has(result.nonce)) return { ok: false, code: 'SIGNATURE_REPLAYED', message: MESSAGES.SIGNATURE_REPLAYED };
    this.#nonces.set(result.nonce, result.timestamp + this.#maxAgeMs);
    return { ok: true };
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < SWEEP_INTERVAL_MS) return;
    this.#lastSweep = now;
    for (const [nonce, staleAt] of this.#nonces) if (staleAt < now) this.#nonces.delete(nonce);
  }
}
