/**
 * What one event does to one workflow run, as a plan the store writes in the transaction that
 * records the event. Written once for every store as a generator: it yields the `task` names it
 * needs looked up and is resumed with what was found, so that SQLite can drive it synchronously
 * and the SQL stores asynchronously, inside their transaction.
 *
 * The events: the workflow run starts (every node created, the roots activated); node runs end
 * (their nodes take their status, successors are decided); the run is cancelled or times out
 * (waiting nodes skipped, running ones to cancel); recovery actions (rerun from failed, rerun a
 * node, mark a node succeeded or skipped), which may reopen a finished workflow run.
 */
import { EcronError } from '../errors.ts';
import type { RunRecord } from '../model.ts';
import type { WorkflowSpec } from '@ecron/contracts';
import type { NewRun } from '../../store/store.ts';
import { activate, taskNamesOf, type NodeTask } from './activation.ts';
import { isFinalNode, nodeStatusOfRun, type WorkflowNodeRecord } from './node-state.ts';
import { failedNodes, resetNodes, settle, skippedSuccessors, skipWaiting, successorsOf, WorkflowState } from './step.ts';

export type WorkflowAction =
  | { kind: 'start' }
  /** Ends the workflow run early: `cancelled` by a user, `failed` on its timeout. */
  | { kind: 'cancel'; status: 'cancelled' | 'failed'; error: string }
  | { kind: 'rerun-failed' }
  | { kind: 'rerun-node'; nodeId: string }
  | { kind: 'succeed-node'; nodeId: string; output: unknown }
  | { kind: 'skip-node'; nodeId: string };

export type WorkflowEvent = WorkflowAction | { kind: 'nodes-ended'; runs: RunRecord[] };

/** The new state of the workflow run itself. */
export type DriverChange =
  | { status: 'running'; reopened: boolean }
  | { status: 'succeeded' | 'failed' | 'cancelled'; error: string | null };

export interface WorkflowPlan {
  /** True when the nodes are new (start): insert rather than update. */
  fresh: boolean;
  nodes: WorkflowNodeRecord[];
  runs: NewRun[];
  driver: DriverChange | null;
  /** Runs of nodes in progress of a workflow run that ended early: the caller cancels them. */
  cancel: string[];
}

export interface WorkflowTransactionInput {
  /** The workflow run, as locked by the transaction. */
  driver: RunRecord;
  /** The revision it runs; null when the workflow was deleted (its revisions went with it). */
  spec: WorkflowSpec | null;
  /** Its stored nodes (none before it started). */
  nodes: WorkflowNodeRecord[];
  event: WorkflowEvent;
  at: number;
  /** The node that supervises the runs created. */
  owner: string | null;
}

const isFinalRun = (run: RunRecord): boolean => run.finishedAt !== null;

