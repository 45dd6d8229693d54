/**
 * The one error a channel's send throws: ALERT_CHANNEL_FAILED, with `details.reason` saying what
 * went wrong in a word a program can branch on, and a message a person can act on (the HTTP status,
 * the platform's own error code and message, the SMTP reply). Nothing secret goes into either: URLs
 * are shown without their query or the token in their path.
 */
import type { AlertChannelType } from '@ecron/contracts';
import { EcronError } from '../../core/errors.ts';
import { outboundDenial } from '../../dispatch/http-dispatcher.ts';

/**
 * - `outbound-denied`: the namespace's outbound policy does not let the server call the address;
 * - `timeout`: no answer within the channel's `timeoutMs`;
 * - `unreachable`: no connection (refused, reset, DNS, TLS);
 * - `http-status`: the receiver answered a non-2xx status;
 * - `platform-error`: it answered 2xx with the platform's error code (Feishu `code`, DingTalk and WeCom `errcode`);
 * - `smtp`: the SMTP server refused the message, the login or the TLS upgrade;
 * - `config`: the channel cannot be sent as stored (a webhook without its secret).
 */
export type AlertChannelFailure = 'outbound-denied' | 'timeout' | 'unreachable' | 'http-status' | 'platform-error' | 'smtp' | 'config';

export interface AlertChannelErrorDetails {
  type: AlertChannelType;
  reason: AlertChannelFailure;
  /** The HTTP status, when there was an answer. */
  status?: number;
  /** The platform's error code (Feishu `code`, DingTalk/WeCom `errcode`) or the SMTP response code. */
  platformCode?: number | string;
}

export const ALERT_CHANNEL_FAILED = 'ALERT_CHANNEL_FAILED';

export class AlertChannelError extends EcronError {
  declare readonly details: AlertChannelErrorDetails;

  constructor(details: AlertChannelErrorDetails, message: string, options?: { cause?: unknown }) {
    super(ALERT_CHANNEL_FAILED, message, details);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }

  /** An EcronError with this code (EcronError's own check would take any code). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return EcronError[Symbol.hasInstance](value) && (value as { code?: unknown }).code === ALERT_CHANNEL_FAILED;
  }
}

/** The ALERT_CHANNEL_FAILED of an error thrown while connecting or waiting for an answer. */
export function connectionFailure(type: AlertChannelType, what: string, error: unknown, timeoutMs: number): AlertChannelError {
  if (error instanceof AlertChannelError) return error;
  const denied = outboundDenial(error);
  if (denied) return new AlertChannelError({ type, reason: 'outbound-denied' }, `${what} refused: ${denied}`, { cause: error });
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError' || e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT') {
    return new AlertChannelError({ type, reason: 'timeout' }, `${what}: no answer within ${timeoutMs} ms`, { cause: error });
  }
  return new AlertChannelError({ type, reason: 'unreachable' }, `${what} failed: ${describe(e?.cause ?? e) || describe(e) || String(error)}`, { cause: error });
}

/** "ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9" without saying the code twice. */
function describe(e: { code?: string; message?: string } | undefined): string {
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message.replace(/\s+/g, ' ').slice(0, 300) : '';
  if (!code) return message;
  return message && !message.includes(code) ? `${code}: ${message}` : message || code;
}

/** A URL for messages: scheme, host and path, with the path's last segment hidden when it is a token. */
export function displayUrl(url: string, hideLastSegment = false): string {
  try {
    const parsed = new URL(url);
    const path = hideLastSegment ? parsed.pathname.replace(/[^/]+$/, '***') : parsed.pathname;
    return `${parsed.protocol}//${parsed.host}${path}`;
  } catch {
    return '(invalid URL)';
  }
}
