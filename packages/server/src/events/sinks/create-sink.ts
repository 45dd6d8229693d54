/**
 * One place that switches on a subscription's type: its configuration's schema, the sink that
 * delivers it, and the configuration as a reader may see it (secrets masked). A new sink type
 * touches this file and its own.
 */
import type { z } from 'zod';
import type { Clock } from '../../core/clock.ts';
import type { OutboundPolicies, OutboundPolicy } from '../../dispatch/outbound-policy.ts';
import type { EventSubscriptionRecord, SubscriptionType } from '../../store/event-subscriptions.ts';
import { BrokerConfigSchemas, createBrokerSink, maskBrokerConfig, type BrokerConfigs, type BrokerType } from './brokers.ts';
import { policyOf, type EventSink } from './sink.ts';
import { maskWebhookConfig, WebhookConfigSchema, WebhookSink, type WebhookConfig } from './webhook.ts';

export interface SinkDeps {
  /** Where webhooks may connect: the policy of the subscription's namespace. */
  outbound: OutboundPolicies;
  clock: Clock;
}

/** The schema of a subscription's `config`, by type. */
export function configSchemaOf(type: SubscriptionType): z.ZodType<Record<string, unknown>> {
  return (type === 'webhook' ? WebhookConfigSchema : BrokerConfigSchemas[type]) as unknown as z.ZodType<Record<string, unknown>>;
}

/** The sink that delivers `subscription`'s events. Throws when its stored config no longer fits its schema. */
export function createSink(subscription: EventSubscriptionRecord, deps: SinkDeps): EventSink {
  if (subscription.type === 'webhook') {
    const config = WebhookConfigSchema.parse(subscription.config);
    if (config.secret === undefined) throw new Error('the webhook subscription has no secret');
    return new WebhookSink({ subscriptionId: subscription.id, namespace: subscription.namespace, config: { ...config, secret: config.secret }, outbound: deps.outbound, clock: deps.clock });
  }
  return new PolicedBrokerSink(createBrokerSink(subscription.type, subscription.config as never), String(subscription.config.url), policyOf(deps.outbound, subscription.namespace));
}

/** How long a broker host's check holds before it is resolved and checked again. */
const BROKER_CHECK_MS = 30_000;

/**
 * A broker sink under the outbound policy: before it delivers, its URL's host and every address
 * it resolves to are checked (again every 30 s), as http targets' connections are. A denied host
 * fails the delivery with OUTBOUND_DENIED, which the deliverer retries and records as the last
 * error. (The broker clients resolve names themselves, so this checks what the name resolves to
 * now, not at their connect.)
 */
class PolicedBrokerSink implements EventSink {
  readonly #inner: EventSink;
  readonly #host: string;
  readonly #policy: OutboundPolicy;
  #checkedAt = -Infinity;

  constructor(inner: EventSink, url: string, policy: OutboundPolicy) {
    this.#inner = inner;
    this.#host = URL.canParse(url) ? new URL(url).hostname : url;
    this.#policy = policy;
  }

  async deliver(messages: Parameters<EventSink['deliver']>[0]): Promise<void> {
    if (Date.now() - this.#checkedAt > BROKER_CHECK_MS) {
      const denied = await this.#policy.checkResolved(this.#host);
      if (denied) throw new Error(`broker ${this.#host} refused: OUTBOUND_DENIED: ${denied}`);
      this.#checkedAt = Date.now();
    }
    await this.#inner.deliver(messages);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** `config` as a reader sees it: secrets and credentials masked; webhook header values too unless `showHeaders` (an editor of the namespace). */
export function maskConfig(type: SubscriptionType, config: Record<string, unknown>, showHeaders: boolean): Record<string, unknown> {
  if (type === 'webhook') return maskWebhookConfig(config as WebhookConfig, showHeaders);
  return maskBrokerConfig(type as BrokerType, config as BrokerConfigs[BrokerType]);
}