/** Yields lists of task names to look up; returns the plan (null: nothing to do, e.g. already started). */
export function* planWorkflowEvent(input: WorkflowTransactionInput): Generator<string[], WorkflowPlan | null, ReadonlyMap<string, NodeTask>> {
  const { driver, spec, event, at } = input;
  if (spec === null) return planWithoutSpec({ ...input, spec });
  const started = input.nodes.length > 0;
  if (event.kind === 'start') {
    if (started || isFinalRun(driver)) return null;
  } else if (!started) {
    if (event.kind === 'nodes-ended') return null;
    throw new EcronError('WORKFLOW_RUN_NOT_STARTED', `workflow run ${driver.id} has not started yet`, { runId: driver.id });
  }
  const state = started ? new WorkflowState(driver.id, spec, input.nodes) : WorkflowState.fresh(driver.id, spec);
  let candidates: string[] = [];
  let driverChange: DriverChange | null = null;
  let cancel: string[] = [];
  switch (event.kind) {
    case 'start':
      candidates = state.dag.ids.slice();
      driverChange = { status: 'running', reopened: false };
      break;
    case 'nodes-ended': {
      const ended: string[] = [];
      for (const run of event.runs) {
        const node = run.nodeId === null ? undefined : state.nodes.get(run.nodeId);
        if (!node || node.runId !== run.id || isFinalNode(node.status)) continue;
        state.set(node.nodeId, { status: nodeStatusOfRun(run.status), reason: null, output: run.output, finishedAt: run.finishedAt ?? at });
        ended.push(node.nodeId);
      }
      // A workflow run that ended early only records its nodes' ends.
      if (!isFinalRun(driver)) candidates = successorsOf(state, ended);
      break;
    }
    case 'cancel':
      if (isFinalRun(driver)) throw new EcronError('RUN_ALREADY_FINISHED', `workflow run ${driver.id} has already finished`, { runId: driver.id });
      skipWaiting(state, at);
      cancel = state.runningRunIds();
      driverChange = { status: event.status, error: event.error };
      break;
    case 'rerun-failed': {
      const failed = failedNodes(state);
      if (failed.length === 0) throw new EcronError('WORKFLOW_NOTHING_TO_RERUN', `workflow run ${driver.id} has no failed node`, { runId: driver.id });
      candidates = resetNodes(state, failed, 'all');
      break;
    }
    default: {
      const node = state.nodes.get(event.nodeId);
      if (!node) throw new EcronError('WORKFLOW_NODE_NOT_FOUND', `workflow run ${driver.id} has no node ${event.nodeId}`, { runId: driver.id, nodeId: event.nodeId });
      if (node.status === 'running') {
        throw new EcronError('WORKFLOW_NODE_RUNNING', `node ${event.nodeId} is running: cancel its run first`, { runId: driver.id, nodeId: event.nodeId, nodeRunId: node.runId });
      }
      if (event.kind === 'rerun-node') {
        candidates = resetNodes(state, [event.nodeId], 'skipped');
      } else {
        // Successors that ran keep their result; those skipped are decided again.
        const reset = resetNodes(state, skippedSuccessors(state, event.nodeId), 'skipped');
        state.set(event.nodeId, event.kind === 'succeed-node'
          ? { status: 'succeeded', reason: null, output: event.output ?? null, runId: null, finishedAt: at }
          : { status: 'skipped', reason: 'manual', output: null, runId: null, finishedAt: at });
        candidates = [...successorsOf(state, [event.nodeId]), ...reset];
      }
    }
  }
  const runs: NewRun[] = [];
  const closed = driverChange !== null && driverChange.status !== 'running';
  if (!closed) {
    let ready = settle(state, candidates, at);
    while (ready.length > 0) {
      const tasks = yield taskNamesOf(state, ready);
      const step = activate(state, ready, tasks, { driver, now: at, owner: input.owner });
      runs.push(...step.runs);
      ready = step.ready;
    }
  }
  if (!closed) {
    const outcome = state.outcome();
    const isAction = event.kind !== 'start' && event.kind !== 'nodes-ended';
    if (outcome === null) {
      // A recovery action on a finished workflow run that gave nodes work to do reopens it.
      if (isFinalRun(driver) && isAction) driverChange = { status: 'running', reopened: true };
    } else if (!isFinalRun(driver) || (isAction && outcome !== driver.status)) {
      driverChange = { status: outcome, error: outcome === 'failed' ? 'a node failed' : null };
    }
  }
  return { fresh: !started, nodes: started ? state.changedRows() : [...state.nodes.values()], runs, driver: driverChange, cancel };
}

/**
 * A workflow run whose workflow was deleted: nothing more can be activated (the edges are gone).
 * Node ends are still recorded; the workflow run ends `failed` (or `cancelled` when asked) at the
 * first event, its waiting nodes skipped; running nodes go on and record their ends.
 */
function planWithoutSpec(input: WorkflowTransactionInput & { spec: null }): WorkflowPlan | null {
  const { driver, event, at } = input;
  const active = !isFinalRun(driver);
  if (event.kind !== 'nodes-ended' && event.kind !== 'cancel') {
    if (event.kind === 'start' && !active) return null;
    throw new EcronError('WORKFLOW_NOT_FOUND', `the workflow of workflow run ${driver.id} was deleted`, { runId: driver.id, workflowId: driver.taskId });
  }
  if (event.kind === 'cancel' && !active) throw new EcronError('RUN_ALREADY_FINISHED', `workflow run ${driver.id} has already finished`, { runId: driver.id });
  const byRun = new Map(event.kind === 'nodes-ended' ? event.runs.map((run) => [run.id, run]) : []);
  const nodes: WorkflowNodeRecord[] = [];
  for (const node of input.nodes) {
    const ended = node.runId === null ? undefined : byRun.get(node.runId);
    if (ended && node.status === 'running') {
      nodes.push({ ...node, status: nodeStatusOfRun(ended.status), output: ended.output, finishedAt: ended.finishedAt ?? at });
    } else if (active && node.status === 'waiting') {
      nodes.push({ ...node, status: 'skipped', reason: 'cancelled', finishedAt: at });
    }
  }
  const driverChange: DriverChange | null = !active ? null
    : event.kind === 'cancel' ? { status: event.status, error: event.error }
      : { status: 'failed', error: 'the workflow was deleted' };
  const cancel = event.kind === 'cancel' ? input.nodes.filter((n) => n.status === 'running' && n.runId !== null).map((n) => n.runId!) : [];
  return { fresh: false, nodes, runs: [], driver: driverChange, cancel };
}
