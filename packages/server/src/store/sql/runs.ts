/**
 * Run verbs of the SQL stores that touch one run at a time (the batch verbs are in
 * `attempts.ts`). Every state change is a compare-and-set on the run's status and current
 * attempt, so a stale caller changes nothing and gets null. A run is final exactly when
 * finished_at is set.
 */
import { isFinalRunStatus, type RunStatus } from '@ecron/contracts';
import { sql, type Kysely } from 'kysely';
import { bucketOf } from '../../core/buckets.ts';
import type { AttemptRecord, RunRecord } from '../../core/model.ts';
import { checkPageLimit, decodeCursor, toPage } from '../pagination.ts';
import { toAttempt, toRun } from '../sqlite/rows.ts';
import type { AuditInput, ListRunsParams, Page, ReportGate, EndedRun } from '../store.ts';
import { recordNodeEnds } from './workflows.ts';
import { affected, firstRow, inList, inTransaction, rows, whereAll, type SqlContext } from './context.ts';
import { namespaceScope } from './tasks.ts';
import { auditOf, insertAudit } from './tokens-audit.ts';

/** The attempt is in flight: the run is dispatched or running. */
const IN_FLIGHT = sql`status IN ('dispatched', 'running')`;
/** Waiting for an attempt: queued or backing off (`pending`), or waiting for a live executor node. */
export const isWaiting = (status: RunStatus): boolean => status === 'pending' || status === 'no_executor' || status === 'throttled';

export async function readRun(db: Kysely<unknown>, id: string): Promise<RunRecord | null> {
  const row = await firstRow(db, sql`SELECT * FROM runs WHERE id = ${id}`);
  return row ? toRun(row) : null;
}

export function getRun(ctx: SqlContext, id: string): Promise<RunRecord | null> {
  return readRun(ctx.db, id);
}

/** Newest first, keyed by id (UUIDv7). */
export async function listRuns(ctx: SqlContext, p: ListRunsParams): Promise<Page<RunRecord>> {
  const limit = checkPageLimit(p.limit);
  const after = decodeCursor(p.cursor, 'run', 1);
  const scope = namespaceScope(ctx, p.namespaces);
  if (scope === 'none') return { items: [], nextCursor: null };
  const where = scope ? [scope] : [];
  if (p.taskId !== undefined) where.push(sql`task_id = ${p.taskId}`);
  if (p.workflowRunId !== undefined) where.push(sql`workflow_run_id = ${p.workflowRunId} AND node_id IS NOT NULL`);
  if (p.workflowRuns === true) where.push(sql`workflow_run_id = id`);
  if (p.workflowRuns === false) where.push(sql`(workflow_run_id IS NULL OR workflow_run_id <> id)`);
  if (p.namespace !== undefined) where.push(sql`namespace = ${p.namespace}`);
  if (p.status !== undefined) where.push(sql`status = ${p.status}`);
  if (p.statuses !== undefined) where.push(p.statuses.length === 0 ? sql`1 = 0` : inList(ctx, 'status', p.statuses));
  if (p.from !== undefined) where.push(sql`scheduled_at >= ${p.from}`);
  if (p.to !== undefined) where.push(sql`scheduled_at < ${p.to}`);
  if (after) where.push(sql`id < ${after[0]!}`);
  const found = await rows(ctx.db, sql`SELECT * FROM runs ${whereAll(where)} ORDER BY id DESC LIMIT ${limit + 1}`);
  return toPage(found.map(toRun), limit, 'run', (run) => [run.id]);
}

export async function listAttempts(ctx: SqlContext, runIds: string[]): Promise<AttemptRecord[]> {
  if (runIds.length === 0) return [];
  const found = await rows(ctx.db, sql`SELECT * FROM attempts WHERE ${inList(ctx, 'run_id', runIds)} ORDER BY run_id, number`);
  return found.map(toAttempt);
}

/**
 * Runs not yet final, oldest first (by id). A bucket filter goes by the run's task id, not a join:
 * runs of a deleted task still belong to its bucket.
 */
