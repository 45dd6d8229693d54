/**
 * `/api/v1/incidents` (issue 19): what the alert rules found. One incident per rule and subject
 * while it is open; its notifications (one per channel and change of state) with their delivery.
 * Viewers read; operators acknowledge (repeats stop) and resolve by hand. docs/alerts.md "Incidents".
 */
import { ALERT_NOTIFICATION_STATES, ALERT_RULE_KINDS, ALERT_SEVERITIES, ALERT_SUBJECT_KINDS, NamespaceNameSchema } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EcronError } from '../../core/errors.ts';
import type { IncidentService } from '../../services/incident-service.ts';
import type { IncidentRecord, IncidentState, NotificationRecord } from '../../store/alert-incidents.ts';
import { MAX_PAGE_LIMIT } from '../../store/pagination.ts';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import { ERROR_RESPONSES, IdParams } from '../schemas.ts';

const tags = ['incidents'];
const INCIDENT_STATES = ['open', 'acknowledged', 'resolved'] as const satisfies readonly IncidentState[];
const instant = z.string().describe('ISO-8601 instant in UTC');
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const IncidentSchema = z.object({
  id: z.string(),
  ruleId: z.string(),
  ruleName: z.string(),
  on: z.enum(ALERT_RULE_KINDS),
  namespace: z.string(),
  subject: z.object({ kind: z.enum(ALERT_SUBJECT_KINDS), id: z.string(), name: z.string() }),
  state: z.enum(INCIDENT_STATES),
  severity: z.enum(ALERT_SEVERITIES),
  summary: z.string(),
  details: z.record(z.string(), z.unknown()),
  openedAt: instant,
  acknowledgedAt: instant.nullable(),
  acknowledgedBy: z.string().nullable(),
  resolvedAt: instant.nullable(),
  resolvedBy: z.string().nullable().describe('"condition" when the condition cleared, else who resolved it'),
  lastNotifiedAt: instant.nullable(),
  updatedAt: instant,
});

const NotificationSchema = z.object({
  id: z.string().describe('the id receivers deduplicate on (a webhook\'s x-ecron-delivery and Idempotency-Key)'),
  channelId: z.string(),
  kind: z.enum(ALERT_NOTIFICATION_STATES),
  state: z.enum(['pending', 'sent', 'failed']),
  attempts: z.number().int(),
  nextAttemptAt: instant,
  lastError: z.string().nullable(),
  createdAt: instant,
  sentAt: instant.nullable(),
});

function toIncident(i: IncidentRecord): z.infer<typeof IncidentSchema> {
  return {
    id: i.id, ruleId: i.ruleId, ruleName: i.ruleName, on: i.on, namespace: i.namespace, subject: i.subject, state: i.state, severity: i.severity,
    summary: i.summary, details: i.details, openedAt: iso(i.openedAt)!, acknowledgedAt: iso(i.acknowledgedAt), acknowledgedBy: i.acknowledgedBy,
    resolvedAt: iso(i.resolvedAt), resolvedBy: i.resolvedBy, lastNotifiedAt: iso(i.lastNotifiedAt), updatedAt: iso(i.updatedAt)!,
  };
}

const toNotification = (n: NotificationRecord): z.infer<typeof NotificationSchema> => ({
  id: n.id, channelId: n.channelId, kind: n.kind, state: n.state, attempts: n.attempts, nextAttemptAt: iso(n.nextAttemptAt)!,
  lastError: n.lastError, createdAt: iso(n.createdAt)!, sentAt: iso(n.sentAt),
});

const ListQuery = z.strictObject({
  namespace: NamespaceNameSchema.optional(),
  state: z.string().max(64).optional().describe('comma-separated: open, acknowledged, resolved'),
  ruleId: z.string().min(1).max(128).optional(),
  cursor: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(100),
});

function statesOf(value: string | undefined): IncidentState[] | undefined {
  if (value === undefined) return undefined;
  const states = value.split(',');
  const bad = states.find((state) => !(INCIDENT_STATES as readonly string[]).includes(state));
  if (bad !== undefined) {
    const message = `expected open, acknowledged or resolved (comma-separated); got ${JSON.stringify(bad)}`;
    throw new EcronError('VALIDATION_FAILED', `querystring.state: ${message}`, { issues: [{ path: 'querystring.state', code: 'INVALID_VALUE', message }] });
  }
  return states as IncidentState[];
}

export const incidentRoutes: FastifyPluginAsyncZod<{ incidents: IncidentService }> = async (app, { incidents }) => {
  app.get('/incidents', {
    config: { access: 'viewer' },
    schema: {
      summary: 'List incidents', tags, security: BEARER_SECURITY,
      description: 'The incidents of the token\'s namespaces, newest first; filter by namespace, state (comma-separated) and ruleId. '
        + 'Pass nextCursor as cursor for the next page.',
      querystring: ListQuery,
      response: { 200: z.object({ items: z.array(IncidentSchema), nextCursor: z.string().nullable() }), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { state, ...query } = request.query;
    const states = statesOf(state);
    const page = await incidents.list(callerOf(request), { ...query, ...(states ? { states } : {}) });
    return { items: page.items.map(toIncident), nextCursor: page.nextCursor };
  });

  app.get('/incidents/:id', {
    config: { access: 'viewer' },
    schema: {
      summary: 'Get an incident and its notifications', tags, security: BEARER_SECURITY,
      params: IdParams,
      response: { 200: z.object({ incident: IncidentSchema, notifications: z.array(NotificationSchema) }), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { incident, notifications } = await incidents.get(callerOf(request), request.params.id);
    return { incident: toIncident(incident), notifications: notifications.map(toNotification) };
  });

  app.post('/incidents/:id/acknowledge', {
    config: { access: 'operator' },
    schema: {
      summary: 'Acknowledge an incident', tags, security: BEARER_SECURITY,
      description: 'An open incident becomes acknowledged: its repeats stop; it resolves when its condition clears. '
        + '409 INCIDENT_STATE_CONFLICT when it is not open.',
      params: IdParams,
      response: { 200: IncidentSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => toIncident(await incidents.acknowledge(callerOf(request), request.params.id)));

  app.post('/incidents/:id/resolve', {
    config: { access: 'operator' },
    schema: {
      summary: 'Resolve an incident by hand', tags, security: BEARER_SECURITY,
      description: 'An open or acknowledged incident becomes resolved, and a resolved notification goes to the rule\'s channels (unless the '
        + 'rule sends none). If the condition still holds, the next evaluation opens a new incident. 409 INCIDENT_STATE_CONFLICT when it is resolved.',
      params: IdParams,
      response: { 200: IncidentSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => toIncident(await incidents.resolve(callerOf(request), request.params.id)));
};
