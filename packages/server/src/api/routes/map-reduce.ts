/**
 * Map/reduce routes (issue 20, docs/map-reduce.md):
 * - the map attempt, with its run-scoped token (as callbacks): `POST /runs/{id}/subtasks` and
 *   `/runs/{id}/subtasks/seal`;
 * - executor nodes of the task's group, with their API token (as pull routes; any mode):
 *   `POST /executors/{id}/subtasks/claim` (a long poll), `/results`, `GET …/page` (the reduce's reads);
 * - viewers: `GET /runs/{id}/subtasks` (the run's `map` summary is part of `GET /runs/{id}`).
 */
import { ExecutorNodeIdSchema, MapAppendSchema, MapSealSchema, SUBTASK_STATES, SubtaskClaimSchema, SubtaskResultsSchema } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EcronError } from '../../core/errors.ts';
import type { MapCoordinator } from '../../scheduler/map-coordinator.ts';
import { canActForGroup, type Caller } from '../../services/access.ts';
import { mayActAsNode } from '../../services/executor-registry.ts';
import { toSubtaskResource } from '../../services/map-resources.ts';
import type { RunService } from '../../services/run-service.ts';
import type { ExecutorNodeRecord, Store } from '../../store/store.ts';
import { BEARER_SECURITY, bearerToken, callerOf } from '../auth.ts';
import { SubtaskResourceSchema } from '../map-schemas.ts';
import { ERROR_RESPONSES, IdParams, pageOf } from '../schemas.ts';

const NodeParams = z.strictObject({ id: ExecutorNodeIdSchema });
const ClaimedSchema = z.object({
  runId: z.string(), index: z.number().int(), kind: z.enum(['map', 'reduce']), handler: z.string(), payload: z.unknown(), lease: z.number().int(),
  tries: z.number().int(), leaseMs: z.number().int(),
  run: z.object({
    runId: z.string(), taskId: z.string(), namespace: z.string(), task: z.string(), scheduledAt: z.string(), attempt: z.number().int(),
    params: z.record(z.string(), z.unknown()), deadline: z.string().nullable(),
  }),
  summary: z.object({ total: z.number().int(), succeeded: z.number().int(), failed: z.number().int() }).optional(),
});
const ListSubtasksQuery = z.strictObject({
  state: z.enum(SUBTASK_STATES).optional(),
  cursor: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const PageQuery = z.strictObject({
  runId: z.string().max(64),
  after: z.coerce.number().int().min(-1).default(-1),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});

export const mapReduceRoutes: FastifyPluginAsyncZod<{ maps: MapCoordinator; runs: RunService; store: Store }> = async (app, { maps, runs, store }) => {
  /** The node, registered and alive, acting through the credential that registered it (or an admin of its namespace). */
  async function requireNode(id: string, caller: Caller): Promise<ExecutorNodeRecord> {
    const [now, nodes] = await Promise.all([store.now(), store.listExecutors()]);
    const node = nodes.find((n) => n.id === id);
    if (!node || node.expiresAt <= now) throw new EcronError('EXECUTOR_NOT_FOUND', `executor ${id} is not registered (or its registration expired): register with PUT /api/v1/executors/${id} first`);
    if (!mayActAsNode(caller, node)) {
      const why = canActForGroup(caller, node.namespace, node.group) ? 'was registered by another credential' : 'belongs to a namespace or executor group this credential does not cover';
      throw new EcronError('FORBIDDEN', `executor ${id} ${why}: only the credential that registered it (or an admin of namespace ${node.namespace}) may take its subtasks`);
    }
    return node;
  }

  app.post('/runs/:id/subtasks', {
    config: { access: 'public', requestLog: 'debug' },
    schema: {
      summary: 'Map: add a batch of subtasks to the map of the attempt', tags: ['runs'], security: BEARER_SECURITY,
      description: 'Authenticated by the run-scoped callback token of the attempt (as bearer). Batches follow each other by `offset`; a batch sent again is a no-op.',
      params: IdParams, body: MapAppendSchema,
      response: { 200: z.object({ total: z.number().int(), inserted: z.number().int() }), ...ERROR_RESPONSES },
    },
  }, async (request) => maps.append(request.params.id, bearerToken(request), request.body));

  app.post('/runs/:id/subtasks/seal', {
    config: { access: 'public' },
    schema: {
      summary: 'Map: the attempt has emitted all its subtasks', tags: ['runs'], security: BEARER_SECURITY,
      description: 'Authenticated by the run-scoped callback token. The attempt then answers its request with `{ "$ecronMapSealed": { total } }` and stays in flight until the map is decided.',
      params: IdParams, body: MapSealSchema,
      response: { 200: z.object({ total: z.number().int(), state: z.string() }), ...ERROR_RESPONSES },
    },
  }, async (request) => maps.seal(request.params.id, bearerToken(request), request.body.attempt));

  app.get('/runs/:id/subtasks', {
    config: { access: 'viewer' },
    schema: {
      summary: 'List the subtasks of a run that mapped', tags: ['runs'], security: BEARER_SECURITY,
      params: IdParams, querystring: ListSubtasksQuery,
      response: { 200: pageOf(SubtaskResourceSchema), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const page = await runs.subtasks(callerOf(request), request.params.id, request.query);
    return { items: page.items.map(toSubtaskResource), nextCursor: page.nextCursor };
  });

  app.post('/executors/:id/subtasks/claim', {
    config: { access: 'executor', requestLog: 'debug' },
    schema: {
      summary: 'Claim subtasks for an executor node (long poll)', tags: ['executors'], security: BEARER_SECURITY,
      description: 'Leases up to `max` pending subtasks of the node\'s group whose handler is among `handlers`; answers at once when some are claimable, otherwise after up to `waitMs`.',
      params: NodeParams, body: SubtaskClaimSchema,
      response: { 200: z.object({ subtasks: z.array(ClaimedSchema) }), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const node = await requireNode(request.params.id, callerOf(request));
    const gone = new AbortController();
    reply.raw.once('close', () => { if (!reply.raw.writableEnded) gone.abort(); });
    return maps.claim(node, request.body, gone.signal);
  });

  app.post('/executors/:id/subtasks/results', {
    config: { access: 'executor', requestLog: 'debug' },
    schema: {
      summary: 'Report the outcomes of subtasks, and extend the leases of those still running', tags: ['executors'], security: BEARER_SECURITY,
      params: NodeParams, body: SubtaskResultsSchema,
      response: {
        200: z.object({ accepted: z.number().int(), lost: z.array(z.object({ runId: z.string(), index: z.number().int() })) }),
        ...ERROR_RESPONSES,
      },
    },
  }, async (request) => maps.results(await requireNode(request.params.id, callerOf(request)), request.body));

  app.get('/executors/:id/subtasks/page', {
    config: { access: 'executor' },
    schema: {
      summary: 'Read a page of the ended subtasks of a run (the reduce\'s input)', tags: ['executors'], security: BEARER_SECURITY,
      params: NodeParams, querystring: PageQuery,
      response: {
        200: z.object({
          items: z.array(z.object({ index: z.number().int(), status: z.enum(['succeeded', 'failed', 'cancelled']), output: z.unknown(), error: z.string().nullable() })),
          next: z.number().int().nullable(),
        }),
        ...ERROR_RESPONSES,
      },
    },
  }, async (request) => maps.page(await requireNode(request.params.id, callerOf(request)), request.query.runId, request.query.after, request.query.limit));

  // Long polls wait up to 30 s: answer them when the server closes.
  app.addHook('preClose', async () => maps.stop());
};
