/**
 * `/api/v1/tasks`: create, read, list, update, delete, trigger, pause, resume, revisions, preview.
 * Viewers read; operators also trigger, pause and resume; editors also write specs.
 */
import { TaskSpecSchema, TriggerSchema } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Store } from '../../store/store.ts';
import type { IdempotencyService } from '../../services/idempotency.ts';
import { iso, toRunResource, toTaskResource, toTaskRevisionResource } from '../../services/resources.ts';
import type { TaskService } from '../../services/task-service.ts';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import { IDEMPOTENCY_HEADERS, sendIdempotent } from '../idempotent-reply.ts';
import {
  ERROR_RESPONSES, IdParams, ListTasksQuery, MASKED_HEADERS_NOTE, pageOf, parseLabelQuery, PreviewQuery, PreviewSchema, RunResourceSchema, TaskResourceSchema,
  TaskRevisionSchema, UpdateTaskQuery,
} from '../schemas.ts';

export interface TaskRoutesOptions {
  tasks: TaskService;
  store: Store;
  idempotency: IdempotencyService;
}

const tags = ['tasks'];

export const taskRoutes: FastifyPluginAsyncZod<TaskRoutesOptions> = async (app, { tasks, store, idempotency }) => {
  app.post('/tasks', {
    config: { access: 'editor' },
    schema: {
      summary: 'Create a task', tags, security: BEARER_SECURITY,
      headers: IDEMPOTENCY_HEADERS,
      body: TaskSpecSchema,
      response: { 201: TaskResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => sendIdempotent(request, reply, idempotency, async () => ({
    status: 201, body: toTaskResource(await tasks.create(callerOf(request), request.body), callerOf(request)),
  })));

  app.post('/tasks/:id/clone', {
    config: { access: 'editor' },
    schema: {
      summary: 'Create a copy of a task under another name', tags, security: BEARER_SECURITY,
      description: 'The copy has the spec of the task (its target secret included) with the given name, in the given namespace or the task\'s own; '
        + 'it is a new task (revision 1, no runs) that fires on its own schedule. TASK_NAME_TAKEN when the name is in use.',
      params: IdParams,
      body: z.strictObject({ name: TaskSpecSchema.shape.name, namespace: TaskSpecSchema.shape.name.optional() }),
      response: { 201: TaskResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const task = await tasks.clone(callerOf(request), request.params.id, request.body);
    return reply.status(201).send(toTaskResource(task, callerOf(request)));
  });

  app.get('/tasks', {
    config: { access: 'viewer' },
    schema: {
      summary: 'List tasks', tags, security: BEARER_SECURITY,
      description: MASKED_HEADERS_NOTE,
      querystring: ListTasksQuery,
      response: { 200: pageOf(TaskResourceSchema), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { label, ...query } = request.query;
    const caller = callerOf(request);
    const page = await tasks.list(caller, { ...query, labels: parseLabelQuery(label) });
    return { items: page.items.map((task) => toTaskResource(task, caller)), nextCursor: page.nextCursor };
  });

  app.get('/tasks/:id', {
    config: { access: 'viewer' },
    schema: {
      summary: 'Get a task', tags, security: BEARER_SECURITY,
      description: MASKED_HEADERS_NOTE,
      params: IdParams,
      response: { 200: TaskResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => toTaskResource(await tasks.get(callerOf(request), request.params.id), callerOf(request)));

  app.put('/tasks/:id', {
    config: { access: 'editor' },
    schema: {
      summary: 'Replace a task spec (a new revision)', tags, security: BEARER_SECURITY,
      description: 'An http target that omits "secret" keeps the stored one; "secret": null removes it. A header value "***" (the mask '
        + 'a viewer sees) is refused with VALIDATION_FAILED, issue MASKED_HEADER_VALUE: send the real value.',
      params: IdParams, querystring: UpdateTaskQuery, body: TaskSpecSchema,
      response: { 200: TaskResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const task = await tasks.update(callerOf(request), request.params.id, request.body, { expectedRevision: request.query.revision });
    return toTaskResource(task, callerOf(request));
  });

  app.delete('/tasks/:id', {
    config: { access: 'editor' },
    schema: {
      summary: 'Delete a task (its runs stay as history)', tags, security: BEARER_SECURITY,
      params: IdParams,
      response: { 204: z.null().describe('no content'), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    await tasks.delete(callerOf(request), request.params.id);
    return reply.status(204).send(null);
  });

  app.post('/tasks/:id/trigger', {
    config: { access: 'operator' },
    schema: {
      summary: 'Run a task now', tags, security: BEARER_SECURITY,
      description: 'The run gets the task params shallow-merged with the given params.',
      headers: IDEMPOTENCY_HEADERS, params: IdParams, body: TriggerSchema.optional(),
      response: { 201: RunResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => sendIdempotent(request, reply, idempotency, async () => {
    const run = await tasks.trigger(callerOf(request), request.params.id, request.body?.params);
    return { status: 201, body: toRunResource(run, await store.listAttempts([run.id])) };
  }));

  app.post('/tasks/:id/pause', {
    config: { access: 'operator' },
    schema: {
      summary: 'Pause a task: it fires no more until resumed', tags, security: BEARER_SECURITY,
      params: IdParams,
      response: { 200: TaskResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => toTaskResource(await tasks.pause(callerOf(request), request.params.id), callerOf(request)));

  app.post('/tasks/:id/resume', {
    config: { access: 'operator' },
    schema: {
      summary: 'Resume a task from now', tags, security: BEARER_SECURITY,
      params: IdParams,
      response: { 200: TaskResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => toTaskResource(await tasks.resume(callerOf(request), request.params.id), callerOf(request)));

  app.get('/tasks/:id/revisions', {
    config: { access: 'viewer' },
    schema: {
      summary: 'The revisions of a task, oldest first', tags, security: BEARER_SECURITY,
      description: MASKED_HEADERS_NOTE,
      params: IdParams,
      response: { 200: z.object({ items: z.array(TaskRevisionSchema) }), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const caller = callerOf(request);
    const revisions = await tasks.revisions(caller, request.params.id);
    return { items: revisions.map((revision) => toTaskRevisionResource(revision, caller)) };
  });

  app.get('/tasks/:id/preview', {
    config: { access: 'viewer' },
    schema: {
      summary: 'The next fires of a task from now', tags, security: BEARER_SECURITY,
      params: IdParams, querystring: PreviewQuery,
      response: { 200: PreviewSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const preview = await tasks.preview(callerOf(request), request.params.id, request.query.count);
    return { fires: preview.fires.map(iso), timezone: preview.timezone };
  });
};
