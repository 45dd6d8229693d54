/**
 * What every verb of the SQL stores is given: the kysely instance over the store's pool and the
 * dialect's capabilities, plus the few helpers that run statements on them.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Column, ColumnType, SqlDialect, SqlValue } from './dialect.ts';

export interface SqlContext {
  readonly db: Kysely<unknown>;
  readonly dialect: SqlDialect;
}

/** A row as the drivers return it (instants and counters already JS numbers, JSON as text). */
export type Row = Record<string, unknown>;

/** A transaction that failed on a deadlock or serialisation conflict is run again, this often in all. */
const TRANSACTION_TRIES = 3;

/**
 * Runs `fn` in one transaction on one pooled connection. A deadlock or serialisation failure
 * rolls it back and runs it again (nothing of it was committed, and `fn` keeps no state of its
 * own between tries); other errors roll back and propagate.
 */
export async function inTransaction<T>(ctx: SqlContext, fn: (trx: Kysely<unknown>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.db.transaction().execute(fn);
    } catch (error) {
      if (attempt >= TRANSACTION_TRIES || !ctx.dialect.isRetryable(error)) throw error;
    }
  }
}

/** The rows a statement returns. */
export async function rows<R = Row>(db: Kysely<unknown>, statement: RawBuilder<unknown>): Promise<R[]> {
  return (await statement.execute(db)).rows as R[];
}

/** The first row a statement returns, or null. */
export async function firstRow<R = Row>(db: Kysely<unknown>, statement: RawBuilder<unknown>): Promise<R | null> {
  return (await rows<R>(db, statement))[0] ?? null;
}

/** How many rows an INSERT, UPDATE or DELETE matched. */
export async function affected(db: Kysely<unknown>, statement: RawBuilder<unknown>): Promise<number> {
  return Number((await statement.execute(db)).numAffectedRows ?? 0n);
}

/** `WHERE a AND b …`, or nothing for no conditions. */
export function whereAll(conditions: readonly RawBuilder<unknown>[]): RawBuilder<unknown> {
  return conditions.length === 0 ? sql`` : sql`WHERE ${sql.join(conditions, sql` AND `)}`;
}

/** `column IN (values)` for a non-empty list, through the dialect. */
export function inList(ctx: SqlContext, column: string, values: readonly SqlValue[], type: ColumnType = 'text'): RawBuilder<unknown> {
  return ctx.dialect.inList(sql.ref(column), values, type);
}

/** JSON text for a JSON column: null for none. Throws (inside the caller's transaction) on a BigInt or a cycle. */
export function jsonOrNull(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

/** `UPDATE table AS alias SET … FROM (rows) AS v WHERE on`, skipped when there are no rows. */
export async function updateRows(ctx: SqlContext, trx: Kysely<unknown>, p: {
  table: string; alias: string; columns: readonly Column[]; rows: SqlValue[][]; on: string; set: [string, string][];
}): Promise<void> {
  if (p.rows.length === 0) return;
  await ctx.dialect.updateFrom({
    table: p.table, alias: p.alias, source: ctx.dialect.rowsTable('v', p.columns, p.rows), on: sql.raw(p.on),
    set: p.set.map(([column, expression]) => [column, sql.raw(expression)]),
  }).execute(trx);
}

