/**
 * One place that switches on a subscription's type: its configuration's schema, the sink that
 * delivers it, and the configuration as a reader may see it (secrets masked). A new sink type
 * touches this file and its own.
 */
import type { z } from 'zod';
import type { Clock } from '../../core/clock.ts';
import type { OutboundPolicies } from '../../dispatch/outbound-policy.ts';
import type { EventSubscriptionRecord, SubscriptionType } from '../../store/event-subscriptions.ts';
import { BrokerConfigSchemas, createBrokerSink, maskBrokerConfig, type BrokerConfigs, type BrokerType } from './brokers.ts';
import type { EventSink } from './sink.ts';
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
  return createBrokerSink(subscription.type, subscription.config as never);
}

/** `config` as a reader sees it: secrets and credentials masked; webhook header values too unless `showHeaders` (an editor of the namespace). */
export function maskConfig(type: SubscriptionType, config: Record<string, unknown>, showHeaders: boolean): Record<string, unknown> {
  if (type === 'webhook') return maskWebhookConfig(config as WebhookConfig, showHeaders);
  return maskBrokerConfig(type as BrokerType, config as BrokerConfigs[BrokerType]);
}
