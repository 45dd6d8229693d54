/**
 * Run lifecycle verbs. Every state change is a compare-and-set on the run's status and current
 * attempt, so a stale caller (a timed-out supervisor racing a late callback, a second scheduler)
 * changes nothing and gets null.
 *
 *   pending | no_executor | throttled ─startAttempts→ dispatched ─markRunning→ running
 *      ↑           ↑                         │                       │
 *      │           └── finishAttempts (no_executor) ─────────────────┤
 *      └──── finishAttempts (retry) ─────────────────────────────────┤
 *                                            └── finishAttempts (final) → succeeded | failed | timed_out | cancelled | lost
 *   pending | no_executor | throttled ─finishRun→ cancelled | skipped | lost | failed
 *   pending | no_executor | throttled ─startAttempts (first attempt refused by the namespace's quota)→ throttled
 */
import { isFinalRunStatus, type RunStatus } from '@ecron/contracts';
import { bucketOf } from '../../core/buckets.ts';
import type { AttemptRecord, RunRecord } from '../../core/model.ts';
import { outputJson } from '../history-caps.ts';
import { checkPageLimit, decodeCursor, toPage } from '../pagination.ts';
import type { AuditInput, EndedRun, FinishAttemptParams, ListRunsParams, Page, ReportGate, StartAttemptParams } from '../store.ts';
import { recordNodeEnds } from './workflows.ts';
import type { SqliteConnection } from './connection.ts';
import { SET_LAST_RUN_STATUS } from './fires.ts';
import { namespaceScope, toAttempt, toRun, type Row } from './rows.ts';
import { insertAudit } from './tokens-audit.ts';
import { admitRuns } from './quota-slots.ts';

/**
 * A run is final exactly when finished_at is set, so these predicates avoid `status IN (…)`, which
 * SQLite evaluates by building an ephemeral table on every execution.
 */
const ACTIVE = 'finished_at IS NULL';
const IN_FLIGHT = `(status = 'dispatched' OR status = 'running')`;
/** Waiting for an attempt: queued or backing off (`pending`), waiting for a live executor node, or for its namespace's quota. */
const WAITING = `(status = 'pending' OR status = 'no_executor' OR status = 'throttled')`;

/**
 * START_ATTEMPT — in: attempt, deadline_at, started_at, run id, previous attempt. Out: changes = 0
 * when the run is not waiting (pending or no_executor) at the previous attempt (someone else
 * started it).
 */
const START_ATTEMPT = `UPDATE runs SET status = 'dispatched', attempt = ?, deadline_at = ?, next_attempt_at = NULL,
  started_at = coalesce(started_at, ?), report_seq = -1, progress = NULL
  WHERE id = ? AND ${WAITING} AND attempt = ?`;
/** THROTTLE_RUN — in: run id. A waiting run whose first attempt its namespace's quota refused. */
const THROTTLE_RUN = `UPDATE runs SET status = 'throttled', next_attempt_at = NULL WHERE id = ? AND attempt = 0 AND ${WAITING} AND status <> 'throttled'`;
/** FIRST_ATTEMPT_CANDIDATES — in: run ids (JSON array). Waiting runs before their first attempt. */
const FIRST_ATTEMPT_CANDIDATES = `SELECT id, namespace, workflow_run_id FROM runs WHERE id IN (SELECT value FROM json_each(?)) AND attempt = 0 AND ${WAITING}`;
const INSERT_ATTEMPT = `INSERT INTO attempts (run_id, number, status, executor, started_at) VALUES (?, ?, 'dispatched', ?, ?)`;

/** MARK_RUNNING — in: started_at, run id, attempt. Applies only while that attempt is in flight. */
const MARK_RUNNING = `UPDATE runs SET status = 'running', started_at = coalesce(started_at, ?)
  WHERE id = ? AND attempt = ? AND ${IN_FLIGHT}`;
const MARK_ATTEMPT_RUNNING = `UPDATE attempts SET status = 'running' WHERE run_id = ? AND number = ? AND status = 'dispatched'`;

