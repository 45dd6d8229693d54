/**
 * Run log lines for the SQL stores. Sequence numbers are 1, 2, … per run with no gaps, so the
 * highest seq is also the number of lines stored. A batch locks its runs (in id order), so two
 * concurrent appends to one run never pick the same seq.
 */
import { sql } from 'kysely';
import type { RunLogRecord } from '../../core/model.ts';
import { logCapNotice } from '../history-caps.ts';
import { toRunLog } from '../sqlite/rows.ts';
import { RUN_LOG_LINE_CAP, type NewLogLine } from '../store.ts';
import { inList, inTransaction, rows, type SqlContext } from './context.ts';
import type { Column, SqlValue } from './dialect.ts';

const LOG_COLUMNS: readonly Column[] = [
  { name: 'run_id', type: 'text' }, { name: 'seq', type: 'int' }, { name: 'attempt', type: 'int' }, { name: 'at', type: 'bigint' },
  { name: 'level', type: 'text' }, { name: 'message', type: 'text' },
];

/**
 * Appends lines in one transaction and one multi-row insert. Lines of unknown runs are dropped. A
 * run keeps at most {@link RUN_LOG_LINE_CAP} lines plus one `warn` notice; later lines are
 * dropped. Returns how many of `lines` were stored (the notice is not counted).
 */
export async function appendRunLogs(ctx: SqlContext, lines: readonly NewLogLine[]): Promise<number> {
  if (lines.length === 0) return 0;
  const runIds = [...new Set(lines.map((line) => line.runId))].sort();
  return inTransaction(ctx, async (trx) => {
    await sql`SELECT id FROM runs WHERE ${inList(ctx, 'id', runIds)} ORDER BY id FOR UPDATE`.execute(trx);
    const positions = await rows<{ id: string; last: number | null }>(trx, sql`SELECT r.id, (SELECT max(l.seq) FROM run_logs l WHERE l.run_id = r.id) AS last
      FROM runs r WHERE ${ctx.dialect.inList(sql.ref('r.id'), runIds, 'text')}`);
    /** Highest seq per run so far; runs that do not exist are absent. */
    const last = new Map(positions.map((row) => [row.id, row.last === null ? 0 : Number(row.last)]));
    const inserts: SqlValue[][] = [];
    let stored = 0;
    for (const line of lines) {
      const seq = last.get(line.runId);
      if (seq === undefined) continue;
      if (seq < RUN_LOG_LINE_CAP) {
        inserts.push([line.runId, seq + 1, line.attempt, line.at, line.level, line.message]);
        stored += 1;
      } else if (seq === RUN_LOG_LINE_CAP) {
        inserts.push([line.runId, seq + 1, line.attempt, line.at, 'warn', logCapNotice(RUN_LOG_LINE_CAP)]);
      } else {
        continue;
      }
      last.set(line.runId, seq + 1);
    }
    if (inserts.length > 0) await ctx.dialect.insertRows(trx, { table: 'run_logs', columns: LOG_COLUMNS, rows: inserts });
    return stored;
  });
}

/** Lines after `afterSeq` (default: from the start), in seq order. */
export async function listRunLogs(ctx: SqlContext, p: { runId: string; afterSeq?: number; limit: number }): Promise<RunLogRecord[]> {
  const found = await rows(ctx.db, sql`SELECT * FROM run_logs WHERE run_id = ${p.runId} AND seq > ${p.afterSeq ?? 0} ORDER BY seq LIMIT ${p.limit}`);
  return found.map(toRunLog);
}
