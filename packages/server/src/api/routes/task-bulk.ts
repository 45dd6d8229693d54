/**
 * The bulk task routes: `POST /api/v1/tasks:batch` (create or upsert up to 10,000 specs) and
 * `POST /api/v1/tasks:pause|resume|delete|trigger` (by ids or by a label selector). Each answers 200
 * with one result per item, in order. `:` is literal in these paths (`::` in Fastify's syntax).
 */
import {
  BULK_TASK_ACTIONS, BulkActionResponseSchema, BulkTaskActionSchema, BulkTaskTriggerSchema, TaskBatchRequestSchema, TaskBatchResponseSchema,
} from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { IdempotencyService } from '../../services/idempotency.ts';
import { checkBatchSize, type TaskBatchService } from '../../services/task-batch-service.ts';
import type { TaskBulkService } from '../../services/task-bulk-service.ts';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import { IDEMPOTENCY_HEADERS, sendIdempotent } from '../idempotent-reply.ts';
import { ERROR_RESPONSES } from '../schemas.ts';

export interface TaskBulkRoutesOptions {
  batch: TaskBatchService;
  bulk: TaskBulkService;
  idempotency: IdempotencyService;
}

/** 10,000 specs of a few hundred bytes each, with room for large params. */
export const BATCH_BODY_LIMIT_BYTES = 64 * 1024 * 1024;

const tags = ['tasks'];

const ACTION_SUMMARY = {
  pause: 'Pause many tasks', resume: 'Resume many tasks', delete: 'Delete many tasks (their runs stay as history)', trigger: 'Run many tasks now',
} as const;

export const taskBulkRoutes: FastifyPluginAsyncZod<TaskBulkRoutesOptions> = async (app, { batch, bulk, idempotency }) => {
  app.post('/tasks::batch', {
    config: { access: 'editor' },
    bodyLimit: BATCH_BODY_LIMIT_BYTES,
    schema: {
      summary: 'Create or upsert many tasks', tags, security: BEARER_SECURITY,
      description: 'Each item is a task spec as POST /api/v1/tasks takes it, keyed by (namespace, name): created when new, else replaced (a new '
        + 'revision; "unchanged" when the spec is the stored one). Items are validated one by one: an invalid item, one in a namespace the '
        + 'token may not manage (FORBIDDEN), or one whose name a workflow holds (TASK_NAME_TAKEN) is an error in its place, and the others go on. '
        + 'Writes are atomic per chunk of 500 items. The answer has one result per item, in order. More than 10,000 items is BATCH_TOO_LARGE.',
      headers: IDEMPOTENCY_HEADERS,
      body: TaskBatchRequestSchema,
      response: { 200: TaskBatchResponseSchema, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    checkBatchSize(request.body.items.length, 'items');
    return sendIdempotent(request, reply, idempotency, async () => ({
      status: 200, body: { items: await batch.upsertMany(callerOf(request), request.body.items) },
    }));
  });

  for (const action of BULK_TASK_ACTIONS) {
    const trigger = action === 'trigger';
    app.post(`/tasks::${action}`, {
      // Pausing, resuming and triggering are operations on tasks; deleting one changes the specs.
      config: { access: action === 'delete' ? 'editor' : 'operator' },
      schema: {
        summary: ACTION_SUMMARY[action], tags, security: BEARER_SECURITY,
        description: `The tasks are named by "ids" or by a "selector" ({ "labels": {…}, "namespace"? }: the tasks whose labels hold every pair, `
          + `among those the token may see). Each is handled as its single route would (${action === 'delete' ? 'DELETE /api/v1/tasks/{id}' : `POST /api/v1/tasks/{id}/${action}`}); `
          + `its error (TASK_NOT_FOUND…) stands in its place and the others go on. One result per task, in order${trigger ? ', a success naming its runId' : ''}. `
          + 'More than 10,000 ids or matches is BATCH_TOO_LARGE.',
        ...(trigger ? { headers: IDEMPOTENCY_HEADERS } : {}),
        body: trigger ? BulkTaskTriggerSchema : BulkTaskActionSchema,
        response: { 200: BulkActionResponseSchema, ...ERROR_RESPONSES },
      },
    }, async (request, reply) => {
      const body = request.body as { ids: string[]; params?: Record<string, unknown> } | { selector: { labels: Record<string, string>; namespace?: string }; params?: Record<string, unknown> };
      const targets = 'ids' in body ? { ids: body.ids } : { selector: body.selector };
      const execute = async () => ({ status: 200, body: { items: await bulk.act(callerOf(request), action, targets, body.params) } });
      return trigger ? sendIdempotent(request, reply, idempotency, execute) : reply.status(200).send((await execute()).body);
    });
  }
};
