/** What the workflow pages decide from a run (pure). */
import type { WorkflowRunNode, WorkflowRunResource, WorkflowRunStatus } from './types.ts';

export const WORKFLOW_RUN_STATUSES: readonly WorkflowRunStatus[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];
export const FINAL_WORKFLOW_RUN_STATUSES: readonly WorkflowRunStatus[] = ['succeeded', 'failed', 'cancelled'];

export const isWorkflowRunFinished = (status: WorkflowRunStatus): boolean => FINAL_WORKFLOW_RUN_STATUSES.includes(status);

/**
 * A node that "ended badly", which "Rerun from failed" puts back to wait (with everything
 * downstream of it): failed, timed out, cancelled, or skipped because a need ended badly
 * (`upstream_failed`) or the workflow run was cancelled (`cancelled`).
 */
export function isRerunFromFailedNode(node: Pick<WorkflowRunNode, 'status' | 'reason'>): boolean {
  if (node.status === 'failed' || node.status === 'timed_out' || node.status === 'cancelled') return true;
  return node.status === 'skipped' && (node.reason === 'upstream_failed' || node.reason === 'cancelled');
}

export function canRerunFromFailed(run: Pick<WorkflowRunResource, 'nodes'>): boolean {
  return (run.nodes ?? []).some(isRerunFromFailedNode);
}

/**
 * The per-node actions worth offering (the API has the last word, and its refusal is shown). A
 * running node takes none (the API answers WORKFLOW_NODE_RUNNING: cancel its run first); a
 * waiting one has nothing to run again; a succeeded one is neither marked succeeded nor skipped,
 * a skipped one not skipped again.
 */
export function nodeActions(node: Pick<WorkflowRunNode, 'status'>): { rerun: boolean; succeed: boolean; skip: boolean } {
  if (node.status === 'running') return { rerun: false, succeed: false, skip: false };
  return {
    rerun: node.status !== 'waiting',
    succeed: node.status !== 'succeeded',
    skip: node.status !== 'succeeded' && node.status !== 'skipped',
  };
}

/** How long a node ran (until `now` while it runs); null before it started. */
export function nodeDurationMs(node: Pick<WorkflowRunNode, 'startedAt' | 'finishedAt'>, now = Date.now()): number | null {
  if (!node.startedAt) return null;
  return Math.max(0, (node.finishedAt ? Date.parse(node.finishedAt) : now) - Date.parse(node.startedAt));
}
