/**
 * Slack incoming webhooks (https://api.slack.com/messaging/webhooks): one POST of
 * `{ text, blocks }`, `text` being the title (what notifications and old clients show) and
 * `blocks` a header with the title and a section with the body in mrkdwn. Slack answers 200 `ok`;
 * its errors are 4xx with a word (`invalid_payload`, `no_service`, `channel_is_archived`), which the
 * error message quotes. The hook's URL is its secret: messages show it without its last segment.
 */
import { truncateUtf8 } from '../templates.ts';
import { displayUrl } from './channel-error.ts';
import type { ChannelSend } from './channel-sender.ts';
import { expectSuccessStatus, postToChannel } from './platform-answer.ts';

/** Slack's limits: 150 characters of a header's text, 3000 of a section's. */
const HEADER_MAX = 150;
const SECTION_MAX = 3000;

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export const sendSlack: ChannelSend<'slack'> = async (channel, _notification, message, context) => {
  const { config } = channel;
  const what = `Slack webhook ${displayUrl(config.url, true)}`;
  const body = JSON.stringify({
    text: truncateUtf8(message.title, 3000),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: cut(message.title, HEADER_MAX), emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: cut(message.slackMrkdwn, SECTION_MAX) } },
    ],
  });
  const answer = await postToChannel('slack', what, context, { namespace: channel.namespace, url: config.url, body, timeoutMs: config.timeoutMs });
  expectSuccessStatus('slack', what, answer);
};
