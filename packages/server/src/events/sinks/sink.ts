/**
 * Where an event subscription delivers (issue 18): a signed webhook or a broker (NATS JetStream,
 * Redis Streams, RabbitMQ, MQTT). The subscription's deliverer (one node at a time per
 * subscription) reads the log after the subscription's cursor, hands the events to its sink in
 * seq order, and moves the cursor only once `deliver` resolved: delivery is at least once, in
 * order, and a receiver deduplicates by `id`.
 */

/** One event as a sink sends it. */
import type { OutboundPolicies, OutboundPolicy } from '../../dispatch/outbound-policy.ts';
import { ALL_NAMESPACES } from '../../services/access.ts';
export interface EventMessage {
  /** The event's seq in the log. */
  seq: number;
  /** `<subscription id>:<seq>`: the same for every redelivery of this event to this subscription (NATS `Nats-Msg-Id`, a message id elsewhere). */
  id: string;
  /** The event's type (`run.failed`…), for subjects, routing keys and topics. */
  type: string;
  /** The event resource as JSON text (what `GET /api/v1/events` answers for it). */
  body: string;
}

export interface EventSink {
  /**
   * Sends `messages` in order and resolves once the receiver acknowledged every one of them
   * (a 2xx answer, a JetStream ack, a publisher confirm, an XADD reply, a PUBACK). Rejects when
   * any was not acknowledged: the deliverer then sends them again later, from the first.
   */
  deliver(messages: readonly EventMessage[]): Promise<void>;
  /** Releases connections. Idempotent. */
  close(): Promise<void>;
}

/** The policy a subscription's deliveries follow: its namespace's, or the server's for one over every namespace (`*`). */
export function policyOf(outbound: OutboundPolicies, namespace: string): OutboundPolicy {
  return namespace === ALL_NAMESPACES ? outbound.server : outbound.of(namespace);
}
