/**
 * An event of the log as ecron shows it outside: what `GET /api/v1/events` answers, and the body
 * of what a subscription's sink sends. Instants are ISO-8601; absent fields are left out.
 */
import type { EventResource } from '@ecron/contracts';
import type { EventRecord } from '../store/store.ts';

/** Fields of event data that are instants (ms in the store, ISO-8601 outside, as everywhere). */
const INSTANT_FIELDS = new Set(['scheduledAt', 'startedAt', 'finishedAt']);

export function toEventResource(event: EventRecord): EventResource {
  const resource: EventResource = { seq: event.seq, type: event.type, at: new Date(event.at).toISOString(), namespace: event.namespace };
  if (event.taskId !== null) resource.taskId = event.taskId;
  if (event.runId !== null) resource.runId = event.runId;
  if (event.workflowRunId !== null) resource.workflowRunId = event.workflowRunId;
  for (const [key, value] of Object.entries(event.data)) {
    if (key in resource) continue;
    resource[key] = INSTANT_FIELDS.has(key) && typeof value === 'number' ? new Date(value).toISOString() : value;
  }
  return resource;
}
