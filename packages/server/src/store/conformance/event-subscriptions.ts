import { describe, expect, it } from 'vitest';
import { newId } from '../../core/ids.ts';
import type { DeadLetterRecord, EventSubscriptionRecord } from '../event-subscriptions.ts';
import type { Store } from '../store.ts';
import { audit, errorCode, T0 } from './fixtures.ts';

function subscription(overrides: Partial<EventSubscriptionRecord> = {}): EventSubscriptionRecord {
  return {
    id: newId(), namespace: 'team-a', name: `sub-${newId().slice(-8)}`, type: 'webhook',
    config: { url: 'http://127.0.0.1:9000/hook', secret: 's3cret', headers: { 'x-team': 'é' } },
    filter: { types: ['run.*', 'task.created'], taskId: 'task-1' }, state: 'active', cursor: 7,
    owner: null, leaseExpiresAt: null, lastError: null, lastErrorAt: null, failures: 0, createdAt: T0, updatedAt: T0, ...overrides,
  };
}

function letter(seq: number, overrides: Partial<DeadLetterRecord> = {}): DeadLetterRecord {
  return { subscriptionId: '', seq, event: { seq, type: 'run.failed', namespace: 'team-a' }, error: 'HTTP 500', attempts: 10, at: T0 + seq, ...overrides };
}

