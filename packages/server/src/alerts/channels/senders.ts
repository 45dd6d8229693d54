/**
 * The alert channels' senders behind one call: `send(channel, notification)` renders the
 * notification in the channel's locale (`../templates.ts`) and hands it to the sender of its type,
 * resolving once the receiver accepted it and throwing {@link AlertChannelError}
 * (ALERT_CHANNEL_FAILED, `details.reason`) otherwise. HTTP senders share one policed client (the
 * namespace's outbound policy on every connection); `close()` aborts sends under way.
 *
 * `sendTest` sends {@link testNotification}: the "send a test" action of a channel. It is sent
 * once, now, without retries, and its error is the caller's answer; it opens no incident.
 */
import { randomUUID } from 'node:crypto';
import type { AlertChannelType, AlertNotification } from '@ecron/contracts';
import type { Clock } from '../../core/clock.ts';
import type { OutboundPolicies } from '../../dispatch/outbound-policy.ts';
import { renderNotification } from '../templates.ts';
import type { AlertChannelTarget, ChannelSend, SendContext } from './channel-sender.ts';
import { sendDingTalk } from './dingtalk.ts';
import { sendEmail } from './email.ts';
import { sendFeishu } from './feishu.ts';
import { PolicedHttpClient } from './http-post.ts';
import { sendSlack } from './slack.ts';
import { sendWebhook } from './webhook.ts';
import { sendWeCom } from './wecom.ts';

const SENDERS: { [T in AlertChannelType]: ChannelSend<T> } = {
  webhook: sendWebhook,
  email: sendEmail,
  slack: sendSlack,
  feishu: sendFeishu,
  dingtalk: sendDingTalk,
  wecom: sendWeCom,
};

export interface AlertChannelSendersOptions {
  /** The outbound policy of each namespace (`NamespacePolicies`, or one `OutboundPolicy` for all). */
  outbound: OutboundPolicies;
  clock: Clock;
}

export class AlertChannelSenders implements AsyncDisposable {
  readonly #o: AlertChannelSendersOptions;
  readonly #http: PolicedHttpClient;
  readonly #closing = new AbortController();

  constructor(options: AlertChannelSendersOptions) {
    this.#o = options;
    this.#http = new PolicedHttpClient(options.outbound);
  }

  /** Sends one notification through one channel: resolves when accepted, else throws ALERT_CHANNEL_FAILED. */
  async send(channel: AlertChannelTarget, notification: AlertNotification, signal?: AbortSignal): Promise<void> {
    const message = renderNotification(notification, channel.locale);
    const context: SendContext = {
      http: this.#http,
      outbound: this.#o.outbound,
      clock: this.#o.clock,
      signal: signal ? AbortSignal.any([signal, this.#closing.signal]) : this.#closing.signal,
    };
    const send = SENDERS[channel.type] as ChannelSend<AlertChannelType>;
    await send(channel as never, notification, message, context);
  }

  /** The "send a test" action: one {@link testNotification}, once, now. */
  sendTest(channel: AlertChannelTarget, signal?: AbortSignal): Promise<void> {
    return this.send(channel, testNotification(channel, this.#o.clock.now()), signal);
  }

  async close(): Promise<void> {
    this.#closing.abort();
    await this.#http.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A notification for "send a test": firing, info, about the channel's namespace, marked `test`. */
export function testNotification(channel: Pick<AlertChannelTarget, 'namespace' | 'name'>, now: number): AlertNotification {
  const id = `test-${randomUUID()}`;
  return {
    id,
    incidentId: id,
    state: 'firing',
    severity: 'info',
    rule: { name: `test of channel ${channel.name}`, on: 'failure' },
    subject: { kind: 'namespace', id: channel.namespace, name: channel.namespace },
    namespace: channel.namespace,
    summary: `A test notification of alert channel ${channel.namespace}/${channel.name}.`,
    details: { channel: channel.name },
    at: new Date(now).toISOString(),
    test: true,
  };
}
