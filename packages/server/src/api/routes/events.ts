/**
 * `/api/v1/events`: the durable event log (issue 18; `events/event-log.ts`), as a page
 * (`?after=SEQ&limit=N`), as a Server-Sent Events stream (`Accept: text/event-stream` or
 * `follow=1`; `id:` is the seq, so a client that reconnects with `Last-Event-ID` resumes with no
 * gap and no duplicate), or over a WebSocket (an upgrade of the same route, one JSON event per
 * message). A caller
 * sees the events of its namespaces only; cluster events (scheduler nodes, leases) need a grant
 * over every namespace.
 */
import type { WebSocket } from 'ws';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../core/clock.ts';
import { EcronError } from '../../core/errors.ts';
import type { EventLog } from '../../events/event-log.ts';
import { toEventResource } from '../../events/event-resource.ts';
import { namespaceFilter, type Caller } from '../../services/access.ts';
import type { EventFilter, EventRecord, Store } from '../../store/store.ts';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import { ERROR_RESPONSES } from '../schemas.ts';
import { formatEvent, openEventStream, type EventStream } from '../sse.ts';
import { lastEventId, wantsEventStream } from './run-log-stream.ts';

const tags = ['events'];
const TYPE = /^[a-z][a-z_.]*(\.\*)?$/;
const NAME_LIST = /^[A-Za-z0-9][A-Za-z0-9_.-]*(,[A-Za-z0-9][A-Za-z0-9_.-]*)*$/;
const MAX_PAGE = 1000;

export const EventsQuery = z.strictObject({
  after: z.coerce.number().int().min(0).optional()
    .describe('only events with a greater seq; the stream starts after the log\'s end when neither this nor Last-Event-ID is given'),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(100).describe('events per page (not used by the stream)'),
  namespace: z.string().max(4096).regex(NAME_LIST, 'expected namespace names separated by commas').optional()
    .describe('only these namespaces (comma-separated)'),
  type: z.string().max(2048).optional()
    .describe('only these types, comma-separated: exact (run.failed) or a prefix (run.*)'),
  taskId: z.string().max(128).optional().describe('only events of this task, or of this workflow (its runs and nodes)'),
  workflowId: z.string().max(128).optional().describe('the same as taskId, for a workflow'),
  workflowRunId: z.string().max(128).optional().describe('only events of this workflow run and of its nodes\' runs'),
  runId: z.string().max(128).optional(),
  follow: z.stringbool().optional().describe('1: answer with a Server-Sent Events stream (also chosen by "Accept: text/event-stream")'),
});
type EventsQuery = z.infer<typeof EventsQuery>;

export const EventResourceSchema = z.looseObject({
  seq: z.number().int(),
  type: z.string(),
  at: z.string().describe('when the change was written (ISO-8601)'),
  namespace: z.string().nullable().describe('null for cluster events'),
  taskId: z.string().optional(),
  runId: z.string().optional(),
  workflowRunId: z.string().optional(),
}).describe('a state change; the other fields depend on the type (status, attempt, error, …)');

/** The event as the API shows it (`events/event-resource.ts`, shared with the subscriptions' sinks). */
export { toEventResource };

/** What `caller` asked for, within what it may see. Throws VALIDATION_FAILED on a bad type. */
export function eventFilterOf(caller: Caller, query: Omit<EventsQuery, 'limit' | 'after' | 'follow'>): EventFilter {
  const allowed = namespaceFilter(caller, 'viewer');
  const asked = query.namespace?.split(',');
  const namespaces = asked === undefined ? allowed : allowed === null ? asked : asked.filter((ns) => allowed.includes(ns));
  const types = query.type?.split(',').map((t) => t.trim()).filter((t) => t !== '');
  for (const type of types ?? []) {
    if (!TYPE.test(type)) {
      const message = `"${type}" is not an event type: expected a name such as run.failed, or a prefix such as run.*`;
      throw new EcronError('VALIDATION_FAILED', `querystring.type: ${message}`, { issues: [{ path: 'querystring.type', code: 'INVALID_VALUE', message }] });
    }
  }
  if (query.taskId !== undefined && query.workflowId !== undefined && query.taskId !== query.workflowId) {
    const message = 'taskId and workflowId name the same field: give one';
    throw new EcronError('VALIDATION_FAILED', `querystring.workflowId: ${message}`, { issues: [{ path: 'querystring.workflowId', code: 'INVALID_VALUE', message }] });
  }
  const taskId = query.taskId ?? query.workflowId;
  return {
    namespaces: namespaces ?? null,
    // Cluster events belong to no namespace: only a caller over all of them, asking for all, sees them.
    clusterEvents: allowed === null && asked === undefined,
    ...(types && types.length > 0 ? { types } : {}),
    ...(taskId !== undefined ? { taskId } : {}),
    ...(query.runId !== undefined ? { runId: query.runId } : {}),
    ...(query.workflowRunId !== undefined ? { workflowRunId: query.workflowRunId } : {}),
  };
}

