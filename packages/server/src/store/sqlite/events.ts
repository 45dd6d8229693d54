/**
 * The event log on SQLite (see `store/event-triggers.ts`): the triggers insert each event with
 * its seq (AUTOINCREMENT, in commit order since writers are serialised), so there is nothing to
 * number after commit.
 */
import { eventConditions, likePrefix, toEventRecord, type EventCondition } from '../event-rows.ts';
import type { EventFilter, EventRecord } from '../store.ts';
import type { SqliteConnection } from './connection.ts';
import type { Row } from './rows.ts';

function render(condition: EventCondition, params: (string | number)[]): string {
  switch (condition.kind) {
    case 'equals':
      params.push(condition.value);
      return `${condition.column} = ?`;
    case 'namespaces': {
      const parts: string[] = [];
      if (condition.names === null) parts.push('namespace IS NOT NULL');
      else if (condition.names.length > 0) {
        parts.push(`namespace IN (${condition.names.map(() => '?').join(', ')})`);
        params.push(...condition.names);
      }
      if (condition.clusterEvents) parts.push('namespace IS NULL');
      return parts.length === 0 ? '0' : `(${parts.join(' OR ')})`;
    }
    case 'types': {
      const parts: string[] = [];
      if (condition.exact.length > 0) {
        parts.push(`type IN (${condition.exact.map(() => '?').join(', ')})`);
        params.push(...condition.exact);
      }
      for (const prefix of condition.prefixes) {
        parts.push(`type LIKE ? ESCAPE '!'`);
        params.push(likePrefix(prefix));
      }
      return `(${parts.join(' OR ')})`;
    }
  }
}

export function readEvents(conn: SqliteConnection, p: { after: number; through?: number; limit: number; filter?: EventFilter }): EventRecord[] {
  const params: (string | number)[] = [p.after];
  const where = ['seq > ?'];
  if (p.through !== undefined) {
    where.push('seq <= ?');
    params.push(p.through);
  }
  for (const condition of eventConditions(p.filter)) where.push(render(condition, params));
  params.push(p.limit);
  const rows = conn.statement(`SELECT seq, at, type, namespace, task_id, run_id, workflow_run_id, data FROM events
    WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`).all(...params) as Row[];
  return rows.map(toEventRecord);
}

export function lastEventSeq(conn: SqliteConnection): number {
  // sqlite_sequence keeps the highest AUTOINCREMENT number given, even once its row is deleted.
  const row = conn.statement(`SELECT seq FROM sqlite_sequence WHERE name = 'events'`).get() as Row | undefined;
  return row ? Number(row.seq) : 0;
}

export function oldestEventSeq(conn: SqliteConnection): number | null {
  const row = conn.statement(`SELECT min(seq) AS seq FROM events`).get() as Row | undefined;
  return row?.seq === null || row?.seq === undefined ? null : Number(row.seq);
}

export function deleteEvents(conn: SqliteConnection, p: { before: number; limit: number }): number {
  const result = conn.statement(`DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE at < ? ORDER BY seq LIMIT ?)`).run(p.before, p.limit);
  return Number(result.changes);
}
