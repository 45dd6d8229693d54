import { describe, expect, it } from 'vitest';
import { newId } from '../../core/ids.ts';
import type { AlertChange, AlertSubject, NotificationDraft, NotificationTarget } from '../alert-incidents.ts';
import type { Store } from '../store.ts';
import { errorCode, T0 } from './fixtures.ts';

type Fire = Extract<AlertChange, { kind: 'fire' }>;
type Clear = Extract<AlertChange, { kind: 'clear' }>;

const RULE = '00000000-0000-7000-8000-0000000000a1';
const iso = (ms: number): string => new Date(ms).toISOString();
const subject = (id = 'task-1', name = 'nightly-report'): AlertSubject => ({ kind: 'task', id, name });
const targets = (...ids: string[]): NotificationTarget[] => ids.map((channelId) => ({ channelId }));

function draft(overrides: Partial<NotificationDraft> = {}): NotificationDraft {
  return {
    state: 'firing', severity: 'critical', rule: { name: 'report fails', on: 'failure' }, subject: subject(), namespace: 'team-a',
    summary: 'nightly-report failed', details: { error: 'exit 1 — ünïcode', runId: 'r-1' }, at: iso(T0), url: 'http://console/incidents/x', ...overrides,
  };
}

function fire(overrides: Partial<Fire> = {}): Fire {
  return {
    kind: 'fire', ruleId: RULE, ruleName: 'report fails', on: 'failure', namespace: 'team-a', subject: subject(), severity: 'critical',
    summary: 'nightly-report failed', details: { error: 'exit 1 — ünïcode', runId: 'r-1', nested: { count: 3, rate: 0.25, list: [1, 'two', null] } },
    targets: targets('ch-1', 'ch-2'), notification: draft(), ...overrides,
  };
}

function clear(overrides: Partial<Clear> = {}): Clear {
  return {
    kind: 'clear', ruleId: RULE, subject: subject(), summary: 'nightly-report succeeded', details: { runId: 'r-2' }, targets: targets('ch-1'),
    notification: { summary: 'nightly-report succeeded', details: { runId: 'r-2' }, at: iso(T0 + 60_000) }, ...overrides,
  };
}

