/**
 * Cluster verbs of the SQL stores: node heartbeats, bucket leases and run adoption. Every lease
 * verb locks the lease rows it tests (`FOR UPDATE`, buckets in ascending order so two nodes never
 * deadlock), so its compare-and-set is exact against concurrent acquires, renewals and the
 * `FOR SHARE` check of fenced fire recording. Instants come from the database clock, read once
 * per transaction.
 */
import { sql, type Kysely } from 'kysely';
import { bucketOf } from '../../core/buckets.ts';
import type { RunRecord } from '../../core/model.ts';
import { toRun } from '../sqlite/rows.ts';
import type { AcquiredLease, BucketLease, ClusterNodeRecord, LeaseTerm } from '../store.ts';
import { affected, firstRow, inList, inTransaction, rows, type Row, type SqlContext } from './context.ts';

/** Nodes dead for longer than this are forgotten. */
const FORGET_DEAD_NODES_MS = 3_600_000;

/** The database clock in epoch ms, read on `db` (a transaction, or the pool). */
export async function dbNow(ctx: SqlContext, db: Kysely<unknown>): Promise<number> {
  return Number((await firstRow<{ now: unknown }>(db, sql`SELECT ${ctx.dialect.nowMs} AS now`))!.now);
}

const toNode = (row: Row): ClusterNodeRecord => ({
  id: row.id as string,
  address: (row.address as string | null) ?? null,
  roles: (typeof row.roles === 'string' ? JSON.parse(row.roles) : row.roles) as string[],
  version: row.version as string,
  tzVersion: (row.tz_version as string | null) ?? null,
  startedAt: Number(row.started_at),
  heartbeatAt: Number(row.heartbeat_at),
  expiresAt: Number(row.expires_at),
});

const toLease = (row: Row): BucketLease => ({
  bucket: Number(row.bucket), owner: row.owner as string, epoch: Number(row.epoch), expiresAt: Number(row.expires_at),
});

export async function heartbeatNode(ctx: SqlContext, p: { node: Pick<ClusterNodeRecord, 'id' | 'address' | 'roles' | 'version' | 'tzVersion' | 'startedAt'>; ttlMs: number }): Promise<ClusterNodeRecord> {
  const { node } = p;
  return inTransaction(ctx, async (trx) => {
    const now = await dbNow(ctx, trx);
    const roles = JSON.stringify(node.roles);
    // Only the node itself writes its row, so update-then-insert cannot race with another writer.
    const updated = await affected(trx, sql`UPDATE cluster_nodes SET address = ${node.address}, roles = ${roles}, version = ${node.version},
      tz_version = ${node.tzVersion}, heartbeat_at = ${now}, expires_at = ${now + p.ttlMs} WHERE id = ${node.id}`);
    if (updated === 0) {
      await sql`INSERT INTO cluster_nodes (id, address, roles, version, tz_version, started_at, heartbeat_at, expires_at)
        VALUES (${node.id}, ${node.address}, ${roles}, ${node.version}, ${node.tzVersion}, ${node.startedAt}, ${now}, ${now + p.ttlMs})`.execute(trx);
    }
    await sql`DELETE FROM cluster_nodes WHERE expires_at < ${now - FORGET_DEAD_NODES_MS}`.execute(trx);
    return toNode((await firstRow(trx, sql`SELECT * FROM cluster_nodes WHERE id = ${node.id}`))!);
  });
}

export async function removeNode(ctx: SqlContext, nodeId: string): Promise<void> {
  await inTransaction(ctx, async (trx) => {
    const now = await dbNow(ctx, trx);
    await sql`UPDATE bucket_leases SET expires_at = ${now} WHERE owner = ${nodeId} AND expires_at > ${now}`.execute(trx);
    await sql`DELETE FROM cluster_nodes WHERE id = ${nodeId}`.execute(trx);
  });
}

export async function listNodes(ctx: SqlContext): Promise<ClusterNodeRecord[]> {
  return (await rows(ctx.db, sql`SELECT * FROM cluster_nodes ORDER BY id`)).map(toNode);
}

export async function listBucketLeases(ctx: SqlContext): Promise<BucketLease[]> {
  return (await rows(ctx.db, sql`SELECT * FROM bucket_leases ORDER BY bucket`)).map(toLease);
}

/**
 * The lease rows of `buckets`, locked until commit. With `skipLocked`, rows another transaction
 * holds (a fenced recording of their current holder, another acquire) are left out rather than
 * waited for: an acquire never stalls the heartbeat of the node that asks.
 */
async function lockLeases(ctx: SqlContext, trx: Kysely<unknown>, buckets: readonly number[], skipLocked = false): Promise<Map<number, BucketLease>> {
  const lock = skipLocked ? ctx.dialect.forUpdateSkipLocked : sql`FOR UPDATE`;
  const found = await rows(trx, sql`SELECT * FROM bucket_leases WHERE ${inList(ctx, 'bucket', buckets, 'int')} ORDER BY bucket ${lock}`);
  return new Map(found.map((row) => [Number(row.bucket), toLease(row)]));
}

