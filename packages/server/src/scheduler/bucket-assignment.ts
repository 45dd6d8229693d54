/**
 * Who should hold which bucket: every node computes the same answer from the same view (the live
 * nodes and the current leases), so that the cluster converges without talking. The share is
 * even (quotas differ by at most one, the larger ones going to the first nodes in id order), and
 * movement is minimal: a live holder keeps its buckets up to its quota, and only the excess and
 * the buckets of dead nodes move.
 */

export interface LeaseView {
  bucket: number;
  owner: string;
  /** The lease has not expired. */
  live: boolean;
}

/** Returns the intended owner of each bucket 0 … bucketCount − 1 (empty when no node is live). */
export function assignBuckets(liveNodeIds: readonly string[], leases: readonly LeaseView[], bucketCount: number): Map<number, string> {
  const assignment = new Map<number, string>();
  const nodes = [...new Set(liveNodeIds)].sort();
  if (nodes.length === 0) return assignment;
  const base = Math.floor(bucketCount / nodes.length);
  const extra = bucketCount % nodes.length;
  const quota = new Map(nodes.map((id, i) => [id, base + (i < extra ? 1 : 0)]));
  const held = new Map<string, number>();
  const holder = new Map(leases.filter((l) => l.live).map((l) => [l.bucket, l.owner]));
  for (let bucket = 0; bucket < bucketCount; bucket += 1) {
    const owner = holder.get(bucket);
    if (owner === undefined || !quota.has(owner)) continue;
    const count = held.get(owner) ?? 0;
    if (count >= quota.get(owner)!) continue;
    held.set(owner, count + 1);
    assignment.set(bucket, owner);
  }
  let next = 0;
  for (let bucket = 0; bucket < bucketCount; bucket += 1) {
    if (assignment.has(bucket)) continue;
    while ((held.get(nodes[next]!) ?? 0) >= quota.get(nodes[next]!)!) next += 1;
    const owner = nodes[next]!;
    held.set(owner, (held.get(owner) ?? 0) + 1);
    assignment.set(bucket, owner);
  }
  return assignment;
}
