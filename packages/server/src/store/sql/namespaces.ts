/**
 * Namespaces on the SQL stores. A change locks the namespace's row (`FOR UPDATE`) and applies the
 * spec to it in JS, so two partial changes at once both take effect; two creates of one name meet
 * on the primary key, and the one that breaks it answers null (the namespace exists now). A delete
 * counts the tasks that name the namespace in its own transaction.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { NamespaceSpec } from '@ecron/contracts';
import type { NamespaceRecord } from '../../core/model.ts';
import { applyNamespaceSpec, capacityError } from '../../core/namespaces.ts';
import { namespaceParams, notEmptyError, recentIdFloor, toNamespace } from '../sqlite/namespaces.ts';
import type { AuditInput, NamespaceUsageCounts } from '../store.ts';
import { affected, firstRow, inList, inTransaction, rows, type SqlContext } from './context.ts';
import { auditOf, insertAudit } from './tokens-audit.ts';
import { namespaceLimited } from '../quota-admission.ts';

export async function getNamespace(ctx: SqlContext, name: string): Promise<NamespaceRecord | null> {
  const row = await firstRow(ctx.db, sql`SELECT * FROM namespaces WHERE name = ${name}`);
  return row ? toNamespace(row) : null;
}

export async function listNamespaces(ctx: SqlContext, p: { names?: readonly string[] | null } = {}): Promise<NamespaceRecord[]> {
  if (p.names !== undefined && p.names !== null && p.names.length === 0) return [];
  const where = p.names === undefined || p.names === null ? sql`` : sql`WHERE ${inList(ctx, 'name', p.names)}`;
  return (await rows(ctx.db, sql`SELECT * FROM namespaces ${where} ORDER BY name`)).map(toNamespace);
}

export async function putNamespace(ctx: SqlContext, p: {
  name: string; spec: NamespaceSpec; exists: boolean; at: number; audit: AuditInput;
}): Promise<NamespaceRecord | null> {
  try {
    return await inTransaction(ctx, async (trx) => {
      const row = await firstRow(trx, sql`SELECT * FROM namespaces WHERE name = ${p.name} FOR UPDATE`);
      const current = row ? toNamespace(row) : null;
      if ((current !== null) !== p.exists) return null;
      const next = applyNamespaceSpec(current, p.name, p.spec, p.at);
      const [name, description, labels, quotas, outbound, createdAt, updatedAt] = namespaceParams(next);
      if (current === null) {
        await sql`INSERT INTO namespaces (name, description, labels, quotas, outbound, created_at, updated_at)
          VALUES (${name}, ${description}, ${labels}, ${quotas}, ${outbound}, ${createdAt}, ${updatedAt})`.execute(trx);
      } else {
        await sql`UPDATE namespaces SET description = ${description}, labels = ${labels}, quotas = ${quotas}, outbound = ${outbound},
          updated_at = ${updatedAt} WHERE name = ${name}`.execute(trx);
      }
      await insertAudit(trx, auditOf(p.audit, p.at, 'namespace', p.name));
      return next;
    });
  } catch (error) {
    // Another transaction created it first: it exists now, which the caller did not expect.
    if (!p.exists && ctx.dialect.uniqueViolation(error) !== null) return null;
    throw error;
  }
}

async function countScheduled(db: Kysely<unknown>, name: string): Promise<{ tasks: number; workflows: number }> {
  const found = await rows<{ kind: string; n: number | string }>(db, sql`SELECT kind, count(*) AS n FROM tasks WHERE namespace = ${name} GROUP BY kind`);
  const of = (kind: string) => Number(found.find((row) => row.kind === kind)?.n ?? 0);
  return { tasks: of('task'), workflows: of('workflow') };
}

export async function deleteNamespace(ctx: SqlContext, p: { name: string; at: number; audit: AuditInput }): Promise<boolean> {
  return inTransaction(ctx, async (trx) => {
    const counts = await countScheduled(trx, p.name);
    if (counts.tasks > 0 || counts.workflows > 0) throw notEmptyError(p.name, counts);
    if (await affected(trx, sql`DELETE FROM namespaces WHERE name = ${p.name}`) === 0) return false;
    await insertAudit(trx, auditOf(p.audit, p.at, 'namespace', p.name));
    return true;
  });
}

export async function getNamespaceUsage(ctx: SqlContext, p: { namespace: string; since: number }): Promise<NamespaceUsageCounts> {
  const count = async (statement: RawBuilder<unknown>) => Number((await firstRow<{ n: number | string }>(ctx.db, statement))!.n);
  const limits = await firstRow<{ quotas: string }>(ctx.db, sql`SELECT quotas FROM namespaces WHERE name = ${p.namespace}`);
  const [scheduled, activeRuns, throttledRuns, runsSince] = await Promise.all([
    countScheduled(ctx.db, p.namespace),
    count(sql`SELECT count(*) AS n FROM runs WHERE finished_at IS NULL AND namespace = ${p.namespace} AND status <> 'throttled'`),
    count(sql`SELECT count(*) AS n FROM runs WHERE finished_at IS NULL AND namespace = ${p.namespace} AND status = 'throttled'`),
    limits && namespaceLimited(limits.quotas)
      ? count(sql`SELECT count(*) AS n FROM quota_slots WHERE namespace = ${p.namespace} AND admitted_at >= ${p.since}`)
      : count(sql`SELECT count(*) AS n FROM runs WHERE id >= ${recentIdFloor(p.since)} AND created_at >= ${p.since} AND namespace = ${p.namespace}
        AND status <> 'throttled'`),
  ]);
  return { ...scheduled, activeRuns, throttledRuns, runsSince };
}

/**
 * Throws QUOTA_EXCEEDED when adding `adding` tasks (or workflows) to `namespace` would pass its
 * quota. Inside the writing transaction, with the namespace's row locked (FOR UPDATE), so that
 * writers on several nodes count one after the other and never pass the quota together.
 */
export async function assertNamespaceRoom(trx: Kysely<unknown>, namespace: string, kind: 'task' | 'workflow', adding: number): Promise<void> {
  const room = await namespaceRoom(trx, namespace, kind);
  if (room !== null && adding > room.left) throw capacityError(namespace, kind, room.quotas, room.count, adding)!;
}

/** How many more tasks (or workflows) `namespace` takes under its quota (its row locked): null when it has none. */
export async function namespaceRoom(trx: Kysely<unknown>, namespace: string, kind: 'task' | 'workflow'): Promise<{ left: number; count: number; quotas: NamespaceRecord['quotas'] } | null> {
  const row = await firstRow(trx, sql`SELECT quotas FROM namespaces WHERE name = ${namespace} FOR UPDATE`);
  if (row === null) return null;
  const quotas = (typeof row.quotas === 'string' ? JSON.parse(row.quotas) : row.quotas) as NamespaceRecord['quotas'];
  const max = kind === 'task' ? quotas.maxTasks : quotas.maxWorkflows;
  if (max === undefined || max === null) return null;
  const counted = await firstRow(trx, sql`SELECT count(*) AS n FROM tasks WHERE namespace = ${namespace} AND kind = ${kind}`);
  const count = Number(counted?.n ?? 0);
  return { left: Math.max(0, max - count), count, quotas };
}
