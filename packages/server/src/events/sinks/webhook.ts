/**
 * The webhook sink of event subscriptions (issue 18): each delivery is one POST of a batch, in seq
 * order, `{ "subscriptionId": "…", "events": [ { "id": "<subscription>:<seq>", "seq": …, "type": …, … } ] }`,
 * signed as ecron signs executor requests (`x-ecron-signature: t=<ms>,n=<nonce>,v1=<HMAC-SHA256 hex
 * of "t.n.body">`, `@ecron/contracts/signature`) with the subscription's own secret. A 2xx answer
 * acknowledges the whole batch; anything else (or no answer within `timeoutMs`) fails it, and the
 * deliverer sends the same events again later. Connections follow the outbound policy of the
 * subscription's namespace (`dispatch/outbound-policy.ts`), checked on every connection against
 * every address the host resolves to, as for http targets.
 */
import { randomBytes } from 'node:crypto';
import { SIGNATURE_HEADER } from '@ecron/contracts';
import { signBody } from '@ecron/contracts/signature';
import { Agent, request } from 'undici';
import { z } from 'zod';
import type { Clock } from '../../core/clock.ts';
import { outboundDenial, policedConnector } from '../../dispatch/http-dispatcher.ts';
import type { OutboundPolicies, OutboundPolicy } from '../../dispatch/outbound-policy.ts';
import { policyOf, type EventMessage, type EventSink } from './sink.ts';

/** The subscription a delivery is for. */
export const SUBSCRIPTION_HEADER = 'x-ecron-subscription';
/** `<subscription id>:<first seq>-<last seq>`: the same for every redelivery of the same batch. */
export const DELIVERY_HEADER = 'x-ecron-delivery';
/** `<first seq>-<last seq>` of the batch. */
export const SEQ_RANGE_HEADER = 'x-ecron-seq-range';

/** What a masked secret or header value reads (as target headers, docs/security.md F6). */
export const WEBHOOK_SECRET_MASK = '***';

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/;
/** Headers ecron sets itself: a configured header may not replace them. */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'host', SIGNATURE_HEADER, SUBSCRIPTION_HEADER, DELIVERY_HEADER, SEQ_RANGE_HEADER]);

export const WebhookConfigSchema = z.strictObject({
  url: z.string().max(2048).regex(/^https?:\/\/[^\s]+$/i, 'expected an http:// or https:// URL').refine((value) => URL.canParse(value), 'not a valid URL'),
  /** The HMAC key of the signature; generated (32 random bytes, base64url) when absent. Never shown again after create. */
  secret: z.string().min(16, 'at least 16 characters').max(512).optional(),
  /** Sent with every request (an `Authorization` for the receiver, …); values are masked below editor. */
  headers: z.record(z.string().regex(HEADER_NAME, 'expected a header name'), z.string().max(8192))
    .refine((headers) => Object.keys(headers).every((name) => !RESERVED_HEADERS.has(name.toLowerCase())), 'content-type, host and the x-ecron-* headers are set by ecron')
    .optional(),
  /** How long one request may take, from connect to the end of the answer. @default 10000 */
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
});
export type WebhookConfig = z.output<typeof WebhookConfigSchema>;

/** A new signing secret: 32 random bytes, base64url. */
export function newWebhookSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The configuration as a reader sees it: the secret masked; header values masked unless `showHeaders`. */
export function maskWebhookConfig(config: WebhookConfig, showHeaders: boolean): WebhookConfig {
  const masked: WebhookConfig = { ...config, secret: WEBHOOK_SECRET_MASK };
  if (config.headers && !showHeaders) masked.headers = Object.fromEntries(Object.keys(config.headers).map((name) => [name, WEBHOOK_SECRET_MASK]));
  return masked;
}

export interface WebhookSinkOptions {
  subscriptionId: string;
  /** The namespace whose outbound policy applies; `*`: the server's. */
  namespace: string;
  config: WebhookConfig & { secret: string };
  outbound: OutboundPolicies;
  clock: Clock;
}

export class WebhookSink implements EventSink {
  readonly #o: WebhookSinkOptions;
  #agent: { policy: OutboundPolicy; agent: Agent } | null = null;
  /** Aborts requests under way when the sink closes. */
  readonly #closing = new AbortController();

  constructor(options: WebhookSinkOptions) {
    this.#o = options;
  }

  /** The connections of the namespace's policy as it is now (made again when its rules change). */
  #agentNow(): Agent {
    const policy = policyOf(this.#o.outbound, this.#o.namespace);
    if (this.#agent?.policy === policy) return this.#agent.agent;
    if (this.#agent) void this.#agent.agent.close().catch(() => {});
    this.#agent = { policy, agent: new Agent({ connections: 4, keepAliveTimeout: 30_000, pipelining: 1, connect: policedConnector(policy) }) };
    return this.#agent.agent;
  }

  async deliver(messages: readonly EventMessage[]): Promise<void> {
    if (messages.length === 0) return;
    if (this.#closing.signal.aborted) throw new Error('the webhook sink is closed');
    const { config, subscriptionId } = this.#o;
    // Each event as GET /api/v1/events answers it, with the delivery id first.
    const events = messages.map((m) => `{"id":${JSON.stringify(m.id)},${m.body.slice(1)}`);
    const body = `{"subscriptionId":${JSON.stringify(subscriptionId)},"events":[${events.join(',')}]}`;
    const range = `${messages[0]!.seq}-${messages.at(-1)!.seq}`;
    const headers: Record<string, string> = {
      ...config.headers,
      'content-type': 'application/json',
      [SUBSCRIPTION_HEADER]: subscriptionId,
      [DELIVERY_HEADER]: `${subscriptionId}:${range}`,
      [SEQ_RANGE_HEADER]: range,
      [SIGNATURE_HEADER]: signBody(config.secret, body, this.#o.clock.now()),
    };
    let status: number;
    try {
      const response = await request(config.url, {
        method: 'POST', dispatcher: this.#agentNow(), headers, body,
        signal: AbortSignal.any([this.#closing.signal, AbortSignal.timeout(config.timeoutMs)]),
      });
      status = response.statusCode;
      await response.body.dump({ limit: 64 * 1024 }).catch(() => {});
    } catch (error) {
      const denied = outboundDenial(error);
      if (denied) throw new Error(`webhook ${origin(config.url)} refused: ${denied}`, { cause: error });
      throw new Error(`webhook ${origin(config.url)} failed: ${describe(error)}`, { cause: error });
    }
    if (status < 200 || status >= 300) throw new Error(`webhook ${origin(config.url)} answered HTTP ${status}`);
  }

  async close(): Promise<void> {
    this.#closing.abort();
    const agent = this.#agent?.agent;
    this.#agent = null;
    await agent?.destroy().catch(() => {});
  }
}

function origin(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function describe(error: unknown): string {
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'no answer in time, or the sink closed';
  return e?.cause?.code ?? e?.code ?? e?.cause?.message ?? e?.message ?? String(error);
}
