/**
 * PostgreSQL's capabilities for the shared SQL store: batches travel as one array parameter per
 * column and are spread with `unnest(…)`, so a statement has a fixed number of parameters
 * whatever the batch size; inserts skip duplicates with `ON CONFLICT DO NOTHING` and say what
 * they inserted with `RETURNING`.
 */
import { createHash } from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';
import pg from 'pg';
import { EcronError } from '../../core/errors.ts';
import type { Column, ColumnType, SqlDialect, SqlValue } from '../sql/dialect.ts';

const ARRAY_TYPES: Record<ColumnType, string> = { text: 'text[]', bigint: 'int8[]', int: 'int4[]', double: 'float8[]', json: 'json[]' };

/** SQLSTATEs after which the same transaction may simply be run again. */
const RETRYABLE_SQLSTATES = new Set(['40001' /* serialization_failure */, '40P01' /* deadlock_detected */]);

/**
 * SQLSTATEs meaning the server cannot serve now (as opposed to a bad statement or a constraint
 * the caller broke): shutdown, overload, conflicts, lock and statement timeouts. Class 08
 * (connection exceptions) is matched by prefix.
 */
const UNAVAILABLE_SQLSTATES = new Set([
  ...RETRYABLE_SQLSTATES,
  '57P01' /* admin_shutdown */, '57P02' /* crash_shutdown */, '57P03' /* cannot_connect_now */, '57014' /* query_canceled */,
  '53000' /* insufficient_resources */, '53100' /* disk_full */, '53200' /* out_of_memory */, '53300' /* too_many_connections */,
  '55P03' /* lock_not_available */, '58000' /* system_error */, '58030' /* io_error */, '25006' /* read_only_sql_transaction (a standby) */,
]);

/** Socket errors of the connection, as Node reports them. */
const UNAVAILABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

/** Errors node-postgres raises without a code when the connection or pool is gone. */
const UNAVAILABLE_MESSAGES = [/^Connection terminated/, /timeout exceeded when trying to connect/, /is not queryable/, /Cannot use a pool after calling end/];

/**
 * The transaction's connection broke under it (the server ended the session: a restart, a kill, the
 * idle-in-transaction timeout after this process stalled): the pool discards that connection, and
 * the transaction is worth one more try on a fresh one. A COMMIT whose answer was lost may have
 * committed: every verb is guarded so that a second try cannot apply twice (compare-and-set on
 * versions and statuses, unique keys), and fails clearly where it cannot succeed (a name taken).
 */
function brokenConnection(error: unknown): boolean {
  const code = codeOf(error);
  if (code === '57P01' || code === '25P03' || code === 'ECONNRESET') return true;
  return error instanceof Error && code === null && (/is not queryable/.test(error.message) || /^Connection terminated/.test(error.message));
}

function codeOf(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

/** STORE_UNAVAILABLE for errors of the server or connection; anything else unchanged. */
export function classifyPostgresError(error: unknown, description = 'the PostgreSQL store'): unknown {
  if (!(error instanceof Error)) return error;
  const code = codeOf(error);
  const unavailable = code !== null
    ? UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08') || UNAVAILABLE_SOCKET_CODES.has(code)
    : UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(error.message));
  if (!unavailable) return error;
  return new EcronError('STORE_UNAVAILABLE', `${description} failed: ${error.message}`, { code, retryable: code !== null && RETRYABLE_SQLSTATES.has(code) });
}

/** The 64-bit advisory lock key of migrating `schema`: one lock per schema. */
function migrationLockKey(schema: string): string {
  return createHash('sha256').update(`ecron.migrate:${schema}`).digest().readBigInt64BE(0).toString();
}

/** The NOTIFY channel of `schema`'s change log: one per schema, so stores in other schemas stay quiet. */
export function changeChannel(schema: string): string {
  return `ecron_changes_${schema}`.toLowerCase();
}

/** pg_trgm takes its trigrams from runs of letters and digits: a needle without three in a row has none. */
const HAS_TRIGRAM = /[\p{L}\p{N}]{3}/u;
const NOT_LETTER_OR_DIGIT = /[^\p{L}\p{N}]/gu;
const ONLY_LETTERS_AND_DIGITS = /^[\p{L}\p{N}]*$/u;

/**
 * `name` contains `needle`, ignoring ASCII case (`name` is `COLLATE "C"`): `strpos` on the
 * lowered strings decides, and an `ILIKE` that the trigram index `tasks_name_trgm` (migration
 * 0005) serves finds the candidates. In that pattern every character of the needle that is not a
 * letter or digit is `_` (any one character): pg_trgm adds word-boundary trigrams around such a
 * character when it is written out, and in names like `job-0123457` those are the most common
 * trigrams of all (the start of every `0…` word): `%job-0123457%` read 891 index pages on a
 * million names, `%job_0123457%` 303 (and `%b-0123457%` 854, `%b_0123457%` 26). The pattern needs
 * no escape either: `%` and `_` in the needle become `_` too. A needle without a trigram would
 * read the whole index (a GIN full scan, seconds on a million names), so it gets `strpos` alone and
 * the planner walks `tasks_name` instead.
 */