/** FINISH_RUN_FINAL — in: status, output, error, finished_at, run id, attempt. CAS on the attempt in flight. */
const FINISH_RUN_FINAL = `UPDATE runs SET status = ?, output = ?, error = ?, finished_at = ?, next_attempt_at = NULL
  WHERE id = ? AND attempt = ? AND ${IN_FLIGHT}`;
/** RETRY_RUN — in: error, next_attempt_at, run id, attempt. Back to pending until next_attempt_at. */
const RETRY_RUN = `UPDATE runs SET status = 'pending', error = ?, next_attempt_at = ?, deadline_at = NULL
  WHERE id = ? AND attempt = ? AND ${IN_FLIGHT}`;
/**
 * NO_EXECUTOR_RUN — in: error, run id, attempt. No live executor took the attempt: the run waits
 * as no_executor, with no next attempt time, until one appears.
 */
const NO_EXECUTOR_RUN = `UPDATE runs SET status = 'no_executor', error = ?, next_attempt_at = NULL, deadline_at = NULL
  WHERE id = ? AND attempt = ? AND ${IN_FLIGHT}`;
const FINISH_ATTEMPT = `UPDATE attempts SET status = ?, finished_at = ?, error = ?, output = ? WHERE run_id = ? AND number = ?`;
/**
 * END_TASK_RUN — in: status, next fire, task id. Sets the task's last run status, and its next
 * fire only when it has none and is active (fixed-delay schedules time the next fire from here).
 * A run that changes neither (a recurring task that succeeds again) writes nothing: no page of
 * the tasks table is rewritten per run.
 */
const END_TASK_RUN = `UPDATE tasks SET last_run_status = ?1,
  next_fire_at = CASE WHEN next_fire_at IS NULL AND state = 'active' THEN ?2 ELSE next_fire_at END
  WHERE id = ?3 AND (last_run_status IS NOT ?1 OR (?2 IS NOT NULL AND next_fire_at IS NULL AND state = 'active'))`;

/** FINISH_PENDING_RUN — in: status, error (null keeps), finished_at, run id. CAS on pending, no_executor or throttled. */
const FINISH_PENDING_RUN = `UPDATE runs SET status = ?, error = coalesce(?, error), finished_at = ?, next_attempt_at = NULL
  WHERE id = ? AND ${WAITING}`;

/**
 * ACCEPT_REPORT — in: seq, progress (null keeps), run id, attempt, seq. Out: changes = 1 when the
 * attempt is current and in flight and seq is new; otherwise the caller classifies why not.
 */
const ACCEPT_REPORT = `UPDATE runs SET report_seq = ?, progress = coalesce(?, progress)
  WHERE id = ? AND attempt = ? AND ${IN_FLIGHT} AND report_seq < ?`;

const SELECT_RUN = 'SELECT * FROM runs WHERE id = ?';

/**
 * Runs a compare-and-set UPDATE of one run and reads the run back when it applied. (An UPDATE
 * followed by a SELECT costs less than `RETURNING *`, which SQLite buffers in a temporary table.)
 */
function casRun(conn: SqliteConnection, sql: string, runId: string, ...params: (string | number | null)[]): Row | undefined {
  if (conn.statement(sql).run(...params).changes === 0) return undefined;
  return conn.statement(SELECT_RUN).get(runId) as Row;
}

export function getRun(conn: SqliteConnection, id: string): RunRecord | null {
  const row = conn.statement(SELECT_RUN).get(id) as Row | undefined;
  return row ? toRun(row) : null;
}

