/**
 * Feishu (Lark) custom bots (open.feishu.cn, "Custom bot usage guide"): one POST of an interactive
 * card, `{ msg_type: "interactive", card: { header, elements } }`, the header holding the title in
 * the severity's colour and a `lark_md` block the Markdown body. With a signing secret, the body
 * also carries `timestamp` (seconds, as a string) and `sign` = base64(HMAC-SHA256 keyed with
 * `timestamp + "\n" + secret` over an empty message), as Feishu documents it; the bot refuses a
 * timestamp more than an hour off.
 *
 * Feishu answers HTTP 200 for its own errors too: `{ "code": 0 }` is success (older hooks say
 * `{ "StatusCode": 0 }`), anything else a failure (19021: the signature does not match; 19024: the
 * keyword filter; 9499: a bad payload).
 */
import { createHmac } from 'node:crypto';
import type { AlertNotification } from '@ecron/contracts';
import { truncateUtf8 } from '../templates.ts';
import { displayUrl } from './channel-error.ts';
import type { ChannelSend } from './channel-sender.ts';
import { expectPlatformSuccess, postToChannel } from './platform-answer.ts';

/** Feishu's signature of `timestamp` (seconds) with `secret`. */
export function feishuSignature(timestampSeconds: string, secret: string): string {
  return createHmac('sha256', `${timestampSeconds}\n${secret}`).update('').digest('base64');
}

function colour(n: AlertNotification): string {
  if (n.state === 'resolved') return 'green';
  return n.severity === 'critical' ? 'red' : n.severity === 'warning' ? 'orange' : 'blue';
}

export const sendFeishu: ChannelSend<'feishu'> = async (channel, notification, message, context) => {
  const { config } = channel;
  const what = `Feishu bot ${displayUrl(config.url, true)}`;
  const signed: Record<string, string> = {};
  if (config.secret) {
    const timestamp = String(Math.floor(context.clock.now() / 1000));
    signed.timestamp = timestamp;
    signed.sign = feishuSignature(timestamp, config.secret);
  }
  const body = JSON.stringify({
    ...signed,
    msg_type: 'interactive',
    card: {
      config: { wide_screen_mode: true },
      header: { title: { tag: 'plain_text', content: message.title }, template: colour(notification) },
      elements: [{ tag: 'div', text: { tag: 'lark_md', content: truncateUtf8(message.markdown, 20_000) } }],
    },
  });
  const answer = await postToChannel('feishu', what, context, { namespace: channel.namespace, url: config.url, body, timeoutMs: config.timeoutMs });
  expectPlatformSuccess('feishu', what, answer, ['code', 'StatusCode'], ['msg', 'StatusMessage']);
};
