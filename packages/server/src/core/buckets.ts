/**
 * Tasks hash into a fixed number of buckets, and scheduler nodes lease buckets, not tasks (see
 * `scheduler/bucket-leases.ts`). The count is fixed for a cluster: changing it would move almost
 * every task to another bucket, so it is a constant, not an option.
 */

/** Buckets per cluster: enough for an even share over dozens of nodes, few enough to lease cheaply. */
export const BUCKET_COUNT = 256;

/** The bucket of a task: FNV-1a (32 bit) of its id, modulo {@link BUCKET_COUNT}. Stable across versions. */
export function bucketOf(taskId: string): number {
  return fnv1a32(taskId) % BUCKET_COUNT;
}

/** FNV-1a, 32 bit, over UTF-16 code units. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Every bucket number, 0 … BUCKET_COUNT − 1. */
export function allBuckets(): number[] {
  return Array.from({ length: BUCKET_COUNT }, (_, i) => i);
}
