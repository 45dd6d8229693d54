/**
 * Executor group discovery management: the operations behind `/api/v1/executor-groups` (issue
 * 20). Editors and admins of a namespace set and delete its groups' discovery; anyone whose token
 * covers the namespace reads it, with what this node's scheduler resolved. A group outside the
 * caller's scope does not exist for it (404). Every input is validated here; every write is
 * audited in its store transaction.
 */
import { describeFieldIssues, ExecutorGroupSpecSchema, type ExecutorGroupResource, type FieldIssue } from '@ecron/contracts';
import type { Clock } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import type { DiscoveryStatus } from '../dispatch/group-discovery.ts';
import { OUTBOUND_DENIED, type OutboundPolicies } from '../dispatch/outbound-policy.ts';
import type { ExecutorGroupRecord, ExecutorGroupRef } from '../store/executor-groups.ts';
import type { Store } from '../store/store.ts';
import { checkNamespaceAccess, namespaceFilter, type Caller } from './access.ts';
import { groupSecret } from './executor-registry.ts';
import { iso } from './resources.ts';
import { validationError } from './task-spec-input.ts';

export interface ExecutorGroupService {
  /** Creates or replaces a group's discovery (editor); answers the group's signing secret too. */
  put(caller: Caller, ref: ExecutorGroupRef, input: unknown): Promise<{ group: ExecutorGroupResource; created: boolean; secret: string }>;
  /** Throws EXECUTOR_GROUP_NOT_FOUND when the group has no discovery, or lies outside the caller's scope. */
  get(caller: Caller, ref: ExecutorGroupRef): Promise<ExecutorGroupResource>;
  /** The groups with a discovery in the caller's namespaces (or `namespace`), by namespace and group. */
  list(caller: Caller, p: { namespace?: string }): Promise<ExecutorGroupResource[]>;
  /** Deletes a group's discovery (editor): its discovered nodes leave routing; registered nodes stay. */
  delete(caller: Caller, ref: ExecutorGroupRef): Promise<void>;
}

export interface ExecutorGroupServiceDeps {
  store: Store;
  clock: Clock;
  /** A static address the namespace's outbound policy denies is refused when written. */
  outbound: OutboundPolicies;
  /** What this node's scheduler found for a group; absent: every status is null. */
  status?: (ref: ExecutorGroupRef) => DiscoveryStatus | null;
}

const notFound = ({ namespace, group }: ExecutorGroupRef) => new EcronError('EXECUTOR_GROUP_NOT_FOUND',
  `executor group ${JSON.stringify(group)} of namespace ${JSON.stringify(namespace)} has no discovery: PUT /api/v1/executor-groups/${namespace}/${group} sets one`,
  { namespace, group });

/** The group as the API returns it. */
export function toExecutorGroupResource(record: ExecutorGroupRecord, status: DiscoveryStatus | null): ExecutorGroupResource {
  return {
    namespace: record.namespace,
    group: record.group,
    discovery: record.discovery,
    labels: { ...record.labels },
    weight: record.weight,
    createdAt: iso(record.createdAt),
    updatedAt: iso(record.updatedAt),
    status: status === null ? null : { nodes: status.nodes, resolvedAt: status.resolvedAt === null ? null : iso(status.resolvedAt), error: status.error, stale: status.stale },
  };
}

export function createExecutorGroupService(deps: ExecutorGroupServiceDeps): ExecutorGroupService {
  const { store, clock } = deps;
  const resource = (record: ExecutorGroupRecord) => toExecutorGroupResource(record, deps.status?.(record) ?? null);

  /** OUTBOUND_DENIED, with an issue per address, for static addresses the namespace may not call. */
  function checkOutbound(namespace: string, addresses: readonly string[]): void {
    const policy = deps.outbound.of(namespace);
    const issues: FieldIssue[] = [];
    addresses.forEach((address, i) => {
      try {
        policy.assertUrl(address);
      } catch (error) {
        if (!(error instanceof EcronError) || error.code !== OUTBOUND_DENIED) throw error;
        issues.push({ path: `discovery.static[${i}]`, code: OUTBOUND_DENIED, message: error.message });
      }
    });
    if (issues.length > 0) throw new EcronError(OUTBOUND_DENIED, describeFieldIssues(issues), { issues });
  }

  return {
    async put(caller, ref, input) {
      checkNamespaceAccess(caller, ref.namespace, 'editor', () => notFound(ref));
      const parsed = ExecutorGroupSpecSchema.safeParse(input ?? {});
      if (!parsed.success) throw validationError(parsed.error);
      const spec = parsed.data;
      if ('static' in spec.discovery) checkOutbound(ref.namespace, spec.discovery.static);
      const { record, created } = await store.putExecutorGroup({
        group: { namespace: ref.namespace, group: ref.group, discovery: spec.discovery, labels: spec.labels, weight: spec.weight },
        at: clock.now(),
        audit: { actor: caller.actor, action: 'executor-group.put', details: { discovery: 'static' in spec.discovery ? 'static' : 'dns' } },
      });
      const secret = await groupSecret(store, ref);
      return { group: resource(record), created, secret };
    },

    async get(caller, ref) {
      checkNamespaceAccess(caller, ref.namespace, 'viewer', () => notFound(ref));
      const record = await store.getExecutorGroup(ref);
      if (!record) throw notFound(ref);
      return resource(record);
    },

    async list(caller, p) {
      const records = await store.listExecutorGroups({ namespaces: namespaceFilter(caller, 'viewer'), ...(p.namespace ? { namespace: p.namespace } : {}) });
      return records.map(resource);
    },

    async delete(caller, ref) {
      checkNamespaceAccess(caller, ref.namespace, 'editor', () => notFound(ref));
      if (!(await store.deleteExecutorGroup({ ...ref, at: clock.now(), audit: { actor: caller.actor, action: 'executor-group.delete' } }))) throw notFound(ref);
    },
  };
}
