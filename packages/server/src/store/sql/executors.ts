/**
 * The executor registry on the SQL stores: executor nodes register and heartbeat, leave, and are
 * listed. Instants are the database clock (`dbNow`), read once per transaction, as for the
 * cluster's own nodes (`cluster.ts`). The column `group` is a reserved word: always `sql.ref`.
 */
import { sql } from 'kysely';
import type { ExecutorNodeRecord } from '../store.ts';
import { dbNow } from './cluster.ts';
import { affected, firstRow, inTransaction, rows, type Row, type SqlContext } from './context.ts';
import type { Column } from './dialect.ts';

/** Executor nodes dead for longer than this are forgotten. */
const FORGET_DEAD_EXECUTORS_MS = 3_600_000;

const EXECUTOR_COLUMNS: readonly Column[] = [
  { name: 'id', type: 'text' }, { name: 'namespace', type: 'text' }, { name: 'group', type: 'text' }, { name: 'mode', type: 'text' }, { name: 'transport', type: 'text' },
  { name: 'address', type: 'text' }, { name: 'labels', type: 'json' }, { name: 'weight', type: 'int' }, { name: 'handlers', type: 'json' },
  { name: 'version', type: 'text' }, { name: 'inflight', type: 'int' }, { name: 'owner', type: 'text' }, { name: 'started_at', type: 'bigint' },
  { name: 'heartbeat_at', type: 'bigint' }, { name: 'expires_at', type: 'bigint' },
];

const json = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value);

const toExecutorNode = (row: Row): ExecutorNodeRecord => ({
  id: row.id as string,
  namespace: row.namespace as string,
  group: row.group as string,
  mode: row.mode as ExecutorNodeRecord['mode'],
  transport: row.transport as ExecutorNodeRecord['transport'],
  address: (row.address as string | null) ?? null,
  labels: json(row.labels) as Record<string, string>,
  weight: Number(row.weight),
  handlers: json(row.handlers) as string[],
  version: row.version as string,
  inflight: Number(row.inflight),
  owner: (row.owner as string | null) ?? null,
  startedAt: Number(row.started_at),
  heartbeatAt: Number(row.heartbeat_at),
  expiresAt: Number(row.expires_at),
});

/**
 * Update, else insert (skipping a row a concurrent first heartbeat of the same node inserted),
 * else update again: no statement fails when two heartbeats of one node race through two API
 * nodes, and started_at stays that of the first.
 */
export async function heartbeatExecutor(ctx: SqlContext, p: { node: Omit<ExecutorNodeRecord, 'startedAt' | 'heartbeatAt' | 'expiresAt'>; ttlMs: number }): Promise<ExecutorNodeRecord> {
  const { node } = p;
  return inTransaction(ctx, async (trx) => {
    const now = await dbNow(ctx, trx);
    const labels = JSON.stringify(node.labels);
    const handlers = JSON.stringify(node.handlers);
    // A live node of another owner or namespace is not updated: a node id cannot be taken over.
    const update = () => affected(trx, sql`UPDATE executor_nodes SET namespace = ${node.namespace}, ${sql.ref('group')} = ${node.group}, mode = ${node.mode},
      transport = ${node.transport}, address = ${node.address}, labels = ${labels}, weight = ${node.weight}, handlers = ${handlers},
      version = ${node.version}, inflight = ${node.inflight}, owner = ${node.owner}, heartbeat_at = ${now}, expires_at = ${now + p.ttlMs}, suspected_at = NULL
      WHERE id = ${node.id} AND (expires_at < ${now} OR ((owner IS NULL OR owner = ${node.owner}) AND namespace = ${node.namespace}))`);
    // Forgetting first: a node is never forgotten by its own heartbeat.
    await sql`DELETE FROM executor_nodes WHERE expires_at < ${now - FORGET_DEAD_EXECUTORS_MS}`.execute(trx);
    if (await update() === 0) {
      const { inserted } = await ctx.dialect.insertRows(trx, {
        table: 'executor_nodes', columns: EXECUTOR_COLUMNS, ignoreDuplicates: true,
        rows: [[node.id, node.namespace, node.group, node.mode, node.transport, node.address, labels, node.weight, handlers, node.version, node.inflight,
          node.owner, now, now, now + p.ttlMs]],
      });
      if (inserted === 0) await update();
    }
    const row = await firstRow(trx, sql`SELECT * FROM executor_nodes WHERE id = ${node.id}`);
    if (row === null) throw new Error(`the executor node ${node.id} was not stored`);
    return toExecutorNode(row);
  });
}

export async function removeExecutor(ctx: SqlContext, id: string): Promise<boolean> {
  return (await affected(ctx.db, sql`DELETE FROM executor_nodes WHERE id = ${id}`)) > 0;
}

export async function listExecutors(ctx: SqlContext, p: { group?: string } = {}): Promise<ExecutorNodeRecord[]> {
  const group = sql.ref('group');
  const found = p.group === undefined
    ? await rows(ctx.db, sql`SELECT * FROM executor_nodes ORDER BY ${group}, id`)
    : await rows(ctx.db, sql`SELECT * FROM executor_nodes WHERE ${group} = ${p.group} ORDER BY id`);
  return found.map(toExecutorNode);
}

/** Marks the nodes whose lease expired and are not marked yet (the store's clock); returns how many. */
export async function markSuspectedExecutors(ctx: SqlContext): Promise<number> {
  return inTransaction(ctx, async (trx) => {
    const now = await dbNow(ctx, trx);
    return affected(trx, sql`UPDATE executor_nodes SET suspected_at = ${now} WHERE expires_at < ${now} AND suspected_at IS NULL`);
  });
}
