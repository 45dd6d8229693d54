/**
 * `/api/v1/event-subscriptions`: where the event log is delivered (issue 18), a signed webhook or
 * a broker, at least once and in order per subscription (`events/subscriptions.ts`), with dead
 * letters and their replay. Editors and admins of a namespace manage its subscriptions; viewers
 * read them (secrets masked). docs/observability.md "### Subscriptions".
 */
import { NamespaceNameSchema } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { EventSubscriptionService } from '../../services/event-subscription-service.ts';
import type { Caller } from '../../services/access.ts';
import { SUBSCRIPTION_TYPES, type DeadLetterRecord, type EventSubscriptionRecord } from '../../store/event-subscriptions.ts';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import { ERROR_RESPONSES, IdParams } from '../schemas.ts';

const tags = ['event-subscriptions'];
const EVENT_TYPE = /^[a-z][a-z_.]*(\.\*)?$/;
const instant = z.string().describe('ISO-8601 instant in UTC');
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const FilterSchema = z.strictObject({
  namespaces: z.array(NamespaceNameSchema).min(1).max(100).optional().describe('a subscription over every namespace ("*") only: just these'),
  types: z.array(z.string().max(128).regex(EVENT_TYPE, 'expected an event type such as run.failed, or a prefix such as run.*')).min(1).max(100).optional(),
  taskId: z.string().min(1).max(128).optional().describe('only the events of this task or workflow'),
});

const CreateBody = z.strictObject({
  namespace: z.union([NamespaceNameSchema, z.literal('*')]).default('default')
    .describe('whose events it receives; "*": every namespace and the cluster events (needs a grant over every namespace)'),
  name: NamespaceNameSchema.describe('unique in the namespace'),
  type: z.enum(SUBSCRIPTION_TYPES),
  config: z.record(z.string(), z.unknown()).describe('webhook: { url, secret?, headers?, timeoutMs? }; nats: { url, subject, stream? }; '
    + 'redis: { url, stream, maxLen? }; rabbitmq: { url, exchange, routingKey, exchangeType? }; mqtt: { url, topic, clientId? }'),
  filter: FilterSchema.default({}),
  state: z.enum(['active', 'paused']).default('active'),
  after: z.number().int().min(0).optional().describe('deliver the events after this seq; default: the end of the log (new events only)'),
});

const SubscriptionSchema = z.object({
  id: z.string(),
  namespace: z.string(),
  name: z.string(),
  type: z.enum(SUBSCRIPTION_TYPES),
  config: z.record(z.string(), z.unknown()).describe('secrets and credentials masked as "***"; webhook header values too below editor'),
  filter: z.object({ namespaces: z.array(z.string()).optional(), types: z.array(z.string()).optional(), taskId: z.string().optional() }),
  state: z.enum(['active', 'paused']),
  cursor: z.number().int().describe('the seq of the last event delivered or dead-lettered'),
  lag: z.number().int().describe('the log\'s last seq minus the cursor (events of other namespaces and types included)'),
  owner: z.string().nullable().describe('the node delivering it, while its lease lasts'),
  leaseExpiresAt: instant.nullable(),
  lastError: z.string().nullable(),
  lastErrorAt: instant.nullable(),
  failures: z.number().int().describe('failed tries since the last success'),
  createdAt: instant,
  updatedAt: instant,
});

const DeadLetterSchema = z.object({
  seq: z.number().int(), event: z.record(z.string(), z.unknown()), error: z.string(), attempts: z.number().int(), at: instant,
});

function toResource(s: EventSubscriptionRecord, config: Record<string, unknown>, last: number): z.infer<typeof SubscriptionSchema> {
  return {
    id: s.id, namespace: s.namespace, name: s.name, type: s.type, config, filter: s.filter, state: s.state, cursor: s.cursor,
    lag: Math.max(0, last - s.cursor), owner: s.owner, leaseExpiresAt: iso(s.leaseExpiresAt), lastError: s.lastError, lastErrorAt: iso(s.lastErrorAt),
    failures: s.failures, createdAt: iso(s.createdAt)!, updatedAt: iso(s.updatedAt)!,
  };
}

const toDeadLetter = (l: DeadLetterRecord) => ({ seq: l.seq, event: l.event, error: l.error, attempts: l.attempts, at: iso(l.at)! });

