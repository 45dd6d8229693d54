/**
 * Tokens that expire (issue 17): `POST /api/v1/tokens` takes `expiresAt` or `expiresIn`; from that
 * instant on the token is refused exactly as an unknown one is (401, counted as a failed
 * authentication) and listed `expired: true`. The API harness's manual clock moves time.
 */
import { MAX_TOKEN_LIFETIME_MS } from '@ecron/contracts';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashTokenSecret } from '../../src/services/tokens.ts';
import { ApiHarness, errorOf, issuesOf, T0 } from './api-harness.ts';

let h: ApiHarness;
beforeEach(async () => {
  h = await new ApiHarness().start();
});
afterEach(async () => h.close());

const iso = (ms: number) => new Date(ms).toISOString();
const create = (body: Record<string, unknown>) => h.call('POST', '/api/v1/tokens', { body });
const listed = async (id: string) => ((await h.call('GET', '/api/v1/tokens')).json().items as Record<string, unknown>[]).find((t) => t.id === id);

/** What an unknown token gets, to compare an expired one's answer with. */
async function unknownAnswer(): Promise<LightMyRequestResponse> {
  return h.call('GET', '/api/v1/tasks', { token: 'ecr_never_issued' });
}

describe('token expiry', () => {
  it('serves a token created with expiresIn until it expires, then refuses it as an unknown token and lists it expired', async () => {
    const res = await create({ name: 'short', role: 'viewer', expiresIn: '1s' });
    expect(res.statusCode, res.body).toBe(201);
    const { token, secret } = res.json();
    expect(token).toMatchObject({ expiresAt: iso(T0 + 1000), expired: false, lastUsedAt: null });

    expect((await h.call('GET', '/api/v1/tasks', { token: secret })).statusCode).toBe(200);
    await h.clock.advance(999);
    expect((await h.call('GET', '/api/v1/me', { token: secret })).statusCode).toBe(200);
    expect(await listed(token.id)).toMatchObject({ expired: false, lastUsedAt: iso(T0) });

    await h.clock.advance(1);
    const refused = await h.call('GET', '/api/v1/tasks', { token: secret });
    const unknown = await unknownAnswer();
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toEqual(unknown.json());
    expect(refused.headers['www-authenticate']).toBe(unknown.headers['www-authenticate']);
    expect((await h.call('GET', '/api/v1/me', { token: secret })).statusCode).toBe(401);
    expect(await listed(token.id)).toEqual({
      id: token.id, name: 'short', role: 'viewer', namespaces: ['*'], groups: null, createdAt: iso(T0), lastUsedAt: iso(T0), revokedAt: null, expiresAt: iso(T0 + 1000), expired: true,
    });
    // A refused use is not a use.
    expect((await h.store.findTokenByHash(hashTokenSecret(secret)))?.lastUsedAt).toBe(T0);
  });

  it('counts an expired token as a failed authentication', async () => {
    const { secret } = (await create({ name: 'short', role: 'editor', expiresIn: '1m' })).json();
    await h.clock.advance(60_000);
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await h.call('GET', '/api/v1/tasks', { token: secret })).statusCode);
    expect(statuses).toEqual([...Array<number>(20).fill(401), 429]);
    expect(errorOf(await unknownAnswer()).code).toBe('TOO_MANY_FAILED_AUTHENTICATIONS');
    // A live token is answered as ever.
    expect((await h.call('GET', '/api/v1/tasks')).statusCode).toBe(200);
  });

  it('takes an expiresAt in the future, at most ten years away, and records it in the audit log', async () => {
    const at = iso(T0 + 10_000);
    const res = await create({ name: 'ten-seconds', role: 'operator', expiresAt: '2026-01-01T08:00:10+08:00' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().token).toMatchObject({ role: 'operator', expiresAt: at, expired: false });
    const longest = await create({ name: 'ten-years', expiresAt: iso(T0 + MAX_TOKEN_LIFETIME_MS) });
    expect(longest.statusCode, longest.body).toBe(201);
    expect((await create({ name: 'ten-years-by-duration', expiresIn: '3653d' })).json().token.expiresAt).toBe(iso(T0 + MAX_TOKEN_LIFETIME_MS));
    expect((await create({ name: 'forever' })).json().token).toMatchObject({ expiresAt: null, expired: false });

    const audit = (await h.call('GET', '/api/v1/audit?action=token.create&limit=10')).json().items as { resourceId: string; details: unknown }[];
    expect(audit.find((e) => e.resourceId === res.json().token.id)?.details).toEqual({ name: 'ten-seconds', role: 'operator', namespaces: ['*'], expiresAt: at });

    await h.clock.advance(9_999);
    expect((await h.call('GET', '/api/v1/tasks', { token: res.json().secret })).statusCode).toBe(200);
    await h.clock.advance(1);
    expect((await h.call('GET', '/api/v1/tasks', { token: res.json().secret })).statusCode).toBe(401);
  });

  it('refuses an expiresAt that is not in the future or more than ten years away, and other bad expiries, storing nothing', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ expiresAt: iso(T0 - 1) }, 'expiresAt', 'OUT_OF_RANGE'],
      [{ expiresAt: iso(T0) }, 'expiresAt', 'OUT_OF_RANGE'],
      [{ expiresAt: iso(T0 + MAX_TOKEN_LIFETIME_MS + 1) }, 'expiresAt', 'OUT_OF_RANGE'],
      [{ expiresAt: 'tomorrow' }, 'expiresAt', 'INVALID_FORMAT'],
      [{ expiresIn: '0s' }, 'expiresIn', 'DURATION_OUT_OF_RANGE'],
      [{ expiresIn: '3654d' }, 'expiresIn', 'DURATION_OUT_OF_RANGE'],
      [{ expiresIn: 'soon' }, 'expiresIn', 'INVALID_DURATION'],
      [{ expiresIn: '1d', expiresAt: iso(T0 + 1000) }, 'expiresIn', 'FIELD_NOT_ALLOWED'],
    ];
    for (const [body, path, code] of cases) {
      const res = await create({ name: 'bad', ...body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(errorOf(res).code).toBe('VALIDATION_FAILED');
      expect(issuesOf(res).map((issue) => [issue.path, issue.code]), JSON.stringify(body)).toEqual([[path, code]]);
    }
    expect(errorOf(await create({ name: 'past', expiresAt: iso(T0 - 1) })).message).toBe('expiresAt: must be in the future');
    expect(await h.store.countTokens()).toBe(1);
  });

  it('does not let an admin token that expires stand in for the last one that never does', async () => {
    const expiring = (await create({ name: 'temporary-admin', role: 'admin', expiresIn: '30d' })).json();
    const last = await h.call('DELETE', `/api/v1/tokens/${h.adminId}`, { token: expiring.secret });
    expect(last.statusCode).toBe(409);
    expect(errorOf(last)).toMatchObject({ code: 'LAST_ADMIN_TOKEN', message: expect.stringContaining('never expires') });
    // It may go itself, even by its own hand, and is refused from then on.
    expect((await h.call('DELETE', `/api/v1/tokens/${expiring.token.id}`, { token: expiring.secret })).statusCode).toBe(200);
    expect((await h.call('GET', '/api/v1/me', { token: expiring.secret })).statusCode).toBe(401);
    expect((await h.call('GET', '/api/v1/me')).statusCode).toBe(200);
  });
});
