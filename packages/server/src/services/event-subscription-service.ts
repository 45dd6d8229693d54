/**
 * Event subscriptions (issue 18): the operations behind `/api/v1/event-subscriptions`. An editor
 * (or admin) of a namespace manages its subscriptions; a viewer reads them. A subscription
 * receives the events of its namespace only, as a caller of `GET /api/v1/events` would; one over
 * every namespace (`*`, cluster events included) needs a grant over every namespace. Secrets are
 * shown once, in the answer to the create; afterwards the webhook secret and broker credentials
 * are masked, and a webhook's header values too below editor (docs/security.md, F6).
 *
 * Delivery itself is `events/subscriptions.ts`; a replay of dead letters is sent from here, by
 * the node that serves the request, in seq order, and the letters delivered are removed.
 */
import { randomUUID } from 'node:crypto';
import { describeFieldIssues, formatPath, type FieldIssue } from '@ecron/contracts';
import type { Clock } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { assertEventsKept } from '../events/event-log.ts';
import { configSchemaOf, createSink, maskConfig, type SinkDeps } from '../events/sinks/create-sink.ts';
import { policyOf } from '../events/sinks/sink.ts';
import { newWebhookSecret } from '../events/sinks/webhook.ts';
import type { DeadLetterRecord, EventSubscriptionRecord, SubscriptionFilter, SubscriptionState, SubscriptionType } from '../store/event-subscriptions.ts';
import type { Store } from '../store/store.ts';
import { ALL_NAMESPACES, canAccessNamespace, checkNamespaceAccess, namespaceFilter, type Caller } from './access.ts';
import { validationError } from './task-spec-input.ts';

export interface CreateSubscriptionInput {
  namespace: string;
  name: string;
  type: SubscriptionType;
  config: Record<string, unknown>;
  filter: SubscriptionFilter;
  state: SubscriptionState;
  /** Deliver the events after this seq; default: the log's end (new events only). */
  after?: number;
}

export interface ReplayResult {
  replayed: number;
  /** Dead letters left (the first of them failed again when `error` is set). */
  remaining: number;
  error: string | null;
}

export interface EventSubscriptionService {
  /** Returns the subscription as stored (unmasked: the caller created it) and, for a webhook, its secret. */
  create(caller: Caller, input: CreateSubscriptionInput): Promise<EventSubscriptionRecord>;
  list(caller: Caller): Promise<EventSubscriptionRecord[]>;
  get(caller: Caller, id: string): Promise<EventSubscriptionRecord>;
  setState(caller: Caller, id: string, state: SubscriptionState): Promise<EventSubscriptionRecord>;
  delete(caller: Caller, id: string): Promise<void>;
  deadLetters(caller: Caller, id: string, p: { after?: number; limit: number }): Promise<DeadLetterRecord[]>;
  replay(caller: Caller, id: string, p: { limit: number }): Promise<ReplayResult>;
  /** The seq of the log's end (for each subscription's lag). */
  lastEventSeq(): Promise<number>;
  /** The config as `caller` may see it. */
  visibleConfig(caller: Caller, subscription: EventSubscriptionRecord): Record<string, unknown>;
}

export interface EventSubscriptionServiceDeps {
  store: Store;
  clock: Clock;
  sinks: SinkDeps;
  /** After a subscription was created, paused, resumed or deleted (this node's deliverer claims again). */
  onChange?: () => Promise<void>;
}

/** Dead letters replayed per delivery. */
const REPLAY_BATCH = 100;

const notFound = (id: string) => new EcronError('SUBSCRIPTION_NOT_FOUND', `no event subscription ${id}`, { id });

function invalid(issues: FieldIssue[]): EcronError {
  return new EcronError('VALIDATION_FAILED', describeFieldIssues(issues), { issues });
}

