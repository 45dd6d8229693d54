/**
 * `/api/v1/alert-rules`: what opens incidents (issue 19): a kind (`on`) with its parameters, a
 * scope (a task, a workflow, tasks with labels, or the namespace), a severity and channels of the
 * rule's namespace. Editors and admins of a namespace manage its rules; viewers read them.
 * docs/alerts.md "Rules".
 */
import { ALERT_RULE_KINDS, ALERT_SEVERITIES, AlertRuleSpecSchema, NamespaceNameSchema, formatDuration } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ruleParamFields } from '../../alerts/rule-spec.ts';
import type { AlertRuleService } from '../../services/alert-rule-service.ts';
import type { AlertRuleRecord } from '../../store/alerts-config.ts';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import { ERROR_RESPONSES, IdParams, pageOf, pageQuery } from '../schemas.ts';

const tags = ['alert-rules'];
const instant = z.string().describe('ISO-8601 instant in UTC');
const iso = (ms: number): string => new Date(ms).toISOString();
const durationText = z.string().describe('a duration such as "30m"');

export const AlertRuleResourceSchema = z.object({
  id: z.string(),
  namespace: z.string(),
  name: z.string(),
  on: z.enum(ALERT_RULE_KINDS),
  scope: z.object({
    taskId: z.string().optional(), workflowId: z.string().optional(), labels: z.record(z.string(), z.string()).optional(), namespace: z.string().optional(),
  }).describe('exactly one of taskId, workflowId, labels, namespace'),
  channels: z.array(z.string()),
  severity: z.enum(ALERT_SEVERITIES),
  enabled: z.boolean(),
  repeatInterval: durationText.nullable().describe('notify again this often while the incident stays open; null: once'),
  sendResolved: z.boolean(),
  description: z.string().nullable(),
  attempts: z.enum(['final', 'every']).optional().describe('failure'),
  count: z.number().int().optional().describe('consecutive-failures'),
  rate: z.number().optional().describe('failure-rate'),
  window: durationText.optional().describe('failure-rate'),
  minRuns: z.number().int().optional().describe('failure-rate'),
  grace: durationText.optional().describe('missed-fire'),
  lag: durationText.optional().describe('late-start'),
  after: durationText.optional().describe('long-running'),
  group: z.string().optional().describe('no-executor'),
  for: durationText.optional().describe('no-executor'),
  revision: z.number().int().describe('1 at create, one more at each update'),
  createdAt: instant,
  updatedAt: instant,
});

const ListQuery = z.strictObject({
  namespace: NamespaceNameSchema.optional(),
  on: z.enum(ALERT_RULE_KINDS).optional(),
  enabled: z.stringbool().optional().describe('true: enabled rules only; false: disabled ones'),
  ...pageQuery,
});

export function toAlertRuleResource(r: AlertRuleRecord): z.infer<typeof AlertRuleResourceSchema> {
  return {
    id: r.id, namespace: r.namespace, name: r.name, on: r.on, scope: r.scope, channels: r.channels, severity: r.severity, enabled: r.enabled,
    repeatInterval: r.repeatIntervalMs === null ? null : formatDuration(r.repeatIntervalMs), sendResolved: r.sendResolved, description: r.description,
    ...ruleParamFields(r), revision: r.revision, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt),
  };
}

export const alertRuleRoutes: FastifyPluginAsyncZod<{ rules: AlertRuleService }> = async (app, { rules }) => {
  app.post('/alert-rules', {
    config: { access: 'editor' },
    schema: {
      summary: 'Create an alert rule', tags, security: BEARER_SECURITY,
      description: 'A rule of kind `on` with that kind\'s parameters at the top level (docs/alerts.md "Rules"), over `scope`: exactly one '
        + 'of `taskId`, `workflowId`, `labels` or `namespace` (the rule\'s own; the only scope of no-executor and node-lost). `channels` '
        + 'name channels of the rule\'s namespace: a missing one is refused (400 VALIDATION_FAILED, issue `channels[i]`, code '
        + 'ALERT_CHANNEL_NOT_FOUND), as is a task or workflow of the scope that is not in the namespace. 409 ALERT_RULE_NAME_TAKEN when the name is taken.',
      body: AlertRuleSpecSchema,
      response: { 201: AlertRuleResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => reply.status(201).send(toAlertRuleResource(await rules.create(callerOf(request), request.body))));

  app.get('/alert-rules', {
    config: { access: 'viewer' },
    schema: {
      summary: 'List alert rules', tags, security: BEARER_SECURITY,
      description: 'Those of the token\'s namespaces, by namespace and name, a page at a time.',
      querystring: ListQuery,
      response: { 200: pageOf(AlertRuleResourceSchema), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { namespace, on, enabled, cursor, limit } = request.query;
    const page = await rules.list(callerOf(request), {
      limit, ...(namespace ? { namespace } : {}), ...(on ? { on } : {}), ...(enabled === undefined ? {} : { enabled }), ...(cursor ? { cursor } : {}),
    });
    return { items: page.items.map(toAlertRuleResource), nextCursor: page.nextCursor };
  });

  app.get('/alert-rules/:id', {
    config: { access: 'viewer' },
    schema: {
      summary: 'Get an alert rule', tags, security: BEARER_SECURITY,
      description: 'The rule as its spec writes it (durations as "30m"), with its id, revision and instants.',
      params: IdParams, response: { 200: AlertRuleResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => toAlertRuleResource(await rules.get(callerOf(request), request.params.id)));

  app.put('/alert-rules/:id', {
    config: { access: 'editor' },
    schema: {
      summary: 'Replace an alert rule', tags, security: BEARER_SECURITY,
      description: 'The whole rule, as `POST /api/v1/alert-rules` takes it, one revision more; a rule as read may be sent back (its `id`, '
        + '`revision` and instants are ignored, as are fields that are null; `namespace` may be left out but not changed). Checked as a create.',
      params: IdParams,
      body: z.record(z.string(), z.unknown()).describe('an alert rule: { namespace?, name, on, scope, channels, … }'),
      response: { 200: AlertRuleResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => toAlertRuleResource(await rules.update(callerOf(request), request.params.id, request.body)));

  app.delete('/alert-rules/:id', {
    config: { access: 'editor' },
    schema: {
      summary: 'Delete an alert rule', tags, security: BEARER_SECURITY,
      params: IdParams, response: { 204: z.null().describe('no content'), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    await rules.delete(callerOf(request), request.params.id);
    return reply.status(204).send(null);
  });

  for (const verb of ['enable', 'disable'] as const) {
    app.post(`/alert-rules/:id/${verb}`, {
      config: { access: 'editor' },
      schema: {
        summary: verb === 'enable' ? 'Enable an alert rule' : 'Disable an alert rule', tags, security: BEARER_SECURITY,
        description: verb === 'enable'
          ? 'The rule is watched again. Its revision stays.'
          : 'The rule is not watched while it is disabled. Its revision stays.',
        params: IdParams, response: { 200: AlertRuleResourceSchema, ...ERROR_RESPONSES },
      },
    }, async (request) => toAlertRuleResource(await rules.setEnabled(callerOf(request), request.params.id, verb === 'enable')));
  }
};
