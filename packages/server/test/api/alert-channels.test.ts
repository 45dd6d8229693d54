/**
 * `/api/v1/alert-channels` over the real app (SQLite `:memory:`): create, read (secrets masked for
 * every reader), update (masked values keep the stored secrets), delete (refused while a rule names
 * the channel), roles and namespace scope, and "send a test" against real local receivers: a
 * Slack-shaped one answering `ok`, one answering 500 (ALERT_CHANNEL_FAILED, recorded as the
 * channel's last error), and a webhook receiver that checks the signature with the secret shown once.
 */
import { SIGNATURE_HEADER } from '@ecron/contracts';
import { verifySignature } from '@ecron/contracts/signature';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpReceiver } from '../alerts/receivers.ts';
import { ApiHarness, errorOf, issuesOf, T0 } from './api-harness.ts';

type Json = Record<string, any>;

let h: ApiHarness;
let receiver: HttpReceiver;

beforeAll(async () => {
  h = await new ApiHarness().start();
  receiver = await new HttpReceiver().start();
});
afterAll(async () => {
  await receiver?.close();
  await h?.close();
});

async function create(body: Json, token?: string): Promise<Json> {
  const res = await h.call('POST', '/api/v1/alert-channels', { body, token });
  if (res.statusCode !== 201) throw new Error(`create: ${res.statusCode} ${res.body}`);
  return res.json();
}

const slack = (name: string, namespace = 'billing', path = '/services/T0/B0/slack-token-123') =>
  ({ namespace, name, type: 'slack', config: { url: `${receiver.origin}${path}` } });

