/**
 * MySQL/MariaDB's capabilities for the shared SQL store. mysql2 formats statements on the client
 * (kysely sends them with `query`), and expands an array parameter into a list and an array of
 * arrays into `(…), (…)`: a batch insert is one parameter, whatever its size. There is no
 * `RETURNING` (MySQL 8 has none): inserts report how many rows they wrote, and only when some were
 * skipped are the inserted ids read back. Derived tables are `SELECT … UNION ALL SELECT …`, which
 * both MySQL and MariaDB accept (their table value constructors differ).
 */
import { sql, type RawBuilder } from 'kysely';
import { EcronError } from '../../core/errors.ts';
import type { Column, SqlDialect, SqlValue } from '../sql/dialect.ts';

/** Errors after which the same transaction may simply be run again: deadlock, lock wait timeout. */
const RETRYABLE_ERRNOS = new Set([1213 /* ER_LOCK_DEADLOCK */, 1205 /* ER_LOCK_WAIT_TIMEOUT */]);

/**
 * Server errors meaning it cannot serve now, as opposed to a bad statement or a constraint the
 * caller broke: shutdown, overload, lost connections, read-only servers, statement timeouts.
 */
const UNAVAILABLE_ERRNOS = new Set([
  ...RETRYABLE_ERRNOS,
  1040 /* ER_CON_COUNT_ERROR */, 1053 /* ER_SERVER_SHUTDOWN */, 1077 /* ER_NORMAL_SHUTDOWN */, 1152 /* ER_ABORTING_CONNECTION */,
  1158, 1159, 1160, 1161 /* ER_NET_READ/WRITE errors */, 1290 /* ER_OPTION_PREVENTS_STATEMENT (read-only) */, 1836 /* ER_READ_ONLY_MODE */,
  1927 /* ER_CONNECTION_KILLED (MariaDB) */, 1969 /* ER_STATEMENT_TIMEOUT (MariaDB) */, 3024 /* ER_QUERY_TIMEOUT (MySQL) */,
  2002, 2003, 2006, 2013 /* client: cannot connect, server gone, connection lost */,
]);

/** Codes mysql2 and Node give connection failures (no server errno). */
const UNAVAILABLE_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_SERVER_SHUTDOWN', 'POOL_CLOSED', 'POOL_ENQUEUELIMIT',
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED',
]);

function errnoOf(error: unknown): number | null {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' && errno > 0 ? errno : null;
}

/** STORE_UNAVAILABLE for errors of the server or connection; anything else unchanged. */
export function classifyMysqlError(error: unknown, description = 'the MySQL store'): unknown {
  if (!(error instanceof Error)) return error;
  const errno = errnoOf(error);
  const code = (error as { code?: unknown }).code;
  const fatal = (error as { fatal?: unknown }).fatal === true;
  const unavailable = (errno !== null && UNAVAILABLE_ERRNOS.has(errno)) || (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) || fatal
    || /Pool is closed/.test(error.message);
  if (!unavailable) return error;
  return new EcronError('STORE_UNAVAILABLE', `${description} failed: ${error.message}`, {
    code: typeof code === 'string' ? code : null, errno, retryable: errno !== null && RETRYABLE_ERRNOS.has(errno),
  });
}

/**
 * The budget of one multi-row INSERT, well under the server's `max_allowed_packet` (16 MiB by
 * default on MariaDB, 64 MiB on MySQL 8): a batch of large log lines or params is split.
 */
const INSERT_BYTES = 4 * 1024 * 1024;

