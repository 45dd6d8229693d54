/**
 * Workflow runs on the SQL stores: as SQLite's `workflows.ts` (the plan comes from
 * `core/workflow/transaction.ts`), asynchronously, inside the caller's transaction. The workflow
 * run's row is locked (`FOR UPDATE`) before its nodes are read, so that two transactions ending
 * nodes of one workflow run on two scheduler nodes are serialised: each sees the other's node
 * ends, and no successor is activated twice.
 */
import { sql, type Kysely } from 'kysely';
import { EcronError } from '../../core/errors.ts';
import type { RunRecord } from '../../core/model.ts';
import type { NodeTask } from '../../core/workflow/activation.ts';
import type { WorkflowNodeRecord } from '../../core/workflow/node-state.ts';
import { planWorkflowEvent, type WorkflowAction, type WorkflowEvent, type WorkflowPlan } from '../../core/workflow/transaction.ts';
import { outputJson } from '../history-caps.ts';
import { toRun, toScheduled, toWorkflowNode } from '../sqlite/rows.ts';
import type { AuditInput, EndedRun, WorkflowEffects } from '../store.ts';
import { inSpecOrder, nodeEndsByWorkflowRun, WorkflowSpecCache } from '../workflow-specs.ts';
import { firstRow, inList, inTransaction, rows, updateRows, type SqlContext } from './context.ts';
import type { Column } from './dialect.ts';
import { ATTEMPT_COLUMNS, insertRuns } from './fires.ts';
import { auditOf, insertAudit } from './tokens-audit.ts';

const specs = new WorkflowSpecCache();

const NODE_COLUMNS: readonly Column[] = [
  { name: 'workflow_run_id', type: 'text' }, { name: 'node_id', type: 'text' }, { name: 'status', type: 'text' }, { name: 'reason', type: 'text' },
  { name: 'run_id', type: 'text' }, { name: 'attempts', type: 'int' }, { name: 'output', type: 'json' }, { name: 'started_at', type: 'bigint' },
  { name: 'finished_at', type: 'bigint' },
];

async function loadSpec(db: Kysely<unknown>, taskId: string, revision: number) {
  return specs.get(taskId, revision, async () => {
    const row = await firstRow<{ spec: unknown }>(db, sql`SELECT spec FROM task_revisions WHERE task_id = ${taskId} AND revision = ${revision}`);
    if (!row) return null;
    return typeof row.spec === 'string' ? row.spec : JSON.stringify(row.spec);
  });
}

async function nodesOf(db: Kysely<unknown>, workflowRunId: string): Promise<WorkflowNodeRecord[]> {
  return (await rows(db, sql`SELECT * FROM workflow_nodes WHERE workflow_run_id = ${workflowRunId}`)).map(toWorkflowNode);
}

export async function listWorkflowNodes(ctx: SqlContext, workflowRunId: string): Promise<WorkflowNodeRecord[]> {
  const nodes = await nodesOf(ctx.db, workflowRunId);
  if (nodes.length === 0) return nodes;
  const driver = await firstRow<{ task_id: string; task_revision: number }>(ctx.db, sql`SELECT task_id, task_revision FROM runs WHERE id = ${workflowRunId}`);
  if (!driver) return nodes;
  const spec = await loadSpec(ctx.db, driver.task_id, Number(driver.task_revision));
  return inSpecOrder(nodes, spec);
}

async function lookUpTasks(ctx: SqlContext, db: Kysely<unknown>, namespace: string, names: string[]): Promise<Map<string, NodeTask>> {
  const found = new Map<string, NodeTask>();
  if (names.length === 0) return found;
  for (const row of await rows(db, sql`SELECT * FROM tasks WHERE namespace = ${namespace} AND kind = 'task' AND ${inList(ctx, 'name', names)}`)) {
    const task = toScheduled(row);
    if (task.kind === 'task') found.set(task.name, task);
  }
  return found;
}

async function lockDriver(db: Kysely<unknown>, runId: string): Promise<RunRecord | null> {
  const row = await firstRow(db, sql`SELECT * FROM runs WHERE id = ${runId} FOR UPDATE`);
  return row ? toRun(row) : null;
}

/** Applies `event` to the workflow run `driver` (locked by this transaction). */
async function advanceWorkflow(ctx: SqlContext, db: Kysely<unknown>, driver: RunRecord, event: WorkflowEvent, at: number, owner: string | null): Promise<WorkflowEffects> {
  const spec = await loadSpec(db, driver.taskId, driver.taskRevision);
  const generator = planWorkflowEvent({ driver, spec, nodes: await nodesOf(db, driver.id), event, at, owner });
  let step = generator.next();
  while (!step.done) step = generator.next(await lookUpTasks(ctx, db, driver.namespace, step.value));
  return step.value === null ? { activated: [], workflowRuns: [], cancel: [] } : writePlan(ctx, db, driver, step.value, at);
}

