/**
 * Scheduling verbs of the SQL stores: due tasks, recording fires, manual runs.
 *
 * A batch of fires is written in one transaction with a fixed number of statements, whatever
 * its size: lock the batch's tasks (in id order, so two batches never deadlock on each other),
 * apply every fire's compare-and-set to the locked rows in input order (two fires of one task
 * chain), insert all the runs in one multi-row statement that skips fires already recorded,
 * insert the first attempts of dispatched runs, and write the tasks' new fire state in one
 * UPDATE … FROM. The row locks make the compare-and-set exact: no one else can move a locked
 * task between the read and the write.
 */
import { sql, type Kysely } from 'kysely';
import { bucketOf } from '../../core/buckets.ts';
import { EcronError } from '../../core/errors.ts';
import type { RunRecord, ScheduledRecord } from '../../core/model.ts';
import { insertedRun, toRun, toScheduled } from '../sqlite/rows.ts';
import type { AuditInput, Fence, FireRecord, FireResult, NewRun } from '../store.ts';
import { firstRow, inList, inTransaction, rows, type SqlContext } from './context.ts';
import type { Column, SqlValue } from './dialect.ts';
import { auditOf, insertAudit } from './tokens-audit.ts';
import { admissionCandidates, admissionTime, throttledRun } from '../quota-admission.ts';
import { admitRuns } from './quota-slots.ts';

const RUN_COLUMNS: readonly Column[] = [
  { name: 'id', type: 'text' }, { name: 'task_id', type: 'text' }, { name: 'namespace', type: 'text' }, { name: 'task_name', type: 'text' },
  { name: 'task_revision', type: 'int' }, { name: 'trigger', type: 'text' }, { name: 'scheduled_at', type: 'bigint' },
  { name: 'status', type: 'text' }, { name: 'attempt', type: 'int' }, { name: 'params', type: 'json' }, { name: 'error', type: 'text' },
  { name: 'deadline_at', type: 'bigint' }, { name: 'created_at', type: 'bigint' }, { name: 'started_at', type: 'bigint' },
  { name: 'finished_at', type: 'bigint' }, { name: 'owner', type: 'text' }, { name: 'workflow_run_id', type: 'text' }, { name: 'node_id', type: 'text' },
  { name: 'backfill_id', type: 'text' },
];

export const ATTEMPT_COLUMNS: readonly Column[] = [
  { name: 'run_id', type: 'text' }, { name: 'number', type: 'int' }, { name: 'status', type: 'text' }, { name: 'executor', type: 'text' },
  { name: 'started_at', type: 'bigint' },
];

/** The new fire state of one task, after every fire of the batch that applied to it. */
const TASK_FIRE_COLUMNS: readonly Column[] = [
  { name: 'id', type: 'text' }, { name: 'next_fire_at', type: 'bigint' }, { name: 'last_fire_at', type: 'bigint' },
  { name: 'skipped', type: 'int' }, { name: 'state', type: 'text' }, { name: 'last_run_status', type: 'text' },
];

function runRow(run: NewRun): SqlValue[] {
  const attempt = run.status === 'dispatched' ? run.attempt : undefined;
  if (run.status === 'dispatched' && attempt === undefined) {
    throw new EcronError('INTERNAL', `run ${run.id} is created dispatched without its first attempt`, { runId: run.id });
  }
  return [
    run.id, run.taskId, run.namespace, run.taskName, run.taskRevision, run.trigger, run.scheduledAt, run.status, attempt ? 1 : 0,
    JSON.stringify(run.params), run.error ?? null, attempt ? attempt.deadlineAt : null, run.createdAt, attempt ? attempt.startedAt : null,
    run.status === 'skipped' ? run.createdAt : null, run.owner ?? null, run.workflowRunId ?? null, run.nodeId ?? null, run.backfillId ?? null,
  ];
}

/**
 * Inserts `runs` in one statement, skipping those whose scheduled fire (task, scheduledAt) is
 * already recorded, then the first attempts of those inserted dispatched. A dispatched run its
 * namespace's run quotas refuse is inserted `throttled`, without an attempt. Returns the runs
 * inserted, by id.
 */
