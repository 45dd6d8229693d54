import { describe, expect, it } from 'vitest';
import { assignBuckets, type LeaseView } from '../../src/scheduler/bucket-assignment.ts';

const counts = (assignment: Map<number, string>) => {
  const result: Record<string, number> = {};
  for (const owner of assignment.values()) result[owner] = (result[owner] ?? 0) + 1;
  return result;
};
const leasesOf = (assignment: Map<number, string>, live = true): LeaseView[] => [...assignment].map(([bucket, owner]) => ({ bucket, owner, live }));

describe('bucket assignment', () => {
  it('shares every bucket evenly, the larger quotas going to the first nodes by id', () => {
    const assignment = assignBuckets(['c', 'a', 'b'], [], 256);
    expect(assignment.size).toBe(256);
    expect(counts(assignment)).toEqual({ a: 86, b: 85, c: 85 });
    expect(assignBuckets([], [], 256).size).toBe(0);
  });

  it('is the same whatever the order nodes and leases are seen in', () => {
    const leases = leasesOf(assignBuckets(['a', 'b'], [], 64));
    expect(assignBuckets(['b', 'c', 'a'], [...leases].reverse(), 64)).toEqual(assignBuckets(['a', 'b', 'c'], leases, 64));
  });

  it('moves only what it must when a node joins or dies', () => {
    const two = assignBuckets(['a', 'b'], [], 256);
    const three = assignBuckets(['a', 'b', 'c'], leasesOf(two), 256);
    expect(counts(three)).toEqual({ a: 86, b: 85, c: 85 });
    const moved = [...three].filter(([bucket, owner]) => two.get(bucket) !== owner);
    expect(moved).toHaveLength(85);
    expect(moved.every(([, owner]) => owner === 'c')).toBe(true);

    // b dies: only b's buckets move, and they are shared between a and c.
    const after = assignBuckets(['a', 'c'], leasesOf(three).filter((l) => l.owner !== 'b'), 256);
    expect(counts(after)).toEqual({ a: 128, c: 128 });
    for (const [bucket, owner] of three) if (owner !== 'b') expect(after.get(bucket)).toBe(owner);
  });

  it('ignores expired leases and leases of nodes that are not live', () => {
    const leases: LeaseView[] = [{ bucket: 0, owner: 'b', live: false }, { bucket: 1, owner: 'zombie', live: true }, { bucket: 2, owner: 'b', live: true }];
    const assignment = assignBuckets(['a', 'b'], leases, 4);
    expect(assignment.get(2)).toBe('b');
    expect(counts(assignment)).toEqual({ a: 2, b: 2 });
  });
});
