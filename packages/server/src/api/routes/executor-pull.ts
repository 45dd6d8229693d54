/**
 * Pull mode: executors the scheduler cannot reach take their runs and return their outcomes
 * (see `dispatch/pull-hub.ts`), either by long polls (`/api/v1/executors/{id}/poll` and
 * `/results`) or over a stream (`/api/v1/executors/{id}/stream`, a WebSocket: see
 * `dispatch/stream-session.ts`). Log lines and progress still go to each run's callback.
 */
import { ExecutorNodeIdSchema, PollRequestSchema, PollResultsSchema } from '@ecron/contracts';
import { STREAM_CLOSE_NOT_REGISTERED, STREAM_NONCE_HEADER, STREAM_SUBPROTOCOL, STREAM_SUBPROTOCOL_TIMED } from '@ecron/contracts/executor-stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EcronError } from '../../core/errors.ts';
import type { ExecutorDirectory } from '../../dispatch/executor-directory.ts';
import type { PullHub } from '../../dispatch/pull-hub.ts';
import { StreamSession } from '../../dispatch/stream-session.ts';
import { canActForGroup, type Caller } from '../../services/access.ts';
import { groupSecret, mayActAsNode } from '../../services/executor-registry.ts';
import type { ExecutorNodeRecord, Store } from '../../store/store.ts';
import type { WebSocket } from 'ws';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import { ERROR_RESPONSES } from '../schemas.ts';

const tags = ['executors'];
const Params = z.object({ id: ExecutorNodeIdSchema });
const RunRequestSchema = z.object({
  runId: z.string(), taskId: z.string(), namespace: z.string(), task: z.string(), scheduledAt: z.string(), attempt: z.number().int(),
  params: z.record(z.string(), z.unknown()), shard: z.object({ index: z.number().int(), total: z.number().int() }), deadline: z.string().nullable(),
  callback: z.object({ url: z.string(), token: z.string() }),
  group: z.string().optional(), handler: z.string().optional(), command: z.string().optional(), fanOut: z.boolean().optional(),
});
const PollReplySchema = z.object({
  deliveries: z.array(z.object({ id: z.string(), request: RunRequestSchema })),
  cancels: z.array(z.object({ id: z.string(), reason: z.enum(['user', 'deadline', 'overlap', 'shutdown']) })),
});

