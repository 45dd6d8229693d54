/**
 * Alert channel configs (`@ecron/contracts` alerts.ts): what each type accepts, its defaults, and
 * the issues a bad config gets (field paths and messages an API caller can act on); the masking of
 * secrets for readers and the restoring of masked values on update (`alerts/channel-secrets.ts`).
 */
import { ALERT_SECRET_MASK, AlertChannelSpecSchema, toFieldIssues, type AlertChannelSpec, type FieldIssue } from '@ecron/contracts';
import { describe, expect, it } from 'vitest';
import { maskAlertChannelConfig, restoreMaskedSecrets, withGeneratedSecret } from '../../src/alerts/channel-secrets.ts';

function issues(input: unknown): FieldIssue[] {
  const parsed = AlertChannelSpecSchema.safeParse(input);
  if (parsed.success) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  return toFieldIssues(parsed.error);
}

function parse(input: unknown): AlertChannelSpec {
  return AlertChannelSpecSchema.parse(input);
}

const DINGTALK_URL = 'https://oapi.dingtalk.com/robot/send?access_token=abcdef0123456789';
const WECOM_URL = 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa';
const SLACK_URL = 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX';
const FEISHU_URL = 'https://open.feishu.cn/open-apis/bot/v2/hook/0a1b2c3d-4e5f-6789-abcd-ef0123456789';