export function describeEventSubscriptions(ctx: { readonly store: Store }): void {
  describe('event subscriptions', () => {
    async function create(overrides: Partial<EventSubscriptionRecord> = {}): Promise<EventSubscriptionRecord> {
      return ctx.store.createSubscription({ subscription: subscription(overrides), audit: audit('event-subscription.create') });
    }

    it('stores a subscription as given, lists it by namespace, refuses its name twice in a namespace, and audits', async () => {
      const sub = subscription();
      expect(await ctx.store.createSubscription({ subscription: sub, audit: audit('event-subscription.create') })).toEqual(sub);
      expect(await ctx.store.getSubscription(sub.id)).toEqual(sub);
      expect(await ctx.store.getSubscription(newId())).toBeNull();
      expect(await errorCode(create({ name: sub.name }))).toBe('SUBSCRIPTION_NAME_TAKEN');
      const elsewhere = await create({ name: sub.name, namespace: 'team-b', filter: {}, config: { url: 'nats://x' }, type: 'nats' });
      const all = await create({ namespace: '*', name: 'everything', filter: { namespaces: ['team-a'] } });
      expect((await ctx.store.listSubscriptions()).map((s) => s.id)).toEqual([all.id, sub.id, elsewhere.id]);
      expect((await ctx.store.listSubscriptions({ namespaces: ['team-b'] })).map((s) => s.id)).toEqual([elsewhere.id]);
      expect(await ctx.store.listSubscriptions({ namespaces: [] })).toEqual([]);
      const { items } = await ctx.store.listAudit({ limit: 10, resourceId: sub.id });
      expect(items).toEqual([expect.objectContaining({ action: 'event-subscription.create', resourceType: 'event-subscription' })]);
    });

    it('pauses and resumes (resuming clears the failures), and deletes with the dead letters, once', async () => {
      const sub = await create();
      const [held] = await ctx.store.claimSubscriptions({ nodeId: 'n1', ttlMs: 60_000, limit: 10 });
      await ctx.store.advanceSubscription({ id: sub.id, nodeId: 'n1', cursor: 8, at: T0 + 1, failure: { error: 'HTTP 503', failures: 3 }, deadLetter: { ...letter(8), subscriptionId: sub.id } });
      expect(held?.id).toBe(sub.id);
      const paused = await ctx.store.setSubscriptionState({ id: sub.id, state: 'paused', at: T0 + 2, audit: audit('event-subscription.pause') });
      expect(paused).toMatchObject({ state: 'paused', failures: 3, lastError: 'HTTP 503', lastErrorAt: T0 + 1, updatedAt: T0 + 2, cursor: 8 });
      expect(await ctx.store.claimSubscriptions({ nodeId: 'n1', ttlMs: 60_000, limit: 10 }), 'a paused subscription is not held').toEqual([]);
      const resumed = await ctx.store.setSubscriptionState({ id: sub.id, state: 'active', at: T0 + 3, audit: audit('event-subscription.resume') });
      expect(resumed).toMatchObject({ state: 'active', failures: 0, lastError: 'HTTP 503', cursor: 8 });
      expect(await ctx.store.setSubscriptionState({ id: newId(), state: 'paused', at: T0, audit: audit('x') })).toBeNull();
      const remove = () => ctx.store.deleteSubscription({ id: sub.id, at: T0 + 4, audit: audit('event-subscription.delete') });
      expect(await remove()).toBe(true);
      expect(await remove()).toBe(false);
      expect(await ctx.store.getSubscription(sub.id)).toBeNull();
      expect(await ctx.store.listDeadLetters({ subscriptionId: sub.id, limit: 10 })).toEqual([]);
    });

    it('leases each active subscription to one of two nodes claiming at once, renews the holder\'s, and lets another take it once expired', async () => {
      const subs = await Promise.all(Array.from({ length: 6 }, () => create()));
      await create({ state: 'paused' });
      const [a, b] = await Promise.all(['a', 'b'].map((nodeId) => ctx.store.claimSubscriptions({ nodeId, ttlMs: 60_000, limit: 100 })));
      const ids = [...a!, ...b!].map((s) => s.id).sort();
      expect(ids, 'every active subscription, each to one node').toEqual(subs.map((s) => s.id).sort());
      for (const s of a!) expect(s).toMatchObject({ owner: 'a' });
      for (const s of b!) expect(s).toMatchObject({ owner: 'b' });
      const now = await ctx.store.now();
      for (const s of [...a!, ...b!]) expect(s.leaseExpiresAt).toBeGreaterThanOrEqual(now + 50_000);

      // The holder keeps what it holds; another node gets nothing while the leases live.
      expect((await ctx.store.claimSubscriptions({ nodeId: 'a', ttlMs: 60_000, limit: 100 })).map((s) => s.id)).toEqual(a!.map((s) => s.id));
      expect(await ctx.store.claimSubscriptions({ nodeId: 'c', ttlMs: 60_000, limit: 100 })).toEqual([]);
      // a's leases lapse (renewed with no time to live): c takes them, at most its limit.
      await ctx.store.claimSubscriptions({ nodeId: 'a', ttlMs: 0, limit: 100 });
      const taken = await ctx.store.claimSubscriptions({ nodeId: 'c', ttlMs: 60_000, limit: 2 });
      expect(taken.length).toBe(Math.min(2, a!.length));
      for (const s of taken) expect(a!.map((x) => x.id)).toContain(s.id);
      // b leaves cleanly: its subscriptions are free at once.
      await ctx.store.releaseSubscriptions({ nodeId: 'b' });
      const afterRelease = await ctx.store.claimSubscriptions({ nodeId: 'd', ttlMs: 60_000, limit: 100 });
      for (const s of b!) expect(afterRelease.map((x) => x.id)).toContain(s.id);
    });

    it('moves the cursor only forward and only for the holder of an unexpired lease', async () => {
      const sub = await create({ cursor: 10 });
      await ctx.store.claimSubscriptions({ nodeId: 'n1', ttlMs: 60_000, limit: 10 });
      expect(await ctx.store.advanceSubscription({ id: sub.id, nodeId: 'n2', cursor: 20, at: T0 }), 'not the holder').toBeNull();
      expect((await ctx.store.getSubscription(sub.id))!.cursor).toBe(10);
      expect(await ctx.store.advanceSubscription({ id: sub.id, nodeId: 'n1', cursor: 15, at: T0 })).toMatchObject({ cursor: 15, failures: 0 });
      expect(await ctx.store.advanceSubscription({ id: sub.id, nodeId: 'n1', cursor: 12, at: T0 }), 'never back').toMatchObject({ cursor: 15 });
      expect(await ctx.store.advanceSubscription({ id: sub.id, nodeId: 'n1', cursor: 15, at: T0 + 5, failure: { error: 'boom', failures: 1 } }))
        .toMatchObject({ cursor: 15, failures: 1, lastError: 'boom', lastErrorAt: T0 + 5 });
      expect(await ctx.store.advanceSubscription({ id: sub.id, nodeId: 'n1', cursor: 16, at: T0 + 6 })).toMatchObject({ cursor: 16, failures: 0, lastError: 'boom' });
      // The lease lapses: the former holder writes nothing, and the node that takes over goes on from the stored cursor.
      await ctx.store.claimSubscriptions({ nodeId: 'n1', ttlMs: 0, limit: 10 });
      expect(await ctx.store.advanceSubscription({ id: sub.id, nodeId: 'n1', cursor: 30, at: T0 }), 'an expired lease').toBeNull();
      const [taken] = await ctx.store.claimSubscriptions({ nodeId: 'n2', ttlMs: 60_000, limit: 10 });
      expect(taken).toMatchObject({ id: sub.id, owner: 'n2', cursor: 16 });
      expect(await ctx.store.advanceSubscription({ id: sub.id, nodeId: 'n1', cursor: 30, at: T0 }), 'a former holder').toBeNull();
      expect(await ctx.store.advanceSubscription({ id: newId(), nodeId: 'n2', cursor: 30, at: T0 })).toBeNull();
      // Advances racing on one subscription: the cursor ends at the highest.
      await Promise.all([40, 25, 35].map((cursor) => ctx.store.advanceSubscription({ id: sub.id, nodeId: 'n2', cursor, at: T0 })));
      expect((await ctx.store.getSubscription(sub.id))!.cursor).toBe(40);
    });

    it('stores a dead letter with the advance past it, never one behind the cursor, lists them by seq and deletes the replayed', async () => {
      const sub = await create({ cursor: 0 });
      await ctx.store.claimSubscriptions({ nodeId: 'n1', ttlMs: 60_000, limit: 10 });
      const event = { seq: 3, type: 'run.failed', namespace: 'team-a', error: 'ünïcode', at: '2026-01-01T00:00:00.000Z' };
      for (const seq of [3, 5, 9]) {
        const advanced = await ctx.store.advanceSubscription({ id: sub.id, nodeId: 'n1', cursor: seq, at: T0 + seq, deadLetter: { ...letter(seq, { event: { ...event, seq } }), subscriptionId: sub.id } });
        expect(advanced?.cursor).toBe(seq);
      }
      expect(await ctx.store.advanceSubscription({ id: sub.id, nodeId: 'n1', cursor: 9, at: T0, deadLetter: { ...letter(4), subscriptionId: sub.id } }), 'behind the cursor')
        .toMatchObject({ cursor: 9 });
      expect(await ctx.store.advanceSubscription({ id: sub.id, nodeId: 'n2', cursor: 12, at: T0, deadLetter: { ...letter(12), subscriptionId: sub.id } })).toBeNull();
      const letters = await ctx.store.listDeadLetters({ subscriptionId: sub.id, limit: 10 });
      expect(letters.map((l) => l.seq)).toEqual([3, 5, 9]);
      expect(letters[0]).toEqual({ subscriptionId: sub.id, seq: 3, event, error: 'HTTP 500', attempts: 10, at: T0 + 3 });
      expect((await ctx.store.listDeadLetters({ subscriptionId: sub.id, after: 3, limit: 1 })).map((l) => l.seq)).toEqual([5]);
      expect(await ctx.store.deleteDeadLetters({ subscriptionId: sub.id, seqs: [3, 9, 100] })).toBe(2);
      expect(await ctx.store.deleteDeadLetters({ subscriptionId: sub.id, seqs: [] })).toBe(0);
      expect((await ctx.store.listDeadLetters({ subscriptionId: sub.id, limit: 10 })).map((l) => l.seq)).toEqual([5]);
    });
  });
}