export async function acquireBuckets(ctx: SqlContext, p: { nodeId: string; buckets: number[]; ttlMs: number }): Promise<AcquiredLease[]> {
  const buckets = [...new Set(p.buckets)].sort((a, b) => a - b);
  if (buckets.length === 0) return [];
  return inTransaction(ctx, async (trx) => {
    // Rows that do not exist yet cannot be locked: create them expired first, skipping any a
    // concurrent acquire created, then lock them all.
    await ctx.dialect.insertRows(trx, {
      table: 'bucket_leases',
      columns: [{ name: 'bucket', type: 'int' }, { name: 'owner', type: 'text' }, { name: 'epoch', type: 'bigint' }, { name: 'expires_at', type: 'bigint' }],
      rows: buckets.map((bucket) => [bucket, '', 0, 0]),
      ignoreDuplicates: true,
    });
    const current = await lockLeases(ctx, trx, buckets, true);
    const now = await dbNow(ctx, trx);
    const expiresAt = now + p.ttlMs;
    const acquired: AcquiredLease[] = [];
    for (const bucket of buckets) {
      const lease = current.get(bucket);
      if (lease === undefined) continue;
      const live = lease.expiresAt > now;
      if (live && lease.owner !== p.nodeId) continue;
      const epoch = live ? lease.epoch : lease.epoch + 1;
      acquired.push({ bucket, owner: p.nodeId, epoch, expiresAt, takenOver: !live });
    }
    if (acquired.length > 0) {
      // epoch first: MySQL evaluates SET left to right with the values already assigned.
      await sql`UPDATE bucket_leases SET epoch = CASE WHEN expires_at > ${now} THEN epoch ELSE epoch + 1 END,
        owner = ${p.nodeId}, expires_at = ${expiresAt}
        WHERE ${inList(ctx, 'bucket', acquired.map((lease) => lease.bucket), 'int')}`.execute(trx);
    }
    return acquired;
  });
}

/** The terms of `terms` still held by `nodeId`: owner and epoch match and unexpired at `now`. */
function heldTerms(current: Map<number, BucketLease>, nodeId: string, terms: readonly LeaseTerm[], now: number): LeaseTerm[] {
  return terms.filter((term) => {
    const lease = current.get(term.bucket);
    return lease !== undefined && lease.owner === nodeId && lease.epoch === term.epoch && lease.expiresAt > now;
  });
}

export async function renewBuckets(ctx: SqlContext, p: { nodeId: string; terms: LeaseTerm[]; ttlMs: number }): Promise<BucketLease[]> {
  if (p.terms.length === 0) return [];
  return inTransaction(ctx, async (trx) => {
    const current = await lockLeases(ctx, trx, [...new Set(p.terms.map((term) => term.bucket))].sort((a, b) => a - b));
    const now = await dbNow(ctx, trx);
    const held = heldTerms(current, p.nodeId, p.terms, now);
    if (held.length === 0) return [];
    await sql`UPDATE bucket_leases SET expires_at = ${now + p.ttlMs} WHERE ${inList(ctx, 'bucket', held.map((term) => term.bucket), 'int')}`.execute(trx);
    return held.map((term) => ({ bucket: term.bucket, owner: p.nodeId, epoch: term.epoch, expiresAt: now + p.ttlMs })).sort((a, b) => a.bucket - b.bucket);
  });
}

export async function releaseBuckets(ctx: SqlContext, p: { nodeId: string; terms: LeaseTerm[] }): Promise<void> {
  if (p.terms.length === 0) return;
  await inTransaction(ctx, async (trx) => {
    const current = await lockLeases(ctx, trx, [...new Set(p.terms.map((term) => term.bucket))].sort((a, b) => a - b));
    const now = await dbNow(ctx, trx);
    const held = heldTerms(current, p.nodeId, p.terms, now);
    if (held.length === 0) return;
    await sql`UPDATE bucket_leases SET expires_at = ${now} WHERE ${inList(ctx, 'bucket', held.map((term) => term.bucket), 'int')}`.execute(trx);
  });
}

/**
 * Active runs of `buckets` whose owner is not live become `nodeId`'s. Candidates are locked with
 * `SKIP LOCKED` where the database has it, so two nodes adopting at once split the orphans
 * instead of waiting on each other; the owner is compared again in the UPDATE.
 */
export async function adoptRuns(ctx: SqlContext, p: { nodeId: string; buckets: number[]; liveNodeIds: string[]; limit: number }): Promise<RunRecord[]> {
  if (p.buckets.length === 0 || p.limit <= 0) return [];
  return inTransaction(ctx, async (trx) => {
    const live = p.liveNodeIds.length === 0 ? sql`` : sql`AND (owner IS NULL OR NOT ${inList(ctx, 'owner', p.liveNodeIds)})`;
    const candidates = (await rows(trx, sql`SELECT * FROM runs WHERE finished_at IS NULL ${live} ORDER BY id ${ctx.dialect.forUpdateSkipLocked}`)).map(toRun);
    const buckets = new Set(p.buckets);
    const orphans = candidates.filter((run) => buckets.has(bucketOf(run.taskId))).slice(0, p.limit);
    if (orphans.length === 0) return [];
    await sql`UPDATE runs SET owner = ${p.nodeId} WHERE ${inList(ctx, 'id', orphans.map((run) => run.id))} AND finished_at IS NULL`.execute(trx);
    return orphans.map((run) => ({ ...run, owner: p.nodeId }));
  });
}

export async function ensureSecret(ctx: SqlContext, p: { name: string; candidate: string }): Promise<string> {
  return inTransaction(ctx, async (trx) => {
    await ctx.dialect.insertRows(trx, {
      table: 'cluster_secrets', columns: [{ name: 'name', type: 'text' }, { name: 'value', type: 'text' }], rows: [[p.name, p.candidate]], ignoreDuplicates: true,
    });
    return (await firstRow<{ value: string }>(trx, sql`SELECT value FROM cluster_secrets WHERE name = ${p.name}`))!.value;
  });
}
