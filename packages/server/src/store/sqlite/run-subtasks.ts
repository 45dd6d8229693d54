/**
 * Map/reduce verbs on SQLite (contract: `store/run-subtasks.ts`). Every verb runs from
 * `BEGIN IMMEDIATE` to `COMMIT` on the one connection, so the single writer is the lock of every
 * map row and of every claim: two claims never see the same pending row, and the transaction that
 * ends a map's last subtask is the only one that decides it.
 */
import { EcronError } from '../../core/errors.ts';
import { outputJson } from '../history-caps.ts';
import { checkPageLimit, decodeCursor, toPage } from '../pagination.ts';
import { MAP_INSERT_COLUMNS, SUBTASK_INSERT_COLUMNS, subtaskValues, toCounts, toRunMap, toSubtask } from '../run-subtask-rows.ts';
import {
  decideSealedMap, failRunError, isActiveMap, sameMapOptions, subtaskAfter, type MapCounts, type MapDecision, type ReportSubtasksResult,
  type RunMapRecord, type RunSubtaskVerbs, type SubtaskRecord, type SweepSubtasksResult,
} from '../run-subtasks.ts';
import type { Page } from '../store.ts';
import type { SqliteConnection } from './connection.ts';
import { dbNow } from './fence.ts';
import type { Row } from './rows.ts';

type Params<K extends keyof RunSubtaskVerbs> = Parameters<RunSubtaskVerbs[K]>[0];

const SELECT_MAP = 'SELECT * FROM run_maps WHERE run_id = ?';
const SELECT_SUBTASK = 'SELECT * FROM run_subtasks WHERE run_id = ? AND idx = ?';
const COUNT_STATES = 'SELECT state, count(*) AS n FROM run_subtasks WHERE run_id = ? AND idx >= 0 GROUP BY state';
/** Whether a map subtask of the run is still pending or running (two index probes, no IN list). */
const ANY_LEFT = `SELECT EXISTS (SELECT 1 FROM run_subtasks WHERE run_id = ?1 AND state = 'pending' AND idx >= 0)
  OR EXISTS (SELECT 1 FROM run_subtasks WHERE run_id = ?1 AND state = 'running' AND idx >= 0) AS left_`;
const CANCEL_LEFT = `UPDATE run_subtasks SET state = 'cancelled', lease_expires_at = NULL, finished_at = ?, error = coalesce(error, ?)
  WHERE run_id = ? AND (state = 'pending' OR state = 'running')`;
const END_MAP = 'UPDATE run_maps SET state = ?, output = ?, error = ?, finished_at = ? WHERE run_id = ?';
const WRITE_SUBTASK = `UPDATE run_subtasks SET state = ?, output = ?, error = ?, available_at = ?, lease_expires_at = NULL, finished_at = ?
  WHERE run_id = ? AND idx = ?`;
const INSERT_SUBTASK = `INSERT OR IGNORE INTO run_subtasks (${SUBTASK_INSERT_COLUMNS.join(', ')}) VALUES (${SUBTASK_INSERT_COLUMNS.map(() => '?').join(', ')})`;

function readMap(conn: SqliteConnection, runId: string): RunMapRecord | null {
  const row = conn.statement(SELECT_MAP).get(runId) as Row | undefined;
  return row ? toRunMap(row) : null;
}

function countsOf(conn: SqliteConnection, runId: string): MapCounts {
  return toCounts(conn.statement(COUNT_STATES).all(runId) as Row[]);
}

function endMap(conn: SqliteConnection, map: RunMapRecord, decision: MapDecision, now: number): void {
  conn.statement(END_MAP).run(decision.status, outputJson(decision.output), decision.error ?? null, now, map.runId);
  map.state = decision.status;
}

