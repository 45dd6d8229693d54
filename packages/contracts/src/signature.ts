import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SIGNATURE_MAX_AGE_MS } from './executor-protocol.ts';

/** Signs `body` for the `x-ecron-signature` header. */
export function signBody(secret: string, body: string, now: number, nonce = randomBytes(12).toString('hex')): string {
  const mac = createHmac('sha256', secret).update(`${now}.${nonce}.${body}`).digest('hex');
  return `t=${now},n=${nonce},v1=${mac}`;
}

export type SignatureCheck =
  | { ok: true; timestamp: number; nonce: string }
  | { ok: false; code: 'SIGNATURE_MISSING' | 'SIGNATURE_MALFORMED' | 'SIGNATURE_MISMATCH' | 'SIGNATURE_STALE' };

/**
 * Verifies a signature header. Replay protection (remembering nonces for SIGNATURE_MAX_AGE_MS)
 * is the caller's job: this only proves the body is authentic and fresh.
 */
export function verifySignature(secret: string, body: string, header: string | undefined, now: number, maxAgeMs = SIGNATURE_MAX_AGE_MS): SignatureCheck {
  if (!header) return { ok: false, code: 'SIGNATURE_MISSING' };
  const parts = Object.fromEntries(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const timestamp = Number(parts.t);
  const nonce = parts.n;
  const mac = parts.v1;
  if (!Number.isSafeInteger(timestamp) || !nonce || !mac || !/^[0-9a-f]{64}$/.test(mac)) return { ok: false, code: 'SIGNATURE_MALFORMED' };
  const expected = createHmac('sha256', secret).update(`${timestamp}.${nonce}.${body}`).digest();
  if (!timingSafeEqual(expected, Buffer.from(mac, 'hex'))) return { ok: false, code: 'SIGNATURE_MISMATCH' };
  if (Math.abs(now - timestamp) > maxAgeMs) return { ok: false, code: 'SIGNATURE_STALE' };
  return { ok: true, timestamp, nonce };
}
