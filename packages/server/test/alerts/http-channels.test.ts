/**
 * The HTTP alert channels against receivers run here, each verifying its platform's documented
 * scheme with its own code (not the senders'):
 * - Feishu: `sign` = base64(HMAC-SHA256 keyed with `timestamp + "\n" + secret` over ""), in the body;
 * - DingTalk: `timestamp` and `sign` = urlencode(base64(HMAC-SHA256(secret, timestamp + "\n" + secret))) in the query;
 * - WeCom: the robot's `key` in the URL; Slack: `{ text, blocks }`;
 * - the generic webhook: `x-ecron-signature`, checked with `verifySignature` of `@ecron/contracts/signature`.
 * Then the failures: HTTP 500, Feishu `code` 19021, DingTalk `errcode` 310000, no answer in time, and
 * an outbound policy that denies the address: each is ALERT_CHANNEL_FAILED with its reason.
 */
import { createHmac } from 'node:crypto';
import { SIGNATURE_HEADER, type AlertChannelSpecInput, AlertChannelSpecSchema, type AlertNotification } from '@ecron/contracts';
import { verifySignature } from '@ecron/contracts/signature';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlertChannelError } from '../../src/alerts/channels/channel-error.ts';
import { AlertChannelSenders } from '../../src/alerts/channels/senders.ts';
import { OutboundPolicy, type OutboundPolicies } from '../../src/dispatch/outbound-policy.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';
import { notification } from './fixtures.ts';
import { HttpReceiver, type ReceivedRequest } from './receivers.ts';

type Json = Record<string, any>;

const FEISHU_SECRET = 'feishu-signing-secret';
const DINGTALK_SECRET = 'SEC2f0c0b1c4e5d6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b';
const DINGTALK_TOKEN = 'c0ffee0123456789';
const WECOM_KEY = '693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa';
const WEBHOOK_SECRET = 'webhook-signing-secret-0123456789';

let receiver: HttpReceiver;
let clock: ManualClock;
let senders: AlertChannelSenders;

/** Namespace `locked` denies 127.0.0.1; every other namespace has the server's policy (which allows it). */
const outbound: OutboundPolicies = (() => {
  const server = new OutboundPolicy();
  const locked = new OutboundPolicy({ deny: ['127.0.0.0/8'] }, server);
  return { server, of: (namespace: string) => (namespace === 'locked' ? locked : server) };
})();

beforeEach(async () => {
  receiver = await new HttpReceiver().start();
  clock = new ManualClock(Date.now());
  senders = new AlertChannelSenders({ outbound, clock });
});

afterEach(async () => {
  await senders.close();
  await receiver.close();
});

function channel(input: { type: AlertChannelSpecInput['type']; config: object; locale?: 'en' | 'zh'; namespace?: string }) {
  return AlertChannelSpecSchema.parse({ name: 'ops', namespace: 'billing', ...input });
}

/** The ALERT_CHANNEL_FAILED the send throws (fails the test when it resolves or throws something else). */
async function failure(send: Promise<void>): Promise<AlertChannelError> {
  const error = await send.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(AlertChannelError);
  expect((error as AlertChannelError).code).toBe('ALERT_CHANNEL_FAILED');
  expect((error as AlertChannelError).status).toBe(502);
  return error as AlertChannelError;
}

/** Feishu's check, as its documentation gives it. */
function feishuVerdict(request: ReceivedRequest, secret: string): Json {
  const body = JSON.parse(request.body) as Json;
  const expected = createHmac('sha256', `${body.timestamp}\n${secret}`).update('').digest('base64');
  const fresh = Math.abs(Date.now() / 1000 - Number(body.timestamp)) < 3600;
  if (typeof body.timestamp !== 'string' || body.sign !== expected || !fresh) return { code: 19021, msg: 'sign match fail or timestamp is not within one hour from current time' };
  if (body.msg_type !== 'interactive' || !body.card?.header?.title?.content || body.card.elements?.[0]?.text?.tag !== 'lark_md') return { code: 9499, msg: 'Bad Request' };
  return { code: 0, msg: 'success', data: {} };
}

