/**
 * Workflows on the scheduler harness: a manual clock, a real SQLite store and a real HTTP
 * executor whose paths decide each node's outcome (`/ok`, `/fail`, or a behaviour of a test's).
 * Nodes written as `{ id, needs, run, path }` become inline HTTP targets.
 */
import type { RunRecord } from '../../src/core/model.ts';
import type { WorkflowNodeRecord } from '../../src/core/workflow/node-state.ts';
import { createWorkflowService, type WorkflowService } from '../../src/services/workflow-service.ts';
import { ADMIN, SchedulerHarness } from './scheduler-harness.ts';

export interface NodeSketch {
  id: string;
  needs?: (string | { node: string; optional: boolean })[];
  run?: 'on-success' | 'always' | 'on-failure';
  /** The executor path the node's target posts to. @default '/ok' */
  path?: string;
  params?: Record<string, unknown>;
  task?: string;
}

export class WorkflowHarness extends SchedulerHarness {
  workflows!: WorkflowService;

  override async start(): Promise<this> {
    await super.start();
    this.workflows = createWorkflowService({ store: this.store, control: this.scheduler, clock: this.clock });
    this.executor.behaviours.set('/fail', () => ({ status: 500, body: { error: 'boom' } }));
    return this;
  }

  override async crashAndRestart(beforeStart?: () => Promise<void>): Promise<void> {
    await super.crashAndRestart(beforeStart);
    this.workflows = createWorkflowService({ store: this.store, control: this.scheduler, clock: this.clock });
  }

  /** Creates a manual workflow of the sketched nodes. */
  async createWorkflow(name: string, nodes: NodeSketch[], extra: Record<string, unknown> = {}) {
    return this.workflows.create(ADMIN, {
      name, schedule: { manual: true }, ...extra,
      nodes: nodes.map((n) => ({
        id: n.id, needs: n.needs ?? [], ...(n.run ? { run: n.run } : {}), ...(n.params ? { params: n.params } : {}),
        ...(n.task ? { task: n.task } : { target: { type: 'http', url: `${this.executorUrl}${n.path ?? '/ok'}` } }),
      })),
    });
  }

  /** Triggers the workflow and waits for the workflow run to end. */
  async runToEnd(workflowId: string, params?: Record<string, unknown>): Promise<{ run: RunRecord; nodes: Map<string, WorkflowNodeRecord> }> {
    const { run } = await this.workflows.trigger(ADMIN, workflowId, params);
    return this.finished(run.id);
  }

  /** Waits for the workflow run to end; its nodes by id. */
  async finished(runId: string, timeoutMs = 10_000): Promise<{ run: RunRecord; nodes: Map<string, WorkflowNodeRecord> }> {
    const run = await this.store.getRun(runId);
    const ended = run?.finishedAt !== null && run ? run : await this.next('run:ended', (r) => r.id === runId, timeoutMs);
    const nodes = await this.store.listWorkflowNodes(runId);
    return { run: ended, nodes: new Map(nodes.map((n) => [n.nodeId, n])) };
  }
}
