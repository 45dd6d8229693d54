/**
 * `/api/v1/executor-groups`: executor group discovery (issue 20). A group's nodes may also be found
 * by a static list of base URLs or a DNS name re-resolved every `refreshMs`; each address is a node
 * spoken to with the per-run HTTP protocol and signed with the group's secret. Editors and admins
 * of a namespace set and delete it; viewers read it, with what this node resolved.
 * docs/executors.md "Discovery: static lists and DNS".
 */
import { ExecutorGroupListSchema, ExecutorGroupRefSchema, ExecutorGroupResourceSchema, ExecutorGroupSpecSchema, ExecutorGroupWriteSchema, NamespaceNameSchema } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ExecutorGroupService } from '../../services/executor-group-service.ts';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import { ERROR_RESPONSES } from '../schemas.ts';

const tags = ['executor-groups'];
const ListQuery = z.strictObject({ namespace: NamespaceNameSchema.optional().describe('only the groups of this namespace') });

export const executorGroupRoutes: FastifyPluginAsyncZod<{ groups: ExecutorGroupService }> = async (app, { groups }) => {
  app.put('/executor-groups/:namespace/:group', {
    config: { access: 'editor' },
    schema: {
      summary: 'Set how an executor group\'s nodes are discovered: a static list of addresses, or a DNS name', tags, security: BEARER_SECURITY,
      description: 'Replaces the group\'s discovery whole. `{ "discovery": { "static": ["http://10.0.0.5:9000", …] } }` makes each URL a node; '
        + '`{ "discovery": { "dns": { "name": "workers.svc.local", "port": 9000 } } }` makes each A and AAAA record of the name a node at that port '
        + '(`srv: true`: the targets and ports of its SRV records), resolved again every `refreshMs` (default 30 s); while resolving fails, the last '
        + 'good answer is kept for `staleMs` (default 5 min). Nodes that register themselves stay in the group beside them. The answer holds the '
        + 'group\'s signing secret (`secret`): the executors at the addresses verify `x-ecron-signature` with it. A static address the namespace\'s '
        + 'outbound policy denies is refused (422 OUTBOUND_DENIED). 201 when created, 200 when replaced.',
      params: ExecutorGroupRefSchema,
      body: ExecutorGroupSpecSchema,
      response: { 200: ExecutorGroupWriteSchema, 201: ExecutorGroupWriteSchema, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const { group, created, secret } = await groups.put(callerOf(request), request.params, request.body);
    return reply.status(created ? 201 : 200).send({ group, secret });
  });

  app.get('/executor-groups', {
    config: { access: 'viewer' },
    schema: {
      summary: 'List the executor groups that have a discovery', tags, security: BEARER_SECURITY,
      description: 'Those of the token\'s namespaces, by namespace and group, each with `status`: the nodes this server\'s scheduler found, '
        + 'when, and the last error. Groups whose nodes only register themselves are not listed (GET /api/v1/executors lists those nodes).',
      querystring: ListQuery,
      response: { 200: ExecutorGroupListSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => ({ items: await groups.list(callerOf(request), request.query.namespace ? { namespace: request.query.namespace } : {}) }));

  app.get('/executor-groups/:namespace/:group', {
    config: { access: 'viewer' },
    schema: {
      summary: 'Get an executor group\'s discovery and what it resolved to', tags, security: BEARER_SECURITY,
      description: '404 EXECUTOR_GROUP_NOT_FOUND when the group has no discovery. The secret is never shown here.',
      params: ExecutorGroupRefSchema,
      response: { 200: ExecutorGroupResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => groups.get(callerOf(request), request.params));

  app.delete('/executor-groups/:namespace/:group', {
    config: { access: 'editor' },
    schema: {
      summary: 'Delete an executor group\'s discovery', tags, security: BEARER_SECURITY,
      description: 'Its discovered nodes leave routing at the next registry read (within a second); nodes that register themselves stay.',
      params: ExecutorGroupRefSchema,
      response: { 204: z.null().describe('no content'), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    await groups.delete(callerOf(request), request.params);
    return reply.status(204).send(null);
  });
};
