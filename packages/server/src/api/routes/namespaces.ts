/**
 * `/api/v1/namespaces`: a namespace's description, labels, quotas and outbound rules (admins
 * write them; anyone whose token covers the namespace reads them, with its usage). A namespace
 * never PUT exists implicitly while tasks name it (`default` always), with the default settings.
 */
import { DEFAULT_MIN_INTERVAL_MS, NamespaceListSchema, NamespaceNameSchema, NamespaceResourceSchema, NamespaceSpecSchema } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { toNamespaceListItem, toNamespaceResource, type NamespaceService } from '../../services/namespace-service.ts';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import { ERROR_RESPONSES } from '../schemas.ts';

export interface NamespaceRoutesOptions {
  namespaces: NamespaceService;
}

const tags = ['namespaces'];
const NameParams = z.strictObject({ name: NamespaceNameSchema });

export const namespaceRoutes: FastifyPluginAsyncZod<NamespaceRoutesOptions> = async (app, { namespaces }) => {
  app.put('/namespaces/:name', {
    config: { access: 'admin' },
    schema: {
      summary: 'Create or change a namespace', tags, security: BEARER_SECURITY,
      description: 'Needs an admin token whose scope covers the namespace. Every field is optional: on create, what is left out takes its '
        + 'default; on update, it keeps its stored value (labels are replaced whole; a quota set to null goes back to its default). '
        + `quotas.minIntervalMs (default ${DEFAULT_MIN_INTERVAL_MS}) is the least time between two fires of a task or workflow of the namespace: `
        + 'a spec whose schedule fires more often is refused (VALIDATION_FAILED, issue INTERVAL_TOO_SHORT). Outbound rules are CIDRs, addresses, '
        + 'host names or *.domain (issue INVALID_OUTBOUND_RULE otherwise). 201 when created, 200 when changed.',
      params: NameParams,
      body: NamespaceSpecSchema.optional(),
      response: { 200: NamespaceResourceSchema, 201: NamespaceResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const { namespace, usage, created } = await namespaces.put(callerOf(request), request.params.name, request.body);
    return reply.status(created ? 201 : 200).send(toNamespaceResource(namespace, usage));
  });

  app.get('/namespaces', {
    config: { access: 'viewer' },
    schema: {
      summary: 'List namespaces', tags, security: BEARER_SECURITY,
      description: 'The namespaces whose settings were stored and `default`, those the token\'s scope covers, by name. A namespace that exists '
        + 'only because tasks name it is not listed: GET it by name.',
      response: { 200: NamespaceListSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => ({ items: (await namespaces.list(callerOf(request))).map(toNamespaceListItem) }));

  app.get('/namespaces/:name', {
    config: { access: 'viewer' },
    schema: {
      summary: 'Get a namespace with its usage', tags, security: BEARER_SECURITY,
      description: 'usage counts its tasks, workflows, runs not finished, and runs created in the last 60 s. A namespace never PUT answers '
        + 'with the default settings and implicit: true while tasks or workflows name it (`default` always); else 404 NAMESPACE_NOT_FOUND.',
      params: NameParams,
      response: { 200: NamespaceResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { namespace, usage } = await namespaces.get(callerOf(request), request.params.name);
    return toNamespaceResource(namespace, usage);
  });

  app.delete('/namespaces/:name', {
    config: { access: 'admin' },
    schema: {
      summary: 'Delete a namespace\'s settings', tags, security: BEARER_SECURITY,
      description: '409 NAMESPACE_NOT_EMPTY while tasks or workflows name it; 404 NAMESPACE_NOT_FOUND when it has no stored settings.',
      params: NameParams,
      response: { 204: z.null().describe('no content'), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    await namespaces.delete(callerOf(request), request.params.name);
    return reply.status(204).send(null);
  });
};
