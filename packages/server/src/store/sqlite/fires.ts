/**
 * Scheduling verbs: finding due tasks, recording fires, and inserting manual runs. These are the
 * scheduler's hot path, so each uses cached prepared statements and one transaction per call.
 */
import { EcronError } from '../../core/errors.ts';
import type { RunRecord, ScheduledRecord } from '../../core/model.ts';
import { bucketOf } from '../../core/buckets.ts';
import type { AuditInput, Fence, FireRecord, FireResult, NewRun } from '../store.ts';
import { fencedBuckets } from './fence.ts';
import type { SqliteConnection } from './connection.ts';
import { insertedRun, toRun, toScheduled, type Row } from './rows.ts';
import { insertAudit } from './tokens-audit.ts';
import { admissionCandidates, admissionTime, throttledRun } from '../quota-admission.ts';
import { admitRuns } from './quota-slots.ts';

/**
 * DUE_TASKS — in: until, limit. Out: active tasks with next_fire_at ≤ until, earliest first.
 * Served by the (state, next_fire_at) index.
 */
const DUE_TASKS = `SELECT * FROM tasks WHERE state = 'active' AND next_fire_at <= ? ORDER BY next_fire_at, id LIMIT ?`;
const DUE_TASKS_AFTER = `SELECT * FROM tasks WHERE state = 'active' AND next_fire_at <= ? AND next_fire_at > ? ORDER BY next_fire_at, id LIMIT ?`;
/** DUE_TASKS_IN_BUCKETS — in: until, after, buckets (JSON array), limit. A cluster node's share. */
const DUE_TASKS_IN_BUCKETS = `SELECT * FROM tasks WHERE state = 'active' AND next_fire_at <= ? AND next_fire_at > ?
  AND bucket IN (SELECT value FROM json_each(?)) ORDER BY next_fire_at, id LIMIT ?`;

/**
 * ADVANCE_TASK — the fire compare-and-set. In: next_fire_at, last_fire_at (null leaves it),
 * skipped delta, task id, expected next_fire_at. Out: changes = 1 only when the
 * task is active and still due at the expected instant; 0 when it changed, was paused or deleted,
 * or another scheduler recorded the fire first.
 */
const ADVANCE_TASK = `UPDATE tasks SET next_fire_at = ?, last_fire_at = coalesce(?, last_fire_at), skipped_fires = skipped_fires + ?
  WHERE id = ? AND state = 'active' AND next_fire_at = ?`;
/** ADVANCE_AND_COMPLETE_TASK — ADVANCE_TASK for a task with no fire left: it becomes `completed`. */
const ADVANCE_AND_COMPLETE_TASK = `UPDATE tasks SET next_fire_at = ?, last_fire_at = coalesce(?, last_fire_at), skipped_fires = skipped_fires + ?,
  state = 'completed' WHERE id = ? AND state = 'active' AND next_fire_at = ?`;

/**
 * INSERT_RUN — in: the run's columns. Out: changes = 0 when a scheduled run with the same
 * (task_id, scheduled_at) exists (the fire identity: unique index runs_fire on (scheduled_at,
 * task_id)); manual runs always insert.
 */
const INSERT_RUN = `INSERT INTO runs (id, task_id, namespace, task_name, task_revision, trigger, scheduled_at, status, attempt, params,
  error, deadline_at, created_at, started_at, finished_at, owner, workflow_run_id, node_id, backfill_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (scheduled_at, task_id) WHERE trigger = 'schedule' DO NOTHING`;

/** INSERT_FIRST_ATTEMPT — in: run id, executor, started_at. Attempt 1 of a run created dispatched. */
const INSERT_FIRST_ATTEMPT = `INSERT INTO attempts (run_id, number, status, executor, started_at) VALUES (?, 1, 'dispatched', ?, ?)`;

/** SET_LAST_RUN_STATUS — in: status, task id. Every run that ends sets its task's last status. */
export const SET_LAST_RUN_STATUS = 'UPDATE tasks SET last_run_status = ? WHERE id = ?';

export function listDueTasks(conn: SqliteConnection, p: { until: number; after?: number; limit: number; buckets?: number[] }): ScheduledRecord[] {
  if (p.buckets !== undefined) {
    const rows = conn.statement(DUE_TASKS_IN_BUCKETS).all(p.until, p.after ?? -Number.MAX_SAFE_INTEGER, JSON.stringify(p.buckets), p.limit);
    return (rows as Row[]).map(toScheduled);
  }
  const rows = p.after === undefined ? conn.statement(DUE_TASKS).all(p.until, p.limit) : conn.statement(DUE_TASKS_AFTER).all(p.until, p.after, p.limit);
  return (rows as Row[]).map(toScheduled);
}

