/**
 * DELETE /api/v1/tokens/{id} never revokes the last live admin token for all namespaces
 * (409 LAST_ADMIN_TOKEN): without it, nobody could create tokens for every namespace or read the
 * audit log again. The check is made in the store's transaction (see the store conformance suite
 * for two revocations that race).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiHarness, errorOf } from './api-harness.ts';

let h: ApiHarness;
beforeEach(async () => {
  h = await new ApiHarness().start();
});
afterEach(async () => h.close());

const revocations = async (token?: string) => (await h.call('GET', '/api/v1/audit?action=token.revoke', { token })).json().items;

describe('revoking the last admin token', () => {
  it('refuses to revoke the last admin token for all namespaces, even by itself, and records nothing', async () => {
    const res = await h.call('DELETE', `/api/v1/tokens/${h.adminId}`);
    expect(res.statusCode).toBe(409);
    expect(errorOf(res)).toMatchObject({ code: 'LAST_ADMIN_TOKEN', message: expect.stringContaining('test-admin'), details: { id: h.adminId } });
    expect((await h.call('GET', '/api/v1/me')).statusCode).toBe(200);
    expect(await revocations()).toEqual([]);

    // An admin scoped to some namespaces does not count: it can neither see the global admin nor stand in for it.
    const scoped = await h.token('admin', ['team-a'], 'team-admin');
    expect(errorOf(await h.call('DELETE', `/api/v1/tokens/${h.adminId}`)).code).toBe('LAST_ADMIN_TOKEN');
    expect((await h.call('DELETE', `/api/v1/tokens/${scoped.id}`)).statusCode).toBe(200);
  });

  it('revokes an admin token while another admin token for all namespaces stays, then keeps the one left', async () => {
    const second = await h.token('admin', ['*'], 'second-admin');
    const first = await h.call('DELETE', `/api/v1/tokens/${h.adminId}`, { token: second.secret });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ id: h.adminId, revokedAt: expect.any(String) });
    // Again: idempotent, not refused.
    expect((await h.call('DELETE', `/api/v1/tokens/${h.adminId}`, { token: second.secret })).statusCode).toBe(200);

    const last = await h.call('DELETE', `/api/v1/tokens/${second.id}`, { token: second.secret });
    expect(last.statusCode).toBe(409);
    expect(errorOf(last).code).toBe('LAST_ADMIN_TOKEN');
    expect((await h.call('GET', '/api/v1/tokens', { token: second.secret })).json().items).toEqual(expect.arrayContaining([
      expect.objectContaining({ id: second.id, revokedAt: null }),
    ]));
    expect((await revocations(second.secret)).map((e: { resourceId: string }) => e.resourceId)).toEqual([h.adminId]);
  });
});
