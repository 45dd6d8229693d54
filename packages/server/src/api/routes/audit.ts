/** `/api/v1/audit`: the audit log of management operations, for admins of every namespace. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { EcronError } from '../../core/errors.ts';
import type { Store } from '../../store/store.ts';
import { isUnscoped, scopeOf } from '../../services/access.ts';
import { toAuditEntryResource } from '../../services/resources.ts';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import { AuditEntrySchema, ERROR_RESPONSES, ListAuditQuery, pageOf } from '../schemas.ts';

export const auditRoutes: FastifyPluginAsyncZod<{ store: Store }> = async (app, { store }) => {
  app.get('/audit', {
    config: { access: 'admin' },
    schema: {
      summary: 'List audit entries, newest first', tags: ['audit'], security: BEARER_SECURITY,
      description: 'Needs an admin token for all namespaces: entries are not split by namespace.',
      querystring: ListAuditQuery,
      response: { 200: pageOf(AuditEntrySchema), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    if (!isUnscoped(scopeOf(callerOf(request), 'admin'))) {
      throw new EcronError('FORBIDDEN', 'the audit log needs an admin token for all namespaces ("*")');
    }
    const page = await store.listAudit(request.query);
    // Tokens are few (people and services, not requests): one read names every actor of the page.
    const names = page.items.some((e) => e.actor.startsWith('token:')) ? new Map((await store.listTokens()).map((t) => [t.id, t.name])) : new Map<string, string>();
    return { items: page.items.map((entry) => toAuditEntryResource(entry, names)), nextCursor: page.nextCursor };
  });
};
