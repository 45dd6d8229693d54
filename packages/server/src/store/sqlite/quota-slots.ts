/**
 * Namespace run quotas on SQLite (see `store/quota-admission.ts`). The embedded store has one
 * writer, so the transaction of the caller is the lock: read the limits of the batch's
 * namespaces, count their slots and their limited groups' slots, and write the slots of the runs
 * admitted.
 */
import { admit, limitedGroupKey, limitsNamespace, RATE_WINDOW_MS, runLimitsOf, type AdmissionCandidate, type QuotaUsage, type RunLimits } from '../quota-admission.ts';
import type { SqliteConnection } from './connection.ts';

const NAMESPACE_QUOTAS = 'SELECT name, quotas FROM namespaces WHERE name IN (SELECT value FROM json_each(?))';
const PRUNE_SLOTS = `DELETE FROM quota_slots WHERE namespace = ? AND admitted_at <= ?
  AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = quota_slots.run_id AND r.finished_at IS NULL)`;
const COUNT_SLOTS = `SELECT coalesce(sum(CASE WHEN r.id IS NOT NULL AND r.finished_at IS NULL THEN 1 ELSE 0 END), 0) AS active,
  coalesce(sum(CASE WHEN s.admitted_at > ? THEN 1 ELSE 0 END), 0) AS recent
  FROM quota_slots s LEFT JOIN runs r ON r.id = s.run_id WHERE s.namespace = ?`;
const INSERT_SLOT = 'INSERT INTO quota_slots (run_id, namespace, admitted_at) VALUES (?, ?, ?)';
const PRUNE_GROUP_SLOTS = `DELETE FROM group_slots WHERE namespace = ?
  AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = group_slots.run_id AND r.finished_at IS NULL)`;
const COUNT_GROUP_SLOTS = 'SELECT executor_group, count(*) AS n FROM group_slots WHERE namespace = ? GROUP BY executor_group';
const INSERT_GROUP_SLOT = 'INSERT INTO group_slots (run_id, namespace, executor_group) VALUES (?, ?, ?)';

export interface Admission {
  /** Candidates refused: they wait as `throttled`. */
  refused: ReadonlySet<string>;
  /** Writes the slots of an admitted candidate (once it is inserted or started); nothing for others. */
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
  const grouped = new Set(candidates.filter((c) => limitedGroupKey(c, limits) !== null).map((c) => c.namespace));
  const usage = new Map<string, QuotaUsage>();
  for (const [namespace, limit] of limits) {
    let counts: QuotaUsage = { active: 0, recent: 0 };
    if (limitsNamespace(limit)) {
      conn.statement(PRUNE_SLOTS).run(namespace, since);
      const row = conn.statement(COUNT_SLOTS).get(since, namespace) as { active: number; recent: number };
      counts = { active: Number(row.active), recent: Number(row.recent) };
    }
    if (grouped.has(namespace)) {
      conn.statement(PRUNE_GROUP_SLOTS).run(namespace);
      const found = conn.statement(COUNT_GROUP_SLOTS).all(namespace) as { executor_group: string; n: number }[];
      counts = { ...counts, groups: new Map(found.map((row) => [row.executor_group, Number(row.n)])) };
    }
    usage.set(namespace, counts);
  }
  const { admitted, refused } = admit(candidates, limits, usage);
  const byId = new Map(candidates.map((c) => [c.id, c]));
  return {
    refused,
    take: (id) => {
      if (!admitted.has(id)) return;
      const candidate = byId.get(id)!;
      if (limitsNamespace(limits.get(candidate.namespace)!)) conn.statement(INSERT_SLOT).run(id, candidate.namespace, at);
      if (limitedGroupKey(candidate, limits) !== null) conn.statement(INSERT_GROUP_SLOT).run(id, candidate.namespace, candidate.group!);
    },
  };
}
