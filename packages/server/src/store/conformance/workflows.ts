/**
 * Conformance of workflow storage: workflows beside tasks in one table and name space, and the
 * transactions that advance workflow runs (start, node ends, cancel, recovery), including the
 * guarantee the cluster relies on: a node is activated exactly once, however its predecessors'
 * ends are batched or raced.
 */
import { describe, expect, it } from 'vitest';
import { WorkflowSpecSchema, type WorkflowSpecInput } from '@ecron/contracts';
import { newId } from '../../core/ids.ts';
import type { RunRecord, WorkflowRecord } from '../../core/model.ts';
import type { Store } from '../store.ts';
import { audit, errorCode, MINUTE, seedTask, T0 } from './fixtures.ts';

const URL = 'http://127.0.0.1:9000/run';
const OWNER = 'node-a';

export async function seedWorkflow(store: Store, nodes: WorkflowSpecInput['nodes'], name = `wf-${newId().slice(-8)}`): Promise<WorkflowRecord> {
  const spec = WorkflowSpecSchema.parse({ name, nodes });
  return store.createTask({
    task: {
      id: newId(), kind: 'workflow', namespace: 'default', name, revision: 1, state: 'active', spec, nextFireAt: null, lastFireAt: null,
      lastRunStatus: null, skippedFires: 0, anchorAt: T0, createdAt: T0, updatedAt: T0,
    },
    audit: audit('workflow.create'),
  });
}

export const inline = (id: string, needs: WorkflowSpecInput['nodes'][number]['needs'] = [], extra: Record<string, unknown> = {}) =>
  ({ id, needs, target: { type: 'http' as const, url: URL }, ...extra });

export async function startRun(store: Store, workflow: WorkflowRecord): Promise<{ driver: RunRecord; roots: RunRecord[] }> {
  const id = newId();
  await store.createRun({
    run: {
      id, workflowRunId: id, taskId: workflow.id, namespace: workflow.namespace, taskName: workflow.name, taskRevision: workflow.revision,
      trigger: 'manual', scheduledAt: T0, params: { day: 'mon' }, createdAt: T0, owner: OWNER, status: 'dispatched',
      attempt: { executor: null, startedAt: T0, deadlineAt: null },
    },
  });
  const started = await store.actOnWorkflowRun({ runId: id, action: { kind: 'start' }, at: T0, owner: OWNER });
  return { driver: started!.run, roots: started!.effects.activated };
}

/** Runs a node run's attempt 1 to `status`; returns what its end did. */
export async function end(store: Store, run: RunRecord, status: 'succeeded' | 'failed', output: unknown = null, at = T0 + MINUTE) {
  await store.startAttempts([{ runId: run.id, attempt: 1, executor: null, startedAt: at, deadlineAt: null }]);
  const [ended] = await store.finishAttempts([{ runId: run.id, attempt: 1, attemptStatus: status, at, output, outcome: { kind: 'final', status } }]);
  return ended!;
}

async function nodeStates(store: Store, runId: string): Promise<Record<string, string>> {
  return Object.fromEntries((await store.listWorkflowNodes(runId)).map((n) => [n.nodeId, n.reason ? `${n.status}:${n.reason}` : n.status]));
}

