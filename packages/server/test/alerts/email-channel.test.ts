/**
 * The e-mail channel against a real SMTP server (`smtp-server`) run here: the envelope's
 * recipients, the subject and the parts in English and Chinese, login, STARTTLS required or
 * ignored, implicit TLS, and the failures (a refused login, no STARTTLS when it is required, a
 * certificate that does not verify, no greeting in time, an address the outbound policy denies),
 * each ALERT_CHANNEL_FAILED with its reason.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { AlertChannelSpecSchema } from '@ecron/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertChannelError } from '../../src/alerts/channels/channel-error.ts';
import { AlertChannelSenders } from '../../src/alerts/channels/senders.ts';
import { systemClock } from '../../src/core/clock.ts';
import { OutboundPolicy, type OutboundPolicies } from '../../src/dispatch/outbound-policy.ts';
import { notification } from './fixtures.ts';
import { parseMail, SmtpReceiver } from './receivers.ts';

const server = new OutboundPolicy();
const locked = new OutboundPolicy({ deny: ['127.0.0.1'] }, server);
const outbound: OutboundPolicies = { server, of: (namespace) => (namespace === 'locked' ? locked : server) };
const CREDENTIALS = { user: 'alerts@example.com', password: 'correct horse' };

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function smtp(options: Parameters<SmtpReceiver['start']>[0] = {}): Promise<SmtpReceiver> {
  const receiver = await new SmtpReceiver().start(options);
  cleanup.push(() => receiver.close());
  return receiver;
}

function senders(): AlertChannelSenders {
  const made = new AlertChannelSenders({ outbound, clock: systemClock });
  cleanup.push(() => made.close());
  return made;
}

function email(port: number, config: object = {}, extra: { locale?: 'en' | 'zh'; namespace?: string } = {}) {
  return AlertChannelSpecSchema.parse({
    namespace: 'billing', name: 'ops-mail', type: 'email', ...extra,
    config: { host: '127.0.0.1', port, from: 'ecron <alerts@example.com>', to: ['ops@example.com', 'oncall@example.com'], ...config },
  });
}

async function failure(send: Promise<void>): Promise<AlertChannelError> {
  const error = await send.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(AlertChannelError);
  expect((error as AlertChannelError).code).toBe('ALERT_CHANNEL_FAILED');
  return error as AlertChannelError;
}

describe('e-mail alert channel', () => {
  it('sends to every recipient after logging in, with an English subject, text and HTML', async () => {
    const receiver = await smtp({ credentials: CREDENTIALS });
    await senders().send(email(receiver.port, { ...CREDENTIALS, ignoreTLS: true }), notification());
    expect(receiver.mails).toHaveLength(1);
    const mail = receiver.mails[0]!;
    expect(mail).toMatchObject({ from: 'alerts@example.com', to: ['ops@example.com', 'oncall@example.com'], user: CREDENTIALS.user, secure: false });
    const parsed = parseMail(mail.raw);
    expect(parsed.subject).toBe('[FIRING · critical] Task nightly-report: run failed');
    expect(parsed.headers.get('to')).toBe('ops@example.com, oncall@example.com');
    expect(parsed.headers.get('x-ecron-notification')).toBe('ntf-1');
    expect(parsed.text).toContain('nightly-report failed after 3 attempts');
    expect(parsed.text).toContain('Rule: nightly-fails (failure)');
    expect(parsed.html).toContain('<h2>[FIRING · critical] Task nightly-report: run failed</h2>');
    expect(parsed.html).toContain('HTTP 500 from http://10.0.0.5/run &lt;boom&gt;');
  });

  it('writes in Chinese for a zh channel', async () => {
    const receiver = await smtp();
    await senders().send(email(receiver.port, { to: ['ops@example.com'] }, { locale: 'zh' }), notification({ state: 'resolved' }));
    const parsed = parseMail(receiver.mails[0]!.raw);
    expect(receiver.mails[0]!.to).toEqual(['ops@example.com']);
    expect(parsed.subject).toBe('【已恢复·严重】任务 nightly-report：已恢复成功');
    expect(parsed.text).toContain('规则：nightly-fails (failure)');
    expect(parsed.html).toContain('<html lang="zh">');
  });

  it('upgrades by STARTTLS when required, and stays plain when told to ignore it', async () => {
    const receiver = await smtp({ starttls: true, credentials: CREDENTIALS });
    const send = senders();
    // smtp-server's own certificate is self-signed: verification is turned off to reach it.
    await send.send(email(receiver.port, { ...CREDENTIALS, requireTLS: true, rejectUnauthorized: false }), notification());
    await send.send(email(receiver.port, { ...CREDENTIALS, ignoreTLS: true }), notification());
    expect(receiver.mails.map((m) => m.secure)).toEqual([true, false]);
    // With verification on, the self-signed certificate fails the send.
    const error = await failure(send.send(email(receiver.port, { ...CREDENTIALS, requireTLS: true }), notification()));
    expect(error.details).toMatchObject({ type: 'email', reason: 'unreachable' });
    expect(error.message).toMatch(/^SMTP server 127\.0\.0\.1:\d+ failed: .*certificate/);
    expect(receiver.mails).toHaveLength(2);
  });

  it('speaks TLS from the first byte when secure', async () => {
    const receiver = await smtp({ secure: true });
    await senders().send(email(receiver.port, { secure: true, rejectUnauthorized: false }), notification());
    expect(receiver.mails.map((m) => m.secure)).toEqual([true]);
  });

  it('fails on a refused login, and on a server without STARTTLS when it is required', async () => {
    const receiver = await smtp({ credentials: CREDENTIALS });
    const send = senders();
    const login = await failure(send.send(email(receiver.port, { user: CREDENTIALS.user, password: 'wrong', ignoreTLS: true }), notification()));
    expect(login.details).toEqual({ type: 'email', reason: 'smtp', platformCode: 535 });
    expect(login.message).toMatch(/^SMTP server 127\.0\.0\.1:\d+ refused the message \(EAUTH\): .*535/);
    const plain = await failure(send.send(email(receiver.port, { ...CREDENTIALS, requireTLS: true }), notification()));
    expect(plain.details).toMatchObject({ type: 'email', reason: 'smtp' });
    expect(plain.message).toMatch(/STARTTLS/i);
    expect(receiver.mails).toHaveLength(0);
  });

  it('gives up on a server that does not greet within timeoutMs', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket)).listen(0, '127.0.0.1');
    await once(silent, 'listening');
    cleanup.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });
    const error = await failure(senders().send(email((silent.address() as AddressInfo).port, { timeoutMs: 300 }), notification()));
    expect(error.details).toEqual({ type: 'email', reason: 'timeout' });
    expect(error.message).toMatch(/^SMTP server 127\.0\.0\.1:\d+: no answer within 300 ms$/);
  });

  it('never connects to an address the namespace\'s outbound policy denies', async () => {
    const receiver = await smtp();
    const error = await failure(senders().send(email(receiver.port, {}, { namespace: 'locked' }), notification()));
    expect(error.details).toEqual({ type: 'email', reason: 'outbound-denied' });
    expect(error.message).toMatch(/^SMTP server 127\.0\.0\.1:\d+ refused: OUTBOUND_DENIED: 127\.0\.0\.1 is denied by the outbound policy$/);
    expect(receiver.connections).toBe(0);
  });
});
