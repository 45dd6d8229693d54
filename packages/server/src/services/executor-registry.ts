/**
 * What the API and the scheduler share about executor nodes: the signing secret of an executor
 * group, and how a registered node reads as an API resource.
 */
import { randomBytes } from 'node:crypto';
import type { ExecutorResource } from '@ecron/contracts';
import type { ExecutorNodeRecord, Store } from '../store/store.ts';
import { EcronError } from '../core/errors.ts';
import { canAccessNamespace, canActForGroup, executorGroupsIn, type Caller } from './access.ts';
import { iso } from './resources.ts';

/** An executor group: a name within a namespace (group `g` of two namespaces is two groups, with two secrets). */
export interface GroupRef {
  namespace: string;
  group: string;
}

/**
 * The store's name of an executor group's secret. The default namespace's groups keep the name
 * they had before groups belonged to namespaces, so that their nodes keep their secret.
 */
export const groupSecretName = ({ namespace, group }: GroupRef): string => (namespace === 'default' ? `executor-group:${group}` : `executor-group:${namespace}/${group}`);

/**
 * The HMAC secret of an executor group: requests to the group's nodes are signed with it, and a
 * node learns it from its heartbeat's answer. The first node or scheduler that asks creates it;
 * every node of the cluster gets the same one (`Store.ensureSecret`).
 */
export function groupSecret(store: Store, ref: GroupRef): Promise<string> {
  return store.ensureSecret({ name: groupSecretName(ref), candidate: randomBytes(32).toString('base64url') });
}

/**
 * Whether `caller` may act as executor node `node` (heartbeat it, remove it, take and answer its
 * runs): the node's namespace is in the caller's scope, and its group too for a token limited to
 * groups ({@link canActForGroup}), and the caller registered it (an admin of that namespace may
 * too). A node of older releases has no owner: its next heartbeat claims it.
 */
export function mayActAsNode(caller: Caller, node: Pick<ExecutorNodeRecord, 'namespace' | 'group' | 'owner'>): boolean {
  if (!canActForGroup(caller, node.namespace, node.group)) return false;
  return node.owner === null || node.owner === caller.actor || canAccessNamespace(caller, node.namespace, 'admin');
}

/**
 * Throws FORBIDDEN unless `caller` may register a node of `ref`'s group: a credential of its
 * namespace, and, for a token limited to executor groups, one of them. The message names the group.
 */
export function checkMayRegister(caller: Caller, ref: GroupRef): void {
  const { namespace, group } = ref;
  if (!canAccessNamespace(caller, namespace, 'executor')) {
    throw new EcronError('FORBIDDEN', `this token does not cover namespace ${JSON.stringify(namespace)}: an executor of its groups needs a token of that namespace`);
  }
  if (!canActForGroup(caller, namespace, group)) {
    const allowed = (executorGroupsIn(caller, namespace) ?? []).map((g) => JSON.stringify(g)).join(', ');
    throw new EcronError('FORBIDDEN', `this token may act only for executor groups ${allowed} of namespace ${JSON.stringify(namespace)}, not for group `
      + `${JSON.stringify(group)}: a node of group ${JSON.stringify(group)} needs a token of that group (or one for every group of the namespace)`);
  }
}

/** A node as `GET /api/v1/executors` lists it; `now` is the store's clock (alive: expiresAt > now). */
export function toExecutorResource(record: ExecutorNodeRecord, now: number): ExecutorResource {
  return {
    id: record.id,
    namespace: record.namespace,
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
