/**
 * The batch verbs of run attempts (`startAttempts`, `finishAttempts`) for the SQL stores. Like
 * `recordFires`, each batch is one transaction with a fixed number of statements: lock the
 * batch's runs in id order, apply each item's compare-and-set to the locked rows in input order,
 * then write runs, attempts and tasks with one multi-row statement each.
 */
import { sql, type Kysely } from 'kysely';
import type { RunRecord } from '../../core/model.ts';
import { outputJson } from '../history-caps.ts';
import { toRun } from '../sqlite/rows.ts';
import type { EndedRun, FinishAttemptParams, StartAttemptParams } from '../store.ts';
import { recordNodeEnds } from './workflows.ts';
import { inList, inTransaction, rows, updateRows, type SqlContext } from './context.ts';
import type { Column, SqlValue } from './dialect.ts';
import { ATTEMPT_COLUMNS } from './fires.ts';
import { isWaiting } from './runs.ts';
import { needsAdmission } from '../quota-admission.ts';
import { admitRuns } from './quota-slots.ts';

const STARTED_RUN_COLUMNS: readonly Column[] = [
  { name: 'id', type: 'text' }, { name: 'attempt', type: 'int' }, { name: 'deadline_at', type: 'bigint' }, { name: 'started_at', type: 'bigint' },
];
const FINAL_RUN_COLUMNS: readonly Column[] = [
  { name: 'id', type: 'text' }, { name: 'status', type: 'text' }, { name: 'output', type: 'json' }, { name: 'error', type: 'text' },
  { name: 'finished_at', type: 'bigint' },
];
/** Runs going back to wait: `pending` until next_attempt_at (a retry), or `no_executor` (next_attempt_at null). */
const WAITING_RUN_COLUMNS: readonly Column[] = [
  { name: 'id', type: 'text' }, { name: 'status', type: 'text' }, { name: 'error', type: 'text' }, { name: 'next_attempt_at', type: 'bigint' },
];
const ENDED_ATTEMPT_COLUMNS: readonly Column[] = [
  { name: 'run_id', type: 'text' }, { name: 'number', type: 'int' }, { name: 'status', type: 'text' }, { name: 'finished_at', type: 'bigint' },
  { name: 'error', type: 'text' }, { name: 'output', type: 'json' },
];
const ENDED_TASK_COLUMNS: readonly Column[] = [
  { name: 'id', type: 'text' }, { name: 'status', type: 'text' }, { name: 'next_fire_at', type: 'bigint' },
];

/** The runs with these ids, locked for this transaction in id order, by id. */
async function lockRuns(ctx: SqlContext, trx: Kysely<unknown>, runIds: readonly string[]): Promise<Map<string, RunRecord>> {
  const ids = [...new Set(runIds)].sort();
  const found = await rows(trx, sql`SELECT * FROM runs WHERE ${inList(ctx, 'id', ids)} ORDER BY id FOR UPDATE`);
  return new Map(found.map((row) => [row.id as string, toRun(row)]));
}

/**
 * Starts attempts; each item is a CAS on (pending, no_executor or throttled, attempt − 1), null when
 * it fails. A first attempt its namespace's run quotas refuse leaves the run `throttled`, returned
 * as such.
 */
export async function startAttempts(ctx: SqlContext, items: readonly StartAttemptParams[]): Promise<(RunRecord | null)[]> {
  if (items.length === 0) return [];
  return inTransaction(ctx, async (trx) => {
    const runs = await lockRuns(ctx, trx, items.map((item) => item.runId));
    const first = items.filter((item) => {
      const run = runs.get(item.runId);
      return item.attempt === 1 && run !== undefined && isWaiting(run.status) && run.attempt === 0 && needsAdmission(run);
    });
    const admission = await admitRuns(ctx, trx, first.map((item) => ({ id: item.runId, namespace: runs.get(item.runId)!.namespace, group: item.executorGroup ?? null })),
      Math.max(0, ...first.map((item) => item.startedAt)));
    const started: StartAttemptParams[] = [];
    const throttled: string[] = [];
    const results = items.map((item) => {
      const run = runs.get(item.runId);
      if (run === undefined || !isWaiting(run.status) || run.attempt !== item.attempt - 1) return null;
      if (admission.refused.has(item.runId)) {
        if (run.status === 'throttled') return run;
        const waiting: RunRecord = { ...run, status: 'throttled', nextAttemptAt: null };
        runs.set(item.runId, waiting);
        throttled.push(item.runId);
        return waiting;
      }
      const next: RunRecord = {
        ...run, status: 'dispatched', attempt: item.attempt, deadlineAt: item.deadlineAt, nextAttemptAt: null,
        startedAt: run.startedAt ?? item.startedAt, reportSeq: -1, progress: null,
      };
      runs.set(item.runId, next);
      started.push(item);
      return next;
    });
    await updateRows(ctx, trx, {
      table: 'runs', alias: 'r', columns: STARTED_RUN_COLUMNS, on: 'r.id = v.id',
      rows: started.map((item) => [item.runId, item.attempt, item.deadlineAt, runs.get(item.runId)!.startedAt]),
      set: [['status', `'dispatched'`], ['attempt', 'v.attempt'], ['deadline_at', 'v.deadline_at'], ['next_attempt_at', 'NULL'],
        ['started_at', 'v.started_at'], ['report_seq', '-1'], ['progress', 'NULL']],
    });
    if (started.length > 0) {
      await ctx.dialect.insertRows(trx, {
        table: 'attempts', columns: ATTEMPT_COLUMNS, rows: started.map((item) => [item.runId, item.attempt, 'dispatched', item.executor, item.startedAt]),
      });
    }
    if (throttled.length > 0) await sql`UPDATE runs SET status = 'throttled', next_attempt_at = NULL WHERE ${inList(ctx, 'id', throttled)}`.execute(trx);
    await admission.take(new Set(started.map((item) => item.runId)));
    return results;
  });
}

