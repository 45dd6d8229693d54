import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Run-scoped callback tokens: `rt1.<runId>.<attempt>.<mac>`, where mac is an HMAC-SHA256 of
 * `<runId>.<attempt>` under the server's callback key. Stateless to verify, bound to one attempt of
 * one run, useless for anything else.
 */
export function issueRunToken(key: string, runId: string, attempt: number): string {
  return `rt1.${runId}.${attempt}.${mac(key, runId, attempt)}`;
}

export type RunTokenCheck = { ok: true; runId: string; attempt: number } | { ok: false };

export function verifyRunToken(key: string, token: string | undefined): RunTokenCheck {
  if (!token) return { ok: false };
  const parts = token.split('.');
  if (parts.length !== 4 || parts[0] !== 'rt1') return { ok: false };
  const [, runId, attemptText, given] = parts as [string, string, string, string];
  const attempt = Number(attemptText);
  if (!Number.isSafeInteger(attempt) || attempt < 1 || !/^[0-9a-f]{64}$/.test(given)) return { ok: false };
  const expected = Buffer.from(mac(key, runId, attempt), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(given, 'hex'))) return { ok: false };
  return { ok: true, runId, attempt };
}

function mac(key: string, runId: string, attempt: number): string {
  return createHmac('sha256', key).update(`${runId}.${attempt}`).digest('hex');
}
