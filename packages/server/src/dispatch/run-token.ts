import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Run-scoped callback tokens: `rt1.<runId>.<attempt>.<mac>`, where mac is an HMAC-SHA256 of
 * `<runId>.<attempt>` under the server's callback key. Stateless to verify, bound to one attempt of
 * one run, useless for anything else. A shard of a fan-out attempt gets `<attempt>s<shard>` in
 * place of `<attempt>`: its reports carry log lines and progress, while its outcome travels in the
 * reply to its request.
 */
export function issueRunToken(key: string, runId: string, attempt: number, shard?: number): string {
  const part = shard === undefined ? String(attempt) : `${attempt}s${shard}`;
  return `rt1.${runId}.${part}.${mac(key, runId, part)}`;
}

export type RunTokenCheck = { ok: true; runId: string; attempt: number; shard?: number } | { ok: false };

export function verifyRunToken(key: string, token: string | undefined): RunTokenCheck {
  if (!token) return { ok: false };
  const parts = token.split('.');
  if (parts.length !== 4 || parts[0] !== 'rt1') return { ok: false };
  const [, runId, part, given] = parts as [string, string, string, string];
  const match = /^([1-9][0-9]{0,8})(?:s([0-9]{1,4}))?$/.exec(part);
  if (!match || !/^[0-9a-f]{64}$/.test(given)) return { ok: false };
  const expected = Buffer.from(mac(key, runId, part), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(given, 'hex'))) return { ok: false };
  const attempt = Number(match[1]);
  return match[2] === undefined ? { ok: true, runId, attempt } : { ok: true, runId, attempt, shard: Number(match[2]) };
}

function mac(key: string, runId: string, part: string): string {
  return createHmac('sha256', key).update(`${runId}.${part}`).digest('hex');
}
