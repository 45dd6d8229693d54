/**
 * Map/reduce verbs on the SQL stores (contract: `store/run-subtasks.ts`). Each verb is one
 * transaction. Lock order, everywhere: map rows (`FOR UPDATE`, by run id), then subtask rows. A
 * claim takes pending rows `FOR UPDATE SKIP LOCKED` and waits for nothing, so two claimers get
 * disjoint subtasks; the transaction that ends a map's last subtask holds the map's row, so it
 * sees every other end before it decides the map (queues the reduce or ends it), exactly once.
 */
import { sql, type Kysely } from 'kysely';
import { EcronError } from '../../core/errors.ts';
import { outputJson } from '../history-caps.ts';
import { checkPageLimit, decodeCursor, toPage } from '../pagination.ts';
import { MAP_INSERT_COLUMNS, SUBTASK_INSERT_COLUMNS, subtaskValues, toCounts, toRunMap, toSubtask } from '../run-subtask-rows.ts';
import {
  decideSealedMap, failRunError, isActiveMap, sameMapOptions, subtaskAfter, type MapCounts, type MapDecision, type ReportSubtasksResult,
  type RunMapRecord, type RunSubtaskVerbs, type SubtaskRecord, type SweepSubtasksResult,
} from '../run-subtasks.ts';
import type { Page } from '../store.ts';
import { dbNow } from './cluster.ts';
import { affected, firstRow, inList, inTransaction, rows, updateRows, type Row, type SqlContext } from './context.ts';
import type { Column, ColumnType, SqlValue } from './dialect.ts';

type Params<K extends keyof RunSubtaskVerbs> = Parameters<RunSubtaskVerbs[K]>[0];
type Trx = Kysely<unknown>;

const TYPES: Record<string, ColumnType> = {
  run_id: 'text', idx: 'int', attempt: 'int', namespace: 'text', group_name: 'text', kind: 'text', handler: 'text', payload: 'json', state: 'text',
  lease: 'int', lost: 'int', max_attempts: 'int', executors: 'json', available_at: 'bigint', created_at: 'bigint',
};
const SUBTASK_COLUMNS: readonly Column[] = SUBTASK_INSERT_COLUMNS.map((name) => ({ name, type: TYPES[name]! }));
const ENDED_COLUMNS: readonly Column[] = [
  { name: 'run_id', type: 'text' }, { name: 'idx', type: 'int' }, { name: 'state', type: 'text' }, { name: 'output', type: 'json' },
  { name: 'error', type: 'text' }, { name: 'available_at', type: 'bigint' }, { name: 'finished_at', type: 'bigint' },
];
const ACTIVE_MAP = sql`(m.state = 'mapping' OR m.state = 'running' OR m.state = 'reducing')`;

async function lockMaps(ctx: SqlContext, trx: Trx, runIds: readonly string[]): Promise<Map<string, RunMapRecord>> {
  const ids = [...new Set(runIds)].sort();
  if (ids.length === 0) return new Map();
  const found = await rows(trx, sql`SELECT * FROM run_maps WHERE ${inList(ctx, 'run_id', ids)} ORDER BY run_id FOR UPDATE`);
  return new Map(found.map((row) => [row.run_id as string, toRunMap(row)]));
}

async function countsOf(trx: Trx, runId: string): Promise<MapCounts> {
  return toCounts(await rows(trx, sql`SELECT state, count(*) AS n FROM run_subtasks WHERE run_id = ${runId} AND idx >= 0 GROUP BY state`));
}

async function endMap(trx: Trx, map: RunMapRecord, decision: MapDecision, now: number): Promise<void> {
  await sql`UPDATE run_maps SET state = ${decision.status}, output = ${outputJson(decision.output)}, error = ${decision.error ?? null}, finished_at = ${now}
    WHERE run_id = ${map.runId}`.execute(trx);
  map.state = decision.status;
}

