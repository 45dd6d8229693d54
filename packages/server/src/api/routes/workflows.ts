/**
 * `/api/v1/workflows` and `/api/v1/workflow-runs`: workflows with their revisions, trigger, pause,
 * resume and delete; workflow runs with their nodes, cancel, and the recovery actions (rerun from
 * failed, and per node: rerun, mark succeeded, skip). Access as for tasks, within the token's
 * namespaces: viewers read; operators also trigger, pause, resume, cancel and recover runs; editors
 * also create, change and delete workflows.
 */
import { TriggerSchema, WorkflowSpecSchema } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { toTaskRevisionResource, toWorkflowResource, toWorkflowRunResource } from '../../services/resources.ts';
import type { WorkflowRunView, WorkflowService } from '../../services/workflow-service.ts';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import {
  ERROR_RESPONSES, IdParams, ListWorkflowRunsQuery, ListWorkflowsQuery, MASKED_HEADERS_NOTE, pageOf, TaskRevisionSchema, UpdateTaskQuery, WorkflowResourceSchema,
  WorkflowRunResourceSchema,
} from '../schemas.ts';

export interface WorkflowRoutesOptions {
  workflows: WorkflowService;
}

const tags = ['workflows'];
const NodeParams = IdParams.extend({ nodeId: z.string().min(1).max(128) });
const view = ({ run, nodes }: WorkflowRunView) => toWorkflowRunResource(run, nodes);

