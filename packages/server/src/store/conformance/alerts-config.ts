import { describe, expect, it } from 'vitest';
import { newId } from '../../core/ids.ts';
import type { AlertChannelRecord, AlertRuleRecord } from '../alerts-config.ts';
import type { Store } from '../store.ts';
import { audit, errorCode, T0 } from './fixtures.ts';

function channel(overrides: Partial<AlertChannelRecord> = {}): AlertChannelRecord {
  return {
    id: newId(), namespace: 'team-a', name: `ch-${newId().slice(-8)}`, type: 'webhook',
    config: { url: 'http://127.0.0.1:9000/hook', secret: 's3cret-0123456789', headers: { 'x-team': 'é' }, timeoutMs: 10_000 },
    locale: 'zh', description: 'ops on call', lastError: null, lastErrorAt: null, lastSentAt: null, createdAt: T0, updatedAt: T0, ...overrides,
  };
}

function rule(overrides: Partial<AlertRuleRecord> = {}): AlertRuleRecord {
  return {
    id: newId(), namespace: 'team-a', name: `rule-${newId().slice(-8)}`, on: 'failure-rate', scope: { labels: { team: 'data', tier: 'gold' } },
    params: { rate: 0.25, windowMs: 3_600_000, minRuns: 5 }, severity: 'critical', channels: [], repeatIntervalMs: 1_800_000, sendResolved: false,
    enabled: true, description: null, revision: 1, createdAt: T0, updatedAt: T0, ...overrides,
  };
}

/** What an update may change of a rule. */
function changesOf(r: AlertRuleRecord): Omit<AlertRuleRecord, 'id' | 'namespace' | 'revision' | 'createdAt' | 'updatedAt'> {
  const { id: _id, namespace: _ns, revision: _rev, createdAt: _c, updatedAt: _u, ...changes } = r;
  return changes;
}

