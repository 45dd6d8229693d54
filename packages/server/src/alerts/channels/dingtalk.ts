/**
 * DingTalk custom robots (open.dingtalk.com, "custom robot"): one POST of
 * `{ msgtype: "markdown", markdown: { title, text } }` to the robot's URL (with its
 * `access_token`). With a signing secret ("additional signature"), the URL also gets `timestamp`
 * (milliseconds) and `sign` = urlencode(base64(HMAC-SHA256 keyed with the secret over
 * `timestamp + "\n" + secret`)); DingTalk refuses a timestamp more than an hour off.
 *
 * DingTalk answers HTTP 200 for its own errors too: `{ "errcode": 0 }` is success, anything else a
 * failure (310000: the security settings refused the message, keyword, signature or IP; 300001:
 * a bad token; 130101: too many messages).
 */
import { createHmac } from 'node:crypto';
import { truncateUtf8 } from '../templates.ts';
import { displayUrl } from './channel-error.ts';
import type { ChannelSend } from './channel-sender.ts';
import { expectPlatformSuccess, postToChannel } from './platform-answer.ts';

/** DingTalk's signature of `timestamp` (milliseconds) with `secret`, before URL encoding. */
export function dingTalkSignature(timestampMs: string, secret: string): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

/** DingTalk's limit on a markdown message is 20,000 bytes; the title is what the chat list shows. */
const TEXT_MAX_BYTES = 18_000;

export const sendDingTalk: ChannelSend<'dingtalk'> = async (channel, _notification, message, context) => {
  const { config } = channel;
  const what = `DingTalk robot ${displayUrl(config.url)}`;
  const url = new URL(config.url);
  if (config.secret) {
    const timestamp = String(context.clock.now());
    url.searchParams.set('timestamp', timestamp);
    // URLSearchParams encodes "+", "/" and "=" of the base64 as DingTalk's urlencode does.
    url.searchParams.set('sign', dingTalkSignature(timestamp, config.secret));
  }
  const body = JSON.stringify({
    msgtype: 'markdown',
    markdown: { title: truncateUtf8(message.title, 200), text: truncateUtf8(`### ${message.title}\n\n${message.markdown}`, TEXT_MAX_BYTES) },
  });
  const answer = await postToChannel('dingtalk', what, context, { namespace: channel.namespace, url: url.toString(), body, timeoutMs: config.timeoutMs });
  expectPlatformSuccess('dingtalk', what, answer, ['errcode'], ['errmsg']);
};
