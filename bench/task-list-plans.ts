/**
 * The query plans of `GET /api/v1/tasks`, per filter of lib/task-list-data.ts, on a store loaded by
 * bench/task-list-latency.ts (`--keep-store NAME` or `--load-only`), with no server on it.
 *
 *   node bench/task-list-plans.ts --store sqlite|postgres|mysql --reuse-store NAME [--filter TEXT] [--migrate]
 *     [--postgres-url URL] [--mysql-url URL]
 *
 * Each filter's query is the store's own: the store's `listTasks` runs with a connection that
 * records the SQL and its parameters, which then go to EXPLAIN ANALYZE (PostgreSQL), ANALYZE
 * (MariaDB) or EXPLAIN QUERY PLAN (SQLite); a statement slower than 5 s gets EXPLAIN alone, and is
 * not run again. The time is the median of up to 5 runs (the store's own call first, then the
 * statement alone) within 5 s. Page 2 takes its cursor from page 1. `--migrate` first brings the
 * store to the latest schema (the indexes of new migrations). Plans do not need a quiet machine;
 * the times do, a little.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { parseArgs } from 'node:util';
import { Kysely, MysqlDialect, PostgresDialect } from 'kysely';
import mysql from 'mysql2';
import pg from 'pg';
import { parseLabelQuery } from '../packages/server/src/api/schemas.ts';
import { createStore, parseStoreUrl } from '../packages/server/src/store-config.ts';
import { mysqlDialect } from '../packages/server/src/store/mysql/dialect.ts';
import { postgresDialect } from '../packages/server/src/store/postgres/dialect.ts';
import { listTasks as listSqlTasks } from '../packages/server/src/store/sql/tasks.ts';
import type { SqliteConnection } from '../packages/server/src/store/sqlite/connection.ts';
import { listTasks as listSqliteTasks } from '../packages/server/src/store/sqlite/tasks.ts';
import type { ListTasksParams } from '../packages/server/src/store/store.ts';
import { fmt } from './lib/stats.ts';
import { FILTERS, SCOPED_NAMESPACES, type ListFilter } from './lib/task-list-data.ts';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite' },
    'reuse-store': { type: 'string' },
    filter: { type: 'string' },
    migrate: { type: 'boolean', default: false },
    'postgres-url': { type: 'string', default: process.env.ECRON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'mysql-url': { type: 'string', default: process.env.ECRON_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test' },
  },
});
const kind = values.store;
const name = values['reuse-store'];
if (kind !== 'sqlite' && kind !== 'postgres' && kind !== 'mysql') throw new Error('--store: sqlite, postgres or mysql');
if (!name || !/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error('--reuse-store NAME: the store a --keep-store run loaded');
const PAGE = 50;
const REPEAT = 5;
/** A slow statement (a full scan) runs fewer times: once at least. */
const BUDGET_MS = 5000;

interface Captured { sql: string; params: unknown[] }

/** The store's query for one filter, with the cursor of page 1 for page 2. */
function paramsOf(filter: ListFilter, n: number, cursor?: string | null): ListTasksParams {
  const query = new URLSearchParams(filter.query(1, n));
  const get = (key: string) => query.get(key) ?? undefined;
  return {
    namespaces: filter.scoped ? SCOPED_NAMESPACES : null, namespace: get('namespace'), state: get('state') as ListTasksParams['state'],
    name: get('name'), nameContains: get('q'), lastRunStatus: get('lastRunStatus') as ListTasksParams['lastRunStatus'],
    labels: parseLabelQuery(get('label')), limit: PAGE, cursor,
  };
}

interface Engine {
  count(): Promise<number>;
  /** Runs the store's listTasks; the last statement it issued, and the page's cursor. */
  list(p: ListTasksParams): Promise<{ captured: Captured; nextCursor: string | null }>;
  /** EXPLAIN ANALYZE, or EXPLAIN alone when `slow` (not running a full scan again). */
  plan(c: Captured, slow: boolean): Promise<string[]>;
  run(c: Captured): Promise<void>;
  close(): Promise<void>;
}