export const executorPullRoutes: FastifyPluginAsyncZod<{ store: Store; pull: PullHub; directory?: ExecutorDirectory }> = async (app, { store, pull, directory }) => {
  /**
   * The node must be registered in pull mode and alive: a poll for an unknown id gets nothing,
   * ever. The scheduler's view of the registry (read every second) answers; the store is read
   * only for a node it does not know yet (it registered a moment ago). Only the credential that
   * registered the node (or an admin of its namespace) may take or answer its runs, and only when
   * it covers the node's namespace and group: 403 for any other, as if it tried to read another
   * namespace's runs.
   */
  async function requirePullNode(id: string, caller: Caller): Promise<ExecutorNodeRecord> {
    const node = directory?.livePullNode(id) ?? await readPullNode(id);
    if (!mayActAsNode(caller, node)) {
      // As for another namespace's node: 403, and the group is not named.
      const why = canActForGroup(caller, node.namespace, node.group)
        ? 'was registered by another credential: only it'
        : 'belongs to a namespace or executor group this credential does not cover: only the credential that registered it';
      throw new EcronError('FORBIDDEN', `executor ${id} ${why} (or an admin of namespace ${node.namespace}) may take or answer its runs`);
    }
    return node;
  }

  /** The node's registration, read from the store (its group is needed too). */
  async function readPullNode(id: string): Promise<ExecutorNodeRecord> {
    const [now, nodes] = await Promise.all([store.now(), store.listExecutors()]);
    const node = nodes.find((n) => n.id === id);
    if (!node || node.expiresAt <= now) throw new EcronError('EXECUTOR_NOT_FOUND', `executor ${id} is not registered (or its registration expired): register with PUT /api/v1/executors/${id} first`);
    if (node.mode !== 'pull') throw new EcronError('VALIDATION_FAILED', `executor ${id} is registered in push mode: runs are sent to ${node.address}`);
    return node;
  }

  /** Open streams, to end them when their node leaves the registry or the server closes. */
  const streams = new Map<string, Set<WebSocket>>();
  directory?.events.on('node:gone', (id) => {
    for (const socket of streams.get(id) ?? []) socket.close(STREAM_CLOSE_NOT_REGISTERED, 'EXECUTOR_NOT_FOUND');
  });

  // Long polls wait up to 30 s: answer them when the server closes, or they hold its exit.
  app.addHook('preClose', async () => pull.close());

  app.get('/executors/:id/stream', {
    websocket: true,
    config: { access: 'executor' },
    schema: {
      summary: 'Take runs for a pull-mode executor over a stream (WebSocket)', tags, security: BEARER_SECURITY,
      description: `Upgrades to a WebSocket (subprotocol \`${STREAM_SUBPROTOCOL_TIMED}\`, where runs may come before their instant with their \`startInMs\`, or \`${STREAM_SUBPROTOCOL}\`; header \`${STREAM_NONCE_HEADER}\`: a fresh nonce of 16–64 characters of [A-Za-z0-9_-]). Runs go to the executor many to a signed frame, as far as its credit allows, and results come back the same way: see docs/executor-protocol.md, "The stream".`,
      params: Params,
    },
  }, async (socket, request) => {
    const { id } = request.params;
    const nonce = request.headers[STREAM_NONCE_HEADER];
    if (typeof nonce !== 'string' || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce)) {
      socket.close(STREAM_CLOSE_NOT_REGISTERED, 'STREAM_NONCE_INVALID');
      return;
    }
    let node: ExecutorNodeRecord;
    let secret: string;
    try {
      node = await requirePullNode(id, callerOf(request));
      secret = await (directory ? directory.secret(node) : groupSecret(store, node));
    } catch (error) {
      socket.close(STREAM_CLOSE_NOT_REGISTERED, error instanceof EcronError ? error.code : 'INTERNAL');
      return;
    }
    let open = streams.get(id);
    if (!open) streams.set(id, (open = new Set()));
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      if (open.size === 0 && streams.get(id) === open) streams.delete(id);
    });
    new StreamSession({ nodeId: id, nonce, secret, hub: pull, socket, timed: socket.protocol === STREAM_SUBPROTOCOL_TIMED, log: (level, message, fields) => request.log[level](fields ?? {}, message) });
  });

  app.post('/executors/:id/poll', {
    config: { access: 'executor', requestLog: 'debug' }, // back to back, per pull-mode node
    schema: {
      summary: 'Take runs for a pull-mode executor (long poll)', tags, security: BEARER_SECURITY,
      description: 'Answers at once when runs or cancels are waiting, otherwise after up to `waitMs`. `running` lists the deliveries the executor runs; the answer names those cancelled since.',
      params: Params, body: PollRequestSchema,
      response: { 200: PollReplySchema, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    await requirePullNode(request.params.id, callerOf(request));
    // The response closes early when the poller goes away: stop waiting for it (and only then:
    // an abort costs an error object, and every answered poll closes its response too).
    const gone = new AbortController();
    reply.raw.once('close', () => { if (!reply.raw.writableEnded) gone.abort(); });
    return pull.poll(request.params.id, request.body, gone.signal);
  });

  app.post('/executors/:id/results', {
    config: { access: 'executor' },
    schema: {
      summary: 'Return the outcomes of a pull-mode executor\'s deliveries', tags, security: BEARER_SECURITY,
      params: Params, body: PollResultsSchema,
      response: { 200: z.object({ accepted: z.number().int().describe('results matched to a delivery still waiting') }), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    await requirePullNode(request.params.id, callerOf(request));
    return { accepted: pull.results(request.params.id, request.body.results) };
  });
};
