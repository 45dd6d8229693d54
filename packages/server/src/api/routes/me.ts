/** `/api/v1/me`: who the bearer token is (role and namespaces), so clients can adapt to what it may do. */
import { TOKEN_ROLES } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import { ERROR_RESPONSES } from '../schemas.ts';

export const MeSchema = z.object({
  actor: z.string().describe('token:<id>, as written in audit entries and revisions'),
  role: z.enum(TOKEN_ROLES),
  namespaces: z.array(z.string()).describe('["*"] means every namespace'),
});

export const meRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/me', {
    config: { access: 'authenticated' }, // an executor token too
    schema: {
      summary: 'The caller: role and namespace scope of the bearer token', tags: ['tokens'], security: BEARER_SECURITY,
      response: { 200: MeSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const caller = callerOf(request);
    return { actor: caller.actor, role: caller.role, namespaces: [...caller.namespaces] };
  });
};
