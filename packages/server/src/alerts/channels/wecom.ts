/**
 * WeCom (企业微信) group robots (developer.work.weixin.qq.com, "group robot configuration"): one
 * POST of `{ msgtype: "markdown", markdown: { content } }` to the robot's URL, whose `key` is its
 * only credential (WeCom robots have no signature). The content is cut to WeCom's 4096 bytes.
 *
 * WeCom answers HTTP 200 for its own errors too: `{ "errcode": 0 }` is success, anything else a
 * failure (93000: an invalid key; 45009: too many messages).
 */
import { truncateUtf8 } from '../templates.ts';
import { displayUrl } from './channel-error.ts';
import type { ChannelSend } from './channel-sender.ts';
import { expectPlatformSuccess, postToChannel } from './platform-answer.ts';

const CONTENT_MAX_BYTES = 4096;

export const sendWeCom: ChannelSend<'wecom'> = async (channel, _notification, message, context) => {
  const { config } = channel;
  const what = `WeCom robot ${displayUrl(config.url)}`;
  const body = JSON.stringify({ msgtype: 'markdown', markdown: { content: truncateUtf8(`### ${message.title}\n${message.markdown}`, CONTENT_MAX_BYTES) } });
  const answer = await postToChannel('wecom', what, context, { namespace: channel.namespace, url: config.url, body, timeoutMs: config.timeoutMs });
  expectPlatformSuccess('wecom', what, answer, ['errcode'], ['errmsg']);
};