async function cancelLeft(trx: Trx, runId: string, error: string, now: number): Promise<number> {
  const result = await sql`UPDATE run_subtasks SET state = 'cancelled', lease_expires_at = NULL, finished_at = ${now}, error = COALESCE(error, ${error})
    WHERE run_id = ${runId} AND (state = 'pending' OR state = 'running')`.execute(trx);
  return Number(result.numAffectedRows ?? 0n);
}

async function failMap(trx: Trx, map: RunMapRecord, error: string, now: number): Promise<MapDecision> {
  const decision: MapDecision = { runId: map.runId, attempt: map.attempt, status: 'failed', error };
  await endMap(trx, map, decision, now);
  await cancelLeft(trx, map.runId, 'cancelled: the map failed', now);
  return decision;
}

/** A sealed map (locked) with nothing left: queue the reduce, or end it. */
async function settle(ctx: SqlContext, trx: Trx, map: RunMapRecord, now: number): Promise<{ decision: MapDecision | null; reduceQueued: boolean }> {
  if (map.state !== 'running') return { decision: null, reduceQueued: false };
  const left = await firstRow(trx, sql`SELECT 1 AS one FROM run_subtasks WHERE run_id = ${map.runId} AND idx >= 0 AND (state = 'pending' OR state = 'running') LIMIT 1`);
  if (left) return { decision: null, reduceQueued: false };
  const next = decideSealedMap(map, await countsOf(trx, map.runId));
  if (next.state === 'reducing') {
    await sql`UPDATE run_maps SET state = 'reducing' WHERE run_id = ${map.runId}`.execute(trx);
    map.state = 'reducing';
    await ctx.dialect.insertRows(trx, {
      table: 'run_subtasks', columns: SUBTASK_COLUMNS, ignoreDuplicates: true,
      rows: [subtaskValues({ runId: map.runId, index: -1, attempt: map.attempt, namespace: map.namespace, group: map.group, kind: 'reduce', handler: map.reduce!, payload: 'null', maxAttempts: map.maxAttempts, at: now })],
    });
    return { decision: null, reduceQueued: true };
  }
  const decision: MapDecision = next.state === 'succeeded'
    ? { runId: map.runId, attempt: map.attempt, status: 'succeeded', output: next.output }
    : { runId: map.runId, attempt: map.attempt, status: 'failed', error: next.error };
  await endMap(trx, map, decision, now);
  return { decision, reduceQueued: false };
}

