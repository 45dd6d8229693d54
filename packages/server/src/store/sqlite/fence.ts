/**
 * The store clock and the fence of fire recording on SQLite (see `Store.recordFires`), apart from
 * the other cluster verbs so that recording fires does not depend on them.
 */
import type { Fence } from '../store.ts';
import type { SqliteConnection } from './connection.ts';

export function dbNow(conn: SqliteConnection): number {
  return (conn.statement(`SELECT CAST(round(unixepoch('subsec') * 1000) AS INTEGER) AS now`).get() as { now: number }).now;
}

/**
 * The buckets among `buckets` (those of the batch) that `fence` may fire in right now: those whose
 * lease row matches its owner and epoch and has not expired. Called inside the recording transaction.
 */
export function fencedBuckets(conn: SqliteConnection, fence: Fence, buckets: ReadonlySet<number>): Set<number> {
  const now = dbNow(conn);
  const check = conn.statement('SELECT 1 FROM bucket_leases WHERE bucket = ? AND owner = ? AND epoch = ? AND expires_at > ?');
  const allowed = new Set<number>();
  for (const term of fence.terms) {
    if (buckets.has(term.bucket) && check.get(term.bucket, fence.owner, term.epoch, now) !== undefined) allowed.add(term.bucket);
  }
  return allowed;
}