/** A fail-run map whose subtask failed for good: the map fails, its other subtasks are cancelled. */
function failMap(conn: SqliteConnection, map: RunMapRecord, error: string, now: number): MapDecision {
  const decision: MapDecision = { runId: map.runId, attempt: map.attempt, status: 'failed', error };
  endMap(conn, map, decision, now);
  conn.statement(CANCEL_LEFT).run(now, 'cancelled: the map failed', map.runId);
  return decision;
}

/** A sealed map with nothing left: queue the reduce, or end it. Null when it is not time yet. */
function settle(conn: SqliteConnection, map: RunMapRecord, now: number): { decision: MapDecision | null; reduceQueued: boolean } {
  if (map.state !== 'running') return { decision: null, reduceQueued: false };
  if ((conn.statement(ANY_LEFT).get(map.runId) as { left_: number }).left_) return { decision: null, reduceQueued: false };
  const next = decideSealedMap(map, countsOf(conn, map.runId));
  if (next.state === 'reducing') {
    conn.statement('UPDATE run_maps SET state = \'reducing\' WHERE run_id = ?').run(map.runId);
    map.state = 'reducing';
    conn.statement(INSERT_SUBTASK).run(...subtaskValues({
      runId: map.runId, index: -1, attempt: map.attempt, namespace: map.namespace, group: map.group, kind: 'reduce', handler: map.reduce!,
      payload: 'null', maxAttempts: map.maxAttempts, at: now,
    }));
    return { decision: null, reduceQueued: true };
  }
  const decision: MapDecision = next.state === 'succeeded'
    ? { runId: map.runId, attempt: map.attempt, status: 'succeeded', output: next.output }
    : { runId: map.runId, attempt: map.attempt, status: 'failed', error: next.error };
  endMap(conn, map, decision, now);
  return { decision, reduceQueued: false };
}

export function appendSubtasks(conn: SqliteConnection, p: Params<'appendSubtasks'>): { total: number; inserted: number } {
  return conn.transaction(() => {
    const run = conn.statement('SELECT status, attempt, finished_at FROM runs WHERE id = ?').get(p.runId) as Row | undefined;
    if (!run) throw new EcronError('RUN_NOT_FOUND');
    if (run.finished_at !== null || run.attempt !== p.attempt || (run.status !== 'dispatched' && run.status !== 'running')) {
      throw new EcronError('MAP_NOT_ALLOWED', `run ${p.runId} is not in flight at attempt ${p.attempt}`);
    }
    const now = dbNow(conn);
    let map = readMap(conn, p.runId);
    if (map && map.attempt !== p.attempt) {
      conn.statement('DELETE FROM run_subtasks WHERE run_id = ?').run(p.runId);
      conn.statement('DELETE FROM run_maps WHERE run_id = ?').run(p.runId);
      map = null;
    }
    const { options } = p;
    if (!map) {
      if (p.offset !== 0) throw new EcronError('MAP_OFFSET_GAP', `the first batch of a map starts at offset 0, not ${p.offset}`);
      conn.statement(`INSERT INTO run_maps (${MAP_INSERT_COLUMNS.join(', ')}) VALUES (${MAP_INSERT_COLUMNS.map(() => '?').join(', ')})`).run(
        p.runId, p.attempt, p.namespace, p.group, 'mapping', options.reduce, options.maxAttempts, options.onSubtaskFailure, options.maxFailedRatio,
        JSON.stringify(options.backoff), 0, now,
      );
      map = readMap(conn, p.runId)!;
    } else {
      if (map.state !== 'mapping') throw new EcronError('MAP_SEALED');
      if (!sameMapOptions(map, options)) throw new EcronError('MAP_OPTIONS_CONFLICT');
      if (p.offset > map.total) throw new EcronError('MAP_OFFSET_GAP', `${map.total} subtasks are stored: a batch at offset ${p.offset} leaves a gap`);
    }
    const end = p.offset + p.payloads.length;
    if (end > p.maxTotal) throw new EcronError('MAP_TOO_LARGE', `a map holds at most ${p.maxTotal} subtasks`);
    const insert = conn.statement(INSERT_SUBTASK);
    let inserted = 0;
    p.payloads.forEach((payload, i) => {
      inserted += Number(insert.run(...subtaskValues({
        runId: p.runId, index: p.offset + i, attempt: p.attempt, namespace: p.namespace, group: p.group, kind: 'map', handler: p.handler, payload,
        maxAttempts: options.maxAttempts, at: now,
      })).changes);
    });
    const total = Math.max(map.total, end);
    if (total !== map.total) conn.statement('UPDATE run_maps SET total = ? WHERE run_id = ?').run(total, p.runId);
    return { total, inserted };
  });
}

