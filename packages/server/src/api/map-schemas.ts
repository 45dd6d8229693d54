/** Response schemas of map/reduce (issue 20): a run's `map` summary and its subtasks (docs/map-reduce.md). */
import { MAP_STATES, SUBTASK_STATES } from '@ecron/contracts';
import { z } from 'zod';

export const MapSummarySchema = z.object({
  state: z.enum(MAP_STATES).describe('mapping (subtasks being emitted), running (sealed), reducing, then succeeded, failed or cancelled'),
  attempt: z.number().int().describe('the run attempt that emitted the map'),
  total: z.number().int().describe('subtasks emitted (the reduce not counted)'),
  pending: z.number().int(),
  running: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
  reduce: z.string().nullable().describe('the reduce handler; null without one'),
  onSubtaskFailure: z.enum(['fail-run', 'continue']),
});

export const SubtaskResourceSchema = z.object({
  index: z.number().int().describe('0, 1, … in emission order; -1 for the reduce'),
  kind: z.enum(['map', 'reduce']),
  handler: z.string(),
  state: z.enum(SUBTASK_STATES),
  tries: z.number().int().describe('tries so far (claims whose lease expired with their node are not counted)'),
  maxAttempts: z.number().int(),
  executors: z.array(z.string()).describe('the node of each claim, in order'),
  payload: z.unknown(),
  output: z.unknown(),
  error: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
