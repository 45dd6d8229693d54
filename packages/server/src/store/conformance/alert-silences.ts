import { describe, expect, it } from 'vitest';
import { newId } from '../../core/ids.ts';
import type { AlertSilenceRecord } from '../alert-silences.ts';
import { audit, errorCode, FAR_FUTURE, MINUTE, T0 } from './fixtures.ts';
import type { Store } from '../store.ts';

const HOUR = 60 * MINUTE;

function silence(overrides: Partial<AlertSilenceRecord> = {}): AlertSilenceRecord {
  return {
    id: newId(), namespace: 'team-a', scope: { labels: { team: 'data', tier: 'gold' } }, ruleIds: null, startsAt: T0, endsAt: T0 + 2 * HOUR,
    comment: 'database upgrade, change 42 — 维护', createdBy: 'token:tester', createdAt: T0, updatedAt: T0, ...overrides,
  };
}

/** Store verbs of `store/alert-silences.ts`: round trips, the listing's order, pages and filters, the window's bounds, updates and audit. */
export function describeAlertSilences(ctx: { readonly store: Store }): void {
  describe('alert silences', () => {
    const create = (overrides: Partial<AlertSilenceRecord> = {}) =>
      ctx.store.createAlertSilence({ silence: silence(overrides), audit: audit('alert-silence.create') });

    it('stores each kind of scope as given, rule ids or none, far-future ends, and audits', async () => {
      const given = [
        silence({ scope: { taskId: newId() }, ruleIds: [newId(), newId()] }),
        silence({ scope: { workflowId: newId() }, startsAt: T0 + 1 }),
        silence({ scope: { namespace: 'team-a' }, startsAt: T0 + 2, endsAt: FAR_FUTURE }),
        silence({ startsAt: T0 + 3, endsAt: T0 + 3 }),
      ];
      for (const s of given) expect(await ctx.store.createAlertSilence({ silence: s, audit: audit('alert-silence.create') })).toEqual(s);
      for (const s of given) expect(await ctx.store.getAlertSilence(s.id)).toEqual(s);
      expect(await ctx.store.getAlertSilence(newId())).toBeNull();
      expect(await errorCode(create({ startsAt: T0, endsAt: T0 - 1 }))).toBe('VALIDATION_FAILED');
      const { items } = await ctx.store.listAudit({ limit: 10, resourceId: given[0]!.id });
      expect(items).toEqual([expect.objectContaining({ action: 'alert-silence.create', resourceType: 'alert-silence', actor: 'tester' })]);
    });

    it('lists the newest start first, a page at a time, by namespaces, namespace and the instant they are in force', async () => {
      const a1 = await create({ startsAt: T0, endsAt: T0 + HOUR });
      const a2 = await create({ startsAt: T0 + HOUR, endsAt: T0 + 3 * HOUR });
      const b1 = await create({ namespace: 'team-b', scope: { namespace: 'team-b' }, startsAt: T0 + 30 * MINUTE, endsAt: T0 + 2 * HOUR });
      const late = { startsAt: T0 + 2 * HOUR, endsAt: T0 + 4 * HOUR };
      const [x, y] = [await create(late), await create(late)].sort((p, q) => (p.id < q.id ? 1 : -1)) as [AlertSilenceRecord, AlertSilenceRecord];

      const first = await ctx.store.listAlertSilences({ limit: 2 });
      expect(first.items).toEqual([x, y]);
      const second = await ctx.store.listAlertSilences({ limit: 2, cursor: first.nextCursor });
      expect(second.items).toEqual([a2, b1]);
      expect(await ctx.store.listAlertSilences({ limit: 2, cursor: second.nextCursor })).toEqual({ items: [a1], nextCursor: null });

      const ids = async (p: Parameters<Store['listAlertSilences']>[0]) => (await ctx.store.listAlertSilences(p)).items.map((s) => s.id);
      expect(await ids({ limit: 10, namespaces: ['team-b'] })).toEqual([b1.id]);
      expect(await ids({ limit: 10, namespaces: ['*'], namespace: 'team-b' })).toEqual([b1.id]);
      expect(await ids({ limit: 10, namespaces: [] })).toEqual([]);
      expect(await ids({ limit: 10, activeAt: T0 + 45 * MINUTE })).toEqual([b1.id, a1.id]);
      // [startsAt, endsAt): in force from its start, no longer at its end.
      expect(await ids({ limit: 10, activeAt: T0 + HOUR })).toEqual([a2.id, b1.id]);
      expect(await ids({ limit: 10, activeAt: T0 + HOUR, namespace: 'team-a' })).toEqual([a2.id]);
      expect(await ids({ limit: 10, activeAt: T0 - 1 })).toEqual([]);
      const active = await ctx.store.listAlertSilences({ limit: 1, activeAt: T0 + 2 * HOUR + 1 });
      expect(active.items.map((s) => s.id)).toEqual([x.id]);
      expect(await ids({ limit: 10, activeAt: T0 + 2 * HOUR + 1, cursor: active.nextCursor })).toEqual([y.id, a2.id]);
      expect(await errorCode(ctx.store.listAlertSilences({ limit: 10, cursor: 'bogus' }))).toBe('INVALID_CURSOR');
    });

    it('lists what is in force at an instant in every namespace, by start, for the evaluator', async () => {
      const a = await create({ startsAt: T0 + MINUTE, endsAt: T0 + HOUR });
      const b = await create({ namespace: 'team-b', scope: { taskId: 't-1' }, startsAt: T0, endsAt: T0 + 2 * MINUTE });
      await create({ startsAt: T0 + HOUR, endsAt: T0 + 2 * HOUR });
      await create({ startsAt: T0 + MINUTE, endsAt: T0 + MINUTE });
      expect(await ctx.store.listActiveAlertSilences({ at: T0 + MINUTE })).toEqual([b, a]);
      expect(await ctx.store.listActiveAlertSilences({ at: T0 + 2 * MINUTE })).toEqual([a]);
      expect(await ctx.store.listActiveAlertSilences({ at: T0 - 1 })).toEqual([]);
      expect((await ctx.store.listActiveAlertSilences({ at: T0 + HOUR })).map((s) => s.startsAt)).toEqual([T0 + HOUR]);
    });

    it('changes the end and the comment (ending early, ending before it started), refuses an end before the start, deletes, and audits', async () => {
      const s = await create({ startsAt: T0 + HOUR, endsAt: T0 + 3 * HOUR });
      const later = await ctx.store.updateAlertSilence({ id: s.id, changes: { endsAt: T0 + 5 * HOUR, comment: 'longer' }, at: T0 + 10, audit: audit('alert-silence.update') });
      expect(later).toEqual({ ...s, endsAt: T0 + 5 * HOUR, comment: 'longer', updatedAt: T0 + 10 });
      const ended = await ctx.store.updateAlertSilence({ id: s.id, changes: { endsAt: T0 + HOUR, comment: 'longer' }, at: T0 + 20, audit: audit('alert-silence.expire') });
      expect(ended).toMatchObject({ startsAt: T0 + HOUR, endsAt: T0 + HOUR, updatedAt: T0 + 20 });
      expect(await ctx.store.listActiveAlertSilences({ at: T0 + HOUR })).toEqual([]);
      expect(await errorCode(ctx.store.updateAlertSilence({ id: s.id, changes: { endsAt: T0, comment: 'x' }, at: T0, audit: audit('x') }))).toBe('VALIDATION_FAILED');
      expect(await ctx.store.getAlertSilence(s.id)).toEqual(ended);
      expect(await ctx.store.updateAlertSilence({ id: newId(), changes: { endsAt: T0, comment: 'x' }, at: T0, audit: audit('x') })).toBeNull();

      expect(await ctx.store.deleteAlertSilence({ id: s.id, at: T0 + 30, audit: audit('alert-silence.delete') })).toBe(true);
      expect(await ctx.store.deleteAlertSilence({ id: s.id, at: T0 + 30, audit: audit('alert-silence.delete') })).toBe(false);
      expect(await ctx.store.getAlertSilence(s.id)).toBeNull();
      const { items } = await ctx.store.listAudit({ limit: 10, resourceId: s.id });
      expect(items.map((e) => e.action)).toEqual(['alert-silence.delete', 'alert-silence.expire', 'alert-silence.update', 'alert-silence.create']);
    });
  });
}