export function sealMap(conn: SqliteConnection, p: Params<'sealMap'>): { map: RunMapRecord; decision: MapDecision | null } | null {
  return conn.transaction(() => {
    const map = readMap(conn, p.runId);
    if (!map || map.attempt !== p.attempt) return null;
    if (map.state !== 'mapping') return { map, decision: null };
    const now = dbNow(conn);
    conn.statement('UPDATE run_maps SET state = \'running\', sealed_at = ? WHERE run_id = ?').run(now, p.runId);
    map.state = 'running';
    map.sealedAt = now;
    const { decision } = settle(conn, map, now);
    return { map: readMap(conn, p.runId)!, decision };
  });
}

export function getRunMap(conn: SqliteConnection, runId: string): (RunMapRecord & { counts: MapCounts }) | null {
  const map = readMap(conn, runId);
  return map ? { ...map, counts: countsOf(conn, runId) } : null;
}

const CLAIMABLE = `SELECT run_id, idx FROM run_subtasks INDEXED BY run_subtasks_claim
  WHERE namespace = ? AND group_name = ? AND state = 'pending' AND available_at <= ?
    AND handler IN (SELECT value FROM json_each(?))
    AND (last_executor IS NULL OR last_executor <> ? OR available_at <= ?)
  ORDER BY available_at LIMIT ?`;
const CLAIM = `UPDATE run_subtasks SET state = 'running', lease = lease + 1, executors = json_insert(executors, '$[#]', ?1), last_executor = ?1,
  lease_expires_at = ?2, started_at = coalesce(started_at, ?3) WHERE run_id = ?4 AND idx = ?5`;

export function claimSubtasks(conn: SqliteConnection, p: Params<'claimSubtasks'>): SubtaskRecord[] {
  return conn.transaction(() => {
    const now = dbNow(conn);
    const rows = conn.statement(CLAIMABLE).all(p.namespace, p.group, now, JSON.stringify(p.handlers), p.executor, now - p.avoidMs, p.limit) as Row[];
    const claim = conn.statement(CLAIM);
    const read = conn.statement(SELECT_SUBTASK);
    return rows.map((row) => {
      claim.run(p.executor, now + p.leaseMs, now, row.run_id as string, row.idx as number);
      return toSubtask(read.get(row.run_id as string, row.idx as number) as Row);
    });
  });
}

