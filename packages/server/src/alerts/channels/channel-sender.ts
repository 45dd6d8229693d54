/**
 * What every channel type implements: send one notification, already rendered in the channel's
 * locale, and resolve once the receiver accepted it (a 2xx answer with the platform's success code,
 * or the SMTP server's 250 for the message); otherwise throw {@link AlertChannelError}.
 *
 * A send is one try: retries with backoff, and remembering the last error, belong to the caller
 * (the incident engine), which passes the same notification id each time so that receivers that
 * can deduplicate (the generic webhook) do.
 */
import type { AlertChannelSpec, AlertChannelType, AlertNotification } from '@ecron/contracts';
import type { Clock } from '../../core/clock.ts';
import type { OutboundPolicies } from '../../dispatch/outbound-policy.ts';
import type { RenderedNotification } from '../templates.ts';
import type { PolicedHttpClient } from './http-post.ts';

/** A channel as senders need it (the stored resource has more), one member per type. */
export type AlertChannelTarget = AlertChannelSpec extends infer S ? S extends AlertChannelSpec ? Pick<S, 'namespace' | 'name' | 'type' | 'config' | 'locale'> : never : never;
export type AlertChannelTargetOf<T extends AlertChannelType> = Extract<AlertChannelTarget, { type: T }>;

export interface SendContext {
  http: PolicedHttpClient;
  outbound: OutboundPolicies;
  clock: Clock;
  /** Aborts the send (shutdown). */
  signal?: AbortSignal;
}

export type ChannelSend<T extends AlertChannelType> = (
  channel: AlertChannelTargetOf<T>, notification: AlertNotification, message: RenderedNotification, context: SendContext,
) => Promise<void>;
