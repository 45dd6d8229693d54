/** `/api/v1/runs`: list, read, logs, cancel, and the executors' report callback. */
import { RUN_STATUSES, RunReportSchema } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { toRunLogResource, toRunResource, toRunResources } from '../../services/resources.ts';
import type { RunService } from '../../services/run-service.ts';
import { BEARER_SECURITY, bearerToken, callerOf } from '../auth.ts';
import { ERROR_RESPONSES, IdParams, ListRunsQuery, pageOf, RunLogResourceSchema, RunLogsQuery, RunResourceSchema } from '../schemas.ts';

const tags = ['runs'];
const toMs = (value: string | undefined): number | undefined => (value === undefined ? undefined : Date.parse(value));

export const runRoutes: FastifyPluginAsyncZod<{ runs: RunService }> = async (app, { runs }) => {
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
    const { run, attempts } = await runs.get(callerOf(request), request.params.id);
    return toRunResource(run, attempts);
  });

  app.get('/runs/:id/logs', {
    config: { access: 'viewer' },
    schema: {
      summary: 'Log lines of a run', tags, security: BEARER_SECURITY,
      description: 'Pass nextSeq as afterSeq to get the lines that follow (a live tail polls this way).',
      params: IdParams,
      querystring: RunLogsQuery,
      response: {
        200: z.object({ items: z.array(RunLogResourceSchema), nextSeq: z.number().int().describe('afterSeq for the next call') }),
        ...ERROR_RESPONSES,
      },
    },
  }, async (request) => {
    const { lines, nextSeq } = await runs.logs(callerOf(request), request.params.id, request.query);
    return { items: lines.map(toRunLogResource), nextSeq };
  });

  app.post('/runs/:id/cancel', {
    config: { access: 'editor' },
    schema: {
      summary: 'Cancel a run', tags, security: BEARER_SECURITY,
      params: IdParams,
      response: { 200: RunResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { run, attempts } = await runs.cancel(callerOf(request), request.params.id);
    return toRunResource(run, attempts);
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