export function appendSubtasks(ctx: SqlContext, p: Params<'appendSubtasks'>): Promise<{ total: number; inserted: number }> {
  return inTransaction(ctx, async (trx) => {
    // The run's row is shared-locked: its attempt cannot end while subtasks are added to it.
    const run = await firstRow(trx, sql`SELECT status, attempt, finished_at FROM runs WHERE id = ${p.runId} ${ctx.dialect.forShare}`);
    if (!run) throw new EcronError('RUN_NOT_FOUND');
    if (run.finished_at !== null || Number(run.attempt) !== p.attempt || (run.status !== 'dispatched' && run.status !== 'running')) {
      throw new EcronError('MAP_NOT_ALLOWED', `run ${p.runId} is not in flight at attempt ${p.attempt}`);
    }
    const now = await dbNow(ctx, trx);
    let map = (await lockMaps(ctx, trx, [p.runId])).get(p.runId) ?? null;
    if (map && map.attempt !== p.attempt) {
      await sql`DELETE FROM run_subtasks WHERE run_id = ${p.runId}`.execute(trx);
      await sql`DELETE FROM run_maps WHERE run_id = ${p.runId}`.execute(trx);
      map = null;
    }
    const { options } = p;
    let total = 0;
    if (!map) {
      if (p.offset !== 0) throw new EcronError('MAP_OFFSET_GAP', `the first batch of a map starts at offset 0, not ${p.offset}`);
      const values: SqlValue[] = [p.runId, p.attempt, p.namespace, p.group, 'mapping', options.reduce, options.maxAttempts, options.onSubtaskFailure,
        options.maxFailedRatio, JSON.stringify(options.backoff), 0, now];
      await sql`INSERT INTO run_maps (${sql.raw(MAP_INSERT_COLUMNS.join(', '))}) VALUES (${sql.join(values)})`.execute(trx);
    } else {
      if (map.state !== 'mapping') throw new EcronError('MAP_SEALED');
      if (!sameMapOptions(map, options)) throw new EcronError('MAP_OPTIONS_CONFLICT');
      if (p.offset > map.total) throw new EcronError('MAP_OFFSET_GAP', `${map.total} subtasks are stored: a batch at offset ${p.offset} leaves a gap`);
      total = map.total;
    }
    const end = p.offset + p.payloads.length;
    if (end > p.maxTotal) throw new EcronError('MAP_TOO_LARGE', `a map holds at most ${p.maxTotal} subtasks`);
    let inserted = 0;
    if (p.payloads.length > 0) {
      ({ inserted } = await ctx.dialect.insertRows(trx, {
        table: 'run_subtasks', columns: SUBTASK_COLUMNS, ignoreDuplicates: true,
        rows: p.payloads.map((payload, i) => subtaskValues({
          runId: p.runId, index: p.offset + i, attempt: p.attempt, namespace: p.namespace, group: p.group, kind: 'map', handler: p.handler, payload,
          maxAttempts: options.maxAttempts, at: now,
        })),
      }));
    }
    const next = Math.max(total, end);
    if (next !== total) await sql`UPDATE run_maps SET total = ${next} WHERE run_id = ${p.runId}`.execute(trx);
    return { total: next, inserted };
  });
}

export function sealMap(ctx: SqlContext, p: Params<'sealMap'>): Promise<{ map: RunMapRecord; decision: MapDecision | null } | null> {
  return inTransaction(ctx, async (trx) => {
    const map = (await lockMaps(ctx, trx, [p.runId])).get(p.runId);
    if (!map || map.attempt !== p.attempt) return null;
    if (map.state !== 'mapping') return { map, decision: null };
    const now = await dbNow(ctx, trx);
    await sql`UPDATE run_maps SET state = 'running', sealed_at = ${now} WHERE run_id = ${p.runId}`.execute(trx);
    map.state = 'running';
    const { decision } = await settle(ctx, trx, map, now);
    const stored = toRunMap((await firstRow(trx, sql`SELECT * FROM run_maps WHERE run_id = ${p.runId}`))!);
    return { map: stored, decision };
  });
}

export async function getRunMap(ctx: SqlContext, runId: string): Promise<(RunMapRecord & { counts: MapCounts }) | null> {
  const row = await firstRow(ctx.db, sql`SELECT * FROM run_maps WHERE run_id = ${runId}`);
  return row ? { ...toRunMap(row), counts: await countsOf(ctx.db, runId) } : null;
}

export function claimSubtasks(ctx: SqlContext, p: Params<'claimSubtasks'>): Promise<SubtaskRecord[]> {
  return inTransaction(ctx, async (trx) => {
    const now = await dbNow(ctx, trx);
    const found = await rows(trx, sql`SELECT * FROM run_subtasks
      WHERE state = 'pending' AND namespace = ${p.namespace} AND group_name = ${p.group} AND available_at <= ${now}
        AND ${inList(ctx, 'handler', p.handlers)}
        AND (last_executor IS NULL OR last_executor <> ${p.executor} OR available_at <= ${now - p.avoidMs})
      ORDER BY available_at LIMIT ${p.limit} ${ctx.dialect.forUpdateSkipLocked}`);
    const claimed = found.map((row) => {
      const subtask = toSubtask(row);
      return { ...subtask, state: 'running' as const, lease: subtask.lease + 1, executors: [...subtask.executors, p.executor], leaseExpiresAt: now + p.leaseMs, startedAt: subtask.startedAt ?? now };
    });
    await updateRows(ctx, trx, {
      table: 'run_subtasks', alias: 's', on: 's.run_id = v.run_id AND s.idx = v.idx',
      columns: [{ name: 'run_id', type: 'text' }, { name: 'idx', type: 'int' }, { name: 'executors', type: 'json' }, { name: 'lease_expires_at', type: 'bigint' }, { name: 'started_at', type: 'bigint' },
        { name: 'last_executor', type: 'text' }],
      rows: claimed.map((s) => [s.runId, s.index, JSON.stringify(s.executors), s.leaseExpiresAt, s.startedAt, p.executor]),
      set: [['state', `'running'`], ['lease', 's.lease + 1'], ['executors', 'v.executors'], ['last_executor', 'v.last_executor'],
        ['lease_expires_at', 'v.lease_expires_at'], ['started_at', 'v.started_at']],
    });
    return claimed;
  });
}

