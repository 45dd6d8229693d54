/** `/api/v1/runs`: list, read, logs, cancel, and the executors' report callback. */
import { RUN_STATUSES, RunReportSchema, TriggerSchema } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../core/clock.ts';
import { toRunLogResource, toRunResource, toRunResources } from '../../services/resources.ts';
import type { RunService } from '../../services/run-service.ts';
import { toMapSummary } from '../../services/map-resources.ts';
import { BEARER_SECURITY, bearerToken, callerOf } from '../auth.ts';
import { ERROR_RESPONSES, IdParams, ListRunsQuery, pageOf, RunLogResourceSchema, RunLogsQuery, RunResourceSchema } from '../schemas.ts';
import { RunLogStreams, wantsEventStream } from './run-log-stream.ts';

const tags = ['runs'];
const toMs = (value: string | undefined): number | undefined => (value === undefined ? undefined : Date.parse(value));

const LOG_STREAM_DESCRIPTION = [
  'With `follow=1` (or `Accept: text/event-stream`) the answer is a Server-Sent Events stream instead of a page:',
  'each line is an `event: log` with `id: <seq>` and the line as JSON `data`, first the lines after `afterSeq`',
  '(or after the `Last-Event-ID` header of a reconnecting client), then new lines as they are written;',
  'once the run is final and all its lines are sent, `event: end` with `data: {"status": …, "error": …}`, and the stream closes.',
  'A `: keep-alive` comment is sent every 15 s. Errors before the stream starts (401, 403, RUN_NOT_FOUND) are the usual JSON errors.',
].join(' ');

export const runRoutes: FastifyPluginAsyncZod<{ runs: RunService; clock: Clock }> = async (app, { runs, clock }) => {
  const streams = new RunLogStreams({ runs, clock });
  // Open streams would keep the HTTP server from closing.
  app.addHook('preClose', async () => streams.closeAll());

  app.get('/runs', {
    config: { access: 'viewer' },
    schema: {
      summary: 'List runs, newest first', tags, security: BEARER_SECURITY,
      querystring: ListRunsQuery,
      response: { 200: pageOf(RunResourceSchema), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { from, to, ...rest } = request.query;
    const page = await runs.list(callerOf(request), { ...rest, from: toMs(from), to: toMs(to) });
    return { items: toRunResources(page.runs, page.attempts), nextCursor: page.nextCursor };
  });

  app.get('/runs/:id', {
    config: { access: 'viewer' },
    schema: {
      summary: 'Get a run with its attempts', tags, security: BEARER_SECURITY,
      params: IdParams,
      response: { 200: RunResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { run, attempts, map } = await runs.get(callerOf(request), request.params.id);
    return { ...toRunResource(run, attempts), ...(map ? { map: toMapSummary(map) } : {}) };
  });

  app.get('/runs/:id/logs', {
    config: { access: 'viewer' },
    schema: {
      summary: 'Log lines of a run, as a page or as a live Server-Sent Events stream', tags, security: BEARER_SECURITY,
      description: `A page of lines: pass nextSeq as afterSeq to get the lines that follow. ${LOG_STREAM_DESCRIPTION}`,
      params: IdParams,
      querystring: RunLogsQuery,
      headers: z.object({
        'last-event-id': z.string().optional().describe('stream only: resume after this seq (sent by a reconnecting EventSource)'),
      }),
      response: {
        200: {
          description: 'A page of log lines, or with follow=1 an event stream',
          content: {
            'application/json': {
              schema: z.object({ items: z.array(RunLogResourceSchema), nextSeq: z.number().int().describe('afterSeq for the next call') }),
            },
            'text/event-stream': {
              schema: z.string().describe('events `log` (id: seq, data: a log line as JSON) and a last `end` (data: {"status", "error"})'),
            },
          },
        },
        ...ERROR_RESPONSES,
      },
    },
  }, async (request, reply) => {
    const { follow, ...query } = request.query;
    // HEAD (which Fastify answers with this handler) never opens a stream.
    if (request.method === 'GET' && wantsEventStream(follow, request.headers.accept)) {
      await streams.serve(request, reply, { runId: request.params.id, afterSeq: query.afterSeq });
      return reply;
    }
    const { lines, nextSeq } = await runs.logs(callerOf(request), request.params.id, query);
    return { items: lines.map(toRunLogResource), nextSeq };
  });

  app.post('/runs/:id/cancel', {
    config: { access: 'operator' },
    schema: {
      summary: 'Cancel a run', tags, security: BEARER_SECURITY,
      params: IdParams,
      response: { 200: RunResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { run, attempts } = await runs.cancel(callerOf(request), request.params.id);
    return toRunResource(run, attempts);
  });

  app.post('/runs/:id/rerun', {
    config: { access: 'operator' },
    schema: {
      summary: 'Run a finished run again', tags, security: BEARER_SECURITY,
      description: 'Starts a new manual run of the finished run\'s task with the same params, or with the given params in their place (not merged). '
        + 'RUN_NOT_FINISHED while the run is still active; TASK_NOT_FOUND when its task was deleted.',
      params: IdParams, body: TriggerSchema.optional(),
      response: { 201: RunResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const { run, attempts } = await runs.rerun(callerOf(request), request.params.id, request.body?.params);
    return reply.status(201).send(toRunResource(run, attempts));
  });

  app.post('/runs/:id/report', {
    config: { access: 'public' },
    schema: {
      summary: 'Executor callback: progress, log lines and the final status of an attempt', tags,
      description: 'Authenticated by the run-scoped callback token of the run request (as bearer), not by an API token.',
      security: BEARER_SECURITY,
      params: IdParams, body: RunReportSchema,
      response: {
        200: z.object({ accepted: z.literal(true), status: z.enum(RUN_STATUSES) }),
        ...ERROR_RESPONSES,
      },
    },
  }, async (request) => {
    const run = await runs.report(request.params.id, bearerToken(request), request.body);
    return { accepted: true as const, status: run.status };
  });
};