export function describeAlertIncidents(ctx: { readonly store: Store }): void {
  describe('alert incidents', () => {
    /** Holds the evaluator's lease as `owner` (cursor from `cursor` the first time) and returns the cursor. */
    async function lead(owner = 'node-a', cursor = 0): Promise<number> {
      return (await ctx.store.claimAlertEvaluator({ owner, ttlMs: 60_000, initialCursor: cursor }))!.cursor;
    }
    /** Applies `changes` as the lease holder `node-a`, at the current cursor, moving it by one. */
    async function apply(changes: AlertChange[], at = T0) {
      const from = await lead();
      return ctx.store.applyAlertChanges({ owner: 'node-a', from, to: from + 1, at, changes });
    }

    it('leases the evaluator to one node at a time by the store clock, and keeps the cursor through takeovers', async () => {
      const now = await ctx.store.now();
      const state = await ctx.store.claimAlertEvaluator({ owner: 'a', ttlMs: 60_000, initialCursor: 42 });
      expect(state).toMatchObject({ cursor: 42, checkedThrough: null, owner: 'a' });
      expect(state!.leaseExpiresAt).toBeGreaterThanOrEqual(now + 50_000);
      expect(await ctx.store.claimAlertEvaluator({ owner: 'b', ttlMs: 60_000, initialCursor: 0 }), 'held by a').toBeNull();
      expect(await ctx.store.claimAlertEvaluator({ owner: 'a', ttlMs: 60_000, initialCursor: 0 }), 'renewed').toMatchObject({ cursor: 42, owner: 'a' });
      expect((await ctx.store.applyAlertChanges({ owner: 'a', from: 42, to: 50, at: T0, changes: [] })).applied).toBe(true);
      // a's lease lapses (renewed with no time to live): b takes over where a got to.
      await ctx.store.claimAlertEvaluator({ owner: 'a', ttlMs: 0, initialCursor: 0 });
      expect((await ctx.store.applyAlertChanges({ owner: 'a', from: 50, to: 60, at: T0, changes: [] })).applied, 'an expired lease').toBe(false);
      expect(await ctx.store.claimAlertEvaluator({ owner: 'b', ttlMs: 60_000, initialCursor: 0 })).toMatchObject({ cursor: 50, owner: 'b' });
      expect((await ctx.store.applyAlertChanges({ owner: 'a', from: 50, to: 60, at: T0, changes: [] })).applied, 'a former holder').toBe(false);
      await ctx.store.releaseAlertEvaluator({ owner: 'a' });
      expect(await ctx.store.claimAlertEvaluator({ owner: 'c', ttlMs: 60_000, initialCursor: 0 }), 'a release by another does nothing').toBeNull();
      await ctx.store.releaseAlertEvaluator({ owner: 'b' });
      expect(await ctx.store.claimAlertEvaluator({ owner: 'c', ttlMs: 60_000, initialCursor: 0 })).toMatchObject({ cursor: 50, owner: 'c' });
    });

    it('applies changes only for the holder at the cursor `from`, moves the cursor and sets checkedThrough with them', async () => {
      expect(await ctx.store.applyAlertChanges({ owner: 'node-a', from: 0, to: 5, at: T0, changes: [fire()] }), 'no state yet')
        .toEqual({ applied: false, opened: [], resolved: [] });
      await lead('node-a', 10);
      for (const wrong of [{ owner: 'node-b', from: 10 }, { owner: 'node-a', from: 9 }]) {
        expect(await ctx.store.applyAlertChanges({ ...wrong, to: 20, at: T0, changes: [fire()] })).toEqual({ applied: false, opened: [], resolved: [] });
      }
      expect(await ctx.store.listUnresolvedIncidents(), 'nothing written').toEqual([]);
      const applied = await ctx.store.applyAlertChanges({ owner: 'node-a', from: 10, to: 20, at: T0, changes: [] });
      expect(applied).toEqual({ applied: true, opened: [], resolved: [] });
      expect(await ctx.store.applyAlertChanges({ owner: 'node-a', from: 20, to: 20, at: T0, changes: [], checkedThrough: T0 - 1000 })).toMatchObject({ applied: true });
      expect(await lead()).toBe(20);
      expect(await ctx.store.claimAlertEvaluator({ owner: 'node-a', ttlMs: 60_000, initialCursor: 0 })).toMatchObject({ cursor: 20, checkedThrough: T0 - 1000 });
      await ctx.store.applyAlertChanges({ owner: 'node-a', from: 20, to: 21, at: T0, changes: [] });
      expect(await ctx.store.claimAlertEvaluator({ owner: 'node-a', ttlMs: 60_000, initialCursor: 0 }), 'kept when not given')
        .toMatchObject({ cursor: 21, checkedThrough: T0 - 1000 });
    });

    it('opens one incident per rule and subject with a firing notification per target, its payload the draft with its ids', async () => {
      const change = fire();
      const { applied, opened } = await apply([change, fire({ summary: 'again' })]);
      expect(applied).toBe(true);
      expect(opened).toHaveLength(1);
      const incident = opened[0]!;
      expect(incident).toEqual({
        id: expect.any(String), ruleId: RULE, ruleName: 'report fails', on: 'failure', namespace: 'team-a', subject: subject(), state: 'open',
        severity: 'critical', summary: 'nightly-report failed', details: change.details, openedAt: T0, acknowledgedAt: null, acknowledgedBy: null,
        resolvedAt: null, resolvedBy: null, lastNotifiedAt: T0, updatedAt: T0,
      });
      expect(await ctx.store.getIncident(incident.id)).toEqual(incident);
      expect(await ctx.store.getIncident(newId())).toBeNull();
      const notifications = await ctx.store.listIncidentNotifications({ incidentId: incident.id });
      expect(notifications.map((n) => n.channelId).sort()).toEqual(['ch-1', 'ch-2']);
      for (const n of notifications) {
        expect(n).toEqual({
          id: expect.any(String), incidentId: incident.id, channelId: n.channelId, kind: 'firing', state: 'pending',
          payload: { ...change.notification, id: n.id, incidentId: incident.id }, attempts: 0, nextAttemptAt: T0, owner: null,
          leaseExpiresAt: null, lastError: null, createdAt: T0, sentAt: null,
        });
      }
      expect(notifications[0]!.id).not.toBe(notifications[1]!.id);
      // Later fires of the open pair change nothing; another subject or rule opens its own.
      const later = await apply([fire({ summary: 'still failing' }), fire({ subject: subject('task-2', 'other') }), fire({ ruleId: 'rule-2' })], T0 + 5);
      expect(later.opened.map((i) => [i.ruleId, i.subject.id])).toEqual([[RULE, 'task-2'], ['rule-2', 'task-1']]);
      expect(await ctx.store.getIncident(incident.id)).toEqual(incident);
      expect(await ctx.store.listIncidentNotifications({ incidentId: incident.id })).toHaveLength(2);
      // Silenced (no targets): opened, nothing to send, never notified.
      const silenced = await apply([fire({ subject: subject('task-3'), targets: [] })]);
      expect(silenced.opened[0]).toMatchObject({ lastNotifiedAt: null, state: 'open' });
      expect(await ctx.store.listIncidentNotifications({ incidentId: silenced.opened[0]!.id })).toEqual([]);
    });

    it('resolves the open or acknowledged incident of a pair when it clears, with a resolved notification built from the incident', async () => {
      const { opened: [incident] } = await apply([fire()]);
      expect(await apply([clear({ subject: subject('task-9') })]), 'no incident for the pair').toEqual({ applied: true, opened: [], resolved: [] });
      const { resolved } = await apply([clear()], T0 + 60_000);
      expect(resolved).toEqual([{
        ...incident, state: 'resolved', resolvedAt: T0 + 60_000, resolvedBy: 'condition', updatedAt: T0 + 60_000,
      }]);
      const sent = (await ctx.store.listIncidentNotifications({ incidentId: incident!.id })).filter((n) => n.kind === 'resolved');
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({ channelId: 'ch-1', state: 'pending', createdAt: T0 + 60_000, nextAttemptAt: T0 + 60_000 });
      expect(sent[0]!.payload).toEqual({
        id: sent[0]!.id, incidentId: incident!.id, state: 'resolved', severity: 'critical', rule: { name: 'report fails', on: 'failure' },
        subject: subject(), namespace: 'team-a', summary: 'nightly-report succeeded', details: { runId: 'r-2' }, at: iso(T0 + 60_000),
      });
      expect(await apply([clear()]), 'resolved already').toMatchObject({ resolved: [] });
      // The pair may open again once resolved; an acknowledged incident is resolved by a clear too.
      const { opened: [again] } = await apply([fire()], T0 + 120_000);
      expect(again!.id).not.toBe(incident!.id);
      expect(await ctx.store.acknowledgeIncident({ id: again!.id, actor: 'ops', at: T0 + 121_000 })).toMatchObject({ state: 'acknowledged' });
      expect(await apply([fire()]), 'acknowledged: still unresolved').toMatchObject({ opened: [] });
      expect(await apply([clear(), fire()], T0 + 130_000), 'in order: resolved, then opened')
        .toMatchObject({ resolved: [{ id: again!.id, state: 'resolved', acknowledgedBy: 'ops' }], opened: [{ state: 'open', openedAt: T0 + 130_000 }] });
    });

    it('applies an evaluation once: of two applies from one cursor, one; of two checks at once, one incident per pair', async () => {
      const from = await lead();
      const race = await Promise.all([1, 2].map(() => ctx.store.applyAlertChanges({ owner: 'node-a', from, to: from + 10, at: T0, changes: [fire()] })));
      expect(race.map((r) => r.applied).sort()).toEqual([false, true]);
      expect(race.flatMap((r) => r.opened)).toHaveLength(1);
      // Periodic checks (to = from) are both applied, and open the pair once.
      const pair = fire({ subject: subject('task-7') });
      const checks = await Promise.all([1, 2].map(() => ctx.store.applyAlertChanges({ owner: 'node-a', from: from + 10, to: from + 10, at: T0, changes: [pair] })));
      expect(checks.map((r) => r.applied)).toEqual([true, true]);
      const opened = checks.flatMap((r) => r.opened);
      expect(opened).toHaveLength(1);
      expect(await ctx.store.listIncidentNotifications({ incidentId: opened[0]!.id })).toHaveLength(2);
      expect((await ctx.store.listUnresolvedIncidents()).map((i) => i.subject.id)).toEqual(['task-1', 'task-7']);
    });

    it('acknowledges an open incident once and resolves one by hand once, with a resolved notification per target', async () => {
      const { opened: [incident, other] } = await apply([fire(), fire({ subject: subject('task-2') })]);
      const acked = await ctx.store.acknowledgeIncident({ id: incident!.id, actor: 'ops', at: T0 + 10 });
      expect(acked).toEqual({ ...incident, state: 'acknowledged', acknowledgedAt: T0 + 10, acknowledgedBy: 'ops', updatedAt: T0 + 10 });
      expect(await ctx.store.acknowledgeIncident({ id: incident!.id, actor: 'ops', at: T0 + 11 }), 'acknowledged already').toBeNull();
      expect(await ctx.store.acknowledgeIncident({ id: newId(), actor: 'ops', at: T0 })).toBeNull();
      const notification = { summary: 'resolved by ops', details: {}, at: iso(T0 + 20) };
      const resolve = (id: string) => ctx.store.resolveIncident({ id, actor: 'ops', at: T0 + 20, targets: targets('ch-3', 'ch-4'), notification });
      expect(await resolve(incident!.id)).toEqual({ ...acked, state: 'resolved', resolvedAt: T0 + 20, resolvedBy: 'ops', updatedAt: T0 + 20 });
      expect(await resolve(incident!.id), 'resolved already').toBeNull();
      expect(await resolve(newId())).toBeNull();
      expect(await ctx.store.acknowledgeIncident({ id: incident!.id, actor: 'ops', at: T0 + 21 }), 'resolved').toBeNull();
      const resolved = (await ctx.store.listIncidentNotifications({ incidentId: incident!.id })).filter((n) => n.kind === 'resolved');
      expect(resolved.map((n) => n.channelId).sort()).toEqual(['ch-3', 'ch-4']);
      expect(resolved[0]!.payload).toMatchObject({ state: 'resolved', summary: 'resolved by ops', subject: subject(), namespace: 'team-a', id: resolved[0]!.id });
      // Racing resolves: one wins.
      const both = await Promise.all([resolve(other!.id), resolve(other!.id)]);
      expect(both.filter((r) => r !== null)).toHaveLength(1);
      expect((await ctx.store.listIncidentNotifications({ incidentId: other!.id })).filter((n) => n.kind === 'resolved')).toHaveLength(2);
      expect(await ctx.store.listUnresolvedIncidents()).toEqual([]);
    });

    it('repeats an incident still open once per interval, counting from its last notification or its opening', async () => {
      const { opened: [notified, silenced, acked] } = await apply([
        fire(), fire({ subject: subject('task-2'), targets: [] }), fire({ subject: subject('task-3') }),
      ], T0);
      await ctx.store.acknowledgeIncident({ id: acked!.id, actor: 'ops', at: T0 + 1 });
      const item = (incidentId: string, notifiedBefore: number) => ({ incidentId, notifiedBefore, targets: targets('ch-1'), notification: draft({ state: 'repeat' }) });
      const repeat = (notifiedBefore: number, at: number) => ctx.store.repeatAlertIncidents({
        items: [item(acked!.id, notifiedBefore), item(silenced!.id, notifiedBefore), item(notified!.id, notifiedBefore), item(newId(), notifiedBefore)], at,
      });
      expect(await repeat(T0 - 1, T0 + 100), 'not due').toEqual([]);
      expect(await repeat(T0, T0 + 100)).toEqual([silenced!.id, notified!.id]);
      expect(await repeat(T0, T0 + 200), 'once per interval').toEqual([]);
      expect((await ctx.store.getIncident(notified!.id))!.lastNotifiedAt).toBe(T0 + 100);
      expect((await ctx.store.getIncident(acked!.id))!.lastNotifiedAt).toBe(T0);
      const repeats = (await ctx.store.listIncidentNotifications({ incidentId: notified!.id })).filter((n) => n.kind === 'repeat');
      expect(repeats).toHaveLength(1);
      expect(repeats[0]).toMatchObject({ channelId: 'ch-1', createdAt: T0 + 100, nextAttemptAt: T0 + 100 });
      expect(repeats[0]!.payload).toEqual({ ...draft({ state: 'repeat' }), id: repeats[0]!.id, incidentId: notified!.id });
      // Repeaters racing: one repeat.
      const raced = await Promise.all([repeat(T0 + 100, T0 + 300), repeat(T0 + 100, T0 + 300)]);
      expect(raced.flat().sort()).toEqual([silenced!.id, notified!.id].sort());
      expect((await ctx.store.listIncidentNotifications({ incidentId: notified!.id })).filter((n) => n.kind === 'repeat')).toHaveLength(2);
    });

    it('leases due notifications to one claimer at a time, oldest first, and records a send only for their holder', async () => {
      const { opened } = await apply([fire(), fire({ subject: subject('task-2'), targets: targets('ch-1', 'ch-2', 'ch-3') })], T0);
      await apply([fire({ subject: subject('task-3'), targets: targets('ch-9') })], T0 + 1000);
      expect(opened).toHaveLength(2);
      const now = await ctx.store.now();
      const [a, b] = await Promise.all(['a', 'b'].map((owner) => ctx.store.claimAlertNotifications({ owner, now: T0, ttlMs: 60_000, limit: 3 })));
      expect([...a!, ...b!], 'the five due, each to one claimer').toHaveLength(5);
      expect(new Set([...a!, ...b!].map((n) => n.id)).size).toBe(5);
      for (const n of [...a!, ...b!]) expect(n).toMatchObject({ nextAttemptAt: T0, state: 'pending' });
      for (const n of a!) expect(n.owner).toBe('a');
      for (const n of a!) expect(n.leaseExpiresAt).toBeGreaterThanOrEqual(now + 50_000);
      expect(await ctx.store.claimAlertNotifications({ owner: 'c', now: T0 + 999, ttlMs: 60_000, limit: 10 }), 'held, or not due').toEqual([]);
      const [later] = await ctx.store.claimAlertNotifications({ owner: 'c', now: T0 + 1000, ttlMs: 60_000, limit: 10 });
      expect(later).toMatchObject({ channelId: 'ch-9', owner: 'c' });

      const [first, second] = [...a!, ...b!];
      const finish = (id: string, owner: string, outcome: Parameters<Store['finishAlertNotification']>[0]['outcome']) =>
        ctx.store.finishAlertNotification({ id, owner, at: T0 + 2000, outcome });
      const get = async (id: string) => (await Promise.all(opened.map((i) => ctx.store.listIncidentNotifications({ incidentId: i.id })))).flat().find((n) => n.id === id)!;
      expect(await finish(first!.id, 'someone-else', { kind: 'sent' })).toBe(false);
      expect(await finish(first!.id, first!.owner!, { kind: 'sent' })).toBe(true);
      expect(await finish(first!.id, first!.owner!, { kind: 'sent' }), 'recorded already').toBe(false);
      expect(await get(first!.id)).toMatchObject({ state: 'sent', sentAt: T0 + 2000, attempts: 1, owner: null, leaseExpiresAt: null, lastError: null });
      expect(await finish(second!.id, second!.owner!, { kind: 'retry', nextAttemptAt: T0 + 5000, error: 'HTTP 503' })).toBe(true);
      expect(await get(second!.id)).toMatchObject({ state: 'pending', nextAttemptAt: T0 + 5000, attempts: 1, lastError: 'HTTP 503', owner: null, sentAt: null });
      expect(await ctx.store.claimAlertNotifications({ owner: 'd', now: T0 + 4999, ttlMs: 60_000, limit: 10 }), 'retried later').toEqual([]);
      const [retried] = await ctx.store.claimAlertNotifications({ owner: 'd', now: T0 + 5000, ttlMs: 60_000, limit: 10 });
      expect(retried).toMatchObject({ id: second!.id, owner: 'd', attempts: 1 });
      expect(await finish(second!.id, 'd', { kind: 'failed', error: 'HTTP 400' })).toBe(true);
      expect(await get(second!.id)).toMatchObject({ state: 'failed', attempts: 2, lastError: 'HTTP 400', owner: null });
      expect(await ctx.store.claimAlertNotifications({ owner: 'd', now: T0 + 99_999, ttlMs: 60_000, limit: 10 }), 'failed: given up').toEqual([]);
    });

    it('lets the holder of a lapsed lease record while nobody took it over, and only the new holder once taken over', async () => {
      const { opened: [incident] } = await apply([fire({ targets: targets('ch-1', 'ch-2') })]);
      const held = await ctx.store.claimAlertNotifications({ owner: 'a', now: T0, ttlMs: 0, limit: 10 });
      expect(held.map((n) => n.owner)).toEqual(['a', 'a']);
      const [taken] = await ctx.store.claimAlertNotifications({ owner: 'b', now: T0, ttlMs: 60_000, limit: 1 });
      expect(taken).toMatchObject({ id: held[0]!.id, owner: 'b', payload: held[0]!.payload });
      const finish = (id: string, owner: string) => ctx.store.finishAlertNotification({ id, owner, at: T0 + 1, outcome: { kind: 'sent' } });
      expect(await finish(held[0]!.id, 'a'), 'taken over').toBe(false);
      expect(await finish(held[0]!.id, 'b')).toBe(true);
      expect(await finish(held[1]!.id, 'a'), 'lapsed, not taken over').toBe(true);
      const stored = await ctx.store.listIncidentNotifications({ incidentId: incident!.id });
      expect(stored.map((n) => [n.state, n.attempts, n.sentAt])).toEqual([['sent', 1, T0 + 1], ['sent', 1, T0 + 1]]);
    });

    it('lists incidents newest first by page, by namespaces, states and rule', async () => {
      const at = [T0 + 3, T0 + 1, T0 + 3, T0 + 2, T0 + 5];
      const ids: string[] = [];
      for (const [i, openedAt] of at.entries()) {
        const { opened } = await apply([fire({ subject: subject(`task-${i}`), namespace: i % 2 === 0 ? 'team-a' : 'team-b', ruleId: i === 4 ? 'rule-2' : RULE })], openedAt);
        ids.push(opened[0]!.id);
      }
      await ctx.store.acknowledgeIncident({ id: ids[2]!, actor: 'ops', at: T0 + 9 });
      await ctx.store.resolveIncident({ id: ids[3]!, actor: 'ops', at: T0 + 9, targets: [], notification: { summary: 'x', details: {}, at: iso(T0) } });
      // Newest first; of two opened in the same millisecond, the later id first.
      const newest = [ids[4], ids[2], ids[0], ids[3], ids[1]];
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<Store['listIncidents']>> = await ctx.store.listIncidents({ namespaces: null, limit: 2, cursor });
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((i) => i.id));
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(seen).toEqual(newest);
      const list = async (p: Partial<Parameters<Store['listIncidents']>[0]>) => (await ctx.store.listIncidents({ namespaces: null, limit: 100, ...p })).items.map((i) => i.id);
      expect(await list({ namespaces: ['*'] })).toEqual(newest);
      expect(await list({ namespaces: ['team-b'] })).toEqual([ids[3], ids[1]]);
      expect(await list({ namespaces: [] })).toEqual([]);
      expect(await list({ namespaces: ['team-a', 'team-b'], states: ['open'] })).toEqual(newest.filter((id) => id !== ids[2] && id !== ids[3]));
      expect(await list({ states: ['acknowledged', 'resolved'] })).toEqual([ids[2], ids[3]]);
      expect(await list({ states: [] })).toEqual([]);
      expect(await list({ ruleId: 'rule-2' })).toEqual([ids[4]]);
      expect(await list({ ruleId: RULE, namespaces: ['team-a'], limit: 1 })).toHaveLength(1);
      expect(await errorCode(ctx.store.listIncidents({ namespaces: null, limit: 2, cursor: 'not-a-cursor' }))).toBe('INVALID_CURSOR');
      expect(await errorCode(ctx.store.listIncidents({ namespaces: null, limit: 0 }))).toBe('VALIDATION_FAILED');
    });
  });
}