/**
 * Inserts `runs` (each with its first attempt when dispatched), in order, under their namespaces'
 * run quotas: a dispatched run they refuse is inserted `throttled`, without an attempt. Returns the
 * runs inserted, by id (a run whose fire is already recorded is not).
 */
export function insertRuns(conn: SqliteConnection, given: readonly NewRun[]): Map<string, RunRecord> {
  const inserted = new Map<string, RunRecord>();
  if (given.length === 0) return inserted;
  const admission = admitRuns(conn, admissionCandidates(given), admissionTime(given));
  for (const candidate of given) {
    const run = admission.refused.has(candidate.id) ? throttledRun(candidate) : candidate;
    if (!insertRun(conn, run)) continue;
    admission.take(run.id);
    inserted.set(run.id, insertedRun(run));
  }
  return inserted;
}

/** Inserts `run` (and its first attempt when dispatched), not subject to quotas; false when its fire is already recorded. */
function insertRun(conn: SqliteConnection, run: NewRun): boolean {
  const attempt = run.status === 'dispatched' ? run.attempt : undefined;
  if (run.status === 'dispatched' && attempt === undefined) {
    throw new EcronError('INTERNAL', `run ${run.id} is created dispatched without its first attempt`, { runId: run.id });
  }
  const { changes } = conn.statement(INSERT_RUN).run(
    run.id, run.taskId, run.namespace, run.taskName, run.taskRevision, run.trigger, run.scheduledAt, run.status, attempt ? 1 : 0,
    JSON.stringify(run.params), run.error ?? null, attempt ? attempt.deadlineAt : null, run.createdAt, attempt ? attempt.startedAt : null,
    run.status === 'skipped' ? run.createdAt : null, run.owner ?? null, run.workflowRunId ?? null, run.nodeId ?? null, run.backfillId ?? null,
  );
  if (changes === 0) return false;
  if (attempt) conn.statement(INSERT_FIRST_ATTEMPT).run(run.id, attempt.executor, attempt.startedAt);
  if (run.status === 'skipped') conn.statement(SET_LAST_RUN_STATUS).run('skipped', run.taskId);
  return true;
}

/** All fires in one transaction; a fire whose compare-and-set fails records nothing. */
export function recordFires(conn: SqliteConnection, fires: FireRecord[], fence?: Fence): FireResult[] {
  if (fires.length === 0) return [];
  const advance = conn.statement(ADVANCE_TASK);
  const advanceAndComplete = conn.statement(ADVANCE_AND_COMPLETE_TASK);
  return conn.transaction(() => {
    const allowed = fence ? fencedBuckets(conn, fence, new Set(fires.map((fire) => bucketOf(fire.taskId)))) : null;
    // Every fire's compare-and-set first (in order: two fires of one task chain), then the runs of
    // those recorded, admitted together under their namespaces' quotas.
    const outcomes = fires.map((fire): 'recorded' | 'stale' | 'fenced' => {
      if (allowed !== null && !allowed.has(bucketOf(fire.taskId))) return 'fenced';
      const { changes } = (fire.complete ? advanceAndComplete : advance)
        .run(fire.nextFireAt, fire.lastFireAt, fire.skippedDelta, fire.taskId, fire.expectedNextFireAt);
      return changes === 0 ? 'stale' : 'recorded';
    });
    const inserted = insertRuns(conn, fires.flatMap((fire, i) => (outcomes[i] === 'recorded' ? fire.runs : [])));
    return fires.map((fire, i): FireResult => {
      if (outcomes[i] === 'fenced') return { taskId: fire.taskId, recorded: false, fenced: true, runs: [] };
      if (outcomes[i] === 'stale') return { taskId: fire.taskId, recorded: false, runs: [] };
      return { taskId: fire.taskId, recorded: true, runs: fire.runs.flatMap((run) => inserted.get(run.id) ?? []) };
    });
  });
}

/**
 * Inserts a run outside the schedule (a manual trigger or a backfill). A scheduled run whose fire
 * is already recorded is not inserted: the existing run is returned and no audit entry is written.
 */
export function createRun(conn: SqliteConnection, p: { run: NewRun; audit?: AuditInput }): RunRecord {
  const { run } = p;
  return conn.transaction(() => {
    if (!insertRuns(conn, [run]).has(run.id)) {
      const existing = conn.statement(`SELECT * FROM runs WHERE task_id = ? AND scheduled_at = ? AND trigger = 'schedule'`)
        .get(run.taskId, run.scheduledAt) as Row;
      return toRun(existing);
    }
    if (p.audit) insertAudit(conn, p.audit, run.createdAt, 'run', run.id);
    return toRun(conn.statement('SELECT * FROM runs WHERE id = ?').get(run.id) as Row);
  });
}
