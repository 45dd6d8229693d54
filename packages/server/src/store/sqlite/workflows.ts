/**
 * Workflow runs on SQLite: the nodes of each workflow run, and the transactions that advance it
 * (see `core/workflow/transaction.ts`, whose plan these functions load the state for and write).
 * Every function here runs inside the caller's transaction.
 */
import { EcronError } from '../../core/errors.ts';
import type { RunRecord } from '../../core/model.ts';
import type { NodeTask } from '../../core/workflow/activation.ts';
import type { WorkflowNodeRecord } from '../../core/workflow/node-state.ts';
import { planWorkflowEvent, type WorkflowEvent, type WorkflowPlan } from '../../core/workflow/transaction.ts';
import { outputJson } from '../history-caps.ts';
import type { AuditInput, EndedRun, WorkflowEffects } from '../store.ts';
import { inSpecOrder, nodeEndsByWorkflowRun, WorkflowSpecCache } from '../workflow-specs.ts';
import type { SqliteConnection } from './connection.ts';
import { insertRuns } from './fires.ts';
import { toRun, toScheduled, toWorkflowNode, type Row } from './rows.ts';
import { insertAudit } from './tokens-audit.ts';

const specs = new WorkflowSpecCache();

const INSERT_NODE = `INSERT INTO workflow_nodes (workflow_run_id, node_id, status, reason, run_id, attempts, output, started_at, finished_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const UPDATE_NODE = `UPDATE workflow_nodes SET status = ?, reason = ?, run_id = ?, attempts = ?, output = ?, started_at = ?, finished_at = ?
  WHERE workflow_run_id = ? AND node_id = ?`;

export function listWorkflowNodes(conn: SqliteConnection, workflowRunId: string): WorkflowNodeRecord[] {
  const rows = conn.statement('SELECT * FROM workflow_nodes WHERE workflow_run_id = ?').all(workflowRunId) as Row[];
  const nodes = rows.map(toWorkflowNode);
  if (nodes.length === 0) return nodes;
  // In spec order.
  const driver = conn.statement('SELECT task_id, task_revision FROM runs WHERE id = ?').get(workflowRunId) as Row | undefined;
  if (!driver) return nodes;
  const spec = loadSpec(conn, driver.task_id as string, driver.task_revision as number);
  return inSpecOrder(nodes, spec);
}

function loadSpec(conn: SqliteConnection, taskId: string, revision: number) {
  return specs.get(taskId, revision, () => {
    const row = conn.statement('SELECT spec FROM task_revisions WHERE task_id = ? AND revision = ?').get(taskId, revision) as Row | undefined;
    return row ? row.spec as string : null;
  });
}

function lookUpTasks(conn: SqliteConnection, namespace: string, names: string[]): Map<string, NodeTask> {
  const found = new Map<string, NodeTask>();
  if (names.length === 0) return found;
  const rows = conn.statement(`SELECT * FROM tasks WHERE namespace = ? AND kind = 'task' AND name IN (SELECT value FROM json_each(?))`)
    .all(namespace, JSON.stringify(names)) as Row[];
  for (const row of rows) {
    const task = toScheduled(row);
    if (task.kind === 'task') found.set(task.name, task);
  }
  return found;
}

/** Applies `event` to the workflow run `driver` (already read in this transaction). */
export function advanceWorkflow(conn: SqliteConnection, driver: RunRecord, event: WorkflowEvent, at: number, owner: string | null): WorkflowEffects {
  const spec = loadSpec(conn, driver.taskId, driver.taskRevision);
  const generator = planWorkflowEvent({ driver, spec, nodes: listNodesUnordered(conn, driver.id), event, at, owner });
  let step = generator.next();
  while (!step.done) step = generator.next(lookUpTasks(conn, driver.namespace, step.value));
  return step.value === null ? { activated: [], workflowRuns: [], cancel: [] } : writePlan(conn, driver, step.value, at);
}

function listNodesUnordered(conn: SqliteConnection, workflowRunId: string): WorkflowNodeRecord[] {
  return (conn.statement('SELECT * FROM workflow_nodes WHERE workflow_run_id = ?').all(workflowRunId) as Row[]).map(toWorkflowNode);
}

function writePlan(conn: SqliteConnection, driver: RunRecord, plan: WorkflowPlan, at: number): WorkflowEffects {
  const write = conn.statement(plan.fresh ? INSERT_NODE : UPDATE_NODE);
  for (const node of plan.nodes) {
    const output = outputJson(node.output);
    if (plan.fresh) write.run(node.workflowRunId, node.nodeId, node.status, node.reason, node.runId, node.attempts, output, node.startedAt, node.finishedAt);
    else write.run(node.status, node.reason, node.runId, node.attempts, output, node.startedAt, node.finishedAt, node.workflowRunId, node.nodeId);
  }
  const inserted = insertRuns(conn, plan.runs);
  const activated = plan.runs.flatMap((run) => inserted.get(run.id) ?? []);
  const workflowRuns: RunRecord[] = [];
  const change = plan.driver;
  if (change !== null) {
    if (change.status === 'running') {
      const attempt = change.reopened || driver.attempt === 0 ? driver.attempt + 1 : driver.attempt;
      conn.statement(`UPDATE runs SET status = 'running', attempt = ?, error = NULL, finished_at = NULL, next_attempt_at = NULL,
        started_at = coalesce(started_at, ?) WHERE id = ?`).run(attempt, at, driver.id);
      if (attempt !== driver.attempt) {
        conn.statement(`INSERT INTO attempts (run_id, number, status, executor, started_at, sent_at) VALUES (?, ?, 'running', NULL, ?, ?)`).run(driver.id, attempt, at, at);
      } else {
        conn.statement(`UPDATE attempts SET status = 'running', sent_at = coalesce(sent_at, ?) WHERE run_id = ? AND number = ?`).run(at, driver.id, attempt);
      }
    } else {
      conn.statement(`UPDATE runs SET status = ?, error = ?, finished_at = ?, next_attempt_at = NULL, deadline_at = NULL,
        started_at = coalesce(started_at, ?) WHERE id = ?`).run(change.status, change.error, at, at, driver.id);
      conn.statement(`UPDATE attempts SET status = ?, error = ?, finished_at = ? WHERE run_id = ? AND number = ? AND finished_at IS NULL`)
        .run(change.status, change.error, at, driver.id, driver.attempt);
      conn.statement('UPDATE tasks SET last_run_status = ? WHERE id = ?').run(change.status, driver.taskId);
    }
    workflowRuns.push(toRun(conn.statement('SELECT * FROM runs WHERE id = ?').get(driver.id) as Row));
  }
  return { activated, workflowRuns, cancel: plan.cancel };
}

/** The workflow run with this id, or RUN_NOT_FOUND (also for a run that is not a workflow run). */
function getDriver(conn: SqliteConnection, runId: string): RunRecord {
  const row = conn.statement('SELECT * FROM runs WHERE id = ?').get(runId) as Row | undefined;
  const run = row ? toRun(row) : null;
  if (!run || run.workflowRunId !== run.id) throw new EcronError('WORKFLOW_RUN_NOT_FOUND', `no workflow run ${runId}`, { id: runId });
  return run;
}

export function actOnWorkflowRun(conn: SqliteConnection, p: {
  runId: string; action: Parameters<typeof planWorkflowEvent>[0]['event'] & { kind: Exclude<WorkflowEvent['kind'], 'nodes-ended'> }; at: number; owner: string | null; audit?: AuditInput;
}): { run: RunRecord; effects: WorkflowEffects } | null {
  return conn.transaction(() => {
    const driver = getDriver(conn, p.runId);
    if (p.action.kind === 'start' && (driver.finishedAt !== null || listNodesUnordered(conn, driver.id).length > 0)) return null;
    const effects = advanceWorkflow(conn, driver, p.action, p.at, p.owner);
    if (p.audit) insertAudit(conn, p.audit, p.at, 'run', p.runId);
    return { run: effects.workflowRuns[0] ?? driver, effects };
  });
}

/**
 * After runs ended in this transaction: records the ends of node runs in their workflow runs and
 * activates what follows, once per workflow run. The effects go on the first ended run of each.
 */
export function recordNodeEnds(conn: SqliteConnection, ended: EndedRun[], at: number): void {
  for (const [workflowRunId, runs] of nodeEndsByWorkflowRun(ended)) {
    const row = conn.statement('SELECT * FROM runs WHERE id = ?').get(workflowRunId) as Row | undefined;
    if (!row) continue;
    runs[0]!.workflow = advanceWorkflow(conn, toRun(row), { kind: 'nodes-ended', runs }, at, runs[0]!.owner);
  }
}