export function reportSubtasks(conn: SqliteConnection, p: Params<'reportSubtasks'>): ReportSubtasksResult {
  return conn.transaction(() => {
    const now = dbNow(conn);
    const result: ReportSubtasksResult = { accepted: [], decisions: [], claimable: false };
    const byRun = new Map<string, typeof p.results>();
    for (const outcome of p.results) byRun.set(outcome.runId, [...(byRun.get(outcome.runId) ?? []), outcome]);
    const read = conn.statement(SELECT_SUBTASK);
    for (const [runId, outcomes] of byRun) {
      const map = readMap(conn, runId);
      if (!map) continue;
      for (const outcome of outcomes) {
        const row = read.get(runId, outcome.index) as Row | undefined;
        if (!row || row.state !== 'running' || row.lease !== outcome.lease || row.last_executor !== p.executor || !isActiveMap(map.state)) continue;
        const next = subtaskAfter(toSubtask(row), outcome, map, now);
        conn.statement(WRITE_SUBTASK).run(next.state, outputJson(next.output), next.error, next.availableAt, next.finishedAt, runId, outcome.index);
        result.accepted.push(next);
        if (next.state === 'pending') {
          result.claimable = true;
        } else if (next.kind === 'reduce') {
          const decision: MapDecision = next.state === 'succeeded'
            ? { runId, attempt: map.attempt, status: 'succeeded', output: next.output }
            : { runId, attempt: map.attempt, status: 'failed', error: `the reduce failed: ${next.error ?? 'failed'}` };
          endMap(conn, map, decision, now);
          result.decisions.push(decision);
        } else if (next.state === 'failed' && map.onSubtaskFailure === 'fail-run') {
          result.decisions.push(failMap(conn, map, failRunError(next), now));
        }
      }
      const settled = settle(conn, map, now);
      if (settled.decision) result.decisions.push(settled.decision);
      if (settled.reduceQueued) result.claimable = true;
    }
    return result;
  });
}

export function extendSubtaskLeases(conn: SqliteConnection, p: Params<'extendSubtaskLeases'>): { runId: string; index: number }[] {
  if (p.keys.length === 0) return [];
  return conn.transaction(() => {
    const now = dbNow(conn);
    const extend = conn.statement(`UPDATE run_subtasks SET lease_expires_at = ? WHERE run_id = ? AND idx = ? AND state = 'running' AND lease = ? AND last_executor = ?`);
    return p.keys.filter((key) => extend.run(now + p.leaseMs, key.runId, key.index, key.lease, p.executor).changes === 0)
      .map((key) => ({ runId: key.runId, index: key.index }));
  });
}

export function expireSubtaskLeasesOf(conn: SqliteConnection, p: Params<'expireSubtaskLeasesOf'>): number {
  const now = dbNow(conn);
  return conn.statement(`UPDATE run_subtasks INDEXED BY run_subtasks_lease SET lease_expires_at = ?
    WHERE state = 'running' AND last_executor = ? AND lease_expires_at >= ?`).run(now - 1, p.executor, now).changes as number;
}

export function listSubtasks(conn: SqliteConnection, p: Params<'listSubtasks'>): Page<SubtaskRecord> {
  const limit = checkPageLimit(p.limit);
  const after = decodeCursor(p.cursor, 'subtask', 1);
  const from = after ? Number(after[0]) : -2;
  const rows = (p.state === undefined
    ? conn.statement('SELECT * FROM run_subtasks WHERE run_id = ? AND idx > ? ORDER BY idx LIMIT ?').all(p.runId, from, limit + 1)
    : conn.statement('SELECT * FROM run_subtasks WHERE run_id = ? AND state = ? AND idx > ? ORDER BY idx LIMIT ?').all(p.runId, p.state, from, limit + 1)) as Row[];
  return toPage(rows.map(toSubtask), limit, 'subtask', (subtask) => [String(subtask.index)]);
}

export function readSubtaskResults(conn: SqliteConnection, p: Params<'readSubtaskResults'>): SubtaskRecord[] {
  const rows = conn.statement(`SELECT * FROM run_subtasks WHERE run_id = ? AND idx > ? AND idx >= 0 AND state <> 'pending' AND state <> 'running'
    ORDER BY idx LIMIT ?`).all(p.runId, p.afterIndex, p.limit) as Row[];
  return rows.map(toSubtask);
}

const EXPIRED = `SELECT * FROM run_subtasks INDEXED BY run_subtasks_lease WHERE state = 'running' AND lease_expires_at < ? ORDER BY lease_expires_at LIMIT ?`;
/** Maps not final whose run ended, or is at another attempt, or is not in flight. */
const STALE_MAPS = `SELECT m.run_id FROM run_maps m JOIN runs r ON r.id = m.run_id
  WHERE (m.state = 'mapping' OR m.state = 'running' OR m.state = 'reducing')
    AND (r.finished_at IS NOT NULL OR r.attempt <> m.attempt OR (r.status <> 'dispatched' AND r.status <> 'running')) LIMIT ?`;
