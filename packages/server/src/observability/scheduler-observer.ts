/**
 * Connects the parts of a node that the instrumentation reads rather than hears: lease moves (the
 * bucket leases' events) and the gauges (what the scheduler holds, the leases, the live executor
 * nodes), read on demand.
 */
import type { ExecutorDirectory } from '../dispatch/executor-directory.ts';
import { BUCKET_COUNT } from '../core/buckets.ts';
import type { BucketLeases } from '../scheduler/bucket-leases.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { Instrumentation } from './instrumentation.ts';

export function observeScheduler(instrumentation: Instrumentation, p: { scheduler: Scheduler; leases: BucketLeases; directory: ExecutorDirectory }): void {
  const { leases } = p;
  if (instrumentation.leaseMoved) {
    const moved = instrumentation.leaseMoved.bind(instrumentation);
    leases.events.on('acquired', (acquired) => moved({ nodeId: leases.nodeId, direction: 'acquired', buckets: acquired.map((lease) => lease.bucket), at: Date.now() }));
    leases.events.on('lost', (buckets) => moved({ nodeId: leases.nodeId, direction: 'lost', buckets, at: Date.now() }));
  }
  instrumentation.readGauges?.(() => ({
    ...p.scheduler.heldGauges(),
    leasesHeld: leases.heldBuckets()?.length ?? BUCKET_COUNT,
    schedulerNodes: leases.liveNodeIds().length,
    executorNodes: p.directory.liveCounts(),
  }));
}
