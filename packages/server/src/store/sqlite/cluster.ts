/**
 * Cluster verbs on SQLite: nodes and bucket leases. SQLite serves one process, so there is never a
 * second node to race with; the verbs still keep the port's compare-and-set semantics, so that the
 * conformance suite holds every store to the same contract.
 */
import type { RunRecord } from '../../core/model.ts';
import type { AcquiredLease, BucketLease, ClusterNodeRecord, LeaseTerm } from '../store.ts';
import type { SqliteConnection } from './connection.ts';
import { dbNow } from './fence.ts';
import type { Row } from './rows.ts';
import { listActiveRuns } from './runs.ts';

/** Nodes dead for longer than this are forgotten. */
const FORGET_DEAD_NODES_MS = 3_600_000;

const toNode = (row: Row): ClusterNodeRecord => ({
  id: row.id as string,
  address: (row.address as string | null) ?? null,
  roles: JSON.parse(row.roles as string) as string[],
  version: row.version as string,
  tzVersion: (row.tz_version as string | null) ?? null,
  startedAt: row.started_at as number,
  heartbeatAt: row.heartbeat_at as number,
  expiresAt: row.expires_at as number,
});

const toLease = (row: Row): BucketLease => ({
  bucket: row.bucket as number, owner: row.owner as string, epoch: row.epoch as number, expiresAt: row.expires_at as number,
});

export function heartbeatNode(conn: SqliteConnection, p: { node: Pick<ClusterNodeRecord, 'id' | 'address' | 'roles' | 'version' | 'tzVersion' | 'startedAt'>; ttlMs: number }): ClusterNodeRecord {
  return conn.transaction(() => {
    const now = dbNow(conn);
    const { node } = p;
    conn.statement(`INSERT INTO cluster_nodes (id, address, roles, version, tz_version, started_at, heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET address = excluded.address, roles = excluded.roles, version = excluded.version,
      tz_version = excluded.tz_version, heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at`)
      .run(node.id, node.address, JSON.stringify(node.roles), node.version, node.tzVersion, node.startedAt, now, now + p.ttlMs);
    conn.statement('DELETE FROM cluster_nodes WHERE expires_at < ?').run(now - FORGET_DEAD_NODES_MS);
    return toNode(conn.statement('SELECT * FROM cluster_nodes WHERE id = ?').get(node.id) as Row);
  });
}

export function removeNode(conn: SqliteConnection, nodeId: string): void {
  conn.transaction(() => {
    const now = dbNow(conn);
    conn.statement('UPDATE bucket_leases SET expires_at = ? WHERE owner = ? AND expires_at > ?').run(now, nodeId, now);
    conn.statement('DELETE FROM cluster_nodes WHERE id = ?').run(nodeId);
  });
}

export function listNodes(conn: SqliteConnection): ClusterNodeRecord[] {
  return (conn.statement('SELECT * FROM cluster_nodes ORDER BY id').all() as Row[]).map(toNode);
}

export function listBucketLeases(conn: SqliteConnection): BucketLease[] {
  return (conn.statement('SELECT * FROM bucket_leases ORDER BY bucket').all() as Row[]).map(toLease);
}

export function acquireBuckets(conn: SqliteConnection, p: { nodeId: string; buckets: number[]; ttlMs: number }): AcquiredLease[] {
  if (p.buckets.length === 0) return [];
  return conn.transaction(() => {
    const now = dbNow(conn);
    const expiresAt = now + p.ttlMs;
    const read = conn.statement('SELECT * FROM bucket_leases WHERE bucket = ?');
    const acquired: AcquiredLease[] = [];
    for (const bucket of [...new Set(p.buckets)].sort((a, b) => a - b)) {
      const current = read.get(bucket) as Row | undefined;
      if (current === undefined) {
        conn.statement('INSERT INTO bucket_leases (bucket, owner, epoch, expires_at) VALUES (?, ?, 1, ?)').run(bucket, p.nodeId, expiresAt);
        acquired.push({ bucket, owner: p.nodeId, epoch: 1, expiresAt, takenOver: true });
        continue;
      }
      const lease = toLease(current);
      const live = lease.expiresAt > now;
      if (live && lease.owner !== p.nodeId) continue;
      const takenOver = !live;
      const epoch = takenOver ? lease.epoch + 1 : lease.epoch;
      conn.statement('UPDATE bucket_leases SET owner = ?, epoch = ?, expires_at = ? WHERE bucket = ?').run(p.nodeId, epoch, expiresAt, bucket);
      acquired.push({ bucket, owner: p.nodeId, epoch, expiresAt, takenOver });
    }
    return acquired;
  });
}

export function renewBuckets(conn: SqliteConnection, p: { nodeId: string; terms: LeaseTerm[]; ttlMs: number }): BucketLease[] {
  if (p.terms.length === 0) return [];
  return conn.transaction(() => {
    const now = dbNow(conn);
    const renew = conn.statement('UPDATE bucket_leases SET expires_at = ? WHERE bucket = ? AND owner = ? AND epoch = ? AND expires_at > ?');
    const held: BucketLease[] = [];
    for (const term of p.terms) {
      if (renew.run(now + p.ttlMs, term.bucket, p.nodeId, term.epoch, now).changes === 1) {
        held.push({ bucket: term.bucket, owner: p.nodeId, epoch: term.epoch, expiresAt: now + p.ttlMs });
      }
    }
    return held.sort((a, b) => a.bucket - b.bucket);
  });
}

export function releaseBuckets(conn: SqliteConnection, p: { nodeId: string; terms: LeaseTerm[] }): void {
  if (p.terms.length === 0) return;
  conn.transaction(() => {
    const now = dbNow(conn);
    const release = conn.statement('UPDATE bucket_leases SET expires_at = ? WHERE bucket = ? AND owner = ? AND epoch = ? AND expires_at > ?');
    for (const term of p.terms) release.run(now, term.bucket, p.nodeId, term.epoch, now);
  });
}

export function adoptRuns(conn: SqliteConnection, p: { nodeId: string; buckets: number[]; liveNodeIds: string[]; limit: number }): RunRecord[] {
  if (p.buckets.length === 0 || p.limit <= 0) return [];
  return conn.transaction(() => {
    const live = new Set(p.liveNodeIds);
    const orphans = listActiveRuns(conn, { buckets: p.buckets, limit: Number.MAX_SAFE_INTEGER })
      .filter((run) => run.owner === null || !live.has(run.owner)).slice(0, p.limit);
    const claim = conn.statement('UPDATE runs SET owner = ? WHERE id = ? AND owner IS ? AND finished_at IS NULL');
    return orphans.filter((run) => claim.run(p.nodeId, run.id, run.owner).changes === 1).map((run) => ({ ...run, owner: p.nodeId }));
  });
}

export function ensureSecret(conn: SqliteConnection, p: { name: string; candidate: string }): string {
  return conn.transaction(() => {
    conn.statement('INSERT INTO cluster_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(p.name, p.candidate);
    return (conn.statement('SELECT value FROM cluster_secrets WHERE name = ?').get(p.name) as { value: string }).value;
  });
}
