/**
 * The tz database version every scheduler node of a cluster must share.
 *
 * Zone offsets come from `Intl`, that is from the tz database compiled into the Node binary
 * (`process.versions.tz`). Two releases of it can disagree: America/Vancouver and Europe/Chisinau
 * fires differ by an hour between tz 2025c (Node 20) and 2026c (Node 24). Since the owner of a
 * bucket computes the next fires of its tasks, a cluster whose nodes disagree would fire a task at
 * one instant or the other depending on which node holds its bucket. So only the nodes on the
 * cluster's version take buckets (see `scheduler/bucket-leases.ts` and docs/cluster.md).
 *
 * The cluster's version is the one reported by the most live nodes. A tie goes to the version of
 * the oldest node among the tied ones (earliest `startedAt`, then smallest id), so that during a
 * rolling upgrade the buckets move once, when a strict majority runs the new version, and never to
 * no node at all. A node that reports no version (an ecron release before this rule) neither votes
 * nor is held to it. Every node computes this from the same node list, so they all agree.
 */

/** What the rule needs to know of a live node. */
export interface TzVoter {
  id: string;
  /** `process.versions.tz` of the node; null when it does not report one. */
  tzVersion: string | null;
  startedAt: number;
}

const isOlder = (a: TzVoter, b: TzVoter): boolean => a.startedAt < b.startedAt || (a.startedAt === b.startedAt && a.id < b.id);

/** The cluster's tz version among `liveNodes` (see the module comment); null when none reports one. */
export function clusterTzVersion(liveNodes: readonly TzVoter[]): string | null {
  const votes = new Map<string, { count: number; oldest: TzVoter }>();
  for (const node of liveNodes) {
    if (!node.tzVersion) continue;
    const vote = votes.get(node.tzVersion);
    if (!vote) votes.set(node.tzVersion, { count: 1, oldest: node });
    else {
      vote.count += 1;
      if (isOlder(node, vote.oldest)) vote.oldest = node;
    }
  }
  let best: { version: string; count: number; oldest: TzVoter } | null = null;
  for (const [version, vote] of votes) {
    if (best === null || vote.count > best.count || (vote.count === best.count && isOlder(vote.oldest, best.oldest))) best = { version, ...vote };
  }
  return best?.version ?? null;
}

/** May a node of `nodeTzVersion` take buckets in a cluster of `clusterVersion`? */
export function followsClusterTz(nodeTzVersion: string | null, clusterVersion: string | null): boolean {
  return !nodeTzVersion || clusterVersion === null || nodeTzVersion === clusterVersion;
}