async function lockSubtasks(ctx: SqlContext, trx: Trx, runId: string, indexes: readonly number[]): Promise<Map<number, Row>> {
  const found = await rows(trx, sql`SELECT * FROM run_subtasks WHERE run_id = ${runId} AND ${inList(ctx, 'idx', [...new Set(indexes)].sort((a, b) => a - b), 'int')} ORDER BY idx FOR UPDATE`);
  return new Map(found.map((row) => [Number(row.idx), row]));
}

export function reportSubtasks(ctx: SqlContext, p: Params<'reportSubtasks'>): Promise<ReportSubtasksResult> {
  return inTransaction(ctx, async (trx) => {
    const now = await dbNow(ctx, trx);
    const result: ReportSubtasksResult = { accepted: [], decisions: [], claimable: false };
    const maps = await lockMaps(ctx, trx, p.results.map((r) => r.runId));
    const writes: SqlValue[][] = [];
    for (const map of maps.values()) {
      const outcomes = p.results.filter((r) => r.runId === map.runId);
      const locked = await lockSubtasks(ctx, trx, map.runId, outcomes.map((r) => r.index));
      for (const outcome of outcomes) {
        const row = locked.get(outcome.index);
        if (!row || row.state !== 'running' || Number(row.lease) !== outcome.lease || row.last_executor !== p.executor || !isActiveMap(map.state)) continue;
        const next = subtaskAfter(toSubtask(row), outcome, map, now);
        locked.set(outcome.index, { ...row, state: next.state });
        writes.push([map.runId, next.index, next.state, outputJson(next.output), next.error, next.availableAt, next.finishedAt]);
        result.accepted.push(next);
        if (next.state === 'pending') {
          result.claimable = true;
        } else if (next.kind === 'reduce') {
          const decision: MapDecision = next.state === 'succeeded'
            ? { runId: map.runId, attempt: map.attempt, status: 'succeeded', output: next.output }
            : { runId: map.runId, attempt: map.attempt, status: 'failed', error: `the reduce failed: ${next.error ?? 'failed'}` };
          await flush(ctx, trx, writes);
          await endMap(trx, map, decision, now);
          result.decisions.push(decision);
        } else if (next.state === 'failed' && map.onSubtaskFailure === 'fail-run') {
          await flush(ctx, trx, writes);
          result.decisions.push(await failMap(trx, map, failRunError(next), now));
        }
      }
      await flush(ctx, trx, writes);
      const settled = await settle(ctx, trx, map, now);
      if (settled.decision) result.decisions.push(settled.decision);
      if (settled.reduceQueued) result.claimable = true;
    }
    return result;
  });
}

/** Writes the ended (or retried) subtasks gathered so far, in one statement, and empties the list. */
async function flush(ctx: SqlContext, trx: Trx, writes: SqlValue[][]): Promise<void> {
  await updateRows(ctx, trx, {
    table: 'run_subtasks', alias: 's', columns: ENDED_COLUMNS, rows: writes.splice(0), on: 's.run_id = v.run_id AND s.idx = v.idx',
    set: [['state', 'v.state'], ['output', 'v.output'], ['error', 'v.error'], ['available_at', 'v.available_at'], ['lease_expires_at', 'NULL'], ['finished_at', 'v.finished_at']],
  });
}

