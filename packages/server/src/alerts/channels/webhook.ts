/**
 * The generic webhook: one POST of the notification as JSON, with its rendered `title` and `text`
 * in the channel's locale, signed as ecron signs executor requests and event webhooks
 * (`x-ecron-signature: t=<ms>,n=<nonce>,v1=<HMAC-SHA256 hex of "t.n.body">`, `signBody` of
 * `@ecron/contracts/signature`) with the channel's secret. `x-ecron-delivery` and `Idempotency-Key`
 * carry the notification id, the same on every retry, so that a receiver can drop duplicates;
 * `x-ecron-incident` carries the incident id. Any 2xx answer accepts it.
 */
import { SIGNATURE_HEADER } from '@ecron/contracts';
import { signBody } from '@ecron/contracts/signature';
import { DELIVERY_HEADER } from '../../events/sinks/webhook.ts';
import { AlertChannelError, displayUrl } from './channel-error.ts';
import type { ChannelSend } from './channel-sender.ts';
import { expectSuccessStatus, postToChannel } from './platform-answer.ts';

export { DELIVERY_HEADER };
export const INCIDENT_HEADER = 'x-ecron-incident';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

export const sendWebhook: ChannelSend<'webhook'> = async (channel, notification, message, context) => {
  const { config } = channel;
  const what = `webhook ${displayUrl(config.url)}`;
  if (!config.secret) throw new AlertChannelError({ type: 'webhook', reason: 'config' }, `${what}: the channel has no signing secret`);
  const body = JSON.stringify({ ...notification, channel: channel.name, locale: channel.locale, title: message.title, text: message.text });
  const headers: Record<string, string> = {
    ...config.headers,
    [DELIVERY_HEADER]: notification.id,
    [IDEMPOTENCY_HEADER]: notification.id,
    [INCIDENT_HEADER]: notification.incidentId,
    [SIGNATURE_HEADER]: signBody(config.secret, body, context.clock.now()),
  };
  const answer = await postToChannel('webhook', what, context, { namespace: channel.namespace, url: config.url, body, headers, timeoutMs: config.timeoutMs });
  expectSuccessStatus('webhook', what, answer);
};
