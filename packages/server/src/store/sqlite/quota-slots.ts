/**
 * Namespace run quotas on SQLite (see `store/quota-admission.ts`). The embedded store has one
 * writer, so the transaction of the caller is the lock: read the limits of the batch's
 * namespaces, count their slots, and write the slots of the runs admitted.
 */
import { admit, RATE_WINDOW_MS, runLimitsOf, type AdmissionCandidate, type QuotaUsage, type RunLimits } from '../quota-admission.ts';
import type { SqliteConnection } from './connection.ts';

const NAMESPACE_QUOTAS = 'SELECT name, quotas FROM namespaces WHERE name IN (SELECT value FROM json_each(?))';
const PRUNE_SLOTS = `DELETE FROM quota_slots WHERE namespace = ? AND admitted_at <= ?
  AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = quota_slots.run_id AND r.finished_at IS NULL)`;
const COUNT_SLOTS = `SELECT coalesce(sum(CASE WHEN r.id IS NOT NULL AND r.finished_at IS NULL THEN 1 ELSE 0 END), 0) AS active,
  coalesce(sum(CASE WHEN s.admitted_at > ? THEN 1 ELSE 0 END), 0) AS recent
  FROM quota_slots s LEFT JOIN runs r ON r.id = s.run_id WHERE s.namespace = ?`;
const INSERT_SLOT = 'INSERT INTO quota_slots (run_id, namespace, admitted_at) VALUES (?, ?, ?)';

export interface Admission {
  /** Candidates refused: they wait as `throttled`. */
  refused: ReadonlySet<string>;
  /** Writes the slot of an admitted candidate (once it is inserted or started); nothing for others. */
  take(id: string): void;
}

const NOTHING: Admission = { refused: new Set(), take: () => {} };

/** Admits `candidates` (in order) at `at`; call inside the caller's transaction. */
export function admitRuns(conn: SqliteConnection, candidates: readonly AdmissionCandidate[], at: number): Admission {
  if (candidates.length === 0) return NOTHING;
  const names = [...new Set(candidates.map((c) => c.namespace))];
  const limits = new Map<string, RunLimits>();
  for (const row of conn.statement(NAMESPACE_QUOTAS).all(JSON.stringify(names)) as { name: string; quotas: string }[]) {
    const limit = runLimitsOf(row.quotas);
    if (limit) limits.set(row.name, limit);
  }
  if (limits.size === 0) return NOTHING;
  const since = at - RATE_WINDOW_MS;
  const usage = new Map<string, QuotaUsage>();
  for (const namespace of limits.keys()) {
    conn.statement(PRUNE_SLOTS).run(namespace, since);
    const row = conn.statement(COUNT_SLOTS).get(since, namespace) as { active: number; recent: number };
    usage.set(namespace, { active: Number(row.active), recent: Number(row.recent) });
  }
  const { admitted, refused } = admit(candidates, limits, usage);
  const namespaceOf = new Map(candidates.map((c) => [c.id, c.namespace]));
  const insert = conn.statement(INSERT_SLOT);
  return {
    refused,
    take: (id) => {
      if (admitted.has(id)) insert.run(id, namespaceOf.get(id)!, at);
    },
  };
}
