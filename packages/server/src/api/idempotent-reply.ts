/**
 * The `Idempotency-Key` request header on the routes that create (task create, `tasks:batch`,
 * trigger): the header's schema for OpenAPI, and the reply that runs a handler through
 * {@link IdempotencyService} and sends its answer, the first one again on a replay.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { IdempotencyService } from '../services/idempotency.ts';
import { callerOf } from './auth.ts';

export const IDEMPOTENCY_HEADERS = z.looseObject({
  'idempotency-key': z.string().optional().describe(
    'makes the call safe to retry: the same key from the same token within 24 h answers the first answer again without doing the work twice; '
    + 'a different request with the key is IDEMPOTENCY_KEY_REUSED (422), one sent while the first still runs IDEMPOTENCY_KEY_IN_PROGRESS (409). '
    + '1-255 visible ASCII characters. A replayed answer carries `idempotent-replayed: true`.',
  ),
});

/** Runs `execute` once per idempotency key of the request (or simply, without one) and sends its answer. */
export async function sendIdempotent(
  request: FastifyRequest, reply: FastifyReply, idempotency: IdempotencyService, execute: () => Promise<{ status: number; body: unknown }>,
): Promise<FastifyReply> {
  const header = request.headers['idempotency-key'];
  const answer = await idempotency.run({
    caller: callerOf(request),
    key: Array.isArray(header) ? header.join(',') : header,
    request: { method: request.method, route: request.routeOptions.url, params: request.params ?? null, body: request.body ?? null },
    execute,
  });
  if (answer.replayed) reply.header('idempotent-replayed', 'true');
  return reply.status(answer.status).send(answer.body);
}