export const eventSubscriptionRoutes: FastifyPluginAsyncZod<{ subscriptions: EventSubscriptionService }> = async (app, { subscriptions }) => {
  const answer = async (caller: Caller, s: EventSubscriptionRecord) => toResource(s, subscriptions.visibleConfig(caller, s), await subscriptions.lastEventSeq());

  app.post('/event-subscriptions', {
    config: { access: 'editor' },
    schema: {
      summary: 'Create an event subscription', tags, security: BEARER_SECURITY,
      description: 'Delivers the events of its namespace that match `filter`, at least once and in seq order, to a webhook (a signed POST of '
        + '`{ subscriptionId, events: [...] }`) or a broker. A webhook without `config.secret` gets one generated: the answer holds it, once '
        + '(`secret`); afterwards it reads "***". A webhook URL the outbound policy denies is refused (422 OUTBOUND_DENIED). '
        + '409 SUBSCRIPTION_NAME_TAKEN when the name is taken in the namespace.',
      body: CreateBody,
      response: { 201: z.object({ subscription: SubscriptionSchema, secret: z.string().optional().describe('a webhook\'s signing secret: shown this once') }), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const { after, ...rest } = request.body;
    const caller = callerOf(request);
    const created = await subscriptions.create(caller, { ...rest, ...(after !== undefined ? { after } : {}) });
    const secret = created.type === 'webhook' ? (created.config.secret as string) : undefined;
    return reply.status(201).send({ subscription: await answer(caller, created), ...(secret !== undefined ? { secret } : {}) });
  });

  app.get('/event-subscriptions', {
    config: { access: 'viewer' },
    schema: {
      summary: 'List event subscriptions', tags, security: BEARER_SECURITY,
      description: 'Those of the token\'s namespaces (those over every namespace, "*", to a token of every namespace only), by namespace and name.',
      response: { 200: z.object({ items: z.array(SubscriptionSchema) }), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const caller = callerOf(request);
    const [items, last] = await Promise.all([subscriptions.list(caller), subscriptions.lastEventSeq()]);
    return { items: items.map((s) => toResource(s, subscriptions.visibleConfig(caller, s), last)) };
  });

  app.get('/event-subscriptions/:id', {
    config: { access: 'viewer' },
    schema: {
      summary: 'Get an event subscription: its state, cursor, lag and last error', tags, security: BEARER_SECURITY,
      params: IdParams, response: { 200: SubscriptionSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const caller = callerOf(request);
    return answer(caller, await subscriptions.get(caller, request.params.id));
  });

  app.delete('/event-subscriptions/:id', {
    config: { access: 'editor' },
    schema: {
      summary: 'Delete an event subscription and its dead letters', tags, security: BEARER_SECURITY,
      description: 'Delivery stops: a batch under way may still arrive.',
      params: IdParams, response: { 204: z.null().describe('no content'), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    await subscriptions.delete(callerOf(request), request.params.id);
    return reply.status(204).send(null);
  });

  for (const [verb, state] of [['pause', 'paused'], ['resume', 'active']] as const) {
    app.post(`/event-subscriptions/:id/${verb}`, {
      config: { access: 'editor' },
      schema: {
        summary: verb === 'pause' ? 'Pause an event subscription' : 'Resume an event subscription from its cursor', tags, security: BEARER_SECURITY,
        description: verb === 'pause'
          ? 'Delivery stops within about a second (a batch under way may still arrive); the cursor stays where it is.'
          : 'Delivery goes on after the cursor: the events written while it was paused are delivered, in order. The failure count starts again.',
        params: IdParams, response: { 200: SubscriptionSchema, ...ERROR_RESPONSES },
      },
    }, async (request) => {
      const caller = callerOf(request);
      return answer(caller, await subscriptions.setState(caller, request.params.id, state));
    });
  }

  app.get('/event-subscriptions/:id/dead-letters', {
    config: { access: 'viewer' },
    schema: {
      summary: 'The events a subscription gave up on', tags, security: BEARER_SECURITY,
      description: 'By seq. An event goes here after the configured number of failed tries of its batch; the cursor moved past it.',
      params: IdParams,
      querystring: z.strictObject({
        after: z.coerce.number().int().min(0).optional().describe('only those with a greater seq'),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      response: { 200: z.object({ items: z.array(DeadLetterSchema) }), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { after, limit } = request.query;
    const items = await subscriptions.deadLetters(callerOf(request), request.params.id, { limit, ...(after !== undefined ? { after } : {}) });
    return { items: items.map(toDeadLetter) };
  });

  app.post('/event-subscriptions/:id/dead-letters/replay', {
    config: { access: 'editor' },
    schema: {
      summary: 'Deliver a subscription\'s dead letters again, then remove them', tags, security: BEARER_SECURITY,
      description: 'Sends up to `limit` dead letters, oldest first, in batches, to the subscription\'s sink (paused or not), and removes each '
        + 'batch once it was acknowledged. They arrive out of order with the live events (the same ids as before). A batch that fails '
        + 'stops the replay: `error` says why, and it and the rest stay.',
      params: IdParams,
      body: z.strictObject({ limit: z.number().int().min(1).max(10_000).default(1000) }).optional(),
      response: { 200: z.object({ replayed: z.number().int(), remaining: z.number().int(), error: z.string().nullable() }), ...ERROR_RESPONSES },
    },
  }, async (request) => subscriptions.replay(callerOf(request), request.params.id, { limit: request.body?.limit ?? 1000 }));
};
