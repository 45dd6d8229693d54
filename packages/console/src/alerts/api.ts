/**
 * The alert calls of the REST API (docs/alerts.md): channels and their "send a test", rules and
 * their enable/disable, incidents and their acknowledge/resolve. Errors are {@link ApiError}s:
 * VALIDATION_FAILED with field issues (`config.url`, `channels[0]`, `scope.taskId`), 409
 * ALERT_CHANNEL_IN_USE (details.rules), 502 ALERT_CHANNEL_FAILED for a test that failed,
 * 409 INCIDENT_STATE_CONFLICT.
 */
import { api, qs, type Page } from '../api.ts';
import type { AlertChannelResource, AlertChannelWrite, AlertRuleResource, IncidentDetail, IncidentResource, IncidentState } from './types.ts';

const channelPath = (id: string) => `/alert-channels/${encodeURIComponent(id)}`;
const rulePath = (id: string) => `/alert-rules/${encodeURIComponent(id)}`;
const incidentPath = (id: string) => `/incidents/${encodeURIComponent(id)}`;

/** The API's largest page: a namespace's channels or rules fit in one for any ordinary use. */
export const ALL = 1000;

export function listChannels(p: { namespace?: string | null; cursor?: string | null; limit?: number }): Promise<Page<AlertChannelResource>> {
  return api<Page<AlertChannelResource>>('GET', `/alert-channels${qs({ namespace: p.namespace, cursor: p.cursor, limit: p.limit ?? 100 })}`);
}

/** Creates a channel (`id` absent) or replaces one; a webhook's generated secret comes back once. */
export function saveChannel(body: Record<string, unknown>, id?: string): Promise<AlertChannelWrite> {
  return id ? api<AlertChannelWrite>('PUT', channelPath(id), body) : api<AlertChannelWrite>('POST', '/alert-channels', body);
}

export function deleteChannel(id: string): Promise<void> {
  return api<void>('DELETE', channelPath(id));
}

/** Sends a test notification now: `{ ok: true }`, or 502 ALERT_CHANNEL_FAILED with the receiver's answer in its message. */
export function testChannel(id: string): Promise<{ ok: true }> {
  return api<{ ok: true }>('POST', `${channelPath(id)}/test`);
}

export function listRules(p: { namespace?: string | null; on?: string; enabled?: boolean; cursor?: string | null; limit?: number }): Promise<Page<AlertRuleResource>> {
  return api<Page<AlertRuleResource>>('GET', `/alert-rules${qs({ namespace: p.namespace, on: p.on, enabled: p.enabled === undefined ? undefined : String(p.enabled), cursor: p.cursor, limit: p.limit ?? 100 })}`);
}

export function getRule(id: string): Promise<AlertRuleResource> {
  return api<AlertRuleResource>('GET', rulePath(id));
}

export function saveRule(body: Record<string, unknown>, id?: string): Promise<AlertRuleResource> {
  return id ? api<AlertRuleResource>('PUT', rulePath(id), body) : api<AlertRuleResource>('POST', '/alert-rules', body);
}

export function setRuleEnabled(id: string, enabled: boolean): Promise<AlertRuleResource> {
  return api<AlertRuleResource>('POST', `${rulePath(id)}/${enabled ? 'enable' : 'disable'}`);
}

export function deleteRule(id: string): Promise<void> {
  return api<void>('DELETE', rulePath(id));
}

export function listIncidents(p: { namespace?: string | null; states?: IncidentState[]; ruleId?: string; cursor?: string | null; limit?: number }): Promise<Page<IncidentResource>> {
  return api<Page<IncidentResource>>('GET', `/incidents${qs({ namespace: p.namespace, state: p.states?.join(','), ruleId: p.ruleId, cursor: p.cursor, limit: p.limit ?? 50 })}`);
}

export function getIncident(id: string): Promise<IncidentDetail> {
  return api<IncidentDetail>('GET', incidentPath(id));
}

/** Acknowledge (repeats stop) or resolve by hand; 409 INCIDENT_STATE_CONFLICT when its state does not allow it. */
export function incidentAction(id: string, action: 'acknowledge' | 'resolve'): Promise<IncidentResource> {
  return api<IncidentResource>('POST', `${incidentPath(id)}/${action}`);
}
