/**
 * The storage verbs of event subscriptions (issue 18, delivery): where events go (a webhook or a
 * broker), which ones, and how far each subscription has got in the log. Part of the `Store` port
 * (`store.ts` extends {@link EventSubscriptionVerbs}); every store passes
 * `conformance/event-subscriptions.ts`.
 *
 * Concurrency contract:
 * - **One deliverer per subscription.** A node holds a subscription by a lease `(owner,
 *   leaseExpiresAt)`, compared with the store's clock: {@link EventSubscriptionVerbs.claimSubscriptions}
 *   takes active subscriptions that nobody holds or whose lease expired and renews the caller's own.
 *   Of two nodes claiming at once, each subscription goes to one.
 * - **The cursor only moves forward, and only for the holder.**
 *   {@link EventSubscriptionVerbs.advanceSubscription} is a compare-and-set on the owner and the
 *   lease: a node that lost the lease writes nothing, and a cursor lower than the stored one is
 *   not applied. Delivery is therefore at least once (a node may deliver a batch and lose the lease
 *   before it records it) and never skips an event it did not deliver or dead-letter.
 */
import type { AuditInput } from './store.ts';

export const SUBSCRIPTION_TYPES = ['webhook', 'nats', 'redis', 'rabbitmq', 'mqtt'] as const;
export type SubscriptionType = (typeof SUBSCRIPTION_TYPES)[number];
export type SubscriptionState = 'active' | 'paused';

/** Which events of its namespace scope a subscription receives; every field given must hold. */
export interface SubscriptionFilter {
  /** Of a subscription over every namespace (`*`): only these. */
  namespaces?: string[];
  /** Exact (`run.failed`) or a prefix (`run.*`). */
  types?: string[];
  taskId?: string;
}

export interface EventSubscriptionRecord {
  id: string;
  /** The namespace whose events it receives; `*`: every namespace, and cluster events. */
  namespace: string;
  /** Unique within the namespace. */
  name: string;
  type: SubscriptionType;
  /** The sink's settings (a webhook's url, secret and headers; a broker's). Holds secrets: never returned unmasked. */
  config: Record<string, unknown>;
  filter: SubscriptionFilter;
  state: SubscriptionState;
  /** The seq of the last event delivered (or dead-lettered): delivery goes on after it. */
  cursor: number;
  /** The node delivering it, while `leaseExpiresAt` (store clock) has not passed. */
  owner: string | null;
  leaseExpiresAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  /** Failed tries since the last success. */
  failures: number;
  createdAt: number;
  updatedAt: number;
}

/** An event a subscription gave up on after its tries (the cursor moved past it). */
export interface DeadLetterRecord {
  subscriptionId: string;
  seq: number;
  /** The event as it was sent (the event resource). */
  event: Record<string, unknown>;
  error: string;
  attempts: number;
  at: number;
}

export interface AdvanceSubscriptionParams {
  id: string;
  /** The caller: nothing is written unless it holds the subscription's lease, unexpired. */
  nodeId: string;
  /** The new cursor; one below the stored cursor leaves it as it is. */
  cursor: number;
  at: number;
  /** A failed try: recorded as the last error, with the count of failures since the last success. Absent: a success (failures back to 0). */
  failure?: { error: string; failures: number };
  /** Given up on: stored as a dead letter in the same transaction, unless the stored cursor is past it already. */
  deadLetter?: DeadLetterRecord;
}

export interface EventSubscriptionVerbs {
  /** Throws SUBSCRIPTION_NAME_TAKEN when (namespace, name) exists. Audit: resourceType "event-subscription". */
  createSubscription(p: { subscription: EventSubscriptionRecord; audit: AuditInput }): Promise<EventSubscriptionRecord>;
  getSubscription(id: string): Promise<EventSubscriptionRecord | null>;
  /** Ordered by (namespace, name); `namespaces` null or absent: all. */
  listSubscriptions(p?: { namespaces?: readonly string[] | null }): Promise<EventSubscriptionRecord[]>;
  /**
   * Pauses or resumes; resuming clears the failure count. The lease is left as it is: the holder
   * sees the state at its next claim or advance and stops. Null when there is no such subscription.
   */
  setSubscriptionState(p: { id: string; state: SubscriptionState; at: number; audit: AuditInput }): Promise<EventSubscriptionRecord | null>;
  /** Deletes it with its dead letters; false when there was none (nothing written). */
  deleteSubscription(p: { id: string; at: number; audit: AuditInput }): Promise<boolean>;
  /**
   * The active subscriptions `nodeId` holds after this call: its own renewed, and free ones (no
   * owner, or a lease expired by the store's clock) taken until it holds `limit`, each leased until
   * now + ttlMs. Compare-and-set: of nodes claiming at once, each subscription goes to one.
   */
  claimSubscriptions(p: { nodeId: string; ttlMs: number; limit: number }): Promise<EventSubscriptionRecord[]>;
  /** Ends `nodeId`'s leases at once (a node stopping cleanly), so that another node takes them over without waiting. */
  releaseSubscriptions(p: { nodeId: string }): Promise<void>;
  /**
   * Moves the cursor forward (never back) and records the outcome of a try, only while `nodeId`
   * holds the lease, unexpired (store clock). Returns the subscription as stored (its state tells
   * a paused one), or null when the caller does not hold it (nothing written).
   */
  advanceSubscription(p: AdvanceSubscriptionParams): Promise<EventSubscriptionRecord | null>;
  /** A subscription's dead letters by seq, after `after` (default 0). */
  listDeadLetters(p: { subscriptionId: string; after?: number; limit: number }): Promise<DeadLetterRecord[]>;
  /** Deletes these dead letters (replayed); returns how many there were. */
  deleteDeadLetters(p: { subscriptionId: string; seqs: readonly number[] }): Promise<number>;
}
