/**
 * Map/reduce (issue 20): the wire forms shared by the server, the SDK, the CLI and the console.
 *
 * A run's handler emits subtasks (`ctx.map`) through `POST /api/v1/runs/{id}/subtasks` with its
 * run-scoped token, then seals the map (`…/subtasks/seal`) and answers its attempt with
 * {@link MAP_SEALED_KEY}: the attempt then stays in flight while executor nodes of the task's group
 * claim the subtasks (`POST /api/v1/executors/{id}/subtasks/claim`), report them (`…/results`)
 * and, once all have ended, one of them runs the reduce. See docs/map-reduce.md.
 */
import { z } from 'zod';

/** Subtasks of one request (`ctx.map` sends its items in batches of at most this many). */
export const MAP_BATCH_MAX = 1000;
/** Subtasks of one run, all calls of `ctx.map` together. */
export const MAP_SUBTASKS_MAX = 100_000;
/** JSON size of one subtask's payload. */
export const MAP_PAYLOAD_MAX_BYTES = 64 * 1024;
/**
 * The output a map attempt answers with once its map is sealed: `{ [MAP_SEALED_KEY]: { total } }`.
 * The server checks the store before it takes the attempt for a sealed map; any other output ends
 * the attempt as usual.
 */
export const MAP_SEALED_KEY = '$ecronMapSealed';

export const SUBTASK_STATES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type SubtaskState = (typeof SUBTASK_STATES)[number];
/** `mapping`: subtasks are being emitted; `running`: sealed; `reducing`: the reduce is pending or running; then final. */
export const MAP_STATES = ['mapping', 'running', 'reducing', 'succeeded', 'failed', 'cancelled'] as const;
export type MapState = (typeof MAP_STATES)[number];

export const MapOptionsSchema = z.strictObject({
  /** A handler (registered for subtasks) that receives every result once all subtasks ended. */
  reduce: z.string().min(1).max(128).optional(),
  /** Tries per subtask, the first included. @default the task's `retry.maxAttempts` */
  maxAttempts: z.number().int().min(1).max(100).optional(),
  /** `fail-run`: the first subtask that failed for good fails the run; `continue`: the reduce sees it. */
  onSubtaskFailure: z.enum(['fail-run', 'continue']).default('fail-run'),
  /** With `continue`: the run fails when more than this share of subtasks failed (0..1). */
  maxFailedRatio: z.number().min(0).max(1).optional(),
});
export type MapOptions = z.input<typeof MapOptionsSchema>;

/** `POST /api/v1/runs/{id}/subtasks`: a batch of subtasks, with the run-scoped token as bearer. */
export const MapAppendSchema = z.strictObject({
  attempt: z.number().int().min(1),
  /** Index of the first item: the batches of one attempt follow each other (a batch sent again is a no-op). */
  offset: z.number().int().min(0).max(MAP_SUBTASKS_MAX),
  handler: z.string().min(1).max(128),
  items: z.array(z.unknown()).max(MAP_BATCH_MAX),
  options: MapOptionsSchema.default(() => MapOptionsSchema.parse({})),
});
export type MapAppend = z.input<typeof MapAppendSchema>;

export const MapSealSchema = z.strictObject({ attempt: z.number().int().min(1) });

/** `POST /api/v1/executors/{id}/subtasks/claim` (long poll). */
export const SubtaskClaimSchema = z.strictObject({
  /** The handlers this node serves subtasks for. */
  handlers: z.array(z.string().min(1).max(128)).min(1).max(1000),
  /** Most subtasks to take: the node's free slots. */
  max: z.number().int().min(1).max(1000).default(16),
  waitMs: z.number().int().min(0).max(30_000).default(20_000),
});
export type SubtaskClaim = z.input<typeof SubtaskClaimSchema>;

/** The run a subtask belongs to, as its handler sees it. */
export interface SubtaskRun {
  runId: string;
  taskId: string;
  namespace: string;
  task: string;
  scheduledAt: string;
  /** The run's attempt that made the map. */
  attempt: number;
  params: Record<string, unknown>;
  deadline: string | null;
}

export interface ClaimedSubtask {
  runId: string;
  index: number;
  kind: 'map' | 'reduce';
  handler: string;
  payload: unknown;
  /** The claim's number: a result or a lease extension names it (a later claim fences out an earlier one). */
  lease: number;
  /** Tries so far, this one included. */
  tries: number;
  leaseMs: number;
  run: SubtaskRun;
  /** For the reduce: the counts of the subtasks it reduces. */
  summary?: { total: number; succeeded: number; failed: number };
}

export interface SubtaskClaimReply {
  subtasks: ClaimedSubtask[];
}

const SubtaskKey = z.strictObject({ runId: z.string().max(64), index: z.number().int().min(-1), lease: z.number().int().min(1) });

/** `POST /api/v1/executors/{id}/subtasks/results`: outcomes, and leases to extend. */
export const SubtaskResultsSchema = z.strictObject({
  results: z.array(SubtaskKey.extend({
    status: z.enum(['succeeded', 'failed']),
    output: z.unknown().optional(),
    error: z.string().max(16_384).optional(),
    /** Lines logged by the handler: appended to the run's log as `[subtask N] …`. */
    logs: z.array(z.strictObject({ level: z.enum(['debug', 'info', 'warn', 'error']), message: z.string().max(16_384) })).max(100).optional(),
  })).max(1000).default([]),
  extend: z.array(SubtaskKey).max(10_000).default([]),
});
export type SubtaskResults = z.input<typeof SubtaskResultsSchema>;

export interface SubtaskResultsReply {
  accepted: number;
  /** Leases among `extend` (and results) no longer held: their handlers should stop. */
  lost: { runId: string; index: number }[];
}

/** One ended subtask, as the reduce reads them (`GET /api/v1/executors/{id}/subtasks/page`). */
export interface SubtaskResult {
  index: number;
  status: 'succeeded' | 'failed' | 'cancelled';
  output: unknown;
  error: string | null;
}

export interface SubtaskResultPage {
  items: SubtaskResult[];
  /** `after` for the next page; null at the end. */
  next: number | null;
}

/** `map` of a run resource: where its subtasks are. */
export interface MapSummary {
  state: MapState;
  attempt: number;
  total: number;
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  reduce: string | null;
  onSubtaskFailure: 'fail-run' | 'continue';
}

/** A subtask as `GET /api/v1/runs/{id}/subtasks` lists it. */
export interface SubtaskResource {
  index: number;
  kind: 'map' | 'reduce';
  handler: string;
  state: SubtaskState;
  tries: number;
  maxAttempts: number;
  /** The nodes that took it, in order (one per claim). */
  executors: string[];
  payload: unknown;
  output: unknown;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}
