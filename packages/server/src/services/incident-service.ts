/**
 * Alert incidents as a caller reads and handles them (issue 19): list and read within the
 * caller's namespaces; acknowledge (stops the repeats; the incident stays open until its condition
 * clears) and resolve by hand (a resolved notification goes to the rule's channels, when the rule
 * sends them). Viewers read; operators and above acknowledge and resolve.
 */
import type { Clock } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import type { IncidentRecord, IncidentState, NotificationRecord } from '../store/alert-incidents.ts';
import type { Store } from '../store/store.ts';
import { checkNamespaceAccess, namespaceFilter, type Caller } from './access.ts';

export interface IncidentListQuery {
  namespace?: string;
  states?: IncidentState[];
  ruleId?: string;
  cursor?: string | null;
  limit: number;
}

export interface IncidentService {
  list(caller: Caller, query: IncidentListQuery): Promise<{ items: IncidentRecord[]; nextCursor: string | null }>;
  get(caller: Caller, id: string): Promise<{ incident: IncidentRecord; notifications: NotificationRecord[] }>;
  acknowledge(caller: Caller, id: string): Promise<IncidentRecord>;
  resolve(caller: Caller, id: string): Promise<IncidentRecord>;
}

const notFound = (id: string): EcronError => new EcronError('INCIDENT_NOT_FOUND', `no incident with id ${JSON.stringify(id)}`);

export function createIncidentService(deps: { store: Store; clock: Clock }): IncidentService {
  const { store, clock } = deps;

  async function load(caller: Caller, id: string, needed: 'viewer' | 'operator'): Promise<IncidentRecord> {
    const incident = await store.getIncident(id);
    if (!incident) throw notFound(id);
    checkNamespaceAccess(caller, incident.namespace, needed, () => notFound(id));
    return incident;
  }

  /** Why a change of state is refused: the incident is not in a state it applies to. */
  const conflict = (incident: IncidentRecord, what: string) =>
    new EcronError('INCIDENT_STATE_CONFLICT', `incident ${incident.id} is ${incident.state}: it cannot be ${what}`, { state: incident.state });

  return {
    async list(caller, query) {
      const allowed = namespaceFilter(caller, 'viewer');
      let namespaces = allowed;
      if (query.namespace !== undefined) namespaces = allowed === null || allowed.includes(query.namespace) ? [query.namespace] : [];
      if (namespaces !== null && namespaces.length === 0) return { items: [], nextCursor: null };
      return store.listIncidents({
        namespaces, limit: query.limit, cursor: query.cursor ?? null,
        ...(query.states ? { states: query.states } : {}), ...(query.ruleId ? { ruleId: query.ruleId } : {}),
      });
    },

    async get(caller, id) {
      const incident = await load(caller, id, 'viewer');
      return { incident, notifications: await store.listIncidentNotifications({ incidentId: id }) };
    },

    async acknowledge(caller, id) {
      const incident = await load(caller, id, 'operator');
      const acknowledged = await store.acknowledgeIncident({ id, actor: caller.actor, at: clock.now() });
      if (!acknowledged) throw conflict(incident, 'acknowledged');
      return acknowledged;
    },

    async resolve(caller, id) {
      const incident = await load(caller, id, 'operator');
      const rule = await store.getAlertRule(incident.ruleId);
      const channels = rule && rule.sendResolved ? await store.getAlertChannelsByName({ namespace: rule.namespace, names: rule.channels }) : [];
      const now = clock.now();
      const summary = `resolved by ${caller.actor}`;
      const resolved = await store.resolveIncident({
        id, actor: caller.actor, at: now, targets: channels.map((channel) => ({ channelId: channel.id })),
        notification: { summary, details: { resolvedBy: caller.actor }, at: new Date(now).toISOString() },
      });
      if (!resolved) throw conflict(incident, 'resolved');
      return resolved;
    },
  };
}
