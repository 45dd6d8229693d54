/**
 * The scheduler cluster with real processes, on PostgreSQL and on MariaDB: three nodes share the
 * buckets evenly; one killed with SIGKILL, or frozen with SIGSTOP past its lease, loses no fire
 * and records none twice; a task changed through one node reaches its owner within a second.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BUCKET_COUNT } from '../../src/core/buckets.ts';
import { ClusterHarness } from './cluster-harness.ts';

const EVERY_MS = 200;

describe.each(['postgres', 'mysql'] as const)('scheduler cluster on %s', (kind) => {
  let cluster: ClusterHarness;
  afterEach(async () => cluster?.stop());

  /**
   * Checks every delivery so far: no fire twice, none missing between a task's first and last, and
   * returns the longest time between two deliveries of one task. A fire re-sent by the node that
   * adopted a dead node's runs arrives late, so this waits up to `withinMs` for the record to
   * become whole.
   */
  async function checkDeliveries(taskIds: string[], withinMs = 30_000): Promise<{ longestGapMs: number }> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      try {
        return deliveriesWhole(taskIds);
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /**
   * Firing is exactly once: one run per (task, instant), every instant delivered. Delivery is at
   * least once: an attempt left in flight by a node that died may be sent again as a new attempt
   * when its executor cannot rule it out, but no attempt is ever sent twice.
   */
  function deliveriesWhole(taskIds: string[]): { longestGapMs: number } {
    const byTask = cluster.deliveries();
    const attempts = cluster.executor.runs().map((r) => `${r.body.runId}/${r.body.attempt}`);
    expect(new Set(attempts).size, 'an attempt was sent twice').toBe(attempts.length);
    let longestGapMs = 0;
    for (const taskId of taskIds) {
      const list = byTask.get(taskId) ?? [];
      const runOf = new Map<number, string>();
      for (const r of list) {
        const at = Date.parse(r.body.scheduledAt);
        expect(runOf.get(at) ?? r.body.runId, `task ${taskId}: two runs for the fire at ${r.body.scheduledAt}`).toBe(r.body.runId);
        runOf.set(at, r.body.runId);
      }
      const instants = [...runOf.keys()].sort((a, b) => a - b);
      for (let i = 1; i < instants.length; i += 1) {
        expect(instants[i]! - instants[i - 1]!, `task ${taskId}: a fire missing after ${new Date(instants[i - 1]!).toISOString()}`).toBe(EVERY_MS);
      }
      const received = list.map((r) => r.receivedAt).sort((a, b) => a - b);
      for (let i = 1; i < received.length; i += 1) longestGapMs = Math.max(longestGapMs, received[i]! - received[i - 1]!);
    }
    return { longestGapMs };
  }

  it('shares buckets evenly, survives SIGKILL and SIGSTOP of a node with no fire lost or repeated, and propagates changes', async () => {
    cluster = await new ClusterHarness(kind).start(3);
    const [a, b, c] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
    const even = await cluster.waitForNodes(a, (list) => list.items.filter((n) => n.alive).length === 3
      && list.items.every((n) => n.buckets.length >= 85 && n.buckets.length <= 86) && list.buckets.unowned === 0, 10_000);
    expect(even.items.map((n) => n.buckets.length).sort()).toEqual([85, 85, 86]);
    expect(new Set(even.items.flatMap((n) => n.buckets)).size).toBe(BUCKET_COUNT);
    expect(even.items.every((n) => n.address?.startsWith('http://127.0.0.1:'))).toBe(true);

    // Fires every 200 ms: below the default minimum interval (1 s), so an admin lowers it first.
    expect((await cluster.api(a, 'PUT', '/api/v1/namespaces/default', { quotas: { minIntervalMs: EVERY_MS } })).status).toBe(201);
    const tasks: string[] = [];
    for (let i = 0; i < 24; i += 1) {
      const created = await cluster.api(cluster.nodes[i % 3]!, 'POST', '/api/v1/tasks', {
        name: `every-${i}`, schedule: { every: EVERY_MS }, misfire: { policy: 'catch-up', windowMs: 60_000, maxCatchUp: 1000 },
        target: { type: 'http', url: `${cluster.executorUrl}/run` },
      });
      expect(created.status).toBe(201);
      tasks.push(created.body.id);
    }
    await cluster.deliveredAfter('after creation', tasks, Date.now() + 500);

    // SIGKILL: the survivors take the dead node's buckets (about 2.5 s with these leases; how fast is
    // the chaos benchmark's to measure, not this test's), and catch up what it missed.
    await a.kill('SIGKILL');
    const after = await cluster.waitForNodes(b, (list) => list.items.filter((n) => n.alive).length === 2 && list.buckets.unowned === 0
      && list.items.filter((n) => n.alive).every((n) => n.buckets.length === 128), 30_000);
    expect(after.items.find((n) => !n.alive)?.buckets).toEqual([]);
    await cluster.deliveredAfter('after SIGKILL', tasks, Date.now() + 500);
    await checkDeliveries(tasks);

    // SIGSTOP past the lease: the frozen node's buckets move; when it wakes it records nothing
    // for them (the fence refuses it), it rejoins, and no fire is delivered twice.
    b.child!.kill('SIGSTOP');
    await cluster.waitForNodes(c, (list) => list.items.filter((n) => n.alive).length === 1 && list.items.find((n) => n.alive)?.buckets.length === BUCKET_COUNT, 30_000);
    await cluster.deliveredAfter('while a node is stopped', tasks, Date.now() + 300);
    b.child!.kill('SIGCONT');
    await cluster.waitForNodes(c, (list) => list.items.filter((n) => n.alive).length === 2 && list.buckets.unowned === 0
      && list.items.filter((n) => n.alive).every((n) => n.buckets.length === 128), 30_000);
    await cluster.deliveredAfter('after SIGCONT', tasks, Date.now() + 500);
    await checkDeliveries(tasks);

    // A pause through one node stops the task on whichever node owns it (within a second on a quiet
    // machine; 5 s allowed here for a loaded one).
    const paused = tasks[0]!;
    for (const via of [b, c]) {
      const { status } = await cluster.api(via, 'POST', `/api/v1/tasks/${paused}/pause`);
      expect(status).toBe(200);
      const pausedAt = Date.now();
      await cluster.deliveredAfter('after a pause', tasks.slice(1), pausedAt + 5500);
      const late = cluster.executor.runs().filter((r) => r.body.taskId === paused && Date.parse(r.body.scheduledAt) > pausedAt + 5000);
      expect(late).toEqual([]);
      expect((await cluster.api(via, 'POST', `/api/v1/tasks/${paused}/resume`)).status).toBe(200);
    }
  }, 120_000);
});