export async function insertRuns(ctx: SqlContext, db: Kysely<unknown>, given: readonly NewRun[]): Promise<Map<string, RunRecord>> {
  if (given.length === 0) return new Map();
  const admission = await admitRuns(ctx, db, admissionCandidates(given), admissionTime(given));
  const runs = admission.refused.size === 0 ? given : given.map((run) => (admission.refused.has(run.id) ? throttledRun(run) : run));
  const { ids } = await ctx.dialect.insertRows(db, { table: 'runs', columns: RUN_COLUMNS, rows: runs.map(runRow), ignoreDuplicates: true, returnIds: true });
  const inserted = ids!;
  await admission.take(inserted);
  const attempts = runs.flatMap((run) => (run.status === 'dispatched' && run.attempt && inserted.has(run.id)
    ? [[run.id, 1, 'dispatched', run.attempt.executor, run.attempt.startedAt]]
    : []));
  if (attempts.length > 0) await ctx.dialect.insertRows(db, { table: 'attempts', columns: ATTEMPT_COLUMNS, rows: attempts });
  return new Map(runs.filter((run) => inserted.has(run.id)).map((run) => [run.id, insertedRun(run)]));
}

export async function listDueTasks(ctx: SqlContext, p: { until: number; after?: number; limit: number; buckets?: number[] }): Promise<ScheduledRecord[]> {
  if (p.buckets?.length === 0) return [];
  const after = p.after === undefined ? sql`` : sql`AND next_fire_at > ${p.after}`;
  const buckets = p.buckets === undefined ? sql`` : sql`AND ${inList(ctx, 'bucket', p.buckets, 'int')}`;
  const found = await rows(ctx.db, sql`SELECT * FROM tasks WHERE state = 'active' AND next_fire_at <= ${p.until} ${after} ${buckets}
    ORDER BY next_fire_at, id LIMIT ${p.limit}`);
  return found.map(toScheduled);
}

interface LockedTask {
  state: string;
  nextFireAt: number | null;
  lastFireAt: number | null;
  skipped: number;
  lastRunStatus: string | null;
  changed: boolean;
}

/**
 * The buckets among `buckets` (those of the batch) that `fence` may fire in: leased to its owner
 * under the given epoch and unexpired by the database clock. The lease rows stay share-locked until
 * commit, so a concurrent acquire of one of them waits for this transaction. Only the batch's
 * buckets are read and locked, not every term of the fence (a node holds up to all 256).
 */
async function fencedBuckets(ctx: SqlContext, trx: Kysely<unknown>, fence: Fence, buckets: ReadonlySet<number>): Promise<Set<number>> {
  const epochs = new Map(fence.terms.filter((term) => buckets.has(term.bucket)).map((term) => [term.bucket, term.epoch]));
  if (epochs.size === 0) return new Set();
  const leases = await rows<{ bucket: number; epoch: number }>(trx, sql`SELECT bucket, epoch FROM bucket_leases
    WHERE ${inList(ctx, 'bucket', [...epochs.keys()], 'int')} AND owner = ${fence.owner} AND expires_at > ${ctx.dialect.nowMs}
    ORDER BY bucket ${ctx.dialect.forShare}`);
  return new Set(leases.filter((lease) => epochs.get(Number(lease.bucket)) === Number(lease.epoch)).map((lease) => Number(lease.bucket)));
}