function nameContains(needle: string): RawBuilder<unknown> {
  const contains = sql`strpos(lower(name), lower(${needle}::text COLLATE "C")) > 0`;
  if (!HAS_TRIGRAM.test(needle)) return contains;
  const pattern = `%${needle.replace(NOT_LETTER_OR_DIGIT, '_')}%`;
  // Letters and digits only: the pattern says exactly what `strpos` would.
  return ONLY_LETTERS_AND_DIGITS.test(needle) ? sql`name ILIKE ${pattern}` : sql`name ILIKE ${pattern} AND ${contains}`;
}

const ARRAY_QUOTED = /[\\"]/g;

/**
 * The text form of a PostgreSQL array of `values` (`{"a","b",NULL}`, `{1,2}`), for a parameter
 * cast to an array type. Given a JS array instead, node-postgres builds this text itself, one
 * string concatenation (and two regular-expression replaces) per element: at ~2,000 fires a second
 * that was a fifth of a scheduler node's allocations (docs/benchmarks.md, "Cluster on PostgreSQL").
 * Every string is quoted, `"` and `\` escaped; numbers go as written; null is `NULL`.
 */
export function arrayLiteral(values: readonly (SqlValue | undefined)[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null || value === undefined) parts[i] = 'NULL';
    else if (typeof value === 'number') parts[i] = String(value);
    else parts[i] = `"${value.includes('"') || value.includes('\\') ? value.replace(ARRAY_QUOTED, '\\$&') : value}"`;
  }
  return `{${parts.join(',')}}`;
}

function columnList(columns: readonly Column[]): RawBuilder<unknown> {
  return sql.join(columns.map((column) => sql.ref(column.name)));
}

/** A LISTEN connection of its own (pooled connections are shared, LISTEN belongs to a session). */
function listener(url: string, channel: string, onWake: () => void): Promise<{ close(): Promise<void> }> {
  let client: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;
  let closed = false;
  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url, application_name: 'ecron-listen' });
    next.on('notification', () => onWake());
    next.on('error', () => undefined);
    next.on('end', () => {
      if (closed || client !== next) return;
      client = null;
      retry = setTimeout(reconnect, 1000);
    });
    await next.connect();
    await next.query(`LISTEN "${channel}"`);
    if (closed) {
      await next.end();
      return;
    }
    client = next;
    onWake();
  };
  const reconnect = (): void => {
    if (!closed) connect().catch(() => { if (!closed) retry = setTimeout(reconnect, 1000); });
  };
  return connect().then(() => ({
    close: async () => {
      closed = true;
      if (retry) clearTimeout(retry);
      await client?.end().catch(() => undefined);
      client = null;
    },
  }));
}

export function postgresDialect(options: { schema: string; description: string; url: string }): SqlDialect {
  const rowsTable = (alias: string, columns: readonly Column[], rows: readonly SqlValue[][]): RawBuilder<unknown> => {
    const arrays = columns.map((column, i) => sql`${arrayLiteral(rows.map((row) => row[i]))}::${sql.raw(ARRAY_TYPES[column.type])}`);
    return sql`unnest(${sql.join(arrays)}) AS ${sql.raw(alias)} (${columnList(columns)})`;
  };
  return {
    name: 'postgres',
    supportsReturning: true,
    forShare: sql`FOR SHARE`,
    forUpdateSkipLocked: sql`FOR UPDATE SKIP LOCKED`,
    notifyChanges: sql`SELECT pg_notify(${changeChannel(options.schema)}, '')`,
    changePollMs: 1000,
    listenForChanges: (onWake) => listener(options.url, changeChannel(options.schema), onWake),
    nowMs: sql`(extract(epoch FROM clock_timestamp()) * 1000)::int8`,
    nameContains,
    labelEquals: (key, value) => sql`(spec -> 'labels' ->> ${key}::text) = ${value}::text`,
    inList: (expr, values, type) => sql`${expr} = ANY(${arrayLiteral(values)}::${sql.raw(ARRAY_TYPES[type])})`,
    rowsTable,
    async insertRows(db, p) {
      const conflict = p.ignoreDuplicates ? sql`ON CONFLICT DO NOTHING` : sql``;
      const returning = p.returnIds ? sql`RETURNING id` : sql``;
      const result = await sql<{ id: string }>`INSERT INTO ${sql.table(p.table)} (${columnList(p.columns)})
        SELECT * FROM ${rowsTable('v', p.columns, p.rows)} ${conflict} ${returning}`.execute(db);
      return { inserted: Number(result.numAffectedRows ?? 0n), ids: p.returnIds ? new Set(result.rows.map((row) => row.id)) : null };
    },
    updateFrom: (p) => sql`UPDATE ${sql.table(p.table)} AS ${sql.raw(p.alias)}
      SET ${sql.join(p.set.map(([column, expression]) => sql`${sql.ref(column)} = ${expression}`))}
      FROM ${p.source} WHERE ${p.on}`,
    withMigrationLock: (db, fn) => db.connection().execute(async (connection) => {
      const key = migrationLockKey(options.schema);
      await sql`SELECT pg_advisory_lock(${key}::int8)`.execute(connection);
      try {
        return await fn(connection);
      } finally {
        await sql`SELECT pg_advisory_unlock(${key}::int8)`.execute(connection);
      }
    }),
    classifyError: (error) => classifyPostgresError(error, options.description),
    isRetryable: (error) => RETRYABLE_SQLSTATES.has(codeOf(error) ?? '') || brokenConnection(error),
    uniqueViolation: (error) => (codeOf(error) === '23505' ? ((error as { constraint?: string }).constraint ?? null) : null),
  };
}