/** DingTalk's check: the sign of the query's timestamp, URL-encoded, and the token. */
function dingTalkVerdict(request: ReceivedRequest, secret: string): Json {
  const rawQuery = request.url.slice(request.url.indexOf('?') + 1);
  const raw = Object.fromEntries(rawQuery.split('&').map((pair) => pair.split('=') as [string, string]));
  const expected = encodeURIComponent(createHmac('sha256', secret).update(`${raw.timestamp}\n${secret}`).digest('base64'));
  if (raw.access_token !== DINGTALK_TOKEN) return { errcode: 300001, errmsg: 'token is not exist' };
  if (!/^\d{13}$/.test(raw.timestamp ?? '') || raw.sign !== expected || Math.abs(Date.now() - Number(raw.timestamp)) > 3_600_000) {
    return { errcode: 310000, errmsg: 'sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]' };
  }
  const body = JSON.parse(request.body) as Json;
  if (body.msgtype !== 'markdown' || typeof body.markdown?.title !== 'string' || typeof body.markdown?.text !== 'string') return { errcode: 40035, errmsg: 'missing param' };
  return { errcode: 0, errmsg: 'ok' };
}

describe('alert channels over HTTP', () => {
  it('Feishu: an interactive card, signed in the body', async () => {
    receiver.answer = (request) => ({ status: 200, body: feishuVerdict(request, FEISHU_SECRET) });
    const feishu = channel({ type: 'feishu', locale: 'zh', config: { url: `${receiver.origin}/open-apis/bot/v2/hook/tok-1`, secret: FEISHU_SECRET } });
    await senders.send(feishu, notification());
    const body = JSON.parse(receiver.requests[0]!.body) as Json;
    expect(receiver.requests[0]).toMatchObject({ method: 'POST', url: '/open-apis/bot/v2/hook/tok-1' });
    expect(body.timestamp).toBe(String(Math.floor(clock.now() / 1000)));
    expect(body.card.header).toEqual({ title: { tag: 'plain_text', content: '【告警·严重】任务 nightly-report：运行失败' }, template: 'red' });
    expect(body.card.elements[0].text.content).toContain('**规则**：nightly-fails (failure)');
    await senders.send(feishu, notification({ state: 'resolved' }));
    expect((JSON.parse(receiver.requests[1]!.body) as Json).card.header.template).toBe('green');
    // Without a secret, nothing is signed (a bot without signature verification).
    receiver.answer = () => ({ status: 200, body: { StatusCode: 0, StatusMessage: 'success' } });
    await senders.send(channel({ type: 'feishu', config: { url: `${receiver.origin}/open-apis/bot/v2/hook/tok-2` } }), notification());
    expect(JSON.parse(receiver.requests[2]!.body)).not.toHaveProperty('sign');
  });

  it('Feishu: a wrong secret gets code 19021, a failure', async () => {
    receiver.answer = (request) => ({ status: 200, body: feishuVerdict(request, FEISHU_SECRET) });
    const error = await failure(senders.send(channel({ type: 'feishu', config: { url: `${receiver.origin}/hook/tok-1`, secret: 'not-the-secret' } }), notification()));
    expect(error.details).toEqual({ type: 'feishu', reason: 'platform-error', status: 200, platformCode: 19021 });
    expect(error.message).toBe(`Feishu bot ${receiver.origin}/hook/*** refused the message: code 19021 (sign match fail or timestamp is not within one hour from current time)`);
  });

  it('DingTalk: markdown, signed in the query', async () => {
    receiver.answer = (request) => ({ status: 200, body: dingTalkVerdict(request, DINGTALK_SECRET) });
    await senders.send(channel({ type: 'dingtalk', config: { url: `${receiver.origin}/robot/send?access_token=${DINGTALK_TOKEN}`, secret: DINGTALK_SECRET } }), notification());
    const request = receiver.requests[0]!;
    expect(new URL(request.url, receiver.origin).searchParams.get('timestamp')).toBe(String(clock.now()));
    const body = JSON.parse(request.body) as Json;
    expect(body.markdown.title).toBe('[FIRING · critical] Task nightly-report: run failed');
    expect(body.markdown.text).toMatch(/^### \[FIRING · critical\] Task nightly-report: run failed\n\nnightly-report failed after 3 attempts\n/);
  });

  it('DingTalk: a wrong secret gets errcode 310000, a failure that shows no token', async () => {
    receiver.answer = (request) => ({ status: 200, body: dingTalkVerdict(request, DINGTALK_SECRET) });
    const error = await failure(senders.send(channel({ type: 'dingtalk', config: { url: `${receiver.origin}/robot/send?access_token=${DINGTALK_TOKEN}`, secret: 'SECwrong' } }), notification()));
    expect(error.details).toMatchObject({ type: 'dingtalk', reason: 'platform-error', platformCode: 310000 });
    expect(error.message).toContain('errcode 310000 (sign not match');
    expect(error.message).not.toContain(DINGTALK_TOKEN);
  });

  it('WeCom: markdown to the URL with its key, cut to 4096 bytes', async () => {
    receiver.answer = (request) => {
      const key = new URL(request.url, receiver.origin).searchParams.get('key');
      const body = JSON.parse(request.body) as Json;
      if (key !== WECOM_KEY) return { status: 200, body: { errcode: 93000, errmsg: 'invalid webhook url' } };
      if (body.msgtype !== 'markdown' || Buffer.byteLength(body.markdown?.content ?? '') > 4096) return { status: 200, body: { errcode: 40058, errmsg: 'markdown.content exceed max length' } };
      return { status: 200, body: { errcode: 0, errmsg: 'ok' } };
    };
    const wecom = channel({ type: 'wecom', locale: 'zh', config: { url: `${receiver.origin}/cgi-bin/webhook/send?key=${WECOM_KEY}` } });
    await senders.send(wecom, notification({ summary: '失败'.repeat(3000) }));
    expect((JSON.parse(receiver.requests[0]!.body) as Json).markdown.content).toMatch(/^### 【告警·严重】任务 nightly-report：运行失败\n/);
    const error = await failure(senders.send(channel({ type: 'wecom', config: { url: `${receiver.origin}/cgi-bin/webhook/send?key=wrong` } }), notification()));
    expect(error.details).toMatchObject({ reason: 'platform-error', platformCode: 93000 });
  });

  it('Slack: text and blocks; an error word is quoted', async () => {
    receiver.answer = (request) => {
      const body = JSON.parse(request.body) as Json;
      const valid = typeof body.text === 'string' && Array.isArray(body.blocks) && body.blocks[0]?.type === 'header' && body.blocks[0].text.text.length <= 150
        && body.blocks[1]?.text?.type === 'mrkdwn' && body.blocks[1].text.text.length <= 3000;
      if (!request.url.startsWith('/services/T0/B0/')) return { status: 404, body: 'no_service' };
      return valid ? { status: 200, body: 'ok' } : { status: 400, body: 'invalid_payload' };
    };
    await senders.send(channel({ type: 'slack', config: { url: `${receiver.origin}/services/T0/B0/secret-token` } }), notification({ details: { error: 'x'.repeat(400), stack: 'y'.repeat(5000) } }));
    const body = JSON.parse(receiver.requests[0]!.body) as Json;
    expect(body.text).toBe('[FIRING · critical] Task nightly-report: run failed');
    expect(body.blocks[1].text.text).toContain('*Rule*: nightly-fails (failure)');
    const error = await failure(senders.send(channel({ type: 'slack', config: { url: `${receiver.origin}/services/T9/B9/secret-token` } }), notification()));
    expect(error.details).toEqual({ type: 'slack', reason: 'http-status', status: 404 });
    expect(error.message).toBe(`Slack webhook ${receiver.origin}/services/T9/B9/*** answered HTTP 404: no_service`);
  });

  it('webhook: the notification as JSON, signed as ecron signs, with its id for deduplication', async () => {
    const received: { body: Json; check: ReturnType<typeof verifySignature> }[] = [];
    receiver.answer = (request) => {
      const check = verifySignature(WEBHOOK_SECRET, request.body, request.headers[SIGNATURE_HEADER] as string | undefined, Date.now());
      received.push({ body: JSON.parse(request.body) as Json, check });
      return check.ok ? { status: 204, body: '' } : { status: 401, body: check.code };
    };
    const hook = channel({ type: 'webhook', config: { url: `${receiver.origin}/alerts?team=ops`, secret: WEBHOOK_SECRET, headers: { Authorization: 'Bearer abc' } } });
    const sent: AlertNotification = notification();
    await senders.send(hook, sent);
    await senders.send(hook, sent); // a retry: the same id
    expect(received.map((r) => r.check.ok)).toEqual([true, true]);
    expect(received[0]!.body).toEqual({ ...sent, channel: 'ops', locale: 'en', title: '[FIRING · critical] Task nightly-report: run failed', text: expect.stringContaining('Attempts: 3') });
    for (const request of receiver.requests) {
      expect(request.url).toBe('/alerts?team=ops');
      expect(request.headers).toMatchObject({ 'x-ecron-delivery': 'ntf-1', 'idempotency-key': 'ntf-1', 'x-ecron-incident': 'inc-1', authorization: 'Bearer abc' });
    }
    expect(received[0]!.check).toMatchObject({ timestamp: clock.now() });
    // Signed with another secret, the receiver refuses it: the sender reports the status.
    const error = await failure(senders.send(channel({ type: 'webhook', config: { url: `${receiver.origin}/alerts`, secret: 'another-secret-0123456789' } }), sent));
    expect(error.details).toEqual({ type: 'webhook', reason: 'http-status', status: 401 });
    expect(error.message).toBe(`webhook ${receiver.origin}/alerts answered HTTP 401: SIGNATURE_MISMATCH`);
    // A webhook stored without its secret is not sent unsigned.
    const unsigned = await failure(senders.send(channel({ type: 'webhook', config: { url: `${receiver.origin}/alerts` } }), sent));
    expect(unsigned.details.reason).toBe('config');
    expect(receiver.requests).toHaveLength(3);
  });

  it('a receiver answering 500 fails with the status and the start of its body', async () => {
    receiver.answer = () => ({ status: 500, body: 'internal error\nat line 3' });
    for (const input of [
      { type: 'webhook', config: { url: `${receiver.origin}/h`, secret: WEBHOOK_SECRET } },
      { type: 'feishu', config: { url: `${receiver.origin}/hook/t` } },
      { type: 'dingtalk', config: { url: `${receiver.origin}/robot/send?access_token=t` } },
      { type: 'wecom', config: { url: `${receiver.origin}/send?key=k` } },
      { type: 'slack', config: { url: `${receiver.origin}/services/a/b/c` } },
    ] as const) {
      const error = await failure(senders.send(channel(input), notification()));
      expect(error.details, input.type).toEqual({ type: input.type, reason: 'http-status', status: 500 });
      expect(error.message, input.type).toMatch(/answered HTTP 500: internal error at line 3$/);
    }
  });

  it('a 200 without the platform\'s verdict is no success', async () => {
    receiver.answer = () => ({ status: 200, body: '<html>proxy login</html>' });
    const error = await failure(senders.send(channel({ type: 'dingtalk', config: { url: `${receiver.origin}/robot/send?access_token=t` } }), notification()));
    expect(error.details).toEqual({ type: 'dingtalk', reason: 'platform-error', status: 200 });
    expect(error.message).toContain('without a errcode verdict: <html>proxy login</html>');
  });

  it('no answer within timeoutMs is a timeout', async () => {
    receiver.answer = () => 'hang';
    const error = await failure(senders.send(channel({ type: 'slack', config: { url: `${receiver.origin}/services/a/b/c`, timeoutMs: 200 } }), notification()));
    expect(error.details).toEqual({ type: 'slack', reason: 'timeout' });
    expect(error.message).toBe(`Slack webhook ${receiver.origin}/services/a/b/***: no answer within 200 ms`);
    expect(receiver.requests).toHaveLength(1);
  });

  it('an address the namespace\'s outbound policy denies is never called', async () => {
    for (const input of [
      { type: 'webhook', config: { url: `${receiver.origin}/h`, secret: WEBHOOK_SECRET } },
      { type: 'feishu', config: { url: `${receiver.origin}/hook/t`, secret: FEISHU_SECRET } },
      { type: 'dingtalk', config: { url: `${receiver.origin}/robot/send?access_token=t` } },
      { type: 'wecom', config: { url: `${receiver.origin}/send?key=k` } },
      { type: 'slack', config: { url: `${receiver.origin}/services/a/b/c` } },
    ] as const) {
      const error = await failure(senders.send(channel({ ...input, namespace: 'locked' }), notification()));
      expect(error.details, input.type).toEqual({ type: input.type, reason: 'outbound-denied' });
      expect(error.message, input.type).toContain('refused: OUTBOUND_DENIED: 127.0.0.1 is denied by the outbound policy');
    }
    expect(receiver.requests).toHaveLength(0);
    // The same channel in a namespace whose policy allows it is sent.
    await senders.send(channel({ type: 'slack', config: { url: `${receiver.origin}/services/a/b/c` } }), notification());
    expect(receiver.requests).toHaveLength(1);
  });

  it('"send a test" sends a test notification once', async () => {
    receiver.answer = (request) => ({ status: 200, body: dingTalkVerdict(request, DINGTALK_SECRET) });
    await senders.sendTest(channel({ type: 'dingtalk', locale: 'zh', config: { url: `${receiver.origin}/robot/send?access_token=${DINGTALK_TOKEN}`, secret: DINGTALK_SECRET } }));
    expect(receiver.requests).toHaveLength(1);
    expect((JSON.parse(receiver.requests[0]!.body) as Json).markdown.title).toBe('【测试·提示】命名空间 billing：测试通知');
  });

  it('a closed sender refuses to send', async () => {
    await senders.close();
    const error = await failure(senders.send(channel({ type: 'slack', config: { url: `${receiver.origin}/services/a/b/c` } }), notification()));
    expect(error.details.reason).toBe('unreachable');
    expect(receiver.requests).toHaveLength(0);
  });
});