/** Newest first, keyed by id (UUIDv7). */
export function listRuns(conn: SqliteConnection, p: ListRunsParams): Page<RunRecord> {
  const limit = checkPageLimit(p.limit);
  const after = decodeCursor(p.cursor, 'run', 1);
  const scope = namespaceScope(p.namespaces);
  if (scope === 'none') return { items: [], nextCursor: null };
  const where: string[] = scope ? [scope.clause] : [];
  const params: (string | number)[] = scope ? [scope.param] : [];
  if (p.taskId !== undefined) { where.push('task_id = ?'); params.push(p.taskId); }
  if (p.workflowRunId !== undefined) { where.push('workflow_run_id = ? AND node_id IS NOT NULL'); params.push(p.workflowRunId); }
  if (p.workflowRuns === true) where.push('workflow_run_id = id');
  if (p.workflowRuns === false) where.push('(workflow_run_id IS NULL OR workflow_run_id <> id)');
  if (p.namespace !== undefined) { where.push('namespace = ?'); params.push(p.namespace); }
  if (p.status !== undefined) { where.push('status = ?'); params.push(p.status); }
  if (p.statuses !== undefined) { where.push('status IN (SELECT value FROM json_each(?))'); params.push(JSON.stringify(p.statuses)); }
  if (p.from !== undefined) { where.push('scheduled_at >= ?'); params.push(p.from); }
  if (p.to !== undefined) { where.push('scheduled_at < ?'); params.push(p.to); }
  if (after) { where.push('id < ?'); params.push(after[0]!); }
  const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
  const rows = conn.statement(sql).all(...params, limit + 1) as Row[];
  return toPage(rows.map(toRun), limit, 'run', (run) => [run.id]);
}

export function listAttempts(conn: SqliteConnection, runIds: string[]): AttemptRecord[] {
  if (runIds.length === 0) return [];
  const rows = conn.statement('SELECT * FROM attempts WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, number')
    .all(JSON.stringify(runIds)) as Row[];
  return rows.map(toAttempt);
}

/**
 * Oldest first (by id), from the partial index of runs not yet final. Without a task, the index is
 * named: ordering by id would otherwise tempt the planner into walking all of history.
 */
export function listActiveRuns(conn: SqliteConnection, p: { taskId?: string; limit: number; buckets?: number[] }): RunRecord[] {
  if (p.buckets !== undefined) {
    // By the run's task id, not a join: runs of a deleted task still belong to its bucket.
    const buckets = new Set(p.buckets);
    return listActiveRuns(conn, { ...(p.taskId === undefined ? {} : { taskId: p.taskId }), limit: Number.MAX_SAFE_INTEGER })
      .filter((run) => buckets.has(bucketOf(run.taskId))).slice(0, p.limit);
  }
  const rows = p.taskId === undefined
    ? conn.statement(`SELECT * FROM runs INDEXED BY runs_active WHERE ${ACTIVE} ORDER BY id LIMIT ?`).all(p.limit)
    : conn.statement(`SELECT * FROM runs WHERE task_id = ? AND ${ACTIVE} ORDER BY id LIMIT ?`).all(p.taskId, p.limit);
  return (rows as Row[]).map(toRun);
}

export function startAttempts(conn: SqliteConnection, items: StartAttemptParams[]): (RunRecord | null)[] {
  if (items.length === 0) return [];
  const insert = conn.statement(INSERT_ATTEMPT);
  return conn.transaction(() => {
    const first = new Map(items.filter((item) => item.attempt === 1).map((item) => [item.runId, item]));
    const candidates = first.size === 0 ? [] : (conn.statement(FIRST_ATTEMPT_CANDIDATES).all(JSON.stringify([...first.keys()])) as Row[])
      .filter((row) => row.workflow_run_id !== row.id)
      .map((row) => ({ id: row.id as string, namespace: row.namespace as string, group: first.get(row.id as string)?.executorGroup ?? null }));
    const admission = admitRuns(conn, candidates, Math.max(0, ...[...first.values()].map((item) => item.startedAt)));
    return items.map((item) => {
      if (item.attempt === 1 && admission.refused.has(item.runId)) {
        conn.statement(THROTTLE_RUN).run(item.runId);
        const row = conn.statement(SELECT_RUN).get(item.runId) as Row | undefined;
        return row === undefined ? null : toRun(row);
      }
      const row = casRun(conn, START_ATTEMPT, item.runId, item.attempt, item.deadlineAt, item.startedAt, item.runId, item.attempt - 1);
      if (row === undefined) return null;
      insert.run(item.runId, item.attempt, item.executor, item.startedAt);
      if (item.attempt === 1) admission.take(item.runId);
      return toRun(row);
    });
  });
}

export function markRunning(conn: SqliteConnection, p: { runId: string; attempt: number; at: number }): RunRecord | null {
  return conn.transaction(() => {
    const row = casRun(conn, MARK_RUNNING, p.runId, p.at, p.runId, p.attempt);
    if (row === undefined) return null;
    conn.statement(MARK_ATTEMPT_RUNNING).run(p.runId, p.attempt);
    return toRun(row);
  });
}