/**
 * Ends attempts: CAS on (run.attempt = attempt, attempt in flight), null when stale. A retry puts
 * the run back to pending, a no_executor outcome to no_executor; a final outcome ends it and sets its task's last run status, and its
 * next fire when the task has none and is active.
 */
export async function finishAttempts(ctx: SqlContext, items: readonly FinishAttemptParams[]): Promise<(EndedRun | null)[]> {
  if (items.length === 0) return [];
  return inTransaction(ctx, async (trx) => {
    const runs = await lockRuns(ctx, trx, items.map((item) => item.runId));
    const finals: SqlValue[][] = [];
    const waits: SqlValue[][] = [];
    const attempts: SqlValue[][] = [];
    /** Per task, in input order: the last final status and the first next fire given. */
    const tasks = new Map<string, { status: string; nextFireAt: number | null }>();
    const results = items.map((item): EndedRun | null => {
      const run = runs.get(item.runId);
      if (run === undefined || run.finishedAt !== null || isWaiting(run.status) || run.attempt !== item.attempt) return null;
      const output = outputJson(item.output);
      const error = item.error ?? null;
      let next: RunRecord;
      if (item.outcome.kind === 'final') {
        next = { ...run, status: item.outcome.status, output: output === null ? null : JSON.parse(output), error, finishedAt: item.at, nextAttemptAt: null };
        finals.push([run.id, item.outcome.status, output, error, item.at]);
        const task = tasks.get(run.taskId);
        tasks.set(run.taskId, { status: item.outcome.status, nextFireAt: task?.nextFireAt ?? item.taskNextFireAt ?? null });
      } else {
        const status = item.outcome.kind === 'retry' ? 'pending' : 'no_executor';
        const nextAttemptAt = item.outcome.kind === 'retry' ? item.outcome.nextAttemptAt : null;
        next = { ...run, status, error, nextAttemptAt, deadlineAt: null };
        waits.push([run.id, status, error, nextAttemptAt]);
      }
      attempts.push([run.id, item.attempt, item.attemptStatus, item.at, error, output]);
      runs.set(item.runId, next);
      return next;
    });
    await updateRows(ctx, trx, {
      table: 'runs', alias: 'r', columns: FINAL_RUN_COLUMNS, rows: finals, on: 'r.id = v.id',
      set: [['status', 'v.status'], ['output', 'v.output'], ['error', 'v.error'], ['finished_at', 'v.finished_at'], ['next_attempt_at', 'NULL']],
    });
    await updateRows(ctx, trx, {
      table: 'runs', alias: 'r', columns: WAITING_RUN_COLUMNS, rows: waits, on: 'r.id = v.id',
      set: [['status', 'v.status'], ['error', 'v.error'], ['next_attempt_at', 'v.next_attempt_at'], ['deadline_at', 'NULL']],
    });
    await updateRows(ctx, trx, {
      table: 'attempts', alias: 'a', columns: ENDED_ATTEMPT_COLUMNS, rows: attempts, on: 'a.run_id = v.run_id AND a.number = v.number',
      set: [['status', 'v.status'], ['finished_at', 'v.finished_at'], ['error', 'v.error'], ['output', 'v.output']],
    });
    await updateRows(ctx, trx, {
      // A run that changes neither its task's last status nor its next fire (a recurring task that
      // succeeds again) leaves the task's row alone.
      table: 'tasks', alias: 't', columns: ENDED_TASK_COLUMNS,
      on: `t.id = v.id AND (t.last_run_status IS NULL OR t.last_run_status <> v.status
        OR (v.next_fire_at IS NOT NULL AND t.next_fire_at IS NULL AND t.state = 'active'))`,
      rows: [...tasks].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, task]) => [id, task.status, task.nextFireAt]),
      set: [['last_run_status', 'v.status'],
        ['next_fire_at', `CASE WHEN t.next_fire_at IS NULL AND t.state = 'active' THEN v.next_fire_at ELSE t.next_fire_at END`]],
    });
    await recordNodeEnds(ctx, trx, results.filter((run) => run !== null), items[0]!.at);
    return results;
  });
}

/** Sets sentAt of attempts not yet marked, in one statement. */
export async function markSent(ctx: SqlContext, items: readonly { runId: string; attempt: number; at: number; executor?: string }[]): Promise<void> {
  if (items.length === 0) return;
  await inTransaction(ctx, (trx) => updateRows(ctx, trx, {
    table: 'attempts', alias: 'a',
    columns: [{ name: 'run_id', type: 'text' }, { name: 'number', type: 'int' }, { name: 'sent_at', type: 'bigint' }, { name: 'executor', type: 'text' }],
    rows: items.map((item) => [item.runId, item.attempt, item.at, item.executor ?? null]),
    on: 'a.run_id = v.run_id AND a.number = v.number',
    set: [['sent_at', 'COALESCE(a.sent_at, v.sent_at)'], ['executor', 'COALESCE(v.executor, a.executor)']],
  }));
}
