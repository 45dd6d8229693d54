/**
 * Reading a receiver's answer: a non-2xx status fails with the status and the start of the body;
 * the chat platforms answer 200 for their own errors too, with a code in the JSON body (Feishu
 * `code`, or `StatusCode` on its older hooks; DingTalk and WeCom `errcode`), 0 meaning success.
 * No answer at all (refused by the outbound policy, timed out, unreachable) fails before.
 */
import type { AlertChannelType } from '@ecron/contracts';
import { AlertChannelError, connectionFailure } from './channel-error.ts';
import type { SendContext } from './channel-sender.ts';
import { parseJsonObject, type HttpAnswer, type PostJsonParams } from './http-post.ts';

/** POSTs through the context's client; no answer is ALERT_CHANNEL_FAILED (`outbound-denied`, `timeout`, `unreachable`). */
export async function postToChannel(type: AlertChannelType, what: string, context: SendContext, params: Omit<PostJsonParams, 'signal'>): Promise<HttpAnswer> {
  try {
    return await context.http.postJson({ ...params, signal: context.signal });
  } catch (error) {
    throw connectionFailure(type, what, error, params.timeoutMs);
  }
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
}

/** Throws ALERT_CHANNEL_FAILED (`http-status`) unless the status is 2xx. */
export function expectSuccessStatus(type: AlertChannelType, what: string, answer: HttpAnswer): void {
  if (answer.status >= 200 && answer.status < 300) return;
  const body = excerpt(answer.text);
  throw new AlertChannelError({ type, reason: 'http-status', status: answer.status }, `${what} answered HTTP ${answer.status}${body ? `: ${body}` : ''}`);
}

/**
 * Throws ALERT_CHANNEL_FAILED (`platform-error`) unless the JSON answer's first present code field
 * is 0; an answer with no such field is no verdict, and fails too.
 */
export function expectPlatformSuccess(type: AlertChannelType, what: string, answer: HttpAnswer, codeFields: readonly string[], messageFields: readonly string[]): void {
  expectSuccessStatus(type, what, answer);
  const body = parseJsonObject(answer.text);
  const field = body ? codeFields.find((name) => body[name] !== undefined && body[name] !== null) : undefined;
  if (!body || field === undefined) {
    throw new AlertChannelError({ type, reason: 'platform-error', status: answer.status },
      `${what} answered HTTP ${answer.status} without a ${codeFields.join('/')} verdict: ${excerpt(answer.text) || '(empty body)'}`);
  }
  const code = body[field];
  if (code === 0 || code === '0') return;
  const messageField = messageFields.find((name) => typeof body[name] === 'string');
  const message = messageField ? String(body[messageField]) : '';
  const platformCode = typeof code === 'number' || typeof code === 'string' ? code : JSON.stringify(code);
  throw new AlertChannelError({ type, reason: 'platform-error', status: answer.status, platformCode },
    `${what} refused the message: ${field} ${platformCode}${message ? ` (${excerpt(message)})` : ''}`);
}
