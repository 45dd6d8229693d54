/**
 * Executor group discovery on the SQL stores (`store/executor-groups.ts`). A put reads the row
 * `FOR UPDATE` and updates or inserts it; two creates of one group meet on the primary key, and
 * the one that breaks it runs again, as an update of the row the other created.
 */
import { sql } from 'kysely';
import { executorGroupResourceId, namespacesOfListing, toExecutorGroup, type ExecutorGroupRecord, type ExecutorGroupRef, type ExecutorGroupVerbs } from '../executor-groups.ts';
import type { AuditInput } from '../store.ts';
import { affected, firstRow, inList, inTransaction, rows, type SqlContext } from './context.ts';
import { auditOf, insertAudit } from './tokens-audit.ts';

type PutParams = Parameters<ExecutorGroupVerbs['putExecutorGroup']>[0];

export async function getExecutorGroup(ctx: SqlContext, ref: ExecutorGroupRef): Promise<ExecutorGroupRecord | null> {
  const row = await firstRow(ctx.db, sql`SELECT * FROM executor_groups WHERE namespace = ${ref.namespace} AND group_name = ${ref.group}`);
  return row ? toExecutorGroup(row) : null;
}

export async function listExecutorGroups(ctx: SqlContext, p: { namespaces?: readonly string[] | null; namespace?: string } = {}): Promise<ExecutorGroupRecord[]> {
  const namespaces = namespacesOfListing(p);
  if (namespaces !== null && namespaces.length === 0) return [];
  const where = namespaces === null ? sql`` : sql`WHERE ${inList(ctx, 'namespace', namespaces)}`;
  return (await rows(ctx.db, sql`SELECT * FROM executor_groups ${where} ORDER BY namespace, group_name`)).map(toExecutorGroup);
}

async function put(ctx: SqlContext, p: PutParams): Promise<{ record: ExecutorGroupRecord; created: boolean }> {
  return inTransaction(ctx, async (trx) => {
    const { namespace, group } = p.group;
    const row = await firstRow(trx, sql`SELECT * FROM executor_groups WHERE namespace = ${namespace} AND group_name = ${group} FOR UPDATE`);
    const current = row ? toExecutorGroup(row) : null;
    const record: ExecutorGroupRecord = { ...p.group, createdAt: current?.createdAt ?? p.at, updatedAt: p.at };
    const discovery = JSON.stringify(record.discovery);
    const labels = JSON.stringify(record.labels);
    if (current === null) {
      await sql`INSERT INTO executor_groups (namespace, group_name, discovery, labels, weight, created_at, updated_at)
        VALUES (${namespace}, ${group}, ${discovery}, ${labels}, ${record.weight}, ${record.createdAt}, ${record.updatedAt})`.execute(trx);
    } else {
      await sql`UPDATE executor_groups SET discovery = ${discovery}, labels = ${labels}, weight = ${record.weight}, updated_at = ${record.updatedAt}
        WHERE namespace = ${namespace} AND group_name = ${group}`.execute(trx);
    }
    await insertAudit(trx, auditOf(p.audit, p.at, 'executor-group', executorGroupResourceId(record)));
    return { record, created: current === null };
  });
}

export async function putExecutorGroup(ctx: SqlContext, p: PutParams): Promise<{ record: ExecutorGroupRecord; created: boolean }> {
  try {
    return await put(ctx, p);
  } catch (error) {
    // Another transaction created the group first: this put replaces it.
    if (ctx.dialect.uniqueViolation(error) === null) throw error;
    return put(ctx, p);
  }
}

export async function deleteExecutorGroup(ctx: SqlContext, p: ExecutorGroupRef & { at: number; audit: AuditInput }): Promise<boolean> {
  return inTransaction(ctx, async (trx) => {
    if (await affected(trx, sql`DELETE FROM executor_groups WHERE namespace = ${p.namespace} AND group_name = ${p.group}`) === 0) return false;
    await insertAudit(trx, auditOf(p.audit, p.at, 'executor-group', executorGroupResourceId(p)));
    return true;
  });
}
