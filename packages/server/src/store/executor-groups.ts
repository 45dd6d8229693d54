/**
 * The storage verbs of executor group discovery (issue 20): the static list or DNS name whose
 * addresses are nodes of an executor group, besides the nodes that register themselves. Part of the
 * `Store` port (`store.ts` extends {@link ExecutorGroupVerbs}); every store passes
 * `conformance/executor-groups.ts`. One row per (namespace, group) that has a discovery; what the
 * addresses resolve to is never stored (each scheduler node resolves for itself).
 *
 * Concurrency: a put replaces the row as a whole (last writer wins), keeping `createdAt`; of two
 * puts that create the same group at once, both succeed and one is the creation. Each write has
 * its audit entry in its transaction: resourceType "executor-group", resourceId `namespace/group`.
 */
import type { GroupDiscovery } from '@ecron/contracts';
import type { AuditInput } from './store.ts';

export interface ExecutorGroupRecord {
  namespace: string;
  group: string;
  /** Exactly one of `static` (base URLs) or `dns`, as validated (defaults filled in). */
  discovery: GroupDiscovery;
  /** Labels of every discovered node. */
  labels: Record<string, string>;
  /** Weight of every discovered node. */
  weight: number;
  createdAt: number;
  updatedAt: number;
}

export interface ExecutorGroupRef {
  namespace: string;
  group: string;
}

export interface ExecutorGroupVerbs {
  /**
   * Creates or replaces a group's discovery; `created` when the group had none. `createdAt` stays
   * that of the creation; `updatedAt` is `at`.
   */
  putExecutorGroup(p: {
    group: Omit<ExecutorGroupRecord, 'createdAt' | 'updatedAt'>; at: number; audit: AuditInput;
  }): Promise<{ record: ExecutorGroupRecord; created: boolean }>;
  getExecutorGroup(p: ExecutorGroupRef): Promise<ExecutorGroupRecord | null>;
  /** Ordered by (namespace, group); only those of `namespaces` when given (null, absent or containing "*": all). */
  listExecutorGroups(p?: { namespaces?: readonly string[] | null; namespace?: string }): Promise<ExecutorGroupRecord[]>;
  /** False when the group had no discovery (nothing written). */
  deleteExecutorGroup(p: ExecutorGroupRef & { at: number; audit: AuditInput }): Promise<boolean>;
}

/** The audit entries' resourceId of a group. */
export const executorGroupResourceId = (ref: ExecutorGroupRef): string => `${ref.namespace}/${ref.group}`;

/** The namespaces a listing is limited to, or null for all. */
export function namespacesOfListing(p: { namespaces?: readonly string[] | null; namespace?: string } = {}): readonly string[] | null {
  const scope = p.namespaces === undefined || p.namespaces === null || p.namespaces.includes('*') ? null : p.namespaces;
  if (p.namespace === undefined) return scope;
  return scope === null || scope.includes(p.namespace) ? [p.namespace] : [];
}

/** A row of `executor_groups` as a record (JSON columns as text, or parsed by the driver). */
export function toExecutorGroup(row: Record<string, unknown>): ExecutorGroupRecord {
  const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;
  return {
    namespace: row.namespace as string,
    group: row.group_name as string,
    discovery: json<GroupDiscovery>(row.discovery),
    labels: json<Record<string, string>>(row.labels),
    weight: Number(row.weight),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
