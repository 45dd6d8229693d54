/** The executor registry (`GET /api/v1/executors`), shared by the Executors page and the task form's group field. */
import { useQuery } from '@tanstack/react-query';
import { api, type ExecutorList, type ExecutorResource } from '../api.ts';

export interface ExecutorGroup {
  group: string;
  live: number;
  total: number;
}

/** Every registered node (live first, as the API orders them); `refetchInterval` refreshes it. */
export function useExecutors(refetchInterval?: number) {
  return useQuery({ queryKey: ['executors'], queryFn: () => api<ExecutorList>('GET', '/executors'), refetchInterval });
}

/** The groups seen in the registry, by name, with how many of their nodes are alive. */
export function groupsOf(items: readonly ExecutorResource[]): ExecutorGroup[] {
  const groups = new Map<string, ExecutorGroup>();
  for (const node of items) {
    const entry = groups.get(node.group) ?? { group: node.group, live: 0, total: 0 };
    entry.total += 1;
    if (node.alive) entry.live += 1;
    groups.set(node.group, entry);
  }
  return [...groups.values()].sort((a, b) => a.group.localeCompare(b.group));
}
