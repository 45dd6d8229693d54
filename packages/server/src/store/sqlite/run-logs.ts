/**
 * Run log lines (history). Sequence numbers are 1, 2, … per run, with no gaps, so the highest seq
 * is also the number of lines stored.
 */
import type { RunLogRecord } from '../../core/model.ts';
import { logCapNotice } from '../history-caps.ts';
import { RUN_LOG_LINE_CAP, type NewLogLine } from '../store.ts';
import type { SqliteConnection } from './connection.ts';
import { toRunLog, type Row } from './rows.ts';

/** LOG_POSITION — in: run id twice. Out: whether the run exists, and its highest seq (null for none). */
const LOG_POSITION = `SELECT EXISTS (SELECT 1 FROM runs WHERE id = ?) AS present, (SELECT max(seq) FROM run_logs WHERE run_id = ?) AS last`;
/** INSERT_LOG — in: run id, seq, attempt, at, level, message. The (run_id, seq) key refuses a duplicate. */
const INSERT_LOG = `INSERT INTO run_logs (run_id, seq, attempt, at, level, message) VALUES (?, ?, ?, ?, ?, ?)`;

/**
 * Appends lines in one transaction. Lines of unknown runs are dropped. A run keeps at most
 * {@link RUN_LOG_LINE_CAP} lines plus one `warn` notice; later lines are dropped. Returns how many
 * of `lines` were stored (the notice is not counted).
 */
export function appendRunLogs(conn: SqliteConnection, lines: NewLogLine[]): number {
  if (lines.length === 0) return 0;
  const position = conn.statement(LOG_POSITION);
  const insert = conn.statement(INSERT_LOG);
  return conn.transaction(() => {
    /** Highest seq per run seen in this batch; null for a run that does not exist. */
    const last = new Map<string, number | null>();
    let stored = 0;
    for (const line of lines) {
      let seq = last.get(line.runId);
      if (seq === undefined) {
        const row = position.get(line.runId, line.runId) as { present: number; last: number | null };
        seq = row.present ? (row.last ?? 0) : null;
      }
      if (seq === null) {
        last.set(line.runId, null);
        continue;
      }
      if (seq < RUN_LOG_LINE_CAP) {
        insert.run(line.runId, seq + 1, line.attempt, line.at, line.level, line.message);
        stored += 1;
        seq += 1;
      } else if (seq === RUN_LOG_LINE_CAP) {
        insert.run(line.runId, seq + 1, line.attempt, line.at, 'warn', logCapNotice(RUN_LOG_LINE_CAP));
        seq += 1;
      }
      last.set(line.runId, seq);
    }
    return stored;
  });
}

/** Lines after `afterSeq` (default: from the start), in seq order. */
export function listRunLogs(conn: SqliteConnection, p: { runId: string; afterSeq?: number; limit: number }): RunLogRecord[] {
  const rows = conn.statement('SELECT * FROM run_logs WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?')
    .all(p.runId, p.afterSeq ?? 0, p.limit) as Row[];
  return rows.map(toRunLog);
}
