/**
 * What the stores share of the event log's reads: a filter as a few neutral conditions (each
 * store renders them in its SQL), and the row → record mapping.
 */
import type { EventFilter, EventRecord } from './store.ts';

export type EventCondition =
  | { kind: 'equals'; column: 'task_id' | 'run_id' | 'workflow_run_id'; value: string }
  /** namespace IN (names) [OR namespace IS NULL]; names null: any namespace. */
  | { kind: 'namespaces'; names: readonly string[] | null; clusterEvents: boolean }
  /** type IN (exact) OR type LIKE 'prefix%' … */
  | { kind: 'types'; exact: readonly string[]; prefixes: readonly string[] };

export function eventConditions(filter: EventFilter = {}): EventCondition[] {
  const conditions: EventCondition[] = [];
  const clusterEvents = filter.clusterEvents ?? true;
  if ((filter.namespaces !== undefined && filter.namespaces !== null) || !clusterEvents) {
    conditions.push({ kind: 'namespaces', names: filter.namespaces ?? null, clusterEvents });
  }
  if (filter.types && filter.types.length > 0) {
    const prefixes = filter.types.filter((t) => t.endsWith('.*')).map((t) => t.slice(0, -1));
    conditions.push({ kind: 'types', exact: filter.types.filter((t) => !t.endsWith('.*')), prefixes });
  }
  if (filter.taskId !== undefined) conditions.push({ kind: 'equals', column: 'task_id', value: filter.taskId });
  if (filter.runId !== undefined) conditions.push({ kind: 'equals', column: 'run_id', value: filter.runId });
  if (filter.workflowRunId !== undefined) conditions.push({ kind: 'equals', column: 'workflow_run_id', value: filter.workflowRunId });
  return conditions;
}

/** A LIKE pattern matching what starts with `prefix` (escape character `!`). */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

export function toEventRecord(row: Record<string, unknown>): EventRecord {
  const raw = typeof row.data === 'string' ? JSON.parse(row.data) as Record<string, unknown> : (row.data as Record<string, unknown> | null) ?? {};
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) if (value !== null) data[key] = value;
  return {
    seq: Number(row.seq),
    at: Number(row.at),
    type: row.type as string,
    namespace: (row.namespace as string | null) ?? null,
    taskId: (row.task_id as string | null) ?? null,
    runId: (row.run_id as string | null) ?? null,
    workflowRunId: (row.workflow_run_id as string | null) ?? null,
    data,
  };
}

/**
 * The test of `filter` as a function, its conditions worked out once (a follower applies it to
 * every event it sees): the same test as the stores' {@link eventConditions}, in memory.
 */
export function eventMatcher(filter: EventFilter): (event: EventRecord) => boolean {
  const conditions = eventConditions(filter);
  if (conditions.length === 0) return () => true;
  return (event) => conditions.every((condition) => {
    switch (condition.kind) {
      case 'equals': {
        const value = condition.column === 'task_id' ? event.taskId : condition.column === 'run_id' ? event.runId : event.workflowRunId;
        return value === condition.value;
      }
      case 'namespaces':
        return event.namespace === null ? condition.clusterEvents : condition.names === null || condition.names.includes(event.namespace);
      case 'types':
        return condition.exact.includes(event.type) || condition.prefixes.some((prefix) => event.type.startsWith(prefix));
    }
  });
}