describe('alert channel configs', () => {
  it('accepts each type, with its defaults', () => {
    const email = parse({ name: 'ops-mail', type: 'email', config: { host: 'smtp.example.com', from: 'ecron <alerts@example.com>', to: ['ops@example.com'] } });
    expect(email).toMatchObject({ namespace: 'default', locale: 'en', config: { secure: false, requireTLS: false, ignoreTLS: false, rejectUnauthorized: true, timeoutMs: 10_000 } });
    expect(parse({ namespace: 'billing', name: 'hook', type: 'webhook', locale: 'zh', config: { url: 'https://hooks.example.com/ecron', headers: { Authorization: 'Bearer x' } } }))
      .toMatchObject({ locale: 'zh', config: { url: 'https://hooks.example.com/ecron', timeoutMs: 10_000 } });
    expect(parse({ name: 's', type: 'slack', config: { url: SLACK_URL } }).type).toBe('slack');
    expect(parse({ name: 'f', type: 'feishu', config: { url: FEISHU_URL, secret: 'feishu-secret' } }).type).toBe('feishu');
    expect(parse({ name: 'd', type: 'dingtalk', config: { url: DINGTALK_URL, secret: 'SEC0123' } }).type).toBe('dingtalk');
    expect(parse({ name: 'w', type: 'wecom', config: { url: WECOM_URL, timeoutMs: 3000 } }).config).toEqual({ url: WECOM_URL, timeoutMs: 3000 });
  });

  it('names the field and says what is wrong', () => {
    expect(issues({ name: 'x', type: 'pager', config: {} })[0]!.message).toBe('type must be one of "webhook", "email", "slack", "feishu", "dingtalk", "wecom"');
    expect(issues({ name: 'x', type: 'dingtalk', config: { url: 'https://oapi.dingtalk.com/robot/send' } }))
      .toEqual([{ path: 'config.url', code: 'INVALID_VALUE', message: 'expected the robot\'s URL with its access_token (https://oapi.dingtalk.com/robot/send?access_token=…)' }]);
    expect(issues({ name: 'x', type: 'wecom', config: { url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send' } })[0]).toMatchObject({ path: 'config.url', message: expect.stringContaining('with its key') });
    expect(issues({ name: 'x', type: 'slack', config: { url: 'ftp://hooks.slack.com/x' } })[0]).toMatchObject({ path: 'config.url', message: 'expected an http:// or https:// URL' });
    expect(issues({ name: 'x', type: 'slack', config: {} })[0]).toMatchObject({ path: 'config.url', code: 'REQUIRED' });
    expect(issues({ name: 'x', type: 'slack', config: { url: SLACK_URL, channel: '#ops' } })[0]).toMatchObject({ path: 'config.channel', code: 'UNKNOWN_FIELD' });
    expect(issues({ name: 'x', type: 'webhook', config: { url: 'https://h.example.com', secret: 'short' } })[0]).toMatchObject({ path: 'config.secret', message: 'at least 16 characters' });
    expect(issues({ name: 'x', type: 'webhook', config: { url: 'https://h.example.com', headers: { 'X-Ecron-Delivery': 'forged' } } })[0]).toMatchObject({ path: 'config.headers', message: expect.stringContaining('set by ecron') });
    expect(issues({ name: 'x', type: 'feishu', config: { url: FEISHU_URL, secret: ALERT_SECRET_MASK } })[0]).toMatchObject({ path: 'config.secret', message: expect.stringContaining('mask') });
    expect(issues({ name: 'bad name!', type: 'slack', config: { url: SLACK_URL } })[0]).toMatchObject({ path: 'name' });
    expect(issues({ name: 'x', type: 'slack', locale: 'fr', config: { url: SLACK_URL } })[0]).toMatchObject({ path: 'locale', code: 'INVALID_VALUE' });
  });

  it('refuses contradictory or incomplete e-mail settings', () => {
    const base = { host: 'smtp.example.com', from: 'alerts@example.com', to: ['ops@example.com'] };
    const email = (config: object) => ({ name: 'm', type: 'email', config: { ...base, ...config } });
    expect(issues(email({ requireTLS: true, ignoreTLS: true }))).toEqual([{ path: 'config.ignoreTLS', code: 'INVALID_COMBINATION', message: 'requireTLS and ignoreTLS exclude each other' }]);
    expect(issues(email({ secure: true, requireTLS: true }))[0]).toMatchObject({ path: 'config.requireTLS', code: 'INVALID_COMBINATION' });
    expect(issues(email({ user: 'alerts' }))[0]).toMatchObject({ path: 'config.password', message: 'user and password go together' });
    expect(issues(email({ to: [] }))[0]).toMatchObject({ path: 'config.to', message: 'at least one recipient' });
    expect(issues(email({ to: ['not-an-address'] }))[0]).toMatchObject({ path: 'config.to[0]', message: 'expected an e-mail address' });
    expect(issues(email({ from: 'ecron <nobody>' }))[0]).toMatchObject({ path: 'config.from', message: 'expected an e-mail address, or "Name <address>"' });
    expect(issues(email({ port: 70_000 }))[0]).toMatchObject({ path: 'config.port', code: 'OUT_OF_RANGE' });
    expect(issues(email({ host: 'smtp.example.com\r\nRCPT TO:<x@y>' }))[0]).toMatchObject({ path: 'config.host' });
  });
});

describe('alert channel secrets', () => {
  it('masks secrets, passwords and URL tokens for readers, and nothing else', () => {
    const webhook = parse({ name: 'h', type: 'webhook', config: { url: 'https://user:pw@hooks.example.com/in?team=ops', secret: 'a-webhook-secret-of-32-chars-xxxx', headers: { Authorization: 'Bearer t' } } });
    expect(maskAlertChannelConfig(webhook)).toEqual({ url: `https://user:${ALERT_SECRET_MASK}@hooks.example.com/in?team=ops`, secret: ALERT_SECRET_MASK, headers: { Authorization: ALERT_SECRET_MASK }, timeoutMs: 10_000 });
    const email = parse({ name: 'm', type: 'email', config: { host: 'smtp.example.com', user: 'alerts', password: 'hunter2', from: 'alerts@example.com', to: ['ops@example.com'] } });
    expect(maskAlertChannelConfig(email)).toMatchObject({ host: 'smtp.example.com', user: 'alerts', password: ALERT_SECRET_MASK, to: ['ops@example.com'] });
    const masked = (input: object) => JSON.stringify(maskAlertChannelConfig(parse(input)));
    expect(masked({ name: 's', type: 'slack', config: { url: SLACK_URL } })).toBe(JSON.stringify({ url: `https://hooks.slack.com/services/T00000000/B00000000/${ALERT_SECRET_MASK}`, timeoutMs: 10_000 }));
    const feishu = masked({ name: 'f', type: 'feishu', config: { url: FEISHU_URL, secret: 'feishu-secret' } });
    expect(feishu).not.toContain('0a1b2c3d');
    expect(feishu).not.toContain('feishu-secret');
    expect(feishu).toContain('/open-apis/bot/v2/hook/***');
    const dingtalk = masked({ name: 'd', type: 'dingtalk', config: { url: DINGTALK_URL, secret: 'SEC0123' } });
    expect(dingtalk).toContain('access_token=***');
    expect(dingtalk).not.toContain('abcdef0123456789');
    expect(dingtalk).not.toContain('SEC0123');
    expect(masked({ name: 'w', type: 'wecom', config: { url: WECOM_URL } })).toContain('/cgi-bin/webhook/send?key=***');
  });

  it('keeps the stored secrets when an update sends back what it read', () => {
    const stored = parse({ name: 'd', type: 'dingtalk', config: { url: DINGTALK_URL, secret: 'SEC0123' } });
    const read = { type: 'dingtalk', config: { ...maskAlertChannelConfig(stored), timeoutMs: 5000 } };
    expect(restoreMaskedSecrets(read, stored)).toEqual({ url: DINGTALK_URL, secret: 'SEC0123', timeoutMs: 5000 });
    // A new URL (another token) is kept as given, and a secret given anew replaces the stored one.
    const moved = { type: 'dingtalk', config: { url: 'https://oapi.dingtalk.com/robot/send?access_token=new', secret: 'SECnew' } };
    expect(restoreMaskedSecrets(moved, stored)).toEqual(moved.config);
    const hook = parse({ name: 'h', type: 'webhook', config: { url: 'https://hooks.example.com/in', secret: 'a-webhook-secret-of-32-chars-xxxx', headers: { Authorization: 'Bearer t', 'X-Team': 'ops' } } });
    const back = { type: 'webhook', config: { ...maskAlertChannelConfig(hook), headers: { Authorization: ALERT_SECRET_MASK, 'X-Team': 'billing' } } };
    expect(restoreMaskedSecrets(back, hook)).toMatchObject({ secret: 'a-webhook-secret-of-32-chars-xxxx', headers: { Authorization: 'Bearer t', 'X-Team': 'billing' } });
    // Another type keeps nothing of the stored channel: the mask stays, and validation refuses it.
    const other = { type: 'feishu', config: { url: FEISHU_URL, secret: ALERT_SECRET_MASK } };
    expect(restoreMaskedSecrets(other, stored)).toEqual(other.config);
    expect(AlertChannelSpecSchema.safeParse({ name: 'f', ...other }).success).toBe(false);
  });

  it('gives a webhook without a secret a new one, shown once, that signs', () => {
    const hook = parse({ name: 'h', type: 'webhook', config: { url: 'https://hooks.example.com/in' } });
    const { channel, generatedSecret } = withGeneratedSecret(hook);
    expect(generatedSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(channel.config).toMatchObject({ secret: generatedSecret });
    expect(AlertChannelSpecSchema.safeParse(channel).success).toBe(true);
    const signed = parse({ name: 'h', type: 'webhook', config: { url: 'https://hooks.example.com/in', secret: 'given-secret-0123456789' } });
    expect(withGeneratedSecret(signed)).toEqual({ channel: signed });
    expect(withGeneratedSecret(parse({ name: 's', type: 'slack', config: { url: SLACK_URL } })).generatedSecret).toBeUndefined();
  });
});