export function extendSubtaskLeases(ctx: SqlContext, p: Params<'extendSubtaskLeases'>): Promise<{ runId: string; index: number }[]> {
  if (p.keys.length === 0) return Promise.resolve([]);
  return inTransaction(ctx, async (trx) => {
    const now = await dbNow(ctx, trx);
    const held = await rows(trx, sql`SELECT s.run_id, s.idx FROM run_subtasks s JOIN ${ctx.dialect.rowsTable('v', [{ name: 'run_id', type: 'text' }, { name: 'idx', type: 'int' }, { name: 'lease', type: 'int' }],
      p.keys.map((k) => [k.runId, k.index, k.lease]))} ON s.run_id = v.run_id AND s.idx = v.idx AND s.lease = v.lease
      WHERE s.state = 'running' AND s.last_executor = ${p.executor}`);
    const keep = new Set(held.map((row) => `${String(row.run_id)}#${Number(row.idx)}`));
    await updateRows(ctx, trx, {
      table: 'run_subtasks', alias: 's', columns: [{ name: 'run_id', type: 'text' }, { name: 'idx', type: 'int' }, { name: 'lease_expires_at', type: 'bigint' }],
      rows: held.map((row) => [row.run_id as string, Number(row.idx), now + p.leaseMs]), on: 's.run_id = v.run_id AND s.idx = v.idx',
      set: [['lease_expires_at', 'v.lease_expires_at']],
    });
    return p.keys.filter((k) => !keep.has(`${k.runId}#${k.index}`)).map((k) => ({ runId: k.runId, index: k.index }));
  });
}

export async function expireSubtaskLeasesOf(ctx: SqlContext, p: Params<'expireSubtaskLeasesOf'>): Promise<number> {
  const now = await dbNow(ctx, ctx.db);
  return affected(ctx.db, sql`UPDATE run_subtasks SET lease_expires_at = ${now - 1}
    WHERE state = 'running' AND last_executor = ${p.executor} AND lease_expires_at >= ${now}`);
}

export async function listSubtasks(ctx: SqlContext, p: Params<'listSubtasks'>): Promise<Page<SubtaskRecord>> {
  const limit = checkPageLimit(p.limit);
  const after = decodeCursor(p.cursor, 'subtask', 1);
  const from = after ? Number(after[0]) : -2;
  const state = p.state === undefined ? sql`` : sql`AND state = ${p.state}`;
  const found = await rows(ctx.db, sql`SELECT * FROM run_subtasks WHERE run_id = ${p.runId} ${state} AND idx > ${from} ORDER BY idx LIMIT ${limit + 1}`);
  return toPage(found.map(toSubtask), limit, 'subtask', (subtask) => [String(subtask.index)]);
}

export async function readSubtaskResults(ctx: SqlContext, p: Params<'readSubtaskResults'>): Promise<SubtaskRecord[]> {
  const found = await rows(ctx.db, sql`SELECT * FROM run_subtasks WHERE run_id = ${p.runId} AND idx > ${Math.max(p.afterIndex, -1)}
    AND state <> 'pending' AND state <> 'running' ORDER BY idx LIMIT ${p.limit}`);
  return found.map(toSubtask);
}