/** All fires in one transaction; a fire whose compare-and-set fails, or that the fence refuses, records nothing. */
export async function recordFires(ctx: SqlContext, fires: readonly FireRecord[], fence?: Fence): Promise<FireResult[]> {
  if (fires.length === 0) return [];
  const taskIds = [...new Set(fires.map((fire) => fire.taskId))].sort();
  return inTransaction(ctx, async (trx) => {
    const allowed = fence ? await fencedBuckets(ctx, trx, fence, new Set(fires.map((fire) => bucketOf(fire.taskId)))) : null;
    const locked = await rows<{ id: string; state: string; next_fire_at: number | null }>(trx,
      sql`SELECT id, state, next_fire_at FROM tasks WHERE ${inList(ctx, 'id', taskIds)} ORDER BY id FOR UPDATE`);
    const tasks = new Map<string, LockedTask>(locked.map((row) => [row.id, {
      state: row.state, nextFireAt: row.next_fire_at === null ? null : Number(row.next_fire_at), lastFireAt: null, skipped: 0, lastRunStatus: null, changed: false,
    }]));
    const outcomes = fires.map((fire): 'recorded' | 'stale' | 'fenced' => {
      if (allowed !== null && !allowed.has(bucketOf(fire.taskId))) return 'fenced';
      const task = tasks.get(fire.taskId);
      if (task === undefined || task.state !== 'active' || task.nextFireAt !== fire.expectedNextFireAt) return 'stale';
      task.nextFireAt = fire.nextFireAt;
      if (fire.lastFireAt !== null) task.lastFireAt = fire.lastFireAt;
      task.skipped += fire.skippedDelta;
      if (fire.complete) task.state = 'completed';
      task.changed = true;
      return 'recorded';
    });
    const applied = outcomes.map((outcome) => outcome === 'recorded');
    const inserted = await insertRuns(ctx, trx, fires.flatMap((fire, i) => (applied[i] ? fire.runs : [])));
    // A run that ends at once (skipped) sets its task's last run status, as every run that ends does.
    for (const [i, fire] of fires.entries()) {
      if (applied[i] && fire.runs.some((run) => run.status === 'skipped' && inserted.has(run.id))) tasks.get(fire.taskId)!.lastRunStatus = 'skipped';
    }
    const changed = [...tasks].filter(([, task]) => task.changed)
      .map(([id, task]): SqlValue[] => [id, task.nextFireAt, task.lastFireAt, task.skipped, task.state, task.lastRunStatus]);
    if (changed.length > 0) {
      await ctx.dialect.updateFrom({
        table: 'tasks', alias: 't', source: ctx.dialect.rowsTable('v', TASK_FIRE_COLUMNS, changed), on: sql`t.id = v.id`,
        set: [
          ['next_fire_at', sql`v.next_fire_at`],
          ['last_fire_at', sql`coalesce(v.last_fire_at, t.last_fire_at)`],
          ['skipped_fires', sql`t.skipped_fires + v.skipped`],
          ['state', sql`v.state`],
          ['last_run_status', sql`coalesce(v.last_run_status, t.last_run_status)`],
        ],
      }).execute(trx);
    }
    return fires.map((fire, i): FireResult => {
      if (outcomes[i] === 'fenced') return { taskId: fire.taskId, recorded: false, fenced: true, runs: [] };
      return { taskId: fire.taskId, recorded: applied[i]!, runs: applied[i] ? fire.runs.flatMap((run) => inserted.get(run.id) ?? []) : [] };
    });
  });
}

/**
 * Inserts a run outside the schedule (a manual trigger or a backfill). A scheduled run whose fire
 * is already recorded is not inserted: the existing run is returned and no audit entry is written.
 */
export async function createRun(ctx: SqlContext, p: { run: NewRun; audit?: AuditInput }): Promise<RunRecord> {
  const { run } = p;
  return inTransaction(ctx, async (trx) => {
    if (!(await insertRuns(ctx, trx, [run])).has(run.id)) {
      const existing = await firstRow(trx, sql`SELECT * FROM runs WHERE task_id = ${run.taskId} AND scheduled_at = ${run.scheduledAt}
        AND ${sql.ref('trigger')} = 'schedule'`);
      return toRun(existing!);
    }
    if (run.status === 'skipped') await sql`UPDATE tasks SET last_run_status = 'skipped' WHERE id = ${run.taskId}`.execute(trx);
    if (p.audit) await insertAudit(trx, auditOf(p.audit, run.createdAt, 'run', run.id));
    return toRun((await firstRow(trx, sql`SELECT * FROM runs WHERE id = ${run.id}`))!);
  });
}
