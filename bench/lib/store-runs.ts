/**
 * What the store says about the runs of a measurement window: read straight from the server's
 * SQLite file (read-only; WAL lets it read while the server writes) or its PostgreSQL schema.
 * Used by bench/executor-dispatch.ts to check the executors' own counts against the store.
 */
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { summarize, type Summary } from './stats.ts';

export type StoreLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema: string };

export interface StoreWindow {
  /** Runs whose status became final in the window, by status. */
  finishedByStatus: Record<string, number>;
  /** Succeeded runs that ended in the window, by the executor node of their last attempt. */
  succeededByExecutor: Record<string, number>;
  /**
   * Scheduled runs due in the window, by status, as of `openAt` (when the executors were told to
   * stop): a run that ended later counts as `open` (not done by then; the stop itself ends it).
   */
  dueByStatus: Record<string, number>;
  /** For succeeded runs due in the window: finished_at − scheduled_at (the server recorded the outcome). */
  fireToFinished: Summary;
}

const QUERIES = {
  finished: 'SELECT status, count(*) AS n FROM runs WHERE finished_at >= $1 AND finished_at < $2 GROUP BY status',
  byExecutor: `SELECT a.executor AS executor, count(*) AS n FROM runs r JOIN attempts a ON a.run_id = r.id AND a.number = r.attempt
    WHERE r.finished_at >= $1 AND r.finished_at < $2 AND r.status = 'succeeded' GROUP BY a.executor`,
  due: `SELECT CASE WHEN finished_at IS NOT NULL AND finished_at < $3 THEN status ELSE 'open' END AS status, count(*) AS n
    FROM runs WHERE trigger = 'schedule' AND scheduled_at >= $1 AND scheduled_at < $2 GROUP BY 1`,
  delays: `SELECT finished_at - scheduled_at AS d FROM runs WHERE trigger = 'schedule' AND scheduled_at >= $1 AND scheduled_at < $2 AND status = 'succeeded'`,
};

type Row = Record<string, unknown>;

function tally(rows: Row[], key: string): Record<string, number> {
  return Object.fromEntries(rows.map((row) => [String(row[key] ?? 'none'), Number(row.n)]));
}

export async function readStoreWindow(store: StoreLocation, from: number, to: number, openAt: number): Promise<StoreWindow> {
  const run = store.kind === 'sqlite' ? sqliteRunner(store.path) : await postgresRunner(store.url, store.schema);
  try {
    const [finished, byExecutor, due, delays] = [
      await run.all(QUERIES.finished, from, to), await run.all(QUERIES.byExecutor, from, to),
      await run.all(QUERIES.due, from, to, openAt), await run.all(QUERIES.delays, from, to),
    ];
    return {
      finishedByStatus: tally(finished, 'status'),
      succeededByExecutor: tally(byExecutor, 'executor'),
      dueByStatus: tally(due, 'status'),
      fireToFinished: summarize(delays.map((row) => Number(row.d))),
    };
  } finally {
    await run.close();
  }
}

interface Runner {
  all(sql: string, ...params: number[]): Promise<Row[]>;
  close(): Promise<void>;
}

function sqliteRunner(path: string): Runner {
  const db = new DatabaseSync(path, { readOnly: true });
  db.exec('PRAGMA busy_timeout = 5000');
  return {
    all: async (sql, ...params) => db.prepare(sql.replaceAll(/\$(\d)/g, '?$1')).all(...params) as Row[],
    close: async () => db.close(),
  };
}

async function postgresRunner(url: string, schema: string): Promise<Runner> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`SET search_path TO ${schema}`);
  return {
    all: async (sql, ...params) => (await client.query(sql, params)).rows as Row[],
    close: () => client.end(),
  };
}