export function describeWorkflows(ctx: { readonly store: Store }): void {
  describe('workflows', () => {
    it('keeps workflows beside tasks: one name space, each kind seen only by its own verbs', async () => {
      const { store } = ctx;
      const task = await seedTask(store, { name: 'shared' });
      expect(await errorCode(seedWorkflow(store, [inline('a')], 'shared'))).toBe('TASK_NAME_TAKEN');
      const workflow = await seedWorkflow(store, [inline('a')], 'flow');
      expect(await store.getTask(workflow.id)).toBeNull();
      expect(await store.getWorkflow(task.id)).toBeNull();
      expect(await store.getWorkflow(workflow.id)).toEqual(workflow);
      expect((await store.getScheduled(workflow.id))?.kind).toBe('workflow');
      expect((await store.listTasks({ limit: 10 })).items.map((t) => t.name)).toEqual(['shared']);
      expect((await store.listWorkflows({ limit: 10 })).items.map((t) => t.name)).toEqual(['flow']);
      expect(await errorCode(store.setTaskState({ id: workflow.id, state: 'paused', nextFireAt: null, at: T0, audit: audit('x') }))).toBe('TASK_NOT_FOUND');
      const paused = await store.setWorkflowState({ id: workflow.id, state: 'paused', nextFireAt: null, at: T0, audit: audit('workflow.pause') });
      expect(paused.state).toBe('paused');
      const spec = WorkflowSpecSchema.parse({ name: 'flow', nodes: [inline('a'), inline('b', ['a'])] });
      const updated = await store.updateWorkflow({ id: workflow.id, spec, nextFireAt: null, anchorAt: T0, state: 'paused', at: T0, audit: audit('workflow.update') });
      expect(updated).toMatchObject({ kind: 'workflow', revision: 2 });
      expect((await store.getTaskRevision({ taskId: workflow.id, revision: 1 }))?.spec).toEqual(workflow.spec);
      expect(await errorCode(store.deleteTask({ id: workflow.id, at: T0, audit: audit('x') }))).toBe('TASK_NOT_FOUND');
      await store.deleteWorkflow({ id: workflow.id, at: T0, audit: audit('workflow.delete') });
      expect(await store.getWorkflow(workflow.id)).toBeNull();
    });

    it('starts a workflow run once: its nodes exist and its roots are activated, owned by the starter', async () => {
      const { store } = ctx;
      const workflow = await seedWorkflow(store, [inline('a'), inline('b'), inline('c', ['a', 'b'])]);
      const { driver, roots } = await startRun(store, workflow);
      expect(driver.status).toBe('running');
      expect(roots.map((r) => [r.nodeId, r.status, r.owner, r.taskName, r.workflowRunId])).toEqual([
        ['a', 'pending', OWNER, `${workflow.name}/a`, driver.id], ['b', 'pending', OWNER, `${workflow.name}/b`, driver.id],
      ]);
      expect(await nodeStates(store, driver.id)).toEqual({ a: 'running', b: 'running', c: 'waiting' });
      expect(await store.actOnWorkflowRun({ runId: driver.id, action: { kind: 'start' }, at: T0, owner: 'node-b' })).toBeNull();
      expect((await store.listRuns({ workflowRunId: driver.id, limit: 10 })).items).toHaveLength(2);
    });

    it('activates a join once, whether its predecessors end in one batch or apart, and ends the workflow run', async () => {
      const { store } = ctx;
      const workflow = await seedWorkflow(store, [inline('a'), inline('b'), inline('join', ['a', 'b'])]);
      const { driver, roots } = await startRun(store, workflow);
      const [a, b] = roots;
      await store.startAttempts([a!, b!].map((run) => ({ runId: run.id, attempt: 1, executor: null, startedAt: T0, deadlineAt: null })));
      const [endA, endB] = await store.finishAttempts([a!, b!].map((run) => ({
        runId: run.id, attempt: 1, attemptStatus: 'succeeded' as const, at: T0 + 1, output: { from: run.nodeId }, outcome: { kind: 'final' as const, status: 'succeeded' as const },
      })));
      const activated = [...(endA!.workflow?.activated ?? []), ...(endB!.workflow?.activated ?? [])];
      expect(activated.map((r) => r.nodeId)).toEqual(['join']);
      const joinEnd = await end(store, activated[0]!, 'succeeded', { done: true });
      expect(joinEnd.workflow?.workflowRuns.map((r) => r.status)).toEqual(['succeeded']);
      expect(await store.getRun(driver.id)).toMatchObject({ status: 'succeeded', finishedAt: T0 + MINUTE });
      expect((await store.listAttempts([driver.id])).map((x) => x.status)).toEqual(['succeeded']);
      expect((await store.listWorkflowNodes(driver.id)).find((n) => n.nodeId === 'a')?.output).toEqual({ from: 'a' });
    });

    it('never activates a node twice when its predecessors end in racing transactions', async () => {
      const { store } = ctx;
      const preds = Array.from({ length: 8 }, (_, i) => inline(`p${i}`));
      const workflow = await seedWorkflow(store, [...preds, inline('join', preds.map((p) => p.id))]);
      const { driver, roots } = await startRun(store, workflow);
      await store.startAttempts(roots.map((run) => ({ runId: run.id, attempt: 1, executor: null, startedAt: T0, deadlineAt: null })));
      const ends = await Promise.all(roots.map((run) => store.finishAttempts([{
        runId: run.id, attempt: 1, attemptStatus: 'succeeded', at: T0 + 1, output: null, outcome: { kind: 'final', status: 'succeeded' },
      }])));
      const activated = ends.flatMap(([e]) => e?.workflow?.activated ?? []);
      expect(activated.map((r) => r.nodeId)).toEqual(['join']);
      expect((await store.listRuns({ workflowRunId: driver.id, limit: 100 })).items.filter((r) => r.nodeId === 'join')).toHaveLength(1);
    });

    it('skips what a failure blocks, fails the workflow run, and reruns from the failed node keeping the outputs of the others', async () => {
      const { store } = ctx;
      const workflow = await seedWorkflow(store, [inline('ok'), inline('bad'), inline('after', ['bad']), inline('last', ['ok', 'after'])]);
      const { driver, roots } = await startRun(store, workflow);
      const ok = roots.find((r) => r.nodeId === 'ok')!;
      const bad = roots.find((r) => r.nodeId === 'bad')!;
      await end(store, ok, 'succeeded', { rows: 7 });
      const failed = await end(store, bad, 'failed');
      expect(failed.workflow?.workflowRuns.map((r) => r.status)).toEqual(['failed']);
      expect(await nodeStates(store, driver.id)).toEqual({ ok: 'succeeded', bad: 'failed', after: 'skipped:upstream_failed', last: 'skipped:upstream_failed' });

      const rerun = (await store.actOnWorkflowRun({ runId: driver.id, action: { kind: 'rerun-failed' }, at: T0 + 2 * MINUTE, owner: 'node-b', audit: audit('workflow_run.rerun_failed') }))!;
      expect(rerun.run).toMatchObject({ status: 'running', finishedAt: null, attempt: 2 });
      expect(rerun.effects.activated.map((r) => [r.nodeId, r.owner])).toEqual([['bad', 'node-b']]);
      expect(await nodeStates(store, driver.id)).toEqual({ ok: 'succeeded', bad: 'running', after: 'waiting', last: 'waiting' });
      expect((await store.listWorkflowNodes(driver.id)).find((n) => n.nodeId === 'ok')).toMatchObject({ output: { rows: 7 }, attempts: 1, runId: ok.id });
      expect(await errorCode(store.actOnWorkflowRun({ runId: driver.id, action: { kind: 'rerun-node', nodeId: 'bad' }, at: T0, owner: OWNER }))).toBe('WORKFLOW_NODE_RUNNING');
    });

    it('cancels: waiting nodes skipped, running node runs handed back to cancel, then their ends change nothing more', async () => {
      const { store } = ctx;
      const workflow = await seedWorkflow(store, [inline('a'), inline('b', ['a'])]);
      const { driver, roots } = await startRun(store, workflow);
      const cancelled = (await store.actOnWorkflowRun({ runId: driver.id, action: { kind: 'cancel', status: 'cancelled', error: 'cancelled (user)' }, at: T0 + 1, owner: OWNER }))!;
      expect(cancelled.run).toMatchObject({ status: 'cancelled', error: 'cancelled (user)' });
      expect(cancelled.effects.cancel).toEqual([roots[0]!.id]);
      expect(await nodeStates(store, driver.id)).toEqual({ a: 'running', b: 'skipped:cancelled' });
      const ended = await store.finishRun({ runId: roots[0]!.id, status: 'cancelled', at: T0 + 2 });
      expect(ended!.workflow?.activated ?? []).toEqual([]);
      expect(await nodeStates(store, driver.id)).toEqual({ a: 'cancelled', b: 'skipped:cancelled' });
      expect(await errorCode(store.actOnWorkflowRun({ runId: driver.id, action: { kind: 'cancel', status: 'cancelled', error: 'x' }, at: T0, owner: OWNER }))).toBe('RUN_ALREADY_FINISHED');
    });

    it('runs a task node as a run of that task, and fails a node whose task is gone', async () => {
      const { store } = ctx;
      const task = await seedTask(store, { name: 'report' });
      const workflow = await seedWorkflow(store, [{ id: 'r', task: 'report', params: { day: '{{ params.day }}' } }, { id: 'gone', task: 'nope' }, inline('cleanup', ['gone'], { run: 'on-failure' })]);
      const { driver, roots } = await startRun(store, workflow);
      expect(roots.map((r) => [r.nodeId, r.taskId, r.taskName])).toEqual([['r', task.id, 'report'], ['cleanup', workflow.id, `${workflow.name}/cleanup`]]);
      expect(roots[0]!.params).toMatchObject({ day: 'mon' });
      expect(await nodeStates(store, driver.id)).toMatchObject({ gone: 'failed:task_not_found', cleanup: 'running' });
      expect(await errorCode(store.actOnWorkflowRun({ runId: task.id, action: { kind: 'start' }, at: T0, owner: OWNER }))).toBe('WORKFLOW_RUN_NOT_FOUND');
    });
  });
}