export const workflowRoutes: FastifyPluginAsyncZod<WorkflowRoutesOptions> = async (app, { workflows }) => {
  app.post('/workflows', {
    config: { access: 'editor' },
    schema: {
      summary: 'Create a workflow', tags, security: BEARER_SECURITY,
      description: 'A DAG of nodes, each a task of the namespace (`task`) or an inline `target`, after the nodes it `needs`. '
        + 'A cycle (DEPENDENCY_CYCLE), a self-loop, an unknown or duplicate id, a template naming a node that is not upstream, '
        + 'a task that does not exist (TASK_NOT_FOUND) or more than 10,000 nodes is refused with 400 VALIDATION_FAILED, each issue with its code and JSON path.',
      body: WorkflowSpecSchema,
      response: { 201: WorkflowResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => reply.status(201).send(toWorkflowResource(await workflows.create(callerOf(request), request.body), callerOf(request))));

  app.post('/workflows/validate', {
    config: { access: 'viewer' },
    schema: {
      summary: 'Check a workflow spec without storing it', tags, security: BEARER_SECURITY,
      body: z.unknown(),
      response: { 200: z.object({ ok: z.literal(true), spec: z.record(z.string(), z.unknown()) }), ...ERROR_RESPONSES },
    },
  }, async (request) => ({ ok: true as const, spec: await workflows.validate(callerOf(request), request.body) }));

  app.get('/workflows', {
    config: { access: 'viewer' },
    schema: {
      summary: 'List workflows', tags, security: BEARER_SECURITY, description: MASKED_HEADERS_NOTE,
      querystring: ListWorkflowsQuery, response: { 200: pageOf(WorkflowResourceSchema), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const caller = callerOf(request);
    const page = await workflows.list(caller, request.query);
    return { items: page.items.map((workflow) => toWorkflowResource(workflow, caller)), nextCursor: page.nextCursor };
  });

  app.get('/workflows/:id', {
    config: { access: 'viewer' },
    schema: {
      summary: 'Get a workflow', tags, security: BEARER_SECURITY, description: MASKED_HEADERS_NOTE,
      params: IdParams, response: { 200: WorkflowResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => toWorkflowResource(await workflows.get(callerOf(request), request.params.id), callerOf(request)));

  app.put('/workflows/:id', {
    config: { access: 'editor' },
    schema: {
      summary: 'Replace a workflow spec (a new revision)', tags, security: BEARER_SECURITY,
      description: 'Runs in progress go on with the revision they started with. An inline http target that omits "secret" keeps the stored one. '
        + 'A header value "***" (the mask a viewer sees) is refused with VALIDATION_FAILED, issue MASKED_HEADER_VALUE.',
      params: IdParams, querystring: UpdateTaskQuery, body: WorkflowSpecSchema,
      response: { 200: WorkflowResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => toWorkflowResource(
    await workflows.update(callerOf(request), request.params.id, request.body, { expectedRevision: request.query.revision }), callerOf(request)));

  app.delete('/workflows/:id', {
    config: { access: 'editor' },
    schema: { summary: 'Delete a workflow (its runs stay as history)', tags, security: BEARER_SECURITY, params: IdParams, response: { 204: z.null().describe('no content'), ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    await workflows.delete(callerOf(request), request.params.id);
    return reply.status(204).send(null);
  });

  for (const verb of ['pause', 'resume'] as const) {
    app.post(`/workflows/:id/${verb}`, {
      config: { access: 'operator' },
      schema: {
        summary: verb === 'pause' ? 'Pause a workflow: it fires no more until resumed' : 'Resume a workflow from now', tags, security: BEARER_SECURITY,
        params: IdParams, response: { 200: WorkflowResourceSchema, ...ERROR_RESPONSES },
      },
    }, async (request) => toWorkflowResource(await workflows[verb](callerOf(request), request.params.id), callerOf(request)));
  }

  app.post('/workflows/:id/trigger', {
    config: { access: 'operator' },
    schema: {
      summary: 'Run a workflow now', tags, security: BEARER_SECURITY,
      description: 'The workflow run gets the workflow params shallow-merged with the given params.',
      params: IdParams, body: TriggerSchema.optional(),
      response: { 201: WorkflowRunResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => reply.status(201).send(view(await workflows.trigger(callerOf(request), request.params.id, request.body?.params))));

  app.get('/workflows/:id/revisions', {
    config: { access: 'viewer' },
    schema: {
      summary: 'The revisions of a workflow, oldest first', tags, security: BEARER_SECURITY, description: MASKED_HEADERS_NOTE,
      params: IdParams, response: { 200: z.object({ items: z.array(TaskRevisionSchema) }), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const caller = callerOf(request);
    return { items: (await workflows.revisions(caller, request.params.id)).map((revision) => toTaskRevisionResource(revision, caller)) };
  });

  app.get('/workflows/:id/revisions/:revision', {
    config: { access: 'viewer' },
    schema: {
      summary: 'One revision of a workflow', tags, security: BEARER_SECURITY, description: MASKED_HEADERS_NOTE,
      params: IdParams.extend({ revision: z.coerce.number().int().min(1) }), response: { 200: TaskRevisionSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => toTaskRevisionResource(await workflows.revision(callerOf(request), request.params.id, request.params.revision), callerOf(request)));

  app.get('/workflow-runs', {
    config: { access: 'viewer' },
    schema: { summary: 'List workflow runs, newest first', tags, security: BEARER_SECURITY, querystring: ListWorkflowRunsQuery, response: { 200: pageOf(WorkflowRunResourceSchema), ...ERROR_RESPONSES } },
  }, async (request) => {
    const page = await workflows.listRuns(callerOf(request), request.query);
    return { items: page.items.map((run) => toWorkflowRunResource(run)), nextCursor: page.nextCursor };
  });

  app.get('/workflow-runs/:id', {
    config: { access: 'viewer' },
    schema: { summary: 'A workflow run with its nodes', tags, security: BEARER_SECURITY, params: IdParams, response: { 200: WorkflowRunResourceSchema, ...ERROR_RESPONSES } },
  }, async (request) => view(await workflows.getRun(callerOf(request), request.params.id)));

  app.post('/workflow-runs/:id/cancel', {
    config: { access: 'operator' },
    schema: {
      summary: 'Cancel a workflow run: its running nodes are cancelled, the others skipped', tags, security: BEARER_SECURITY,
      params: IdParams, response: { 200: WorkflowRunResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => view(await workflows.cancelRun(callerOf(request), request.params.id)));

  app.post('/workflow-runs/:id/rerun', {
    config: { access: 'operator' },
    schema: {
      summary: 'Rerun from the failed nodes', tags, security: BEARER_SECURITY,
      description: 'The failed, timed-out, cancelled and upstream-skipped nodes run again, and everything downstream of them; succeeded nodes keep '
        + 'their outputs. Works while the workflow run is still running (other branches go on), and reopens a finished one. '
        + 'WORKFLOW_NOTHING_TO_RERUN (409) when no node failed.',
      params: IdParams, body: z.strictObject({ from: z.literal('failed').default('failed') }).optional(),
      response: { 200: WorkflowRunResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => view(await workflows.recover(callerOf(request), request.params.id, { kind: 'rerun-failed' })));

  app.post('/workflow-runs/:id/nodes/:nodeId/rerun', {
    config: { access: 'operator' },
    schema: {
      summary: 'Rerun one node', tags, security: BEARER_SECURITY,
      description: 'The node runs again (its successors that were skipped are decided again once it ends). WORKFLOW_NODE_RUNNING (409) while it runs.',
      params: NodeParams, response: { 200: WorkflowRunResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => view(await workflows.recover(callerOf(request), request.params.id, { kind: 'rerun-node', nodeId: request.params.nodeId })));

  app.post('/workflow-runs/:id/nodes/:nodeId/succeed', {
    config: { access: 'operator' },
    schema: {
      summary: 'Mark one node succeeded, with a given output', tags, security: BEARER_SECURITY,
      description: 'Its successors go on as if it had succeeded with this output (templates read it).',
      params: NodeParams, body: z.strictObject({ output: z.unknown().optional() }).optional(),
      response: { 200: WorkflowRunResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => view(await workflows.recover(callerOf(request), request.params.id, { kind: 'succeed-node', nodeId: request.params.nodeId, output: request.body?.output ?? null })));

  app.post('/workflow-runs/:id/nodes/:nodeId/skip', {
    config: { access: 'operator' },
    schema: {
      summary: 'Skip one node', tags, security: BEARER_SECURITY,
      description: 'It ends skipped (reason manual); its successors treat it as succeeded with no output.',
      params: NodeParams, response: { 200: WorkflowRunResourceSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => view(await workflows.recover(callerOf(request), request.params.id, { kind: 'skip-node', nodeId: request.params.nodeId })));
};
