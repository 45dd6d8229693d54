/** What the stores share of event subscriptions: the row → record mapping (JSON columns as text or parsed). */
import type { DeadLetterRecord, EventSubscriptionRecord, SubscriptionFilter, SubscriptionType } from './event-subscriptions.ts';

type Row = Record<string, unknown>;

const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;
const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

export function toSubscription(row: Row): EventSubscriptionRecord {
  return {
    id: row.id as string,
    namespace: row.namespace as string,
    name: row.name as string,
    type: row.type as SubscriptionType,
    config: json<Record<string, unknown>>(row.config),
    filter: json<SubscriptionFilter>(row.event_filter),
    state: row.state as EventSubscriptionRecord['state'],
    cursor: Number(row.cursor_seq),
    owner: (row.owner as string | null) ?? null,
    leaseExpiresAt: numberOrNull(row.lease_expires_at),
    lastError: (row.last_error as string | null) ?? null,
    lastErrorAt: numberOrNull(row.last_error_at),
    failures: Number(row.failures),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function toDeadLetter(row: Row): DeadLetterRecord {
  return {
    subscriptionId: row.subscription_id as string,
    seq: Number(row.seq),
    event: json<Record<string, unknown>>(row.event),
    error: row.error as string,
    attempts: Number(row.attempts),
    at: Number(row.at),
  };
}