export async function listActiveRuns(ctx: SqlContext, p: { taskId?: string; limit: number; buckets?: number[] }): Promise<RunRecord[]> {
  const task = p.taskId === undefined ? sql`` : sql`AND task_id = ${p.taskId}`;
  const limit = p.buckets === undefined ? sql`LIMIT ${p.limit}` : sql``;
  const active = (await rows(ctx.db, sql`SELECT * FROM runs WHERE finished_at IS NULL ${task} ORDER BY id ${limit}`)).map(toRun);
  if (p.buckets === undefined) return active;
  const buckets = new Set(p.buckets);
  return active.filter((run) => buckets.has(bucketOf(run.taskId))).slice(0, p.limit);
}

/** `dispatched` → `running` for the current attempt; null when stale. */
export async function markRunning(ctx: SqlContext, p: { runId: string; attempt: number; at: number }): Promise<RunRecord | null> {
  return inTransaction(ctx, async (trx) => {
    const changed = await affected(trx, sql`UPDATE runs SET status = 'running', started_at = coalesce(started_at, ${p.at})
      WHERE id = ${p.runId} AND attempt = ${p.attempt} AND ${IN_FLIGHT}`);
    if (changed === 0) return null;
    await sql`UPDATE attempts SET status = 'running' WHERE run_id = ${p.runId} AND number = ${p.attempt} AND status = 'dispatched'`.execute(trx);
    return readRun(trx, p.runId);
  });
}

/** Ends a waiting run (no attempt in flight): CAS on pending, no_executor or throttled; sets the task's last run status. */
export async function finishRun(ctx: SqlContext, p: {
  runId: string; status: 'cancelled' | 'skipped' | 'lost' | 'failed'; at: number; error?: string | null; audit?: AuditInput;
}): Promise<EndedRun | null> {
  return inTransaction(ctx, async (trx) => {
    const changed = await affected(trx, sql`UPDATE runs SET status = ${p.status}, error = coalesce(${p.error ?? null}, error), finished_at = ${p.at},
      next_attempt_at = NULL WHERE id = ${p.runId} AND status IN ('pending', 'no_executor', 'throttled')`);
    if (changed === 0) return null;
    const run: EndedRun = (await readRun(trx, p.runId))!;
    await sql`UPDATE tasks SET last_run_status = ${p.status} WHERE id = ${run.taskId}`.execute(trx);
    if (p.audit) await insertAudit(trx, auditOf(p.audit, p.at, 'run', p.runId));
    await recordNodeEnds(ctx, trx, [run], p.at);
    return run;
  });
}

export async function acceptReport(ctx: SqlContext, p: { runId: string; attempt: number; seq: number; progress?: number | null }): Promise<ReportGate> {
  const changed = await affected(ctx.db, sql`UPDATE runs SET report_seq = ${p.seq}, progress = coalesce(${p.progress ?? null}, progress)
    WHERE id = ${p.runId} AND attempt = ${p.attempt} AND ${IN_FLIGHT} AND report_seq < ${p.seq}`);
  if (changed === 1) return 'accepted';
  const run = await firstRow<{ status: RunStatus; attempt: number }>(ctx.db, sql`SELECT status, attempt FROM runs WHERE id = ${p.runId}`);
  if (run === null) return 'not_found';
  if (isFinalRunStatus(run.status)) return 'finished';
  if (Number(run.attempt) !== p.attempt || isWaiting(run.status)) return 'superseded';
  return 'replayed';
}

/**
 * Up to `limit` ended runs, oldest ended first (through the index on finished_at), with their
 * attempts and log lines (ON DELETE CASCADE). Ids are read first: MySQL refuses LIMIT in an IN
 * subquery.
 */
export async function deleteHistory(ctx: SqlContext, p: { finishedBefore: number; limit: number }): Promise<number> {
  return inTransaction(ctx, async (trx) => {
    const ids = (await rows<{ id: string }>(trx, sql`SELECT id FROM runs WHERE finished_at IS NOT NULL AND finished_at < ${p.finishedBefore}
      ORDER BY finished_at LIMIT ${p.limit}`)).map((row) => row.id);
    if (ids.length === 0) return 0;
    return affected(trx, sql`DELETE FROM runs WHERE ${inList(ctx, 'id', ids)}`);
  });
}
