/** `/api/v1/schedules/preview`: the next fires of a schedule that is not (yet) a task. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Clock } from '../../core/clock.ts';
import { iso } from '../../services/resources.ts';
import { previewSchedule } from '../../services/task-service.ts';
import { BEARER_SECURITY } from '../auth.ts';
import { ERROR_RESPONSES, PreviewSchema, SchedulePreviewBody } from '../schemas.ts';

export const scheduleRoutes: FastifyPluginAsyncZod<{ clock: Clock }> = async (app, { clock }) => {
  app.post('/schedules/preview', {
    config: { access: 'viewer' },
    schema: {
      summary: 'Preview the next fires of a schedule', tags: ['schedules'], security: BEARER_SECURITY,
      description: 'Fixed-rate schedules count from "from" (default now), as a task created then would.',
      body: SchedulePreviewBody,
      response: { 200: PreviewSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { schedule, count, from } = request.body;
    const start = from === undefined ? clock.now() : Date.parse(from);
    const preview = previewSchedule(schedule, start, count);
    return { fires: preview.fires.map(iso), timezone: preview.timezone };
  });
};