export function describeAlertConfig(ctx: { readonly store: Store }): void {
  describe('alert channels and rules', () => {
    const createChannel = (overrides: Partial<AlertChannelRecord> = {}) =>
      ctx.store.createAlertChannel({ channel: channel(overrides), audit: audit('alert-channel.create') });
    const createRule = (overrides: Partial<AlertRuleRecord> = {}) => ctx.store.createAlertRule({ rule: rule(overrides), audit: audit('alert-rule.create') });

    it('stores a channel as given, finds it by name, refuses its name twice in a namespace, lists by page, and audits', async () => {
      const ops = channel({ name: 'ops' });
      expect(await ctx.store.createAlertChannel({ channel: ops, audit: audit('alert-channel.create') })).toEqual(ops);
      expect(await ctx.store.getAlertChannel(ops.id)).toEqual(ops);
      expect(await ctx.store.getAlertChannel(newId())).toBeNull();
      expect(await errorCode(createChannel({ name: 'ops' }))).toBe('ALERT_CHANNEL_NAME_TAKEN');
      const mail = await createChannel({ name: 'mail', type: 'email', locale: 'en', description: null, config: { host: 'smtp.example.com', to: ['a@example.com'] } });
      const elsewhere = await createChannel({ name: 'ops', namespace: 'team-b' });
      expect(await ctx.store.getAlertChannelsByName({ namespace: 'team-a', names: ['ops', 'mail', 'missing'] })).toEqual([mail, ops]);
      expect(await ctx.store.getAlertChannelsByName({ namespace: 'team-a', names: [] })).toEqual([]);

      const first = await ctx.store.listAlertChannels({ limit: 2 });
      expect(first.items.map((c) => c.id)).toEqual([mail.id, ops.id]);
      const second = await ctx.store.listAlertChannels({ limit: 2, cursor: first.nextCursor });
      expect(second).toEqual({ items: [elsewhere], nextCursor: null });
      expect((await ctx.store.listAlertChannels({ limit: 10, namespaces: ['team-b'] })).items).toEqual([elsewhere]);
      expect((await ctx.store.listAlertChannels({ limit: 10, namespace: 'team-a', namespaces: ['*'] })).items.map((c) => c.name)).toEqual(['mail', 'ops']);
      expect((await ctx.store.listAlertChannels({ limit: 10, namespaces: [] })).items).toEqual([]);
      expect(await errorCode(ctx.store.listAlertChannels({ limit: 10, cursor: 'bogus' }))).toBe('INVALID_CURSOR');
      const { items } = await ctx.store.listAudit({ limit: 10, resourceId: ops.id });
      expect(items).toEqual([expect.objectContaining({ action: 'alert-channel.create', resourceType: 'alert-channel' })]);
    });

    it('updates a channel (the send results stay), refuses a name taken, and records send results, newest only', async () => {
      const ops = await createChannel({ name: 'ops' });
      await createChannel({ name: 'taken' });
      await ctx.store.recordAlertChannelResult({ id: ops.id, at: T0 + 10, error: null });
      await ctx.store.recordAlertChannelResult({ id: ops.id, at: T0 + 5, error: null });
      await ctx.store.recordAlertChannelResult({ id: ops.id, at: T0 + 20, error: 'HTTP 500 from http://127.0.0.1:9000/hook' });
      await ctx.store.recordAlertChannelResult({ id: ops.id, at: T0 + 15, error: 'older' });
      await ctx.store.recordAlertChannelResult({ id: newId(), at: T0, error: null });
      expect(await ctx.store.getAlertChannel(ops.id)).toMatchObject({ lastSentAt: T0 + 10, lastError: 'HTTP 500 from http://127.0.0.1:9000/hook', lastErrorAt: T0 + 20 });
      await ctx.store.recordAlertChannelResult({ id: ops.id, at: T0 + 30, error: null });

      const changes = { name: 'ops-slack', type: 'slack' as const, config: { url: 'https://hooks.slack.com/services/T/B/X', timeoutMs: 5000 }, locale: 'en' as const, description: null };
      const updated = await ctx.store.updateAlertChannel({ id: ops.id, changes, at: T0 + 40, audit: audit('alert-channel.update') });
      expect(updated).toEqual({ ...ops, ...changes, lastSentAt: T0 + 30, lastError: 'HTTP 500 from http://127.0.0.1:9000/hook', lastErrorAt: T0 + 20, updatedAt: T0 + 40 });
      expect(await errorCode(ctx.store.updateAlertChannel({ id: ops.id, changes: { ...changes, name: 'taken' }, at: T0, audit: audit('x') }))).toBe('ALERT_CHANNEL_NAME_TAKEN');
      expect(await ctx.store.updateAlertChannel({ id: newId(), changes, at: T0, audit: audit('x') })).toBeNull();
      const { items } = await ctx.store.listAudit({ limit: 10, resourceId: ops.id });
      expect(items.map((e) => e.action)).toEqual(['alert-channel.update', 'alert-channel.create']);
    });

    it('stores a rule as given (revision 1), refuses its name twice and channels missing from its namespace, and audits', async () => {
      await createChannel({ name: 'ops' });
      await createChannel({ name: 'mail' });
      await createChannel({ name: 'pager', namespace: 'team-b' });
      const r = rule({ name: 'etl-fails', channels: ['ops', 'mail'], description: 'ETL 失败率' });
      expect(await ctx.store.createAlertRule({ rule: r, audit: audit('alert-rule.create') })).toEqual(r);
      expect(await ctx.store.getAlertRule(r.id)).toEqual(r);
      expect(await ctx.store.getAlertRule(newId())).toBeNull();
      expect(await errorCode(createRule({ name: 'etl-fails', channels: ['ops'] }))).toBe('ALERT_RULE_NAME_TAKEN');
      const missing = await createRule({ channels: ['ops', 'pager', 'nope'] }).catch((error: unknown) => error as { code: string; details: unknown });
      expect(missing).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { issues: [{ path: 'channels[1]', code: 'ALERT_CHANNEL_NOT_FOUND' }, { path: 'channels[2]', code: 'ALERT_CHANNEL_NOT_FOUND' }] },
      });
      expect((await ctx.store.listAlertRules({ limit: 10 })).items).toEqual([r]);
      const { items } = await ctx.store.listAudit({ limit: 10, resourceId: r.id });
      expect(items).toEqual([expect.objectContaining({ action: 'alert-rule.create', resourceType: 'alert-rule' })]);
    });

    it('keeps every kind\'s scope and params, and lists by page and filters; the enabled rules of every namespace for the evaluator', async () => {
      await createChannel({ name: 'ops' });
      await createChannel({ name: 'ops', namespace: 'team-b' });
      const a = await createRule({ name: 'a-missed', on: 'missed-fire', scope: { taskId: 'task-1' }, params: { graceMs: 60_000 }, channels: ['ops'], repeatIntervalMs: null });
      const b = await createRule({ name: 'b-lost', on: 'node-lost', scope: { namespace: 'team-a' }, params: {}, channels: ['ops'], enabled: false, sendResolved: true });
      const c = await createRule({ name: 'c-exec', on: 'no-executor', scope: { namespace: 'team-a' }, params: { group: 'gpu', forMs: 120_000 }, channels: ['ops'], severity: 'info' });
      const d = await createRule({ name: 'a-flow', namespace: 'team-b', on: 'failure', scope: { workflowId: 'wf-1' }, params: { attempts: 'every' }, channels: ['ops'] });
      expect(await ctx.store.getAlertRule(c.id)).toEqual(c);
      expect(b).toMatchObject({ enabled: false, sendResolved: true, params: {}, scope: { namespace: 'team-a' } });

      const first = await ctx.store.listAlertRules({ limit: 2 });
      expect(first.items.map((r) => r.name)).toEqual(['a-missed', 'b-lost']);
      expect((await ctx.store.listAlertRules({ limit: 2, cursor: first.nextCursor })).items.map((r) => r.name)).toEqual(['c-exec', 'a-flow']);
      expect((await ctx.store.listAlertRules({ limit: 10, enabled: false })).items).toEqual([b]);
      expect((await ctx.store.listAlertRules({ limit: 10, on: 'failure' })).items).toEqual([d]);
      expect((await ctx.store.listAlertRules({ limit: 10, namespaces: ['team-b'] })).items).toEqual([d]);
      expect((await ctx.store.listAlertRules({ limit: 10, namespace: 'team-a', enabled: true })).items.map((r) => r.id)).toEqual([a.id, c.id]);
      expect(await errorCode(ctx.store.listAlertRules({ limit: 10, cursor: (await ctx.store.listAlertChannels({ limit: 1 })).nextCursor }))).toBe('INVALID_CURSOR');
      expect(await ctx.store.listEnabledAlertRules()).toEqual([a, c, d]);
    });

    it('updates a rule (one revision more), enables and disables it (the revision stays), and deletes it once', async () => {
      await createChannel({ name: 'ops' });
      await createChannel({ name: 'mail' });
      const r = await createRule({ name: 'streak', on: 'consecutive-failures', scope: { taskId: 't' }, params: { count: 3 }, channels: ['ops'] });
      await createRule({ name: 'taken', channels: ['ops'] });
      const next = { ...changesOf(r), name: 'streak-5', params: { count: 5 }, channels: ['mail', 'ops'], severity: 'info' as const, repeatIntervalMs: null, description: 'five' };
      const updated = await ctx.store.updateAlertRule({ id: r.id, changes: next, at: T0 + 1, audit: audit('alert-rule.update') });
      expect(updated).toEqual({ ...r, ...next, revision: 2, updatedAt: T0 + 1 });
      expect(await errorCode(ctx.store.updateAlertRule({ id: r.id, changes: { ...next, name: 'taken' }, at: T0 + 2, audit: audit('x') }))).toBe('ALERT_RULE_NAME_TAKEN');
      expect(await errorCode(ctx.store.updateAlertRule({ id: r.id, changes: { ...next, channels: ['gone'] }, at: T0 + 2, audit: audit('x') }))).toBe('VALIDATION_FAILED');
      expect(await ctx.store.getAlertRule(r.id)).toEqual(updated);
      expect(await ctx.store.updateAlertRule({ id: newId(), changes: next, at: T0, audit: audit('x') })).toBeNull();

      const disabled = await ctx.store.setAlertRuleEnabled({ id: r.id, enabled: false, at: T0 + 3, audit: audit('alert-rule.disable') });
      expect(disabled).toEqual({ ...updated, enabled: false, updatedAt: T0 + 3 });
      expect(await ctx.store.setAlertRuleEnabled({ id: r.id, enabled: false, at: T0 + 4, audit: audit('alert-rule.disable') })).toMatchObject({ enabled: false, revision: 2 });
      expect((await ctx.store.listEnabledAlertRules()).map((x) => x.name)).toEqual(['taken']);
      expect(await ctx.store.setAlertRuleEnabled({ id: r.id, enabled: true, at: T0 + 5, audit: audit('alert-rule.enable') })).toMatchObject({ enabled: true, revision: 2 });
      expect(await ctx.store.setAlertRuleEnabled({ id: newId(), enabled: true, at: T0, audit: audit('x') })).toBeNull();

      const remove = () => ctx.store.deleteAlertRule({ id: r.id, at: T0 + 6, audit: audit('alert-rule.delete') });
      expect(await remove()).toBe(true);
      expect(await remove()).toBe(false);
      expect(await ctx.store.getAlertRule(r.id)).toBeNull();
      const { items } = await ctx.store.listAudit({ limit: 10, resourceId: r.id });
      expect(items.map((e) => e.action)).toEqual(['alert-rule.delete', 'alert-rule.enable', 'alert-rule.disable', 'alert-rule.disable', 'alert-rule.update', 'alert-rule.create']);
    });

    it('keeps a channel that a rule names from being deleted or renamed, and lets it go once no rule names it', async () => {
      const ops = await createChannel({ name: 'ops' });
      const spare = await createChannel({ name: 'spare' });
      await createChannel({ name: 'ops', namespace: 'team-b' });
      const r = await createRule({ name: 'uses-ops', channels: ['ops'] });
      const inUse = await ctx.store.deleteAlertChannel({ id: ops.id, at: T0 + 1, audit: audit('alert-channel.delete') }).catch((error: unknown) => error as { code: string; details: unknown });
      expect(inUse).toMatchObject({ code: 'ALERT_CHANNEL_IN_USE', details: { namespace: 'team-a', name: 'ops', rules: ['uses-ops'] } });
      const rename = { name: 'ops-2', type: ops.type, config: ops.config, locale: ops.locale, description: ops.description };
      expect(await errorCode(ctx.store.updateAlertChannel({ id: ops.id, changes: rename, at: T0 + 1, audit: audit('x') }))).toBe('ALERT_CHANNEL_IN_USE');
      expect(await ctx.store.updateAlertChannel({ id: ops.id, changes: { ...rename, name: 'ops', locale: 'en' }, at: T0 + 1, audit: audit('x') }))
        .toMatchObject({ name: 'ops', locale: 'en' });
      expect(await ctx.store.getAlertChannel(ops.id)).not.toBeNull();

      expect(await ctx.store.deleteAlertChannel({ id: spare.id, at: T0 + 2, audit: audit('alert-channel.delete') })).toBe(true);
      expect(await ctx.store.deleteAlertChannel({ id: spare.id, at: T0 + 2, audit: audit('alert-channel.delete') })).toBe(false);
      await ctx.store.updateAlertRule({ id: r.id, changes: { ...changesOf(r), enabled: false }, at: T0 + 3, audit: audit('x') });
      expect(await errorCode(ctx.store.deleteAlertChannel({ id: ops.id, at: T0 + 4, audit: audit('x') })), 'a disabled rule still names it').toBe('ALERT_CHANNEL_IN_USE');
      await ctx.store.deleteAlertRule({ id: r.id, at: T0 + 5, audit: audit('x') });
      expect(await ctx.store.deleteAlertChannel({ id: ops.id, at: T0 + 6, audit: audit('alert-channel.delete') })).toBe(true);
    });

    it('of a rule created while its channel is deleted, exactly one side wins', async () => {
      for (let i = 0; i < 5; i++) {
        const ops = await createChannel({ name: `race-${i}` });
        const [created, deleted] = await Promise.allSettled([
          createRule({ name: `race-rule-${i}`, channels: [ops.name] }),
          ctx.store.deleteAlertChannel({ id: ops.id, at: T0, audit: audit('alert-channel.delete') }),
        ]);
        const ruleMade = created.status === 'fulfilled';
        const channelGone = deleted.status === 'fulfilled' && deleted.value;
        expect(ruleMade !== channelGone, `round ${i}: rule ${created.status}, delete ${deleted.status}`).toBe(true);
        expect(await ctx.store.getAlertChannel(ops.id) !== null).toBe(ruleMade);
      }
    });
  });
}
