/**
 * What differs between the SQL stores (PostgreSQL, MySQL/MariaDB), behind one small capability
 * object in the manner of db-scheduler's `JdbcCustomization`. The verbs in this folder are
 * written once against it; each dialect's folder supplies one.
 *
 * Everything here builds kysely `sql` fragments, so placeholders (`$1` or `?`) and identifier
 * quoting follow the dialect kysely was given.
 */
import type { Kysely, RawBuilder } from 'kysely';

/** A column type as the batch helpers need to know it (PostgreSQL casts its arrays to it). */
export type ColumnType = 'text' | 'bigint' | 'int' | 'double' | 'json';

export interface Column {
  name: string;
  type: ColumnType;
}

/** A value bound to a statement. Instants and counters are JS numbers, JSON is text. */
export type SqlValue = string | number | null;

export interface SqlDialect {
  readonly name: 'postgres' | 'mysql';
  /** `UPDATE … RETURNING` and `INSERT … RETURNING` exist (PostgreSQL); otherwise read back. */
  readonly supportsReturning: boolean;

  /** The lock clause of a read that others may share but not change until commit. */
  readonly forShare: RawBuilder<unknown>;
  /** The lock clause of a claim: rows another transaction holds are skipped, not waited for. */
  readonly forUpdateSkipLocked: RawBuilder<unknown>;
  /**
   * A statement, run in the transaction that logs changes, that wakes change listeners on commit
   * (PostgreSQL `pg_notify`); null when the dialect has none and listeners poll the change log.
   */
  readonly notifyChanges: RawBuilder<unknown> | null;
  /**
   * Opens a dedicated connection that calls `onWake` when another transaction's
   * `notifyChanges` commits (PostgreSQL LISTEN); absent when the dialect has none. The listener
   * reconnects by itself after a failure and calls `onWake` then too (changes may have been missed).
   */
  listenForChanges?(onWake: () => void): Promise<{ close(): Promise<void> }>;
  /** How often listeners poll the change log: the propagation delay without a wake-up. */
  readonly changePollMs: number;
  /** The database clock in epoch milliseconds, as a BIGINT expression. */
  readonly nowMs: RawBuilder<unknown>;

  /**
   * The condition that a task's `name` contains `needle`, ignoring ASCII case. PostgreSQL's uses
   * the trigram index `tasks_name_trgm` when `needle` has one; MySQL's scans (see `listTasks`).
   */
  nameContains(needle: string): RawBuilder<unknown>;

  /**
   * The condition that a task's spec has label `key` with `value` (`spec.labels[key]`). `key` matches
   * the spec's TASK_LABEL_KEY (no quote). No index serves it: it filters the rows the other conditions
   * leave (an index of the labels would cost every fire; see migration 0024).
   */
  labelEquals(key: string, value: string): RawBuilder<unknown>;

  /** `expr IN (values…)` with `values` bound as one list parameter; `values` is never empty. */
  inList(expr: RawBuilder<unknown>, values: readonly SqlValue[], type: ColumnType): RawBuilder<unknown>;

  /**
   * A derived table named `alias` with `columns`, holding `rows` (each in column order), for
   * `UPDATE … FROM` and `INSERT … SELECT`. Never called with no rows.
   */
  rowsTable(alias: string, columns: readonly Column[], rows: readonly SqlValue[][]): RawBuilder<unknown>;

  /**
   * `INSERT INTO table (columns) <rows>`. With `ignoreDuplicates`, a row whose key exists is not
   * inserted and is no error. Returns the ids (column `id`) of the rows inserted when `returnIds`
   * is set (the dialect reads them back when it has no `RETURNING`), and how many were inserted.
   */
  insertRows(db: Kysely<unknown>, p: {
    table: string; columns: readonly Column[]; rows: readonly SqlValue[][]; ignoreDuplicates?: boolean; returnIds?: boolean;
  }): Promise<{ inserted: number; ids: Set<string> | null }>;

  /**
   * `UPDATE table AS alias SET … FROM source WHERE on` in the dialect's syntax: each `set` entry is
   * `[column, expression]`, the expression may name `alias` and the source's alias.
   */
  updateFrom(p: {
    table: string; alias: string; source: RawBuilder<unknown>; on: RawBuilder<unknown>; set: readonly [string, RawBuilder<unknown>][];
  }): RawBuilder<unknown>;

  /**
   * Runs `fn` holding the database-wide lock that serialises migrations between processes, on
   * the one connection `fn` is given (session locks belong to a connection).
   */
  withMigrationLock<T>(db: Kysely<unknown>, fn: (connection: Kysely<unknown>) => Promise<T>): Promise<T>;

  /** STORE_UNAVAILABLE for failures of the database or the connection; anything else unchanged. */
  classifyError(error: unknown): unknown;
  /** A serialisation failure, a deadlock or a connection that broke under the transaction: the whole transaction may be run again. */
  isRetryable(error: unknown): boolean;
  /** The name of the unique constraint or index a failed insert or update broke, else null. */
  uniqueViolation(error: unknown): string | null;
}
