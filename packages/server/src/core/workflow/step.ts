/**
 * The workflow planner: pure functions from the stored state of one workflow run to the changes
 * that one event makes (a node's run ended, the run started, was cancelled, or a recovery action).
 * The stores call them inside the transaction that records the event, so that successors are
 * activated exactly once, in the transaction that records their predecessors' end.
 *
 * The rules (`docs/workflows.md` has the table of cases):
 * - a node is decided once every predecessor, required or optional, has ended;
 * - `on-success` runs when no required predecessor ended badly or was skipped by its condition
 *   (skipped `upstream_failed` if one ended badly, `condition` if one was skipped by condition);
 * - `on-failure` runs when a required predecessor ended badly, else it is skipped (`condition`);
 * - `always` runs;
 * - optional predecessors only order the work: their outcome is never read;
 * - the workflow run succeeds when every node succeeded or was skipped by its condition (or by
 *   hand), and fails otherwise.
 */
import { dagOf, withDescendants, type Dag } from './dag.ts';
import { endedBadly, isFinalNode, skippedByCondition, type NodeReason, type WorkflowNodeRecord } from './node-state.ts';
import type { WorkflowSpec } from '@ecron/contracts';

/** One workflow run's nodes, being changed by one event. */
export class WorkflowState {
  readonly dag: Dag;
  readonly nodes: Map<string, WorkflowNodeRecord>;
  /** Nodes changed by this event, to write back. */
  readonly changed = new Set<string>();

  readonly runId: string;
  readonly spec: WorkflowSpec;

  constructor(runId: string, spec: WorkflowSpec, nodes: Iterable<WorkflowNodeRecord>) {
    this.runId = runId;
    this.spec = spec;
    this.dag = dagOf(spec);
    this.nodes = new Map([...nodes].map((node) => [node.nodeId, node]));
  }

  /** Every node waiting: a run that starts now. */
  static fresh(runId: string, spec: WorkflowSpec): WorkflowState {
    return new WorkflowState(runId, spec, spec.nodes.map((node) => ({
      workflowRunId: runId, nodeId: node.id, status: 'waiting' as const, reason: null, runId: null, attempts: 0, output: null, startedAt: null, finishedAt: null,
    })));
  }

  node(id: string): WorkflowNodeRecord {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`workflow run ${this.runId} has no node ${id}`);
    return node;
  }

  set(id: string, fields: Partial<WorkflowNodeRecord>): void {
    this.nodes.set(id, { ...this.node(id), ...fields });
    this.changed.add(id);
  }

  /** The changed rows, in spec order. */
  changedRows(): WorkflowNodeRecord[] {
    return this.dag.ids.filter((id) => this.changed.has(id)).map((id) => this.node(id));
  }

  /** Runs of nodes in progress (to cancel when the workflow run ends early). */
  runningRunIds(): string[] {
    return [...this.nodes.values()].filter((node) => node.status === 'running' && node.runId !== null).map((node) => node.runId!);
  }

  /** null while a node is waiting or running; else the workflow run's outcome. */
  outcome(): 'succeeded' | 'failed' | null {
    let failed = false;
    for (const node of this.nodes.values()) {
      if (!isFinalNode(node.status)) return null;
      if (node.status === 'succeeded' || (node.status === 'skipped' && (node.reason === 'condition' || node.reason === 'manual'))) continue;
      failed = true;
    }
    return failed ? 'failed' : 'succeeded';
  }
}

type Decision = { run: true } | { run: false; reason: NodeReason };

/** What a node whose predecessors have all ended does. */
export function decide(state: WorkflowState, id: string): Decision | null {
  const spec = state.dag.nodes.get(id)!;
  let bad = false;
  let neutral = false;
  for (const need of state.dag.preds.get(id) ?? []) {
    const pred = state.node(need.node);
    if (!isFinalNode(pred.status)) return null;
    if (need.optional) continue;
    if (endedBadly(pred)) bad = true;
    else if (skippedByCondition(pred)) neutral = true;
  }
  if (spec.run === 'always') return { run: true };
  if (spec.run === 'on-failure') return bad ? { run: true } : { run: false, reason: 'condition' };
  if (bad) return { run: false, reason: 'upstream_failed' };
  return neutral ? { run: false, reason: 'condition' } : { run: true };
}

/**
 * Decides every waiting node among `candidates` (and, as skips propagate, downstream of them)
 * whose predecessors have all ended: skipped ones end now, the others are returned to be run (the
 * caller gives each its run and sets it `running`).
 */
export function settle(state: WorkflowState, candidates: Iterable<string>, now: number): string[] {
  const ready: string[] = [];
  const queue = [...candidates];
  for (let i = 0; i < queue.length; i += 1) {
    const id = queue[i]!;
    const node = state.node(id);
    // A decided node has left `waiting`: a node queued twice is decided once.
    if (node.status !== 'waiting') continue;
    const decision = decide(state, id);
    if (decision === null) continue;
    if (decision.run) {
      ready.push(id);
      state.set(id, { status: 'running', reason: null, startedAt: now, finishedAt: null, attempts: node.attempts + 1, runId: null, output: null });
      continue;
    }
    state.set(id, { status: 'skipped', reason: decision.reason, finishedAt: now, runId: null });
    queue.push(...(state.dag.succs.get(id) ?? []));
  }
  return ready;
}

/** The successors of the given nodes: the candidates after they ended. */
export function successorsOf(state: WorkflowState, ids: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const id of ids) for (const next of state.dag.succs.get(id) ?? []) out.add(next);
  return [...out];
}

/**
 * Cancels what has not run: waiting nodes end `skipped` (`cancelled`). Running nodes are left to
 * the caller, which cancels their runs (`runningRunIds`); each then ends as its run does.
 */
export function skipWaiting(state: WorkflowState, now: number): void {
  for (const node of state.nodes.values()) {
    if (node.status === 'waiting') state.set(node.nodeId, { status: 'skipped', reason: 'cancelled', finishedAt: now });
  }
}

/**
 * Puts nodes back to wait, to be decided again, and returns those reset. With `all`: the seeds and
 * every node downstream of them. With `skipped`: the seeds, and the nodes downstream of them that
 * were skipped (a node that ran keeps its result). Running and waiting nodes are left alone.
 */
export function resetNodes(state: WorkflowState, seeds: Iterable<string>, descendants: 'all' | 'skipped'): string[] {
  const seedSet = new Set(seeds);
  const reset: string[] = [];
  for (const id of withDescendants(state.dag, seedSet)) {
    const node = state.node(id);
    if (node.status === 'running' || node.status === 'waiting') continue;
    if (!seedSet.has(id) && descendants === 'skipped' && node.status !== 'skipped') continue;
    state.set(id, { status: 'waiting', reason: null, runId: null, output: null, startedAt: null, finishedAt: null });
    reset.push(id);
  }
  return reset;
}

/** The successors of `id` that were skipped: what marking `id` by hand decides again. */
export function skippedSuccessors(state: WorkflowState, id: string): string[] {
  return (state.dag.succs.get(id) ?? []).filter((next) => state.node(next).status === 'skipped');
}

/** The nodes "rerun from failed" starts from: those that ended badly. */
export function failedNodes(state: WorkflowState): string[] {
  return [...state.nodes.values()].filter((node) => endedBadly(node)).map((node) => node.nodeId);
}