export function sweepSubtasks(ctx: SqlContext, p: Params<'sweepSubtasks'>): Promise<SweepSubtasksResult> {
  return inTransaction(ctx, async (trx) => {
    const now = await dbNow(ctx, trx);
    const result: SweepSubtasksResult = { released: 0, cancelled: 0, decisions: [] };
    const expired = await rows(trx, sql`SELECT run_id FROM run_subtasks WHERE state = 'running' AND lease_expires_at < ${now}
      ORDER BY lease_expires_at LIMIT ${p.limit}`);
    const maps = await lockMaps(ctx, trx, expired.map((row) => row.run_id as string));
    for (const map of maps.values()) {
      const subtasks = (await rows(trx, sql`SELECT * FROM run_subtasks WHERE run_id = ${map.runId} AND state = 'running' AND lease_expires_at < ${now}
        ORDER BY idx FOR UPDATE`)).map(toSubtask);
      for (const subtask of subtasks) {
        result.released += 1;
        if (subtask.lost + 1 < p.maxLost || !isActiveMap(map.state)) {
          await sql`UPDATE run_subtasks SET state = 'pending', lost = lost + 1, lease_expires_at = NULL, available_at = ${now}
            WHERE run_id = ${subtask.runId} AND idx = ${subtask.index}`.execute(trx);
          continue;
        }
        const error = `its lease expired ${p.maxLost} times (the nodes running it stopped answering)`;
        await sql`UPDATE run_subtasks SET state = 'failed', lost = lost + 1, lease_expires_at = NULL, error = ${error}, finished_at = ${now}
          WHERE run_id = ${subtask.runId} AND idx = ${subtask.index}`.execute(trx);
        if (subtask.kind === 'reduce') {
          const decision: MapDecision = { runId: map.runId, attempt: map.attempt, status: 'failed', error: `the reduce failed: ${error}` };
          await endMap(trx, map, decision, now);
          result.decisions.push(decision);
        } else if (map.onSubtaskFailure === 'fail-run' && isActiveMap(map.state)) {
          result.decisions.push(await failMap(trx, map, `subtask ${subtask.index} failed: ${error}`, now));
        }
      }
      const settled = await settle(ctx, trx, map, now);
      if (settled.decision) result.decisions.push(settled.decision);
    }
    const stale = await rows(trx, sql`SELECT m.run_id FROM run_maps m JOIN runs r ON r.id = m.run_id WHERE ${ACTIVE_MAP}
      AND (r.finished_at IS NOT NULL OR r.attempt <> m.attempt OR (r.status <> 'dispatched' AND r.status <> 'running')) LIMIT ${p.limit}`);
    for (const row of stale) {
      if (await cancel(ctx, trx, row.run_id as string, 'cancelled: the run ended or moved to another attempt', now)) result.cancelled += 1;
    }
    const decided = await rows(trx, sql`SELECT m.* FROM run_maps m JOIN runs r ON r.id = m.run_id
      WHERE (m.state = 'succeeded' OR m.state = 'failed') AND m.finished_at < ${p.decidedBefore} AND r.finished_at IS NULL AND r.attempt = m.attempt
        AND (r.status = 'dispatched' OR r.status = 'running') LIMIT ${p.limit}`);
    for (const row of decided) {
      const map = toRunMap(row);
      result.decisions.push(map.state === 'succeeded'
        ? { runId: map.runId, attempt: map.attempt, status: 'succeeded', output: map.output }
        : { runId: map.runId, attempt: map.attempt, status: 'failed', error: map.error });
    }
    return result;
  });
}

async function cancel(ctx: SqlContext, trx: Trx, runId: string, error: string, now: number): Promise<boolean> {
  const map = (await lockMaps(ctx, trx, [runId])).get(runId);
  if (!map) return false;
  let changed = 0;
  if (isActiveMap(map.state)) {
    await sql`UPDATE run_maps SET state = 'cancelled', error = COALESCE(error, ${error}), finished_at = ${now} WHERE run_id = ${runId}`.execute(trx);
    changed += 1;
  }
  changed += await cancelLeft(trx, runId, error, now);
  return changed > 0;
}

export function cancelMap(ctx: SqlContext, p: Params<'cancelMap'>): Promise<boolean> {
  return inTransaction(ctx, async (trx) => cancel(ctx, trx, p.runId, p.error, await dbNow(ctx, trx)));
}