function sqlEngine(): Engine {
  const captured: Captured[] = [];
  const log = (event: { level: string; query: { sql: string; parameters: readonly unknown[] } }) => {
    captured.push({ sql: event.query.sql, params: [...event.query.parameters] });
  };
  if (kind === 'postgres') {
    // As the store's pool: BIGINT as numbers, JSON as text (the row mapping parses it).
    const types = { getTypeParser: (oid: number) => (oid === 20 ? Number : oid === 114 || oid === 3802 ? (v: string) => v : pg.types.getTypeParser(oid)) };
    const pool = new pg.Pool({ connectionString: values['postgres-url'], max: 1, options: `-c search_path=${name}`, types: types as pg.CustomTypesConfig });
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }), log });
    const ctx = { db, dialect: postgresDialect({ schema: name!, description: name!, url: values['postgres-url'] }) };
    return {
      count: async () => Number((await pool.query("SELECT count(*) AS n FROM tasks WHERE kind = 'task'")).rows[0].n),
      list: async (p) => ({ nextCursor: (await listSqlTasks(ctx, 'task', p)).nextCursor, captured: captured.at(-1)! }),
      plan: async (c, slow) => (await pool.query(`EXPLAIN ${slow ? '' : '(ANALYZE, BUFFERS) '}${c.sql}`, c.params)).rows.map((r: Record<string, string>) => r['QUERY PLAN']!),
      run: async (c) => { await pool.query(c.sql, c.params); },
      close: () => db.destroy(),
    };
  }
  const url = new URL(values['mysql-url']);
  url.pathname = `/${name}`;
  const pool = mysql.createPool({ uri: url.toString(), connectionLimit: 1, charset: 'UTF8MB4_BIN' });
  const db = new Kysely<unknown>({ dialect: new MysqlDialect({ pool }), log });
  const ctx = { db, dialect: mysqlDialect({ description: name! }) };
  const query = (statement: string, params: unknown[] = []) => pool.promise().query(statement, params).then(([rows]) => rows as Record<string, unknown>[]);
  return {
    count: async () => Number((await query("SELECT count(*) AS n FROM tasks WHERE kind = 'task'"))[0]!.n),
    list: async (p) => ({ nextCursor: (await listSqlTasks(ctx, 'task', p)).nextCursor, captured: captured.at(-1)! }),
    // MariaDB's ANALYZE runs the statement: r_rows are the rows each step really read.
    plan: async (c, slow) => (await query(`${slow ? 'EXPLAIN' : 'ANALYZE'} ${c.sql}`, c.params)).map((r) => `${r.table} ${r.type} key=${r.key ?? '-'} rows=${r.rows} r_rows=${r.r_rows ?? '-'} `
      + `filtered=${r.filtered ?? '-'}/${r.r_filtered ?? '-'} ${r.Extra ?? ''}`),
    run: async (c) => { await query(c.sql, c.params); },
    close: () => db.destroy(),
  };
}

function sqliteEngine(): Engine {
  const db = new DatabaseSync(join(tmpdir(), `${name}.db`));
  let captured: Captured = { sql: '', params: [] };
  const conn = {
    statement: (statement: string) => ({
      all: (...params: SQLInputValue[]) => {
        captured = { sql: statement, params };
        return db.prepare(statement).all(...params);
      },
    }),
  } as unknown as SqliteConnection;
  const prepare = (c: Captured) => db.prepare(c.sql);
  return {
    count: async () => Number((db.prepare("SELECT count(*) AS n FROM tasks WHERE kind = 'task'").get() as { n: number }).n),
    list: async (p) => ({ nextCursor: listSqliteTasks(conn, 'task', p).nextCursor, captured }),
    plan: async (c) => (db.prepare(`EXPLAIN QUERY PLAN ${c.sql}`).all(...c.params as SQLInputValue[]) as { detail: string }[]).map((r) => r.detail),
    run: async (c) => { prepare(c).all(...c.params as SQLInputValue[]); },
    close: async () => { db.close(); },
  };
}

async function main(): Promise<void> {
  if (values.migrate) {
    const url = kind === 'sqlite' ? `sqlite:${join(tmpdir(), `${name}.db`)}` : kind === 'postgres' ? `${values['postgres-url']}?schema=${name}` : (() => {
      const u = new URL(values['mysql-url']);
      u.pathname = `/${name}`;
      return u.toString();
    })();
    const store = createStore(parseStoreUrl(url, tmpdir()));
    const started = performance.now();
    await store.open();
    await store.close();
    console.log(`# migrated to the latest schema in ${fmt((performance.now() - started) / 1000)} s`);
  }
  const engine = kind === 'sqlite' ? sqliteEngine() : sqlEngine();
  try {
    const n = await engine.count();
    console.log(`# plans of GET /api/v1/tasks on ${kind} store ${name}, ${n} tasks`);
    for (const filter of FILTERS.filter((f) => !values.filter || f.label.includes(values.filter))) {
      let cursor: string | null | undefined;
      if (filter.page2) cursor = (await engine.list(paramsOf(filter, n))).nextCursor;
      const started = performance.now();
      const { captured } = await engine.list(paramsOf(filter, n, cursor));
      // The store's own call is the first time (with the row mapping, a little more than the statement).
      const times = [performance.now() - started];
      while (times.length < REPEAT && performance.now() - started < BUDGET_MS) {
        const t0 = performance.now();
        await engine.run(captured);
        times.push(performance.now() - t0);
      }
      const plan = await engine.plan(captured, performance.now() - started >= BUDGET_MS);
      times.sort((a, b) => a - b);
      console.log(`\n## ${filter.label}: ${fmt(times[times.length >> 1]!, 2)} ms (median of ${times.length})`);
      console.log(`   ${captured.sql.replace(/\s+/g, ' ')}  -- ${JSON.stringify(captured.params)}`);
      for (const line of plan) console.log(`   ${line}`);
    }
  } finally {
    await engine.close();
  }
}

await main();
