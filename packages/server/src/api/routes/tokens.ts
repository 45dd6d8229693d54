/**
 * `/api/v1/tokens`: API tokens, for admins. A token's secret is shown once, when it is created. A
 * token listed `expired: true` is refused as an unknown one is; it stays listed, as a revoked one does.
 */
import { CreateTokenSchema } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../core/clock.ts';
import { toTokenResource } from '../../services/resources.ts';
import type { TokenService } from '../../services/tokens.ts';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import { ERROR_RESPONSES, IdParams, TokenResourceSchema } from '../schemas.ts';

const tags = ['tokens'];

const CREATE_DESCRIPTION = 'The answer holds the secret; it is not stored and cannot be shown again. '
  + 'Roles: viewer (reads), operator (also triggers, cancels, pauses, resumes, reruns and backfills), editor (also creates, changes and deletes), '
  + 'admin (also tokens, namespaces and the audit log); executor, outside that order, only registers an executor node, heartbeats it and takes '
  + 'its runs (docs/security.md, "Roles"); with `groups` (role executor only, else VALIDATION_FAILED with GROUPS_NEED_EXECUTOR_ROLE) only for '
  + 'nodes of those executor groups of its namespaces. With `expiresAt` (an instant in the future, at most ten years away: else VALIDATION_FAILED) or '
  + '`expiresIn` (a duration such as "30d") the token is refused from that instant on, as an unknown token is.';

export const tokenRoutes: FastifyPluginAsyncZod<{ tokens: TokenService; clock: Clock }> = async (app, { tokens, clock }) => {
  app.post('/tokens', {
    config: { access: 'admin' },
    schema: {
      summary: 'Create an API token', tags, security: BEARER_SECURITY,
      description: CREATE_DESCRIPTION,
      body: CreateTokenSchema,
      response: { 201: z.object({ token: TokenResourceSchema, secret: z.string() }), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const { token, secret } = await tokens.create(callerOf(request), request.body);
    return reply.status(201).send({ token: toTokenResource(token, clock.now()), secret });
  });

  app.get('/tokens', {
    config: { access: 'admin' },
    schema: {
      summary: 'List API tokens (without secrets), revoked and expired ones too', tags, security: BEARER_SECURITY,
      response: { 200: z.object({ items: z.array(TokenResourceSchema) }), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const now = clock.now();
    return { items: (await tokens.list(callerOf(request))).map((token) => toTokenResource(token, now)) };
  });

  app.delete('/tokens/:id', {
    config: { access: 'admin' },
    schema: {
      summary: 'Revoke an API token', tags, security: BEARER_SECURITY,
      description: 'Idempotent. The last admin token for all namespaces cannot be revoked (409 LAST_ADMIN_TOKEN): create another one first.',
      params: IdParams,
      response: { 200: TokenResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => toTokenResource(await tokens.revoke(callerOf(request), request.params.id), clock.now()));
};
