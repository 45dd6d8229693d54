/**
 * The scheduler records due fires a chunk at a time. When more wait than a chunk holds, a chunk
 * takes the namespaces in turn, so that one namespace's flood (20,000 fires due at once) does not
 * hold another namespace's fires back behind it.
 */
import type { ScheduledRecord } from '../core/model.ts';
/**
 * Takes up to `size` tasks out of `pending` (in place): all of them when they fit, else the
 * namespaces in turn, each namespace's tasks in their order.
 */
export function takeFairly(pending: ScheduledRecord[], size: number): ScheduledRecord[] {
  if (pending.length <= size) return pending.splice(0, pending.length);
  const byNamespace = new Map<string, ScheduledRecord[]>();
  for (const task of pending) {
    let tasks = byNamespace.get(task.namespace);
    if (!tasks) byNamespace.set(task.namespace, (tasks = []));
    tasks.push(task);
  }
  if (byNamespace.size === 1) return pending.splice(0, size);
  const queues = [...byNamespace.values()];
  const taken = new Set<ScheduledRecord>();
  for (let round = 0; taken.size < size; round += 1) {
    for (const queue of queues) {
      if (round < queue.length && taken.size < size) taken.add(queue[round]!);
    }
  }
  const chunk = pending.filter((task) => taken.has(task));
  const rest = pending.filter((task) => !taken.has(task));
  pending.length = 0;
  pending.push(...rest);
  return chunk;
}
