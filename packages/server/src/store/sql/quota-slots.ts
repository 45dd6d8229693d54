/**
 * Namespace run quotas on the SQL stores (see `store/quota-admission.ts`): reads the limits of a
 * batch's namespaces, locks the rows of those that set run quotas (in name order, so two batches
 * never deadlock on each other), counts their slots and their limited groups' slots, and writes
 * the slots of the runs admitted.
 */
import { sql, type Kysely } from 'kysely';
import {
  admit, limitedGroupKey, limitsNamespace, RATE_WINDOW_MS, runLimitsOf, type AdmissionCandidate, type QuotaUsage, type RunLimits,
} from '../quota-admission.ts';
import { inList, rows, type SqlContext } from './context.ts';
import type { Column } from './dialect.ts';

const SLOT_COLUMNS: readonly Column[] = [{ name: 'run_id', type: 'text' }, { name: 'namespace', type: 'text' }, { name: 'admitted_at', type: 'bigint' }];
const GROUP_SLOT_COLUMNS: readonly Column[] = [{ name: 'run_id', type: 'text' }, { name: 'namespace', type: 'text' }, { name: 'executor_group', type: 'text' }];

export interface Admission {
  /** Candidates refused: they wait as `throttled`. */
  refused: Set<string>;
  /** Writes the slots of the admitted candidates among `ids` (those actually inserted or started). */
  take(ids: ReadonlySet<string> | null): Promise<void>;
}

const NOTHING: Admission = { refused: new Set(), take: async () => {} };

/** Admits `candidates` (in order) at `at`, inside the caller's transaction `trx`. */
export async function admitRuns(ctx: SqlContext, trx: Kysely<unknown>, candidates: readonly AdmissionCandidate[], at: number): Promise<Admission> {
  if (candidates.length === 0) return NOTHING;
  const names = [...new Set(candidates.map((c) => c.namespace))].sort();
  const set = await rows<{ name: string; quotas: string }>(trx, sql`SELECT name, quotas FROM namespaces WHERE ${inList(ctx, 'name', names)}`);
  const limitedNames = set.filter((row) => runLimitsOf(row.quotas) !== null).map((row) => row.name).sort();
  if (limitedNames.length === 0) return NOTHING;
  // Locked and read again: the limits in force are those of the locked rows.
  const locked = await rows<{ name: string; quotas: string }>(trx,
    sql`SELECT name, quotas FROM namespaces WHERE ${inList(ctx, 'name', limitedNames)} ORDER BY name FOR UPDATE`);
  const limits = new Map<string, RunLimits>();
  for (const row of locked) {
    const limit = runLimitsOf(row.quotas);
    if (limit) limits.set(row.name, limit);
  }
  if (limits.size === 0) return NOTHING;
  const usage = new Map<string, QuotaUsage>();
  const since = at - RATE_WINDOW_MS;
  const counted = [...limits].filter(([, limit]) => limitsNamespace(limit)).map(([name]) => name);
  if (counted.length > 0) {
    await sql`DELETE FROM quota_slots WHERE ${inList(ctx, 'namespace', counted)} AND admitted_at <= ${since}
      AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = quota_slots.run_id AND r.finished_at IS NULL)`.execute(trx);
    const found = await rows<{ namespace: string; active: number | string | null; recent: number | string | null }>(trx, sql`SELECT s.namespace AS namespace,
      sum(CASE WHEN r.id IS NOT NULL AND r.finished_at IS NULL THEN 1 ELSE 0 END) AS active,
      sum(CASE WHEN s.admitted_at > ${since} THEN 1 ELSE 0 END) AS recent
      FROM quota_slots s LEFT JOIN runs r ON r.id = s.run_id WHERE ${inList(ctx, 's.namespace', counted)} GROUP BY s.namespace`);
    for (const row of found) usage.set(row.namespace, { active: Number(row.active ?? 0), recent: Number(row.recent ?? 0) });
  }
  const grouped = [...new Set(candidates.filter((c) => limitedGroupKey(c, limits) !== null).map((c) => c.namespace))];
  if (grouped.length > 0) {
    await sql`DELETE FROM group_slots WHERE ${inList(ctx, 'namespace', grouped)}
      AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = group_slots.run_id AND r.finished_at IS NULL)`.execute(trx);
    const found = await rows<{ namespace: string; executor_group: string; n: number | string }>(trx, sql`SELECT namespace, executor_group, count(*) AS n
      FROM group_slots WHERE ${inList(ctx, 'namespace', grouped)} GROUP BY namespace, executor_group`);
    const groups = new Map<string, Map<string, number>>();
    for (const row of found) {
      let counts = groups.get(row.namespace);
      if (!counts) groups.set(row.namespace, (counts = new Map()));
      counts.set(row.executor_group, Number(row.n));
    }
    for (const [namespace, counts] of groups) usage.set(namespace, { ...usage.get(namespace) ?? { active: 0, recent: 0 }, groups: counts });
  }
  const { admitted, refused } = admit(candidates, limits, usage);
  return {
    refused,
    take: async (ids) => {
      const taken = candidates.filter((c) => admitted.has(c.id) && (ids === null || ids.has(c.id)));
      const slots = taken.filter((c) => limitsNamespace(limits.get(c.namespace)!)).map((c) => [c.id, c.namespace, at]);
      if (slots.length > 0) await ctx.dialect.insertRows(trx, { table: 'quota_slots', columns: SLOT_COLUMNS, rows: slots });
      const groupSlots = taken.filter((c) => limitedGroupKey(c, limits) !== null).map((c) => [c.id, c.namespace, c.group!]);
      if (groupSlots.length > 0) await ctx.dialect.insertRows(trx, { table: 'group_slots', columns: GROUP_SLOT_COLUMNS, rows: groupSlots });
    },
  };
}