/** `rows` in consecutive chunks whose text stays within {@link INSERT_BYTES} (a larger row goes alone). */
export function packetSizedChunks(rows: readonly SqlValue[][], budget = INSERT_BYTES): SqlValue[][][] {
  const chunks: SqlValue[][][] = [];
  let current: SqlValue[][] = [];
  let bytes = 0;
  for (const row of rows) {
    // Escaping may double a string's length; numbers and NULL are short.
    const size = row.reduce<number>((sum, value) => sum + (typeof value === 'string' ? 2 * value.length + 4 : 24), 4);
    if (current.length > 0 && bytes + size > budget) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export function mysqlDialect(options: { description: string }): SqlDialect {
  const columnList = (columns: readonly Column[]): RawBuilder<unknown> => sql.join(columns.map((column) => sql.ref(column.name)));
  return {
    name: 'mysql',
    supportsReturning: false,
    forShare: sql`LOCK IN SHARE MODE`,
    forUpdateSkipLocked: sql`FOR UPDATE SKIP LOCKED`,
    notifyChanges: null,
    changePollMs: 200,
    nowMs: sql`CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)`,
    // mysql2 expands the array parameter into `v1, v2, …`.
    // No index serves a substring (FULLTEXT's ngram parser matches tokens, not substrings): a scan.
    nameContains: (needle) => sql`position(lower(${needle}) in lower(name)) > 0`,
    labelEquals: (key, value) => sql`JSON_UNQUOTE(JSON_EXTRACT(spec, ${`$.labels."${key}"`})) = ${value}`,
    inList: (expr, values) => sql`${expr} IN (${values})`,
    rowsTable: (alias, columns, rows) => {
      const [first, ...rest] = rows as SqlValue[][];
      const head = sql`SELECT ${sql.join(columns.map((column, i) => sql`${first![i]} AS ${sql.ref(column.name)}`))}`;
      const tail = rest.map((row) => sql` UNION ALL SELECT ${row}`);
      return sql`(${head}${sql.join(tail, sql``)}) AS ${sql.raw(alias)}`;
    },
    async insertRows(db, p) {
      let inserted = 0;
      const ids = p.returnIds ? new Set<string>() : null;
      for (const rows of packetSizedChunks(p.rows)) {
        // mysql2 expands the array of arrays into `(…), (…)`.
        const result = await sql`INSERT ${p.ignoreDuplicates ? sql`IGNORE` : sql``} INTO ${sql.table(p.table)} (${columnList(p.columns)})
          VALUES ${rows}`.execute(db);
        const count = Number(result.numAffectedRows ?? 0n);
        inserted += count;
        if (ids === null) continue;
        const chunkIds = rows.map((row) => row[0] as string);
        if (count === chunkIds.length) {
          for (const id of chunkIds) ids.add(id);
          continue;
        }
        // Some were skipped: the ids are new, so those present now are the ones this insert wrote.
        const present = await sql<{ id: string }>`SELECT id FROM ${sql.table(p.table)} WHERE id IN (${chunkIds})`.execute(db);
        for (const row of present.rows) ids.add(row.id);
      }
      return { inserted, ids };
    },
    updateFrom: (p) => sql`UPDATE ${sql.table(p.table)} AS ${sql.raw(p.alias)} JOIN ${p.source} ON ${p.on}
      SET ${sql.join(p.set.map(([column, expression]) => sql`${sql.ref(`${p.alias}.${column}`)} = ${expression}`))}`,
    withMigrationLock: (db, fn) => db.connection().execute(async (connection) => {
      const name = sql`SHA1(CONCAT('ecron.migrate:', DATABASE()))`;
      const { rows } = await sql<{ locked: number | null }>`SELECT GET_LOCK(${name}, 120) AS locked`.execute(connection);
      if (Number(rows[0]?.locked) !== 1) throw new EcronError('STORE_UNAVAILABLE', `${options.description}: timed out waiting for the migration lock`);
      try {
        return await fn(connection);
      } finally {
        await sql`SELECT RELEASE_LOCK(${name})`.execute(connection);
      }
    }),
    classifyError: (error) => classifyMysqlError(error, options.description),
    isRetryable: (error) => RETRYABLE_ERRNOS.has(errnoOf(error) ?? 0),
    uniqueViolation: (error) => {
      if (errnoOf(error) !== 1062 /* ER_DUP_ENTRY */) return null;
      // "Duplicate entry 'x' for key 'tasks_name'" (MariaDB) or "… for key 'tasks.tasks_name'" (MySQL 8).
      return /for key '(?:[^']*\.)?([^'.]+)'/.exec((error as Error).message)?.[1] ?? null;
    },
  };
}
