/**
 * The event log on PostgreSQL and MySQL (see `store/event-triggers.ts`). Triggers insert events
 * with no seq: an identity taken before commit would let a reader see seq 7 before a slower
 * transaction commits seq 6, and skip it for ever. {@link sequenceEvents} numbers the committed
 * ones instead, one caller at a time under the row lock of `event_sequence` (others skip the
 * lock and return), in a transaction whose commit shows its whole batch at once. Each batch's
 * numbers follow the last one's, so what a reader sees is always a prefix of the log: a reader
 * that has seen seq N will never be shown an event below N.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { eventConditions, likePrefix, toEventRecord, type EventCondition } from '../event-rows.ts';
import type { EventFilter, EventRecord } from '../store.ts';
import { logChanges } from './change-feed.ts';
import { affected, firstRow, rows, type SqlContext } from './context.ts';

function render(condition: EventCondition): RawBuilder<unknown> {
  switch (condition.kind) {
    case 'equals':
      return sql`${sql.ref(condition.column)} = ${condition.value}`;
    case 'namespaces': {
      const parts: RawBuilder<unknown>[] = [];
      if (condition.names === null) parts.push(sql`namespace IS NOT NULL`);
      else if (condition.names.length > 0) parts.push(sql`namespace IN (${sql.join(condition.names.map((n) => sql`${n}`))})`);
      if (condition.clusterEvents) parts.push(sql`namespace IS NULL`);
      return parts.length === 0 ? sql`1 = 0` : sql`(${sql.join(parts, sql` OR `)})`;
    }
    case 'types': {
      const parts: RawBuilder<unknown>[] = [];
      if (condition.exact.length > 0) parts.push(sql`type IN (${sql.join(condition.exact.map((t) => sql`${t}`))})`);
      for (const prefix of condition.prefixes) parts.push(sql`type LIKE ${likePrefix(prefix)} ESCAPE '!'`);
      return sql`(${sql.join(parts, sql` OR `)})`;
    }
  }
}

export async function readEvents(ctx: SqlContext, p: { after: number; through?: number; limit: number; filter?: EventFilter }): Promise<EventRecord[]> {
  const where: RawBuilder<unknown>[] = [sql`seq > ${p.after}`];
  if (p.through !== undefined) where.push(sql`seq <= ${p.through}`);
  for (const condition of eventConditions(p.filter)) where.push(render(condition));
  const found = await rows(ctx.db, sql`SELECT seq, at, type, namespace, task_id, run_id, workflow_run_id, data FROM events
    WHERE ${sql.join(where, sql` AND `)} ORDER BY seq LIMIT ${p.limit}`);
  return found.map(toEventRecord);
}

export async function sequenceEvents(ctx: SqlContext, p: { limit: number }): Promise<number> {
  // One read, with no transaction, when there is nothing to number (most calls).
  if (!(await firstRow(ctx.db, sql`SELECT id FROM events WHERE seq IS NULL LIMIT 1`))) return 0;
  // Read committed: on MySQL, no gap lock on the unnumbered rows, which writers insert beside.
  return ctx.db.transaction().setIsolationLevel('read committed').execute(async (trx) => {
    const lock = await firstRow<{ last_seq: unknown }>(trx, sql`SELECT last_seq FROM event_sequence WHERE id = 1 FOR UPDATE SKIP LOCKED`);
    if (!lock) return 0;
    const last = Number(lock.last_seq);
    const numbered = ctx.dialect.name === 'postgres' ? await numberOnPostgres(trx, last, p.limit) : await numberOnMysql(trx, last, p.limit);
    if (numbered > 0) {
      await sql`UPDATE event_sequence SET last_seq = ${last + numbered} WHERE id = 1`.execute(trx);
      // Where commits wake the other nodes (NOTIFY on PostgreSQL), every node's followers read the
      // new events as soon as this commits; MySQL's change log is polled less often than the events.
      if (ctx.dialect.notifyChanges) await logChanges(ctx, trx, [{ kind: 'events', id: String(last + numbered) }]);
    }
    return numbered;
  });
}

async function numberOnPostgres(trx: Kysely<unknown>, last: number, limit: number): Promise<number> {
  return affected(trx, sql`WITH pick AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM events WHERE seq IS NULL ORDER BY id LIMIT ${limit})
    UPDATE events SET seq = ${last} + pick.n FROM pick WHERE events.id = pick.id`);
}

async function numberOnMysql(trx: Kysely<unknown>, last: number, limit: number): Promise<number> {
  await sql`SET @ecron_event_seq = ${last}`.execute(trx);
  return affected(trx, sql`UPDATE events SET seq = (@ecron_event_seq := @ecron_event_seq + 1) WHERE seq IS NULL ORDER BY id LIMIT ${limit}`);
}

export async function lastEventSeq(ctx: SqlContext): Promise<number> {
  const row = await firstRow<{ last_seq: unknown }>(ctx.db, sql`SELECT last_seq FROM event_sequence WHERE id = 1`);
  return row ? Number(row.last_seq) : 0;
}

export async function oldestEventSeq(ctx: SqlContext): Promise<number | null> {
  const row = await firstRow<{ seq: unknown }>(ctx.db, sql`SELECT min(seq) AS seq FROM events WHERE seq IS NOT NULL`);
  return row?.seq === null || row?.seq === undefined ? null : Number(row.seq);
}

export async function deleteEvents(ctx: SqlContext, p: { before: number; limit: number }): Promise<number> {
  // A derived table: MySQL can neither read the table a DELETE deletes from in a subquery nor take LIMIT in an IN subquery.
  return affected(ctx.db, sql`DELETE FROM events WHERE id IN (SELECT id FROM (SELECT id FROM events
    WHERE at < ${p.before} AND seq IS NOT NULL ORDER BY id LIMIT ${p.limit}) AS old)`);
}
