/** The alert forms' models: a channel's and a rule's body from the form, a resource back into the form, and the API's issue paths to fields. */
import { describe, expect, it } from 'vitest';
import { channelBody, channelFieldOf, channelToForm, emptyChannelForm } from '../src/alerts/channel-form.ts';
import { emptyRuleForm, paramsText, ruleBody, ruleFieldOf, ruleToForm } from '../src/alerts/rule-form.ts';
import type { AlertChannelResource, AlertRuleResource } from '../src/alerts/types.ts';

const channel = (over: Partial<AlertChannelResource>): AlertChannelResource => ({
  id: 'c1', namespace: 'billing', name: 'hook', type: 'webhook', locale: 'en', description: null, config: {},
  lastError: null, lastErrorAt: null, lastSentAt: null, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', ...over,
});

const rule = (over: Partial<AlertRuleResource>): AlertRuleResource => ({
  id: 'r1', namespace: 'billing', name: 'streak', on: 'consecutive-failures', scope: { taskId: 't1' }, channels: ['hook'], severity: 'critical',
  enabled: true, repeatInterval: null, sendResolved: true, description: null, revision: 1, createdAt: '', updatedAt: '', ...over,
});

describe('the channel form', () => {
  it('sends only the fields of the chosen type, without the empty ones', () => {
    const values = { ...emptyChannelForm('billing'), name: ' hook ', config: { url: 'http://127.0.0.1:9/x', secret: '', headers: '{ "authorization": "Bearer a" }', host: 'left over', secure: true, to: [] } };
    expect(channelBody(values)).toEqual({
      namespace: 'billing', name: 'hook', type: 'webhook', locale: 'en', config: { url: 'http://127.0.0.1:9/x', headers: { authorization: 'Bearer a' } },
    });
    expect(channelBody({ ...values, type: 'email', config: { host: 'smtp', secure: false, requireTLS: true, ignoreTLS: false, rejectUnauthorized: true, from: 'a@b.c', to: ['x@y.z'], timeoutMs: 3000 } }).config)
      .toEqual({ host: 'smtp', secure: false, requireTLS: true, ignoreTLS: false, rejectUnauthorized: true, from: 'a@b.c', to: ['x@y.z'], timeoutMs: 3000 });
    expect(() => channelBody({ ...values, config: { url: 'http://x', headers: '[1]' } })).toThrow(/JSON object/);
  });

  it('starts an edit from the channel as read, masked secrets and headers kept to be sent back', () => {
    const form = channelToForm(channel({ description: 'pager', config: { url: 'http://h/x', secret: '***', headers: { authorization: '***' }, timeoutMs: 10000 } }));
    expect(form).toMatchObject({ name: 'hook', description: 'pager', config: { url: 'http://h/x', secret: '***', timeoutMs: 10000 } });
    expect(channelBody(form)).toEqual({
      namespace: 'billing', name: 'hook', type: 'webhook', locale: 'en', description: 'pager',
      config: { url: 'http://h/x', secret: '***', headers: { authorization: '***' }, timeoutMs: 10000 },
    });
  });

  it('puts the API\'s issues on their fields', () => {
    expect(channelFieldOf('config.url')).toEqual(['config', 'url']);
    expect(channelFieldOf('config.to[1]')).toEqual(['config', 'to']);
    expect(channelFieldOf('config.headers.x-ecron-a')).toEqual(['config', 'headers']);
    expect(channelFieldOf('name')).toEqual(['name']);
    expect(channelFieldOf('config')).toBeNull();
    expect(channelFieldOf('')).toBeNull();
  });
});

describe('the rule form', () => {
  it('sends the kind\'s own parameters only, and the one scope chosen', () => {
    const values = {
      ...emptyRuleForm('billing'), name: 'rate', on: 'failure-rate' as const, rate: 0.2, window: '1h', minRuns: null, count: 3, grace: '5m',
      scopeKind: 'labels' as const, scope: { taskId: 't1', labels: ['team=data', 'tier = gold'] }, channels: ['hook'], repeatInterval: '30m',
    };
    expect(ruleBody(values)).toEqual({
      namespace: 'billing', name: 'rate', on: 'failure-rate', rate: 0.2, window: '1h', scope: { labels: { team: 'data', tier: 'gold' } },
      channels: ['hook'], severity: 'warning', sendResolved: true, enabled: true, repeatInterval: '30m',
    });
    expect(ruleBody({ ...values, on: 'consecutive-failures', scopeKind: 'taskId' })).toMatchObject({ count: 3, scope: { taskId: 't1' } });
    expect(ruleBody({ ...values, on: 'consecutive-failures', scopeKind: 'taskId' })).not.toHaveProperty('rate');
    // A namespace-wide kind watches the namespace, whatever the form's scope says; a duration of digits is milliseconds.
    expect(ruleBody({ ...values, on: 'no-executor', group: 'gpu', for: '90000', scopeKind: 'taskId' })).toMatchObject({ group: 'gpu', for: 90000, scope: { namespace: 'billing' } });
    expect(() => ruleBody({ ...values, scope: { labels: ['nokey'] } })).toThrow();
  });

  it('reads a rule back into the form', () => {
    const form = ruleToForm(rule({ count: 3, scope: { labels: { team: 'data' } }, repeatInterval: '1h' }));
    expect(form).toMatchObject({ on: 'consecutive-failures', count: 3, scopeKind: 'labels', scope: { labels: ['team=data'] }, repeatInterval: '1h', channels: ['hook'] });
    expect(ruleBody(form)).toMatchObject({ count: 3, scope: { labels: { team: 'data' } }, repeatInterval: '1h' });
    expect(ruleToForm(rule({ scope: { namespace: 'billing' } })).scopeKind).toBe('namespace');
  });

  it('puts the API\'s issues on their fields, and says the parameters', () => {
    expect(ruleFieldOf('channels[1]')).toEqual(['channels']);
    expect(ruleFieldOf('scope.taskId')).toEqual(['scope', 'taskId']);
    expect(ruleFieldOf('scope.labels.team')).toEqual(['scope', 'labels']);
    expect(ruleFieldOf('scope')).toEqual(['scopeKind']);
    expect(ruleFieldOf('scope.namespace')).toEqual(['scopeKind']);
    expect(ruleFieldOf('count')).toEqual(['count']);
    expect(ruleFieldOf('unknown')).toBeNull();
    expect(paramsText(rule({ on: 'failure-rate', rate: 0.2, window: '1h', minRuns: 10 }), (p) => p.toUpperCase())).toBe('RATE 0.2 · WINDOW 1h · MINRUNS 10');
  });
});