export function createEventSubscriptionService(deps: EventSubscriptionServiceDeps): EventSubscriptionService {
  const { store, clock } = deps;
  const changed = () => deps.onChange?.().catch(() => {});

  /** The subscription, if the caller may do what `needed` asks in its namespace (else not found / forbidden). */
  async function load(caller: Caller, id: string, needed: 'viewer' | 'editor'): Promise<EventSubscriptionRecord> {
    const subscription = await store.getSubscription(id);
    if (!subscription) throw notFound(id);
    checkNamespaceAccess(caller, subscription.namespace, needed, () => notFound(id));
    return subscription;
  }

  function checkInput(caller: Caller, input: CreateSubscriptionInput): Record<string, unknown> {
    if (input.namespace === ALL_NAMESPACES && !canAccessNamespace(caller, ALL_NAMESPACES, 'editor')) {
      throw new EcronError('FORBIDDEN', 'a subscription over every namespace ("*") needs role editor or admin with a grant over every namespace');
    }
    checkNamespaceAccess(caller, input.namespace, 'editor', () => new EcronError('FORBIDDEN', `this token may not manage namespace ${JSON.stringify(input.namespace)}`));
    if (input.filter.namespaces !== undefined && input.namespace !== ALL_NAMESPACES) {
      throw invalid([{ path: 'filter.namespaces', code: 'INVALID_VALUE', message: 'only a subscription over every namespace ("*") narrows its namespaces: this one receives its own namespace\'s events' }]);
    }
    const parsed = configSchemaOf(input.type).safeParse(input.config);
    if (!parsed.success) throw validationError(parsed.error, ['config']);
    const config = parsed.data;
    if (input.type === 'webhook') config.secret ??= newWebhookSecret();
    // Webhooks and brokers alike: a host the namespace's outbound policy denies is refused here.
    policyOf(deps.sinks.outbound, input.namespace).assertUrl(config.url as string);
    return config;
  }

  return {
    async create(caller, input) {
      const config = checkInput(caller, input);
      const now = clock.now();
      const last = await store.lastEventSeq();
      if (input.after !== undefined && input.after > last) {
        throw invalid([{ path: formatPath(['after']), code: 'OUT_OF_RANGE', message: `the log's last seq is ${last}: start at or before it` }]);
      }
      if (input.after !== undefined) await assertEventsKept(store, input.after);
      const subscription = await store.createSubscription({
        subscription: {
          id: newId(), namespace: input.namespace, name: input.name, type: input.type, config, filter: input.filter, state: input.state,
          cursor: input.after ?? last, owner: null, leaseExpiresAt: null, lastError: null, lastErrorAt: null, failures: 0, createdAt: now, updatedAt: now,
        },
        audit: { actor: caller.actor, action: 'event-subscription.create', details: { namespace: input.namespace, name: input.name, type: input.type } },
      });
      await changed();
      return subscription;
    },

    async list(caller) {
      const scope = namespaceFilter(caller, 'viewer');
      return store.listSubscriptions({ namespaces: scope });
    },

    get: (caller, id) => load(caller, id, 'viewer'),

    async setState(caller, id, state) {
      await load(caller, id, 'editor');
      const updated = await store.setSubscriptionState({ id, state, at: clock.now(), audit: { actor: caller.actor, action: state === 'paused' ? 'event-subscription.pause' : 'event-subscription.resume' } });
      if (!updated) throw notFound(id);
      await changed();
      return updated;
    },

    async delete(caller, id) {
      await load(caller, id, 'editor');
      if (!(await store.deleteSubscription({ id, at: clock.now(), audit: { actor: caller.actor, action: 'event-subscription.delete' } }))) throw notFound(id);
      await changed();
    },

    async deadLetters(caller, id, p) {
      await load(caller, id, 'viewer');
      return store.listDeadLetters({ subscriptionId: id, limit: p.limit, ...(p.after !== undefined ? { after: p.after } : {}) });
    },

    async replay(caller, id, p) {
      const subscription = await load(caller, id, 'editor');
      const letters = await store.listDeadLetters({ subscriptionId: id, limit: p.limit });
      let replayed = 0;
      let error: string | null = null;
      if (letters.length > 0) {
        const sink = createSink(subscription, deps.sinks);
        try {
          for (let i = 0; i < letters.length && error === null; i += REPLAY_BATCH) {
            const batch = letters.slice(i, i + REPLAY_BATCH);
            try {
              await sink.deliver(batch.map((letter) => ({
                seq: letter.seq, id: `${id}:${letter.seq}`, type: String(letter.event.type ?? ''), body: JSON.stringify(letter.event),
              })));
            } catch (failure) {
              error = failure instanceof Error ? failure.message : String(failure);
              break;
            }
            replayed += await store.deleteDeadLetters({ subscriptionId: id, seqs: batch.map((letter) => letter.seq) });
          }
        } finally {
          await sink.close().catch(() => {});
        }
        await store.appendAudit({
          id: randomUUID(), at: clock.now(), actor: caller.actor, action: 'event-subscription.replay', resourceType: 'event-subscription', resourceId: id,
          details: { replayed, ...(error === null ? {} : { error }) },
        });
      }
      const remaining = (await store.listDeadLetters({ subscriptionId: id, limit: 10_001 })).length;
      return { replayed, remaining, error };
    },

    lastEventSeq: () => store.lastEventSeq(),

    visibleConfig(caller, subscription) {
      return maskConfig(subscription.type, subscription.config, canAccessNamespace(caller, subscription.namespace, 'editor'));
    },
  };
}
