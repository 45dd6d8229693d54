/**
 * What the store says after a chaos run: runs recorded per status, duplicate fires by the unique
 * key, skipped fires, and, for every fire the executor never received or every run not
 * succeeded, its run and attempts (status, owner and whether that owner was killed, sent_at), so
 * that a missed fire can be explained.
 */
import { adminStatement } from '../../packages/server/scripts/scratch-sql-store.ts';
import type { NodeProcess } from './cluster.ts';

export interface StoreFigures {
  /** Scheduled runs with scheduled_at ≤ endAt, by status. */
  recordedByStatus: Record<string, number>;
  recorded: number;
  duplicateFires: number;
  skippedFires: number;
  /** Runs up to endAt not finished when the store was read, by status and owner. */
  unfinished: { status: string; owner: string; count: number }[];
  /** One row per missed fire or unsucceeded run (up to 200). */
  explained: ExplainedRun[];
}

export interface ExplainedRun {
  taskId: string;
  scheduledAt: string;
  /** Whether the executor received it. */
  delivered: boolean;
  runId: string | null;
  status: string | null;
  owner: string | null;
  createdAt: string | null;
  finishedAt: string | null;
  error: string | null;
  attempts: { number: number; status: string; sentAt: string | null; startedAt: string; finishedAt: string | null; error: string | null }[];
}

const iso = (ms: unknown): string | null => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());

/** Describes a node id: which slot's process it was, how it ended, and when. */
export function describeOwner(nodeId: string | null, processes: NodeProcess[]): string {
  if (nodeId === null) return 'none';
  const node = processes.find((p) => p.nodeId === nodeId);
  if (!node) return `${nodeId.slice(0, 10)} (unknown process)`;
  const ended = node.end === null ? 'running' : `${node.end === 'kill' ? 'killed' : node.end === 'stop' ? 'stopped at the end' : 'crashed'} ${iso(node.endedAt)?.slice(11, 23)}`;
  return `slot ${node.slot} pid ${node.pid} (${ended})`;
}

/**
 * `serverUrl`: the database server; `scratch`: the schema (PostgreSQL) or database (MySQL) name.
 * `missed`: fires never received; `received`: fires received (to tell the unsucceeded runs apart).
 */
export async function storeReport(serverUrl: string, scratch: string, endAt: number, missed: { taskId: string; scheduledAt: number }[], received: (taskId: string, scheduledAt: number) => boolean, processes: NodeProcess[]): Promise<StoreFigures> {
  // `trigger` is a reserved word in MySQL.
  const trigger = serverUrl.startsWith('mysql') ? '`trigger`' : 'trigger';
  const q = (sql: string) => adminStatement(serverUrl, sql.replaceAll('trigger =', `${trigger} =`));
  const byStatus = await q(`SELECT status, count(*) AS n FROM ${scratch}.runs WHERE trigger = 'schedule' AND scheduled_at <= ${endAt} GROUP BY status`);
  const recordedByStatus = Object.fromEntries(byStatus.map((row) => [String(row.status), Number(row.n)]));
  const [dup] = await q(`SELECT count(*) AS n FROM (SELECT task_id, scheduled_at FROM ${scratch}.runs WHERE trigger = 'schedule' GROUP BY task_id, scheduled_at HAVING count(*) > 1) d`);
  const [skipped] = await q(`SELECT coalesce(sum(skipped_fires), 0) AS n FROM ${scratch}.tasks`);
  const unfinishedRows = await q(`SELECT status, owner, count(*) AS n FROM ${scratch}.runs WHERE finished_at IS NULL AND scheduled_at <= ${endAt} GROUP BY status, owner`);
  const unfinished = unfinishedRows.map((row) => ({ status: String(row.status), owner: describeOwner(row.owner as string | null, processes), count: Number(row.n) }));

  // The runs to explain: missed fires (recorded or not) and runs up to endAt that did not succeed.
  const keys = missed.slice(0, 200);
  const missedRows = keys.length === 0 ? [] : await q(`SELECT id, task_id, scheduled_at FROM ${scratch}.runs WHERE trigger = 'schedule' AND (task_id, scheduled_at) IN (${keys.map((k) => `('${k.taskId}', ${k.scheduledAt})`).join(', ')})`);
  const failedRows = await q(`SELECT id, task_id, scheduled_at FROM ${scratch}.runs WHERE trigger = 'schedule' AND scheduled_at <= ${endAt} AND status <> 'succeeded' ORDER BY scheduled_at LIMIT 200`);
  const runIds = [...new Set([...missedRows, ...failedRows].map((row) => String(row.id)))];
  const runs = runIds.length === 0 ? [] : await q(`SELECT id, task_id, scheduled_at, status, owner, created_at, finished_at, error FROM ${scratch}.runs WHERE id IN (${runIds.map((id) => `'${id}'`).join(', ')})`);
  const attempts = runIds.length === 0 ? [] : await q(`SELECT run_id, number, status, sent_at, started_at, finished_at, error FROM ${scratch}.attempts WHERE run_id IN (${runIds.map((id) => `'${id}'`).join(', ')}) ORDER BY run_id, number`);
  const explained: ExplainedRun[] = runs.map((run) => ({
    taskId: String(run.task_id), scheduledAt: iso(run.scheduled_at)!, delivered: received(String(run.task_id), Number(run.scheduled_at)),
    runId: String(run.id), status: String(run.status), owner: describeOwner(run.owner as string | null, processes),
    createdAt: iso(run.created_at), finishedAt: iso(run.finished_at), error: run.error === null ? null : String(run.error),
    attempts: attempts.filter((a) => a.run_id === run.id).map((a) => ({
      number: Number(a.number), status: String(a.status), sentAt: iso(a.sent_at), startedAt: iso(a.started_at)!, finishedAt: iso(a.finished_at), error: a.error === null ? null : String(a.error),
    })),
  }));
  const recordedKeys = new Set(missedRows.map((row) => `${row.task_id}@${Number(row.scheduled_at)}`));
  for (const k of keys) {
    if (recordedKeys.has(`${k.taskId}@${k.scheduledAt}`)) continue;
    explained.push({ taskId: k.taskId, scheduledAt: iso(k.scheduledAt)!, delivered: false, runId: null, status: null, owner: null, createdAt: null, finishedAt: null, error: 'never recorded', attempts: [] });
  }
  explained.sort((a, b) => a.scheduledAt.localeCompare(b.scheduledAt));
  return {
    recordedByStatus, recorded: Object.values(recordedByStatus).reduce((a, b) => a + b, 0),
    duplicateFires: Number(dup?.n ?? 0), skippedFires: Number(skipped?.n ?? 0), unfinished, explained,
  };
}
