/**
 * The state of one node of one workflow run, as stored (`workflow_nodes`), and the rules that
 * read it: which statuses are final, and which count as a success or a failure for the node's
 * successors. `docs/workflows.md` has the table of cases.
 */
export const NODE_STATUSES = ['waiting', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

/**
 * Why a node ended without running to success:
 * - `upstream_failed`: a required predecessor failed (or was skipped for that reason);
 * - `condition`: its `run` condition did not hold (an `on-failure` node when nothing failed);
 * - `cancelled`: the workflow run was cancelled or timed out before the node ran;
 * - `manual`: skipped by hand (counts as a success for its successors);
 * - `task_not_found`: its `task` no longer exists (the node failed without a run).
 */
export type NodeReason = 'upstream_failed' | 'condition' | 'cancelled' | 'manual' | 'task_not_found';

export interface WorkflowNodeRecord {
  workflowRunId: string;
  nodeId: string;
  status: NodeStatus;
  reason: NodeReason | null;
  /** Its latest run; null before it ran, or when it was marked by hand. */
  runId: string | null;
  /** Runs it was given in this workflow run, reruns included. */
  attempts: number;
  /** Its latest run's output, or the output it was marked succeeded with. */
  output: unknown;
  startedAt: number | null;
  finishedAt: number | null;
}

export function isFinalNode(status: NodeStatus): boolean {
  return status !== 'waiting' && status !== 'running';
}

/** Ended badly, as its successors see it: failed, timed out, cancelled, or skipped for one of those. */
export function endedBadly(node: Pick<WorkflowNodeRecord, 'status' | 'reason'>): boolean {
  if (node.status === 'failed' || node.status === 'timed_out' || node.status === 'cancelled') return true;
  return node.status === 'skipped' && (node.reason === 'upstream_failed' || node.reason === 'cancelled');
}

/** Skipped because its own condition did not hold: neither a success nor a failure downstream. */
export function skippedByCondition(node: Pick<WorkflowNodeRecord, 'status' | 'reason'>): boolean {
  return node.status === 'skipped' && node.reason === 'condition';
}

/** A node's status from the final status of its run (`lost` counts as failed). */
export function nodeStatusOfRun(status: string): NodeStatus {
  if (status === 'succeeded' || status === 'timed_out' || status === 'cancelled' || status === 'skipped') return status;
  return 'failed';
}
