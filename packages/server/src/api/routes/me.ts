/**
 * `/api/v1/me`: who the caller is and what it may do where, so clients can adapt. `role` and
 * `namespaces` summarise the grants (the highest role, the union of the namespaces) as they did
 * when every caller was one token; `grants` say which role holds in which namespaces. A caller
 * signed in with the session cookie also learns the CSRF token its unsafe requests must carry.
 */
import { TOKEN_ROLES } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { highestRoleOf, scopeOf } from '../../services/access.ts';
import { BEARER_SECURITY, callerOf, CSRF_HEADER } from '../auth.ts';
import { ERROR_RESPONSES } from '../schemas.ts';

export const MeSchema = z.object({
  actor: z.string().describe('token:<id> or user:<subject>, as written in audit entries and revisions'),
  role: z.enum(TOKEN_ROLES).describe('the highest role of the grants'),
  namespaces: z.array(z.string()).describe('every namespace of the grants; ["*"] means every namespace'),
  grants: z.array(z.object({
    role: z.enum(TOKEN_ROLES),
    namespaces: z.array(z.string()).describe('["*"] means every namespace'),
    groups: z.array(z.string()).optional().describe('an executor token limited to executor groups: those groups, in each of its namespaces; absent: every group'),
  })).describe('what the caller may do where: a token has one grant; a signed-in user one per role mapping their groups matched'),
  name: z.string().optional().describe('a signed-in user\'s name or email, from the identity provider'),
  csrfToken: z.string().optional().describe(`signed in with the session cookie: send it as the ${CSRF_HEADER} header of every POST, PUT, PATCH and DELETE`),
});

export const meRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/me', {
    config: { access: 'authenticated' }, // an executor token too
    schema: {
      summary: 'The caller: its roles and namespaces', tags: ['tokens'], security: BEARER_SECURITY,
      response: { 200: MeSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const caller = callerOf(request);
    const session = request.session;
    return {
      actor: caller.actor,
      role: highestRoleOf(caller),
      namespaces: scopeOf(caller, 'authenticated'),
      grants: caller.grants.map((grant) => ({ role: grant.role, namespaces: [...grant.namespaces], ...(grant.groups ? { groups: [...grant.groups] } : {}) })),
      ...(session ? { csrfToken: session.csrfToken, ...(session.name ? { name: session.name } : {}) } : {}),
    };
  });
};
