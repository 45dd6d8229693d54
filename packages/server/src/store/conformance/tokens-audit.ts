import { MAX_TOKEN_LIFETIME_MS } from '@ecron/contracts';
import { describe, expect, it } from 'vitest';
import type { Store } from '../store.ts';
import { audit, errorCode, T0, tokenRecord } from './fixtures.ts';

export function describeTokensAndAudit(ctx: { readonly store: Store }): void {
  describe('tokens', () => {
    it('creates a token, finds it by secret hash and lists it', async () => {
      expect(await ctx.store.countTokens()).toBe(0);
      const token = tokenRecord({ role: 'admin', namespaces: ['*'] });
      expect(await ctx.store.createToken({ token, audit: { actor: 'system', action: 'token.create' } })).toEqual(token);
      expect(await ctx.store.findTokenByHash(token.secretHash)).toEqual(token);
      expect(await ctx.store.findTokenByHash('0'.repeat(64))).toBeNull();
      const second = tokenRecord({ createdAt: T0 + 1, name: 'viewer', role: 'viewer', namespaces: [] });
      await ctx.store.createToken({ token: second, audit: audit('token.create') });
      expect(await ctx.store.listTokens()).toEqual([token, second]);
      expect(await ctx.store.countTokens()).toBe(2);
      const { items } = await ctx.store.listAudit({ limit: 10, resourceId: token.id });
      expect(items).toEqual([expect.objectContaining({ actor: 'system', action: 'token.create', resourceType: 'token', at: T0 })]);
    });

    it('keeps every role and the expiry of a token, to the millisecond and ten years ahead', async () => {
      const tenYears = T0 + MAX_TOKEN_LIFETIME_MS - 1;
      const tokens = (['admin', 'editor', 'operator', 'viewer', 'executor', 'metrics'] as const).map((role, i) => tokenRecord({
        createdAt: T0 + i, name: role, role, namespaces: role === 'admin' ? ['*'] : ['team-a'], expiresAt: [null, T0 + 1, T0 + 86_400_123, tenYears, T0 + 1000, null][i]!,
      }));
      for (const token of tokens) expect(await ctx.store.createToken({ token, audit: audit('token.create') })).toEqual(token);
      expect(await ctx.store.listTokens()).toEqual(tokens);
      for (const token of tokens) expect(await ctx.store.findTokenByHash(token.secretHash)).toEqual(token);
      // An expired token is still stored and found: whether it is live is the caller's to decide, on its clock.
      const [, expired] = tokens;
      expect((await ctx.store.revokeToken({ id: expired!.id, at: T0 + 5, audit: audit('token.revoke') }))).toEqual({ ...expired, revokedAt: T0 + 5 });
      expect(await ctx.store.findTokenByHash(expired!.secretHash)).toEqual({ ...expired, revokedAt: T0 + 5 });
    });

    it('keeps the executor groups of a token, in their order, and null for a token of every group', async () => {
      const scoped = tokenRecord({ name: 'billing-node', role: 'executor', namespaces: ['billing'], groups: ['g1', 'reports.v2', 'G-1_x'] });
      const one = tokenRecord({ createdAt: T0 + 1, name: 'one-group', role: 'executor', namespaces: ['*'], groups: ['g'.repeat(128)] });
      const every = tokenRecord({ createdAt: T0 + 2, name: 'every-group', role: 'executor', namespaces: ['billing'], groups: null });
      for (const token of [scoped, one, every]) expect(await ctx.store.createToken({ token, audit: audit('token.create') })).toEqual(token);
      expect(await ctx.store.listTokens()).toEqual([scoped, one, every]);
      for (const token of [scoped, one, every]) expect(await ctx.store.findTokenByHash(token.secretHash)).toEqual(token);
      expect((await ctx.store.revokeToken({ id: scoped.id, at: T0 + 5, audit: audit('token.revoke') })).groups).toEqual(['g1', 'reports.v2', 'G-1_x']);
      expect((await ctx.store.findTokenByHash(scoped.secretHash))!.groups).toEqual(['g1', 'reports.v2', 'G-1_x']);
    });

    it('with keepLastAdmin, keeps the last admin token for all namespaces that never expires: one that expires does not count', async () => {
      const forever = tokenRecord({ name: 'admin', role: 'admin', namespaces: ['*'] });
      const expiring = tokenRecord({ createdAt: T0 + 1, name: 'expiring-admin', role: 'admin', namespaces: ['*'], expiresAt: T0 + 100 });
      for (const token of [forever, expiring]) await ctx.store.createToken({ token, audit: audit('token.create') });
      const revoke = (id: string, at: number) => ctx.store.revokeToken({ id, at, audit: audit('token.revoke'), keepLastAdmin: true });
      // Live or not, an admin that expires stands in for nobody, and is not kept itself.
      expect(await errorCode(revoke(forever.id, T0 + 10))).toBe('LAST_ADMIN_TOKEN');
      expect((await revoke(expiring.id, T0 + 10)).revokedAt).toBe(T0 + 10);
      expect(await errorCode(revoke(forever.id, T0 + 200))).toBe('LAST_ADMIN_TOKEN');

      const second = tokenRecord({ createdAt: T0 + 2, name: 'admin-2', role: 'admin', namespaces: ['*'] });
      await ctx.store.createToken({ token: second, audit: audit('token.create') });
      expect((await revoke(forever.id, T0 + 20)).revokedAt).toBe(T0 + 20);
      expect(await errorCode(revoke(second.id, T0 + 30))).toBe('LAST_ADMIN_TOKEN');
      expect((await ctx.store.listAudit({ limit: 10, action: 'token.revoke' })).items.map((e) => e.resourceId)).toEqual([forever.id, expiring.id]);
    });

    it('revokes a token once, idempotently, and still counts it', async () => {
      const token = tokenRecord();
      await ctx.store.createToken({ token, audit: audit('token.create') });
      const revoked = await ctx.store.revokeToken({ id: token.id, at: T0 + 50, audit: audit('token.revoke') });
      expect(revoked).toEqual({ ...token, revokedAt: T0 + 50 });
      expect(await ctx.store.findTokenByHash(token.secretHash)).toEqual(revoked);
      expect(await ctx.store.revokeToken({ id: token.id, at: T0 + 60, audit: audit('token.revoke') })).toEqual(revoked);
      expect(await ctx.store.countTokens()).toBe(1);
      expect((await ctx.store.listAudit({ limit: 10, action: 'token.revoke' })).items).toEqual([expect.objectContaining({ resourceId: token.id, at: T0 + 50 })]);
      expect(await errorCode(ctx.store.revokeToken({ id: '00000000-0000-7000-8000-00000000000f', at: T0, audit: audit('token.revoke') }))).toBe('TOKEN_NOT_FOUND');
    });

    it('with keepLastAdmin, refuses to revoke the last live admin token for all namespaces, also when two revocations race', async () => {
      const first = tokenRecord({ name: 'admin', role: 'admin', namespaces: ['*'] });
      const scoped = tokenRecord({ createdAt: T0 + 1, name: 'team-admin', role: 'admin', namespaces: ['team-a'] });
      for (const token of [first, scoped]) await ctx.store.createToken({ token, audit: audit('token.create') });
      const revoke = (id: string) => ctx.store.revokeToken({ id, at: T0 + 10, audit: audit('token.revoke'), keepLastAdmin: true });
      // An admin scoped to some namespaces does not count, and may go.
      expect(await errorCode(revoke(first.id))).toBe('LAST_ADMIN_TOKEN');
      expect((await revoke(scoped.id)).revokedAt).toBe(T0 + 10);
      expect(await ctx.store.findTokenByHash(first.secretHash)).toEqual(first);
      expect((await ctx.store.listAudit({ limit: 10, action: 'token.revoke' })).items.map((e) => e.resourceId)).toEqual([scoped.id]);

      // Two admins revoked at once: one goes, the other stays. The pool's connections are opened
      // first, and the race is run several times, so that the two transactions do overlap.
      await Promise.all(Array.from({ length: 4 }, () => ctx.store.listTokens()));
      let live = first;
      let gone = first;
      for (let round = 1; round <= 6; round++) {
        const other = tokenRecord({ createdAt: T0 + 1 + round, name: `admin-${round}`, role: 'admin', namespaces: ['*'] });
        await ctx.store.createToken({ token: other, audit: audit('token.create') });
        const outcomes = await Promise.allSettled([revoke(live.id), revoke(other.id)]);
        expect(outcomes.map((o) => o.status).sort(), `round ${round}`).toEqual(['fulfilled', 'rejected']);
        expect((outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ code: 'LAST_ADMIN_TOKEN' });
        const admins = (await ctx.store.listTokens()).filter((t) => t.role === 'admin' && t.revokedAt === null);
        expect(admins.map((t) => t.namespaces), `round ${round}`).toEqual([['*']]);
        gone = admins[0]!.id === live.id ? other : live;
        live = admins[0]!;
      }
      // Revoking one that went stays idempotent; without keepLastAdmin the store does as told.
      expect((await revoke(gone.id)).revokedAt).toBe(T0 + 10);
      expect((await ctx.store.revokeToken({ id: live.id, at: T0 + 20, audit: audit('token.revoke') })).revokedAt).toBe(T0 + 20);
    });

    it('creates and revokes a token only together with its audit entry', async () => {
      const unserialisable = { actor: 'tester', action: 'token.any', details: { n: 1n } };
      const token = tokenRecord();
      await expect(ctx.store.createToken({ token, audit: unserialisable })).rejects.toThrow();
      expect(await ctx.store.countTokens()).toBe(0);
      await ctx.store.createToken({ token, audit: audit('token.create') });
      await expect(ctx.store.revokeToken({ id: token.id, at: T0 + 1, audit: unserialisable })).rejects.toThrow();
      expect(await ctx.store.findTokenByHash(token.secretHash)).toEqual(token);
    });

    it('records the last use of a token, never moving it backwards', async () => {
      const token = tokenRecord();
      await ctx.store.createToken({ token, audit: audit('token.create') });
      await ctx.store.touchToken({ id: token.id, at: T0 + 100 });
      expect((await ctx.store.findTokenByHash(token.secretHash))!.lastUsedAt).toBe(T0 + 100);
      await ctx.store.touchToken({ id: token.id, at: T0 + 50 });
      expect((await ctx.store.findTokenByHash(token.secretHash))!.lastUsedAt).toBe(T0 + 100);
      await ctx.store.touchToken({ id: '00000000-0000-7000-8000-000000000010', at: T0 });
    });
  });

  describe('audit log', () => {
    it('appends entries with or without an id, keeping their details', async () => {
      const id = '01900000-0000-7000-8000-000000000000';
      await ctx.store.appendAudit({ id, at: T0, actor: 'alice', action: 'node.join', resourceType: 'node', resourceId: null, details: null });
      await ctx.store.appendAudit({ at: T0 + 1, actor: 'bob', action: 'task.update', resourceType: 'task', resourceId: 't1', details: { diff: ['schedule'], n: 1.5 } });
      const { items } = await ctx.store.listAudit({ limit: 10 });
      expect(items).toEqual([
        { id: expect.any(String), at: T0 + 1, actor: 'bob', action: 'task.update', resourceType: 'task', resourceId: 't1', details: { diff: ['schedule'], n: 1.5 } },
        { id, at: T0, actor: 'alice', action: 'node.join', resourceType: 'node', resourceId: null, details: null },
      ]);
    });
  });
}