const DECIDED_MAPS = `SELECT m.* FROM run_maps m JOIN runs r ON r.id = m.run_id
  WHERE (m.state = 'succeeded' OR m.state = 'failed') AND m.finished_at < ? AND r.finished_at IS NULL AND r.attempt = m.attempt
    AND (r.status = 'dispatched' OR r.status = 'running') LIMIT ?`;

export function sweepSubtasks(conn: SqliteConnection, p: Params<'sweepSubtasks'>): SweepSubtasksResult {
  return conn.transaction(() => {
    const now = dbNow(conn);
    const result: SweepSubtasksResult = { released: 0, cancelled: 0, decisions: [] };
    const touched = new Map<string, RunMapRecord>();
    for (const row of conn.statement(EXPIRED).all(now, p.limit) as Row[]) {
      const subtask = toSubtask(row);
      const map = touched.get(subtask.runId) ?? readMap(conn, subtask.runId);
      if (!map) continue;
      touched.set(map.runId, map);
      result.released += 1;
      if (subtask.lost + 1 < p.maxLost || !isActiveMap(map.state)) {
        conn.statement(`UPDATE run_subtasks SET state = 'pending', lost = lost + 1, lease_expires_at = NULL, available_at = ? WHERE run_id = ? AND idx = ?`)
          .run(now, subtask.runId, subtask.index);
        continue;
      }
      const error = `its lease expired ${p.maxLost} times (the nodes running it stopped answering)`;
      conn.statement(WRITE_SUBTASK).run('failed', null, error, subtask.availableAt, now, subtask.runId, subtask.index);
      conn.statement('UPDATE run_subtasks SET lost = lost + 1 WHERE run_id = ? AND idx = ?').run(subtask.runId, subtask.index);
      if (subtask.kind === 'reduce') {
        const decision: MapDecision = { runId: map.runId, attempt: map.attempt, status: 'failed', error: `the reduce failed: ${error}` };
        endMap(conn, map, decision, now);
        result.decisions.push(decision);
      } else if (map.onSubtaskFailure === 'fail-run' && isActiveMap(map.state)) {
        result.decisions.push(failMap(conn, map, `subtask ${subtask.index} failed: ${error}`, now));
      }
    }
    for (const map of touched.values()) {
      const settled = settle(conn, map, now);
      if (settled.decision) result.decisions.push(settled.decision);
    }
    for (const row of conn.statement(STALE_MAPS).all(p.limit) as Row[]) {
      cancel(conn, row.run_id as string, 'cancelled: the run ended or moved to another attempt', now);
      result.cancelled += 1;
    }
    for (const row of conn.statement(DECIDED_MAPS).all(p.decidedBefore, p.limit) as Row[]) {
      const map = toRunMap(row);
      result.decisions.push(map.state === 'succeeded'
        ? { runId: map.runId, attempt: map.attempt, status: 'succeeded', output: map.output }
        : { runId: map.runId, attempt: map.attempt, status: 'failed', error: map.error });
    }
    return result;
  });
}

function cancel(conn: SqliteConnection, runId: string, error: string, now: number): boolean {
  const changed = conn.statement(`UPDATE run_maps SET state = 'cancelled', error = coalesce(error, ?), finished_at = ?
    WHERE run_id = ? AND (state = 'mapping' OR state = 'running' OR state = 'reducing')`).run(error, now, runId).changes;
  const subtasks = conn.statement(CANCEL_LEFT).run(now, error, runId).changes;
  return Number(changed) + Number(subtasks) > 0;
}

export function cancelMap(conn: SqliteConnection, p: Params<'cancelMap'>): boolean {
  return conn.transaction(() => cancel(conn, p.runId, p.error, dbNow(conn)));
}
