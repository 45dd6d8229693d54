/**
 * `/api/v1/alert-silences`: maintenance windows (issue 19). While a silence is in force, the
 * incidents of the subjects of its scope (a task, a workflow, the tasks and workflows with some
 * labels, or the namespace), of its rules or of every rule, still open and resolve, but no
 * notification is sent for them. Operators and above create, change, expire and delete a
 * namespace's silences; viewers read them. docs/alerts.md "Silences and maintenance windows".
 */
import { AlertSilenceSpecSchema, NamespaceNameSchema } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AlertSilenceService } from '../../services/alert-silence-service.ts';
import type { AlertSilenceRecord } from '../../store/alert-silences.ts';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import { ERROR_RESPONSES, IdParams, pageOf, pageQuery } from '../schemas.ts';

const tags = ['alert-silences'];
const instant = z.string().describe('ISO-8601 instant in UTC');
const iso = (ms: number): string => new Date(ms).toISOString();

export const AlertSilenceResourceSchema = z.object({
  id: z.string(),
  namespace: z.string(),
  scope: z.object({
    taskId: z.string().optional(), workflowId: z.string().optional(), labels: z.record(z.string(), z.string()).optional(), namespace: z.string().optional(),
  }).describe('exactly one of taskId, workflowId, labels, namespace'),
  ruleIds: z.array(z.string()).nullable().describe('only the incidents of these rules; null: of every rule'),
  startsAt: instant.describe('in force from this instant, included'),
  endsAt: instant.describe('to this one, excluded'),
  state: z.enum(['pending', 'active', 'expired']).describe('at the time of the answer: not started yet, in force, or over'),
  comment: z.string(),
  createdBy: z.string().describe('who created it: token:<id> or user:<subject>'),
  createdAt: instant,
  updatedAt: instant,
});

const ListQuery = z.strictObject({
  namespace: NamespaceNameSchema.optional(),
  active: z.stringbool().optional().describe('true: only the silences in force now'),
  ...pageQuery,
});

export const alertSilenceRoutes: FastifyPluginAsyncZod<{ silences: AlertSilenceService }> = async (app, { silences }) => {
  const toResource = (s: AlertSilenceRecord): z.infer<typeof AlertSilenceResourceSchema> => ({
    id: s.id, namespace: s.namespace, scope: s.scope, ruleIds: s.ruleIds, startsAt: iso(s.startsAt), endsAt: iso(s.endsAt), state: silences.state(s),
    comment: s.comment, createdBy: s.createdBy, createdAt: iso(s.createdAt), updatedAt: iso(s.updatedAt),
  });

  app.post('/alert-silences', {
    config: { access: 'operator' },
    schema: {
      summary: 'Create an alert silence', tags, security: BEARER_SECURITY,
      description: 'A maintenance window over `scope`: exactly one of `taskId`, `workflowId` (of the silence\'s namespace: else 400, issue '
        + '`scope.taskId` code TASK_NOT_FOUND), `labels` or `namespace` (its own). `ruleIds` (rules of the namespace) limits it to their '
        + 'incidents. It lasts from `startsAt` (default now) to `endsAt`, or for `duration` ("2h"): at most 90 days, and not already over. '
        + '`comment` says why.',
      body: AlertSilenceSpecSchema,
      response: { 201: AlertSilenceResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => reply.status(201).send(toResource(await silences.create(callerOf(request), request.body))));

  app.get('/alert-silences', {
    config: { access: 'viewer' },
    schema: {
      summary: 'List alert silences', tags, security: BEARER_SECURITY,
      description: 'Those of the token\'s namespaces, the newest start first, a page at a time; `active=true`: only those in force now.',
      querystring: ListQuery,
      response: { 200: pageOf(AlertSilenceResourceSchema), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { namespace, active, cursor, limit } = request.query;
    const page = await silences.list(callerOf(request), { limit, ...(namespace ? { namespace } : {}), ...(active ? { active } : {}), ...(cursor ? { cursor } : {}) });
    return { items: page.items.map(toResource), nextCursor: page.nextCursor };
  });

  app.get('/alert-silences/:id', {
    config: { access: 'viewer' },
    schema: {
      summary: 'Get an alert silence', tags, security: BEARER_SECURITY,
      params: IdParams, response: { 200: AlertSilenceResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => toResource(await silences.get(callerOf(request), request.params.id)));

  app.put('/alert-silences/:id', {
    config: { access: 'operator' },
    schema: {
      summary: 'Change an alert silence\'s end or comment', tags, security: BEARER_SECURITY,
      description: '`{ "endsAt"?, "comment"? }`, or the silence as read with those changed: its other fields may be sent back unchanged '
        + '(a change of `namespace`, `scope`, `ruleIds` or `startsAt` is refused: create another silence). The new end is after the start, at '
        + 'most 90 days after it, and not in the past (`POST …/expire` ends it now). 409 ALERT_SILENCE_ENDED for a new end of a silence that is over.',
      params: IdParams,
      body: z.record(z.string(), z.unknown()).describe('{ endsAt?, comment? }'),
      response: { 200: AlertSilenceResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => toResource(await silences.update(callerOf(request), request.params.id, request.body)));

  app.post('/alert-silences/:id/expire', {
    config: { access: 'operator' },
    schema: {
      summary: 'End an alert silence now', tags, security: BEARER_SECURITY,
      description: 'Its end becomes now (a silence not started yet ends at its start, so it is never in force). Notifications are written '
        + 'again from the next change of state of the incidents it covered. 409 ALERT_SILENCE_ENDED when it is already over.',
      params: IdParams, response: { 200: AlertSilenceResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => toResource(await silences.expire(callerOf(request), request.params.id)));

  app.delete('/alert-silences/:id', {
    config: { access: 'operator' },
    schema: {
      summary: 'Delete an alert silence', tags, security: BEARER_SECURITY,
      description: 'It stops covering anything at once, and its record goes (its audit entries stay). Expire it to keep the record.',
      params: IdParams, response: { 204: z.null().describe('no content'), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    await silences.delete(callerOf(request), request.params.id);
    return reply.status(204).send(null);
  });
};
