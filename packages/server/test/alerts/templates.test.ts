/**
 * Alert message templates (`alerts/templates.ts`): a title and a body per state and rule kind, in
 * English and Chinese, as plain text, Markdown, Slack mrkdwn and HTML, with user text escaped.
 */
import { ALERT_LOCALES, ALERT_NOTIFICATION_STATES, ALERT_RULE_KINDS } from '@ecron/contracts';
import { describe, expect, it } from 'vitest';
import { testNotification } from '../../src/alerts/channels/senders.ts';
import { renderNotification, renderTitle, truncateUtf8 } from '../../src/alerts/templates.ts';
import { notification } from './fixtures.ts';

describe('alert templates', () => {
  it('titles say the state, the severity, the subject and what the rule saw, in each locale', () => {
    expect(renderTitle(notification(), 'en')).toBe('[FIRING · critical] Task nightly-report: run failed');
    expect(renderTitle(notification(), 'zh')).toBe('【告警·严重】任务 nightly-report：运行失败');
    expect(renderTitle(notification({ state: 'resolved' }), 'en')).toBe('[RESOLVED · critical] Task nightly-report: succeeded again');
    expect(renderTitle(notification({ state: 'resolved' }), 'zh')).toBe('【已恢复·严重】任务 nightly-report：已恢复成功');
    expect(renderTitle(notification({ state: 'repeat', severity: 'warning' }), 'zh')).toBe('【持续告警·警告】任务 nightly-report：运行失败');
    const streak = notification({ rule: { name: 'streak', on: 'consecutive-failures' }, details: { count: 5 } });
    expect(renderTitle(streak, 'en')).toBe('[FIRING · critical] Task nightly-report: failed 5 times in a row');
    expect(renderTitle(streak, 'zh')).toBe('【告警·严重】任务 nightly-report：连续失败 5 次');
    const rate = notification({ rule: { name: 'rate', on: 'failure-rate' }, details: { failureRate: 0.25, runs: 40 } });
    expect(renderTitle(rate, 'en')).toBe('[FIRING · critical] Task nightly-report: failure rate 25%');
    expect(renderNotification(rate, 'zh').text).toContain('失败率：25%');
    const node = notification({ rule: { name: 'nodes', on: 'node-lost' }, subject: { kind: 'node', id: 'node-b', name: 'node-b' }, severity: 'warning' });
    expect(renderTitle(node, 'zh')).toBe('【告警·警告】调度节点 node-b：节点失联');
  });

  it('renders every rule kind and state in every locale and format', () => {
    for (const locale of ALERT_LOCALES) {
      for (const on of ALERT_RULE_KINDS) {
        for (const state of ALERT_NOTIFICATION_STATES) {
          const rendered = renderNotification(notification({ state, rule: { name: 'r', on } }), locale);
          for (const [format, text] of Object.entries(rendered)) {
            expect(text, `${locale} ${on} ${state} ${format}`).not.toMatch(/undefined|\[object Object\]/);
            expect(text, `${locale} ${on} ${state} ${format}`).toContain('nightly-report');
          }
          expect(rendered.text).toContain('nightly-report failed after 3 attempts');
          expect(rendered.text).toContain(on);
        }
      }
      // Each kind says something of its own, firing and resolved.
      const firing = new Set(ALERT_RULE_KINDS.map((on) => renderTitle(notification({ rule: { name: 'r', on } }), locale)));
      const resolved = new Set(ALERT_RULE_KINDS.map((on) => renderTitle(notification({ state: 'resolved', rule: { name: 'r', on } }), locale)));
      expect(firing.size).toBe(ALERT_RULE_KINDS.length);
      expect(resolved.size).toBe(ALERT_RULE_KINDS.length);
    }
  });

  it('labels the fields and details in the locale', () => {
    const en = renderNotification(notification(), 'en').text;
    expect(en).toContain('Rule: nightly-fails (failure)');
    expect(en).toContain('Task: nightly-report (task-42)');
    expect(en).toContain('Namespace: billing');
    expect(en).toContain('Time: 2026-12-07T02:30:05.000Z');
    expect(en).toContain('  Attempts: 3');
    expect(en).toContain('Open in ecron: https://ecron.example.com/console/incidents/inc-1');
    const zh = renderNotification(notification(), 'zh').text;
    expect(zh).toContain('规则：nightly-fails (failure)');
    expect(zh).toContain('任务：nightly-report (task-42)');
    expect(zh).toContain('  尝试次数：3');
    expect(zh).toContain('在 ecron 中查看：https://ecron.example.com/console/incidents/inc-1');
  });

  it('escapes user text for each format, and cuts long details', () => {
    const rendered = renderNotification(notification({ details: { error: `<b>*bold*</b> & ${'x'.repeat(2000)}` } }), 'en');
    expect(rendered.html).toContain('&lt;b&gt;*bold*&lt;/b&gt; &amp; ');
    expect(rendered.html).not.toContain('<b>');
    expect(rendered.markdown).toContain('\\<b\\>\\*bold\\*\\</b\\>');
    expect(rendered.slackMrkdwn).toContain('&lt;b&gt;*bold*&lt;/b&gt; &amp;');
    expect(rendered.slackMrkdwn).toContain('<https://ecron.example.com/console/incidents/inc-1|Open in ecron>');
    expect(rendered.markdown).toContain('[Open in ecron](https://ecron.example.com/console/incidents/inc-1)');
    const errorLine = rendered.text.split('\n').find((line) => line.includes('Error:'))!;
    expect(errorLine.length).toBeLessThan(520);
    expect(errorLine.endsWith('…')).toBe(true);
  });

  it('marks a test notification as a test, in each locale', () => {
    const test = testNotification({ namespace: 'billing', name: 'ops-dingtalk' }, Date.parse('2026-12-07T00:00:00Z'));
    expect(test).toMatchObject({ test: true, state: 'firing', severity: 'info', namespace: 'billing', at: '2026-12-07T00:00:00.000Z' });
    expect(renderTitle(test, 'en')).toBe('[TEST · info] Namespace billing: test notification');
    expect(renderTitle(test, 'zh')).toBe('【测试·提示】命名空间 billing：测试通知');
    expect(renderNotification(test, 'zh').text).toContain('这是一条来自 ecron 的测试通知');
    expect(renderNotification(test, 'en').text).not.toContain('Incident:');
  });

  it('cuts UTF-8 text to a byte budget without splitting a character', () => {
    const cut = truncateUtf8('告警'.repeat(2000), 4096);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(4096);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut).not.toContain('\uFFFD');
    expect(truncateUtf8('short', 4096)).toBe('short');
  });
});
