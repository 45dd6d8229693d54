/** `/api/v1/tokens`: API tokens, for admins. A token's secret is shown once, when it is created. */
import { CreateTokenSchema } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { toTokenResource } from '../../services/resources.ts';
import type { TokenService } from '../../services/tokens.ts';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import { ERROR_RESPONSES, IdParams, TokenResourceSchema } from '../schemas.ts';

const tags = ['tokens'];

export const tokenRoutes: FastifyPluginAsyncZod<{ tokens: TokenService }> = async (app, { tokens }) => {
  app.post('/tokens', {
    config: { access: 'admin' },
    schema: {
      summary: 'Create an API token', tags, security: BEARER_SECURITY,
      description: 'The answer holds the secret; it is not stored and cannot be shown again.',
      body: CreateTokenSchema,
      response: { 201: z.object({ token: TokenResourceSchema, secret: z.string() }), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const { token, secret } = await tokens.create(callerOf(request), request.body);
    return reply.status(201).send({ token: toTokenResource(token), secret });
  });

  app.get('/tokens', {
    config: { access: 'admin' },
    schema: {
      summary: 'List API tokens (without secrets)', tags, security: BEARER_SECURITY,
      response: { 200: z.object({ items: z.array(TokenResourceSchema) }), ...ERROR_RESPONSES },
    },
  }, async (request) => ({ items: (await tokens.list(callerOf(request))).map(toTokenResource) }));

  app.delete('/tokens/:id', {
    config: { access: 'admin' },
    schema: {
      summary: 'Revoke an API token', tags, security: BEARER_SECURITY,
      description: 'Idempotent. The last admin token for all namespaces cannot be revoked (409 LAST_ADMIN_TOKEN): create another one first.',
      params: IdParams,
      response: { 200: TokenResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => toTokenResource(await tokens.revoke(callerOf(request), request.params.id)));
};