describe('alert channels', () => {
  it('sends a test through a Slack-shaped receiver answering "ok", and records the send', async () => {
    receiver.answer = () => ({ status: 200, body: 'ok' });
    const { channel, secret } = await create({ ...slack('ops-slack'), locale: 'zh', description: 'on call' });
    expect(secret).toBeUndefined();
    expect(channel).toEqual({
      id: expect.any(String), namespace: 'billing', name: 'ops-slack', type: 'slack', locale: 'zh', description: 'on call',
      config: { url: `${receiver.origin}/services/T0/B0/***`, timeoutMs: 10_000 },
      lastError: null, lastErrorAt: null, lastSentAt: null, createdAt: new Date(T0).toISOString(), updatedAt: new Date(T0).toISOString(),
    });
    const before = receiver.requests.length;
    await h.clock.set(T0 + 5000);
    const test = await h.call('POST', `/api/v1/alert-channels/${channel.id}/test`);
    expect(test.statusCode, test.body).toBe(200);
    expect(test.json()).toEqual({ ok: true });
    const sent = receiver.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.url).toBe('/services/T0/B0/slack-token-123');
    expect(JSON.parse(sent[0]!.body)).toMatchObject({ text: '【测试·提示】命名空间 billing：测试通知', blocks: [{ type: 'header' }, { type: 'section' }] });
    const read = (await h.call('GET', `/api/v1/alert-channels/${channel.id}`)).json();
    expect(read).toMatchObject({ lastSentAt: new Date(T0 + 5000).toISOString(), lastError: null });
    const { items } = (await h.call('GET', `/api/v1/audit?resourceId=${channel.id}`)).json();
    expect(items.map((e: Json) => [e.action, e.details])).toEqual([['alert-channel.test', { ok: true }], ['alert-channel.create', expect.objectContaining({ type: 'slack' })]]);
  });

  it('answers ALERT_CHANNEL_FAILED when the receiver answers 500, and keeps it as the channel\'s last error', async () => {
    receiver.answer = () => ({ status: 500, body: 'internal error' });
    const { channel } = await create(slack('broken-slack'));
    await h.clock.set(T0 + 7000);
    const test = await h.call('POST', `/api/v1/alert-channels/${channel.id}/test`);
    expect(test.statusCode).toBe(502);
    expect(errorOf(test)).toEqual({
      code: 'ALERT_CHANNEL_FAILED', message: `Slack webhook ${receiver.origin}/services/T0/B0/*** answered HTTP 500: internal error`,
      details: { type: 'slack', reason: 'http-status', status: 500 },
    });
    expect(test.body).not.toContain('slack-token-123');
    const read = (await h.call('GET', `/api/v1/alert-channels/${channel.id}`)).json();
    expect(read).toMatchObject({ lastError: errorOf(test).message, lastErrorAt: new Date(T0 + 7000).toISOString(), lastSentAt: null });
    receiver.answer = () => ({ status: 200, body: 'ok' });
  });

  it('shows a webhook\'s generated secret once; an update sending back what it read keeps the stored secrets', async () => {
    const verified: boolean[] = [];
    let secretOfReceiver = '';
    receiver.answer = (request) => {
      const check = verifySignature(secretOfReceiver, request.body, request.headers[SIGNATURE_HEADER] as string | undefined, h.clock.now());
      verified.push(check.ok);
      return check.ok ? { status: 204, body: '' } : { status: 401, body: 'bad signature' };
    };
    const created = await create({ namespace: 'billing', name: 'hook', type: 'webhook', config: { url: `${receiver.origin}/hook`, headers: { Authorization: 'Bearer abc' } } });
    expect(created.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.channel.config).toEqual({ url: `${receiver.origin}/hook`, secret: '***', headers: { Authorization: '***' }, timeoutMs: 10_000 });
    secretOfReceiver = created.secret;
    const viewer = await h.token('viewer', ['billing'], 'hook-viewer');
    const asViewer = (await h.call('GET', `/api/v1/alert-channels/${created.channel.id}`, { token: viewer.secret })).json();
    expect(asViewer.config).toEqual(created.channel.config);

    // The channel as read, back with another locale: the secret and the header value stay.
    const put = await h.call('PUT', `/api/v1/alert-channels/${created.channel.id}`, { body: { ...asViewer, locale: 'zh' } });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json().secret).toBeUndefined();
    expect(put.json().channel).toMatchObject({ locale: 'zh', config: { secret: '***', headers: { Authorization: '***' } } });
    expect((await h.call('POST', `/api/v1/alert-channels/${created.channel.id}/test`)).statusCode).toBe(200);
    expect(receiver.requests.at(-1)!.headers.authorization).toBe('Bearer abc');

    // Without a secret: a new one, shown in this answer.
    const renewed = await h.call('PUT', `/api/v1/alert-channels/${created.channel.id}`, { body: { name: 'hook', type: 'webhook', config: { url: `${receiver.origin}/hook` } } });
    expect(renewed.json().secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(renewed.json().secret).not.toBe(created.secret);
    expect((await h.call('POST', `/api/v1/alert-channels/${created.channel.id}/test`)).statusCode, 'signed with the new secret: the receiver refuses').toBe(502);
    secretOfReceiver = renewed.json().secret;
    expect((await h.call('POST', `/api/v1/alert-channels/${created.channel.id}/test`)).statusCode).toBe(200);
    expect(verified).toEqual([true, false, true]);
    receiver.answer = () => ({ status: 200, body: 'ok' });
  });

  it('keeps a DingTalk token and secret sent back masked, and replaces them when new ones are sent', async () => {
    const url = 'https://oapi.dingtalk.com/robot/send?access_token=dd-token-0123';
    const { channel } = await create({ namespace: 'billing', name: 'ding', type: 'dingtalk', config: { url, secret: 'SECabc' } });
    expect(channel.config).toEqual({ url: 'https://oapi.dingtalk.com/robot/send?access_token=***', secret: '***', timeoutMs: 10_000 });
    await h.call('PUT', `/api/v1/alert-channels/${channel.id}`, { body: { ...channel, description: 'kept' } });
    expect(await h.store.getAlertChannel(channel.id)).toMatchObject({ description: 'kept', config: { url, secret: 'SECabc' } });
    await h.call('PUT', `/api/v1/alert-channels/${channel.id}`, { body: { ...channel, config: { url: 'https://oapi.dingtalk.com/robot/send?access_token=new-token', secret: 'SECnew' } } });
    expect((await h.store.getAlertChannel(channel.id))!.config).toMatchObject({ url: 'https://oapi.dingtalk.com/robot/send?access_token=new-token', secret: 'SECnew' });
  });

  it('refuses bad configs with the field named, a move to another namespace, a name taken, and a denied address', async () => {
    const bad = await h.call('POST', '/api/v1/alert-channels', { body: { namespace: 'billing', name: 'x', type: 'wecom', config: { url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send' } } });
    expect(bad.statusCode).toBe(400);
    expect(issuesOf(bad)).toEqual([expect.objectContaining({ path: 'config.url', message: expect.stringContaining('with its key') })]);
    const mail = await h.call('POST', '/api/v1/alert-channels', { body: { name: 'm', type: 'email', config: { host: 'smtp.example.com', from: 'a@example.com', to: ['b@example.com'], requireTLS: true, ignoreTLS: true } } });
    expect(issuesOf(mail)).toEqual([{ path: 'config.ignoreTLS', code: 'INVALID_COMBINATION', message: 'requireTLS and ignoreTLS exclude each other' }]);
    const { channel } = await create(slack('moving'));
    const move = await h.call('PUT', `/api/v1/alert-channels/${channel.id}`, { body: { ...channel, namespace: 'other' } });
    expect(issuesOf(move)).toEqual([expect.objectContaining({ path: 'namespace', code: 'INVALID_VALUE' })]);
    const masked = await h.call('PUT', `/api/v1/alert-channels/${channel.id}`, { body: { name: 'moving', type: 'feishu', config: { url: 'https://open.feishu.cn/open-apis/bot/v2/hook/x', secret: '***' } } });
    expect(issuesOf(masked)[0], 'a mask is no secret once the type changed').toMatchObject({ path: 'config.secret' });
    expect(errorOf(await h.call('POST', '/api/v1/alert-channels', { body: slack('moving') })).code).toBe('ALERT_CHANNEL_NAME_TAKEN');
    const denied = await h.call('POST', '/api/v1/alert-channels', { body: { name: 'meta', type: 'webhook', config: { url: 'http://169.254.169.254/latest' } } });
    expect(denied.statusCode).toBe(422);
    expect(errorOf(denied).code).toBe('OUTBOUND_DENIED');
    const smtp = await h.call('POST', '/api/v1/alert-channels', { body: { name: 'meta-mail', type: 'email', config: { host: '169.254.169.254', from: 'a@example.com', to: ['b@example.com'] } } });
    expect(errorOf(smtp).code).toBe('OUTBOUND_DENIED');
    expect(errorOf(await h.call('GET', '/api/v1/alert-channels/00000000-0000-4000-8000-000000000000'))).toMatchObject({ code: 'ALERT_CHANNEL_NOT_FOUND' });
  });

  it('lets editors manage and viewers read, within their namespaces, a page at a time', async () => {
    const editor = await h.token('editor', ['team-x'], 'x-editor');
    const viewer = await h.token('viewer', ['team-x'], 'x-viewer');
    const outsider = await h.token('editor', ['team-y'], 'y-editor');
    expect(errorOf(await h.call('POST', '/api/v1/alert-channels', { body: slack('v', 'team-x'), token: viewer.secret })).code).toBe('FORBIDDEN');
    expect(errorOf(await h.call('POST', '/api/v1/alert-channels', { body: slack('o', 'team-x'), token: outsider.secret })).code).toBe('FORBIDDEN');
    const a = (await create(slack('a', 'team-x'), editor.secret)).channel;
    await create(slack('b', 'team-x'), editor.secret);
    await create(slack('c', 'team-y'), outsider.secret);
    expect((await h.call('GET', `/api/v1/alert-channels/${a.id}`, { token: viewer.secret })).statusCode).toBe(200);
    expect(errorOf(await h.call('GET', `/api/v1/alert-channels/${a.id}`, { token: outsider.secret })).code).toBe('ALERT_CHANNEL_NOT_FOUND');
    expect(errorOf(await h.call('POST', `/api/v1/alert-channels/${a.id}/test`, { token: viewer.secret })).code).toBe('FORBIDDEN');
    expect(errorOf(await h.call('DELETE', `/api/v1/alert-channels/${a.id}`, { token: viewer.secret })).code).toBe('FORBIDDEN');
    expect(errorOf(await h.call('PUT', `/api/v1/alert-channels/${a.id}`, { token: outsider.secret, body: a })).code).toBe('ALERT_CHANNEL_NOT_FOUND');

    const first = (await h.call('GET', '/api/v1/alert-channels?limit=1', { token: viewer.secret })).json();
    expect(first.items.map((c: Json) => c.name)).toEqual(['a']);
    const second = (await h.call('GET', `/api/v1/alert-channels?limit=1&cursor=${first.nextCursor}`, { token: viewer.secret })).json();
    expect(second).toMatchObject({ items: [{ name: 'b' }], nextCursor: null });
    const all = (await h.call('GET', '/api/v1/alert-channels?namespace=team-y')).json();
    expect(all.items.map((c: Json) => c.name)).toEqual(['c']);
  });

  it('refuses to delete or rename a channel that a rule names, and deletes it once no rule does', async () => {
    const { channel } = await create(slack('paged', 'team-z'));
    const rule = await h.call('POST', '/api/v1/alert-rules', { body: { namespace: 'team-z', name: 'r', on: 'node-lost', scope: { namespace: 'team-z' }, channels: ['paged'] } });
    expect(rule.statusCode, rule.body).toBe(201);
    const inUse = await h.call('DELETE', `/api/v1/alert-channels/${channel.id}`);
    expect(inUse.statusCode).toBe(409);
    expect(errorOf(inUse)).toMatchObject({ code: 'ALERT_CHANNEL_IN_USE', details: { rules: ['r'] }, message: expect.stringContaining('alert rule r sends through it') });
    expect(errorOf(await h.call('PUT', `/api/v1/alert-channels/${channel.id}`, { body: { ...channel, name: 'renamed' } })).code).toBe('ALERT_CHANNEL_IN_USE');
    expect((await h.call('DELETE', `/api/v1/alert-rules/${rule.json().id}`)).statusCode).toBe(204);
    expect((await h.call('DELETE', `/api/v1/alert-channels/${channel.id}`)).statusCode).toBe(204);
    expect(errorOf(await h.call('DELETE', `/api/v1/alert-channels/${channel.id}`)).code).toBe('ALERT_CHANNEL_NOT_FOUND');
  });
});