async function writePlan(ctx: SqlContext, db: Kysely<unknown>, driver: RunRecord, plan: WorkflowPlan, at: number): Promise<WorkflowEffects> {
  const nodeRows = plan.nodes.map((node) => [
    node.workflowRunId, node.nodeId, node.status, node.reason, node.runId, node.attempts, outputJson(node.output), node.startedAt, node.finishedAt,
  ]);
  if (plan.fresh && nodeRows.length > 0) {
    // In chunks: a statement has at most 65,535 parameters.
    for (let i = 0; i < nodeRows.length; i += 5000) await ctx.dialect.insertRows(db, { table: 'workflow_nodes', columns: NODE_COLUMNS, rows: nodeRows.slice(i, i + 5000) });
  } else {
    await updateRows(ctx, db, {
      table: 'workflow_nodes', alias: 'n', columns: NODE_COLUMNS, rows: nodeRows, on: 'n.workflow_run_id = v.workflow_run_id AND n.node_id = v.node_id',
      set: [['status', 'v.status'], ['reason', 'v.reason'], ['run_id', 'v.run_id'], ['attempts', 'v.attempts'], ['output', 'v.output'],
        ['started_at', 'v.started_at'], ['finished_at', 'v.finished_at']],
    });
  }
  const inserted = await insertRuns(ctx, db, plan.runs);
  const activated = plan.runs.flatMap((run) => inserted.get(run.id) ?? []);
  const workflowRuns: RunRecord[] = [];
  const change = plan.driver;
  if (change !== null) {
    if (change.status === 'running') {
      const attempt = change.reopened || driver.attempt === 0 ? driver.attempt + 1 : driver.attempt;
      await sql`UPDATE runs SET status = 'running', attempt = ${attempt}, error = NULL, finished_at = NULL, next_attempt_at = NULL,
        started_at = coalesce(started_at, ${at}) WHERE id = ${driver.id}`.execute(db);
      if (attempt !== driver.attempt) {
        await ctx.dialect.insertRows(db, { table: 'attempts', columns: ATTEMPT_COLUMNS, rows: [[driver.id, attempt, 'running', null, at]] });
      }
      await sql`UPDATE attempts SET status = 'running', sent_at = coalesce(sent_at, ${at}) WHERE run_id = ${driver.id} AND number = ${attempt}`.execute(db);
    } else {
      await sql`UPDATE runs SET status = ${change.status}, error = ${change.error}, finished_at = ${at}, next_attempt_at = NULL, deadline_at = NULL,
        started_at = coalesce(started_at, ${at}) WHERE id = ${driver.id}`.execute(db);
      await sql`UPDATE attempts SET status = ${change.status}, error = ${change.error}, finished_at = ${at}
        WHERE run_id = ${driver.id} AND number = ${driver.attempt} AND finished_at IS NULL`.execute(db);
      await sql`UPDATE tasks SET last_run_status = ${change.status} WHERE id = ${driver.taskId}`.execute(db);
    }
    const row = await firstRow(db, sql`SELECT * FROM runs WHERE id = ${driver.id}`);
    if (row) workflowRuns.push(toRun(row));
  }
  return { activated, workflowRuns, cancel: plan.cancel };
}

export async function actOnWorkflowRun(ctx: SqlContext, p: {
  runId: string; action: WorkflowAction; at: number; owner: string | null; audit?: AuditInput;
}): Promise<{ run: RunRecord; effects: WorkflowEffects } | null> {
  return inTransaction(ctx, async (trx) => {
    const driver = await lockDriver(trx, p.runId);
    if (!driver || driver.workflowRunId !== driver.id) throw new EcronError('WORKFLOW_RUN_NOT_FOUND', `no workflow run ${p.runId}`, { id: p.runId });
    if (p.action.kind === 'start' && (driver.finishedAt !== null || (await nodesOf(trx, driver.id)).length > 0)) return null;
    const effects = await advanceWorkflow(ctx, trx, driver, p.action, p.at, p.owner);
    if (p.audit) await insertAudit(trx, auditOf(p.audit, p.at, 'run', p.runId));
    return { run: effects.workflowRuns[0] ?? driver, effects };
  });
}

/**
 * After runs ended in this transaction: records the ends of node runs in their workflow runs and
 * activates what follows, once per workflow run (locked in id order). The effects go on the first
 * ended run of each.
 */
export async function recordNodeEnds(ctx: SqlContext, db: Kysely<unknown>, ended: EndedRun[], at: number): Promise<void> {
  for (const [workflowRunId, runs] of nodeEndsByWorkflowRun(ended)) {
    const driver = await lockDriver(db, workflowRunId);
    if (!driver) continue;
    runs[0]!.workflow = await advanceWorkflow(ctx, db, driver, { kind: 'nodes-ended', runs }, at, runs[0]!.owner);
  }
}
