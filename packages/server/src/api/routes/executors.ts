/**
 * `/api/v1/executors`: the executor registry. A node of an executor group (a service embedding
 * the SDK, an `ecron agent`) registers and heartbeats with the same `PUT`, leaves with `DELETE`,
 * and is listed with its liveness by the store's clock. The heartbeat's answer carries the group's
 * signing secret; the list never does.
 */
import { EXECUTOR_HEARTBEAT_MS, EXECUTOR_TTL_MS, ExecutorHeartbeatSchema, ExecutorNodeIdSchema, type ExecutorHeartbeatReply, type ExecutorList } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EcronError } from '../../core/errors.ts';
import { canAccessNamespace, canActForGroup, type Caller } from '../../services/access.ts';
import { checkMayRegister, groupSecret, mayActAsNode, toExecutorResource } from '../../services/executor-registry.ts';
import { iso } from '../../services/resources.ts';
import type { Store } from '../../store/store.ts';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import { ERROR_RESPONSES, ExecutorHeartbeatReplySchema, ExecutorListSchema } from '../schemas.ts';

const tags = ['executors'];
const Params = z.strictObject({ id: ExecutorNodeIdSchema });
const ListExecutorsQuery = z.strictObject({
  group: z.string().max(128).optional().describe('only the nodes of this executor group'),
});

/** The registry as of the store's clock, the nodes of the caller's namespaces: live nodes first, then by group and id. */
export async function listExecutors(store: Store, caller: Caller, group?: string): Promise<ExecutorList> {
  const [now, nodes] = await Promise.all([store.now(), store.listExecutors(group === undefined ? {} : { group })]);
  const items = nodes.filter((node) => canAccessNamespace(caller, node.namespace, 'viewer')).map((node) => toExecutorResource(node, now));
  // The store orders by group then id; the sort is stable.
  items.sort((a, b) => Number(b.alive) - Number(a.alive));
  return { items };
}

export const executorRoutes: FastifyPluginAsyncZod<{ store: Store }> = async (app, { store }) => {
  app.put('/executors/:id', {
    config: { access: 'executor', requestLog: 'debug' }, // every few seconds per node
    schema: {
      summary: 'Register an executor node, or heartbeat it (the same call, repeated)', tags, security: BEARER_SECURITY,
      description: `Send every \`heartbeatMs\` (${EXECUTOR_HEARTBEAT_MS} ms). A node that has not heartbeated for \`ttlMs\` (${EXECUTOR_TTL_MS} ms) leaves routing; `
        + 'one dead for an hour is forgotten. The answer holds the HMAC secret of the node\'s group: requests sent to the node are signed with it. '
        + 'The node belongs to `namespace` (default `default`), which the token must cover, and to the credential that registered it: '
        + 'while it lives, another credential gets 409 EXECUTOR_ID_TAKEN. An executor token limited to groups (`groups` of the token) '
        + 'registers nodes of those groups only: another group is 403 FORBIDDEN.',
      params: Params,
      body: ExecutorHeartbeatSchema,
      response: { 200: ExecutorHeartbeatReplySchema, ...ERROR_RESPONSES },
    },
  }, async (request): Promise<ExecutorHeartbeatReply> => {
    const { id } = request.params;
    const caller = callerOf(request);
    const { namespace } = request.body;
    checkMayRegister(caller, request.body);
    const record = await store.heartbeatExecutor({ node: { id, ...request.body, owner: caller.actor }, ttlMs: EXECUTOR_TTL_MS });
    if (record.owner !== caller.actor || record.namespace !== namespace) {
      throw new EcronError('EXECUTOR_ID_TAKEN', `executor id ${JSON.stringify(id)} is registered, alive, by another credential or in another namespace: choose another id, or wait until it expires`, { id });
    }
    const secret = await groupSecret(store, record);
    return { id: record.id, namespace: record.namespace, group: record.group, secret, heartbeatMs: EXECUTOR_HEARTBEAT_MS, ttlMs: EXECUTOR_TTL_MS, expiresAt: iso(record.expiresAt) };
  });

  app.delete('/executors/:id', {
    config: { access: 'executor' },
    schema: {
      summary: 'Deregister an executor node (it leaves routing at once)', tags, security: BEARER_SECURITY,
      params: Params,
      response: { 204: z.null().describe('removed'), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const { id } = request.params;
    const notFound = () => new EcronError('EXECUTOR_NOT_FOUND', `no executor node with id "${id}" is registered`, { id });
    const node = (await store.listExecutors()).find((n) => n.id === id);
    const caller = callerOf(request);
    // A node of another namespace, or of a group the token is not limited to, reads as absent; one
    // of the caller's namespace and groups registered by another credential is refused.
    if (!node || !canActForGroup(caller, node.namespace, node.group)) throw notFound();
    if (!mayActAsNode(caller, node)) throw new EcronError('FORBIDDEN', `executor ${id} was registered by another credential: only it, or an admin of namespace ${node.namespace}, may remove it`);
    if (!(await store.removeExecutor({ id }))) throw notFound();
    return reply.status(204).send(null);
  });

  app.get('/executors', {
    config: { access: 'viewer' },
    schema: {
      summary: 'List executor nodes: live ones first, then by group and id', tags, security: BEARER_SECURITY,
      description: 'Nodes that stopped heartbeating are listed with `alive: false` for an hour. Group secrets are never listed.',
      querystring: ListExecutorsQuery,
      response: { 200: ExecutorListSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => listExecutors(store, callerOf(request), request.query.group));
};