export function finishAttempts(conn: SqliteConnection, items: FinishAttemptParams[]): (EndedRun | null)[] {
  if (items.length === 0) return [];
  const finishAttempt = conn.statement(FINISH_ATTEMPT);
  const endTaskRun = conn.statement(END_TASK_RUN);
  return conn.transaction(() => {
    const ended = items.map((item): EndedRun | null => {
    const output = outputJson(item.output);
    const error = item.error ?? null;
    const { outcome } = item;
    const row = outcome.kind === 'final'
      ? casRun(conn, FINISH_RUN_FINAL, item.runId, outcome.status, output, error, item.at, item.runId, item.attempt)
      : outcome.kind === 'retry'
        ? casRun(conn, RETRY_RUN, item.runId, error, outcome.nextAttemptAt, item.runId, item.attempt)
        : casRun(conn, NO_EXECUTOR_RUN, item.runId, error, item.runId, item.attempt);
      if (row === undefined) return null;
      finishAttempt.run(item.attemptStatus, item.at, error, output, item.runId, item.attempt);
      if (outcome.kind === 'final') endTaskRun.run(outcome.status, item.taskNextFireAt ?? null, row.task_id as string);
      return toRun(row);
    });
    recordNodeEnds(conn, ended.filter((run) => run !== null), items[0]!.at);
    return ended;
  });
}

export function finishRun(conn: SqliteConnection, p: {
  runId: string; status: 'cancelled' | 'skipped' | 'lost' | 'failed'; at: number; error?: string | null; audit?: AuditInput;
}): EndedRun | null {
  return conn.transaction(() => {
    const row = casRun(conn, FINISH_PENDING_RUN, p.runId, p.status, p.error ?? null, p.at, p.runId);
    if (row === undefined) return null;
    conn.statement(SET_LAST_RUN_STATUS).run(p.status, row.task_id as string);
    if (p.audit) insertAudit(conn, p.audit, p.at, 'run', p.runId);
    const run: EndedRun = toRun(row);
    recordNodeEnds(conn, [run], p.at);
    return run;
  });
}

export function acceptReport(conn: SqliteConnection, p: { runId: string; attempt: number; seq: number; progress?: number | null }): ReportGate {
  const { changes } = conn.statement(ACCEPT_REPORT).run(p.seq, p.progress ?? null, p.runId, p.attempt, p.seq);
  if (changes === 1) return 'accepted';
  const run = conn.statement('SELECT status, attempt FROM runs WHERE id = ?').get(p.runId) as { status: RunStatus; attempt: number } | undefined;
  if (run === undefined) return 'not_found';
  if (isFinalRunStatus(run.status)) return 'finished';
  if (run.attempt !== p.attempt || run.status === 'pending' || run.status === 'no_executor' || run.status === 'throttled') return 'superseded';
  return 'replayed';
}

/**
 * DELETE_HISTORY — up to `limit` ended runs, oldest ended first, through the partial index
 * runs_finished. Attempts and log lines go with them (ON DELETE CASCADE).
 */
const DELETE_HISTORY = `DELETE FROM runs WHERE id IN (
  SELECT id FROM runs INDEXED BY runs_finished WHERE finished_at IS NOT NULL AND finished_at < ? ORDER BY finished_at LIMIT ?)`;

export function deleteHistory(conn: SqliteConnection, p: { finishedBefore: number; limit: number }): number {
  return conn.transaction(() => Number(conn.statement(DELETE_HISTORY).run(p.finishedBefore, p.limit).changes));
}

export function markSent(conn: SqliteConnection, items: { runId: string; attempt: number; at: number; executor?: string }[]): void {
  if (items.length === 0) return;
  const mark = conn.statement('UPDATE attempts SET sent_at = COALESCE(sent_at, ?), executor = COALESCE(?, executor) WHERE run_id = ? AND number = ?');
  conn.transaction(() => {
    for (const item of items) mark.run(item.at, item.executor ?? null, item.runId, item.attempt);
  });
}
