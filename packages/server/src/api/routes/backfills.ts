/**
 * Backfills: `POST /api/v1/tasks/{id}/backfill` and `POST /api/v1/workflows/{id}/backfill` create
 * the fires the schedule would have had in a past range (each with its own scheduledAt, an
 * instant that has a fire skipped); `GET /api/v1/backfills/{id}` shows the progress,
 * `POST /api/v1/backfills/{id}/cancel` stops it, and each task and workflow lists its backfills.
 */
import { BackfillRequestSchema, BACKFILL_STATUSES } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { BackfillRecord } from '../../core/model.ts';
import type { BackfillService } from '../../services/backfill-service.ts';
import { toBackfillResource } from '../../services/resources.ts';
import type { TaskService } from '../../services/task-service.ts';
import type { WorkflowService } from '../../services/workflow-service.ts';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import { ERROR_RESPONSES, IdParams } from '../schemas.ts';

export interface BackfillRoutesOptions {
  backfills: BackfillService;
  tasks: TaskService;
  workflows: WorkflowService;
}

const instant = z.string().describe('ISO-8601 instant in UTC');
export const BackfillResourceSchema = z.object({
  id: z.string(),
  taskId: z.string().describe('the task or workflow backfilled'),
  namespace: z.string(),
  from: instant,
  to: instant,
  concurrency: z.number().int(),
  total: z.number().int().describe('fires of the schedule in the range'),
  created: z.number().int().describe('fires created so far'),
  skipped: z.number().int().describe('instants that had a fire already (not fired again)'),
  cursor: instant.nullable().describe('the last instant handled'),
  runs: z.object({ active: z.number().int(), succeeded: z.number().int(), failed: z.number().int() })
    .describe('the runs it created: not ended yet, succeeded, and ended otherwise'),
  status: z.enum(BACKFILL_STATUSES).describe('running until every fire was created and every run it created ended; then succeeded when they all succeeded, else failed'),
  error: z.string().nullable(),
  actor: z.string(),
  createdAt: instant,
  updatedAt: instant,
  finishedAt: instant.nullable(),
});

const tags = ['backfills'];
const description = 'Creates, one after another, the fires the schedule would have had from `from` to `to` (ISO-8601 instants with an offset, both inclusive; '
  + 'the schedule computes its fires in its own zone), '
  + 'each with its own scheduledAt, at most `concurrency` of its runs active at once. An instant that has a fire already is not fired again. '
  + 'Refused: `to` in the future or before `from` (BACKFILL_RANGE_INVALID), no fire in the range (BACKFILL_EMPTY), more than `maxCount` (BACKFILL_TOO_LARGE).';

export const backfillRoutes: FastifyPluginAsyncZod<BackfillRoutesOptions> = async (app, { backfills, tasks, workflows }) => {
  const resource = async (backfill: BackfillRecord) => toBackfillResource(backfill, await backfills.runCounts(backfill));
  for (const kind of ['tasks', 'workflows'] as const) {
    const load = (request: { params: { id: string } } & Parameters<typeof callerOf>[0]) =>
      (kind === 'tasks' ? tasks.get(callerOf(request), request.params.id) : workflows.get(callerOf(request), request.params.id));
    app.post(`/${kind}/:id/backfill`, {
      config: { access: 'operator' }, // it creates runs, as a trigger does; it changes no spec
      schema: {
        summary: `Backfill a ${kind === 'tasks' ? 'task' : 'workflow'} over a past range`, description, tags: [...tags, kind], security: BEARER_SECURITY,
        params: IdParams, body: BackfillRequestSchema, response: { 201: BackfillResourceSchema, ...ERROR_RESPONSES },
      },
    }, async (request, reply) => {
      const target = await load(request);
      return reply.status(201).send(await resource(await backfills.start(callerOf(request), target, request.body)));
    });
    app.get(`/${kind}/:id/backfills`, {
      config: { access: 'viewer' },
      schema: {
        summary: `The backfills of a ${kind === 'tasks' ? 'task' : 'workflow'}, newest first`, tags: [...tags, kind], security: BEARER_SECURITY,
        params: IdParams, response: { 200: z.object({ items: z.array(BackfillResourceSchema) }), ...ERROR_RESPONSES },
      },
    }, async (request) => ({ items: await Promise.all((await backfills.list(callerOf(request), await load(request))).map(resource)) }));
  }

  app.get('/backfills/:id', {
    config: { access: 'viewer' },
    schema: { summary: 'A backfill and its progress', tags, security: BEARER_SECURITY, params: IdParams, response: { 200: BackfillResourceSchema, ...ERROR_RESPONSES } },
  }, async (request) => resource(await backfills.get(callerOf(request), request.params.id)));

  app.post('/backfills/:id/cancel', {
    config: { access: 'operator' },
    schema: {
      summary: 'Cancel a backfill: no more fires are created (runs already started go on)', tags, security: BEARER_SECURITY,
      params: IdParams, response: { 200: BackfillResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => resource(await backfills.cancel(callerOf(request), request.params.id)));
};