export const eventRoutes: FastifyPluginAsyncZod<{ events: EventLog; store: Store; clock: Clock }> = async (app, deps) => {
  const open = new Set<{ close(): void }>();
  app.addHook('preClose', async () => {
    for (const stream of open) stream.close();
  });

  app.route({
    method: 'GET',
    url: '/events',
    config: { access: 'viewer' },
    schema: {
      summary: 'The event log: a page, or a live Server-Sent Events stream', tags, security: BEARER_SECURITY,
      description: [
        'Every state change (runs, tasks, workflows and their nodes, executor and scheduler nodes, leases), in the order of its',
        '`seq`. As a page: pass the last seq as `after` for the next. With `follow=1` or `Accept: text/event-stream`: a stream of',
        'events whose `id` is the seq and whose `data` is the event as JSON; a client that reconnects with `Last-Event-ID` (or',
        '`after`) gets every event after it once, in order. A `: keep-alive` comment is sent every 15 s.',
      ].join(' '),
      querystring: EventsQuery,
      headers: z.object({ 'last-event-id': z.string().optional().describe('stream only: resume after this seq') }),
      response: {
        200: {
          description: 'A page of events, or with follow=1 an event stream',
          content: {
            'application/json': { schema: z.object({ items: z.array(EventResourceSchema), last: z.number().int().describe('the seq to pass as after next time') }) },
            'text/event-stream': { schema: z.string().describe('events with id: seq and data: the event as JSON') },
          },
        },
        ...ERROR_RESPONSES,
      },
    },
    // The same route answers a WebSocket upgrade: one event (JSON) per message.
    wsHandler: (socket: WebSocket, request: FastifyRequest) => serveSocket(socket, request),
    handler: async (request, reply) => {
      const { follow, after, limit, ...query } = request.query;
      const caller = callerOf(request);
      const filter = eventFilterOf(caller, query);
      if (request.method === 'GET' && wantsEventStream(follow, request.headers.accept)) {
        const start = lastEventId(request) ?? after ?? (await deps.events.lastSeq());
        // Before the stream opens, so a client resuming past retention gets a 410 it can act on.
        await deps.events.assertKept(start);
        const stream = openEventStream(reply, { clock: deps.clock });
        await serve(stream, start, filter);
        return reply;
      }
      const from = after ?? 0;
      await deps.events.assertKept(from);
      const through = await deps.store.lastEventSeq();
      const items = await deps.store.readEvents({ after: from, through, limit, filter });
      return { items: items.map(toEventResource), last: items.length === limit ? items.at(-1)!.seq : Math.max(from, through) };
    },
  });

  async function serve(stream: EventStream, after: number, filter: EventFilter): Promise<void> {
    open.add(stream);
    try {
      for await (const batch of deps.events.follow({ after, filter, signal: stream.signal })) {
        if (!(await stream.sendText(batch.map(sseTextOf).join('')))) break;
      }
    } catch (error) {
      // A client so slow that retention overtook it: told by an `error` event, then the stream ends.
      if (!(error instanceof EcronError)) throw error;
      await stream.sendText(formatEvent({ event: 'error', data: JSON.stringify({ error: { code: error.code, message: error.message, details: error.details } }) }));
    } finally {
      open.delete(stream);
      stream.close();
    }
  }

  async function serveSocket(socket: WebSocket, request: FastifyRequest): Promise<void> {
    const abort = new AbortController();
    const entry = { close: () => socket.close(1001, 'server shutting down') };
    open.add(entry);
    socket.on('close', () => abort.abort());
    try {
      const parsedQuery = EventsQuery.safeParse(request.query);
      if (!parsedQuery.success) throw new EcronError('VALIDATION_FAILED', 'the query of an event stream is not valid', { issues: parsedQuery.error.issues });
      const { after, limit: _limit, follow: _follow, ...query } = parsedQuery.data;
      const filter = eventFilterOf(callerOf(request), query);
      const start = lastEventId(request) ?? after ?? (await deps.events.lastSeq());
      await deps.events.assertKept(start);
      for await (const batch of deps.events.follow({ after: start, filter, signal: abort.signal })) {
        for (const event of batch) socket.send(jsonOf(event));
        // Back-pressure: wait while the socket's buffer is large.
        while (socket.bufferedAmount > 1 << 20 && !abort.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } catch (error) {
      socket.close(1008, error instanceof EcronError ? `${error.code}: ${error.message}`.slice(0, 120) : 'failed');
    } finally {
      open.delete(entry);
      abort.abort();
    }
  }
};

/**
 * An event's JSON and SSE text, made once per event however many clients a node streams it to:
 * the followers of one node share the event objects of its buffer.
 */
const jsonCache = new WeakMap<EventRecord, string>();
const sseCache = new WeakMap<EventRecord, string>();

function jsonOf(event: EventRecord): string {
  let json = jsonCache.get(event);
  if (json === undefined) jsonCache.set(event, (json = JSON.stringify(toEventResource(event))));
  return json;
}

function sseTextOf(event: EventRecord): string {
  let text = sseCache.get(event);
  if (text === undefined) sseCache.set(event, (text = formatEvent({ id: event.seq, data: jsonOf(event) })));
  return text;
}
