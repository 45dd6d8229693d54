import { describe, expect, it } from 'vitest';
import { newId } from '../../core/ids.ts';
import type { SessionRecord } from '../../core/model.ts';
import type { Store } from '../store.ts';
import { FAR_FUTURE, T0 } from './fixtures.ts';

function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: newId(), secretHash: newId().replaceAll('-', '').padEnd(64, 'a'), actor: 'user:https://idp.example/|alice', name: 'Alice Émile <alice@example.com>',
    grants: [{ role: 'editor', namespaces: ['team-a'] }, { role: 'viewer', namespaces: ['team-b', 'team-c'] }],
    createdAt: T0, expiresAt: T0 + 12 * 3_600_000 + 7, ...overrides,
  };
}

export function describeSessions(ctx: { readonly store: Store }): void {
  describe('sessions', () => {
    it('stores a session with its grants, finds it by secret hash, and audits its creation', async () => {
      const session = sessionRecord();
      expect(await ctx.store.createSession({ session, audit: { actor: session.actor, action: 'session.create', details: { via: 'sso' } } })).toEqual(session);
      expect(await ctx.store.findSessionByHash(session.secretHash)).toEqual(session);
      expect(await ctx.store.findSessionByHash('0'.repeat(64))).toBeNull();
      const nameless = sessionRecord({ name: null, grants: [{ role: 'admin', namespaces: ['*'] }], expiresAt: FAR_FUTURE });
      await ctx.store.createSession({ session: nameless, audit: { actor: nameless.actor, action: 'session.create' } });
      expect(await ctx.store.findSessionByHash(nameless.secretHash)).toEqual(nameless);
      const { items } = await ctx.store.listAudit({ limit: 10, resourceId: session.id });
      expect(items).toEqual([expect.objectContaining({ actor: session.actor, action: 'session.create', resourceType: 'session', at: T0, details: { via: 'sso' } })]);
    });

    it('refuses a second session with the same secret hash', async () => {
      const session = sessionRecord();
      await ctx.store.createSession({ session, audit: { actor: session.actor, action: 'session.create' } });
      await expect(ctx.store.createSession({ session: sessionRecord({ secretHash: session.secretHash }), audit: { actor: 'x', action: 'session.create' } })).rejects.toThrow();
      expect(await ctx.store.findSessionByHash(session.secretHash)).toEqual(session);
    });

    it('deletes a session once: the second sign-out finds nothing and writes no audit entry', async () => {
      const session = sessionRecord();
      const other = sessionRecord();
      for (const s of [session, other]) await ctx.store.createSession({ session: s, audit: { actor: s.actor, action: 'session.create' } });
      const end = () => ctx.store.deleteSession({ id: session.id, at: T0 + 5, audit: { actor: session.actor, action: 'session.delete' } });
      const results = await Promise.all([end(), end()]);
      expect(results.sort()).toEqual([false, true]);
      expect(await ctx.store.findSessionByHash(session.secretHash)).toBeNull();
      expect(await ctx.store.findSessionByHash(other.secretHash)).toEqual(other);
      const { items } = await ctx.store.listAudit({ limit: 10, resourceId: session.id });
      expect(items.map((e) => e.action)).toEqual(['session.delete', 'session.create']);
      expect(items[0]).toMatchObject({ at: T0 + 5, resourceType: 'session' });
    });

    it('deletes expired sessions, oldest expiry first, up to the limit', async () => {
      const sessions = [3, 1, 2, 10].map((hours) => sessionRecord({ expiresAt: T0 + hours * 3_600_000 }));
      for (const s of sessions) await ctx.store.createSession({ session: s, audit: { actor: s.actor, action: 'session.create' } });
      expect(await ctx.store.deleteExpiredSessions({ before: T0 + 5 * 3_600_000, limit: 2 })).toBe(2);
      const left = async () => (await Promise.all(sessions.map((s) => ctx.store.findSessionByHash(s.secretHash)))).map((s) => s !== null);
      expect(await left()).toEqual([true, false, false, true]);
      expect(await ctx.store.deleteExpiredSessions({ before: T0 + 5 * 3_600_000, limit: 10 })).toBe(1);
      expect(await left()).toEqual([false, false, false, true]);
      // Expiry is exclusive: a session that expires at `before` is kept.
      expect(await ctx.store.deleteExpiredSessions({ before: T0 + 10 * 3_600_000, limit: 10 })).toBe(0);
    });
  });
}
