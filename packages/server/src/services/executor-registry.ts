/**
 * What the API and the scheduler share about executor nodes: the signing secret of an executor
 * group, and how a registered node reads as an API resource.
 */
import { randomBytes } from 'node:crypto';
import type { ExecutorResource } from '@ecron/contracts';
import type { ExecutorNodeRecord, Store } from '../store/store.ts';
import { iso } from './resources.ts';

/** The store's name of an executor group's secret. */
export const groupSecretName = (group: string): string => `executor-group:${group}`;

/**
 * The HMAC secret of an executor group: requests to the group's nodes are signed with it, and a
 * node learns it from its heartbeat's answer. The first node or scheduler that asks creates it;
 * every node of the cluster gets the same one (`Store.ensureSecret`).
 */
export function groupSecret(store: Store, group: string): Promise<string> {
  return store.ensureSecret({ name: groupSecretName(group), candidate: randomBytes(32).toString('base64url') });
}

/** A node as `GET /api/v1/executors` lists it; `now` is the store's clock (alive: expiresAt > now). */
export function toExecutorResource(record: ExecutorNodeRecord, now: number): ExecutorResource {
  return {
    id: record.id,
    group: record.group,
    mode: record.mode,
    transport: record.transport,
    address: record.address,
    labels: { ...record.labels },
    weight: record.weight,
    handlers: [...record.handlers],
    version: record.version,
    inflight: record.inflight,
    startedAt: iso(record.startedAt),
    heartbeatAt: iso(record.heartbeatAt),
    expiresAt: iso(record.expiresAt),
    alive: record.expiresAt > now,
  };
}
