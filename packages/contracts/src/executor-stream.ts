/**
 * The streamed executor channel: one long-lived WebSocket per executor node and scheduler node,
 * carrying runs to the executor and results back, many to a frame. See docs/executor-protocol.md
 * ("The stream").
 *
 * The executor dials `GET /api/v1/executors/{id}/stream` (WebSocket, subprotocol
 * {@link STREAM_SUBPROTOCOL}) with its API token and a fresh nonce in {@link STREAM_NONCE_HEADER}.
 * Every message is one frame: `<64 hex chars of HMAC-SHA256> <JSON>`, the MAC keyed with the
 * group's secret over `${conn}\n${direction}\n${json}`. `conn` is `${nonce}.${server random}`,
 * told by the server's first frame (`hello`): a frame of another connection, or of the other
 * direction, never verifies. `seq` counts each direction's frames from 0 with no gap, so a frame
 * replayed, dropped or reordered is refused; `t` (ms) more than 5 minutes from the reader's clock
 * is stale. A refused frame closes the connection (code {@link STREAM_CLOSE_REFUSED}).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { SIGNATURE_MAX_AGE_MS, type CancelRequest, type RunRequest } from './executor-protocol.ts';
import { TraceparentSchema } from './trace-context.ts';

export const STREAM_SUBPROTOCOL = 'ecron.stream.v1';
/**
 * The same stream, where a run may come before its instant: its `startInMs` says how long after
 * the frame arrived the executor starts it. An executor offers both subprotocols, this one first;
 * a server that chooses it may deliver runs early, a server that chooses v1 never does.
 */
export const STREAM_SUBPROTOCOL_TIMED = 'ecron.stream.v2';
/** The latest start a timed run may be told (ms after its frame arrives); a larger one is FRAME_MALFORMED. */
export const STREAM_MAX_START_IN_MS = 60_000;
/** The executor's nonce for the connection (16–64 characters of [A-Za-z0-9_-]). */
export const STREAM_NONCE_HEADER = 'x-ecron-stream-nonce';
/** Close code of a connection whose peer sent a frame that was refused (reason: its code). */
export const STREAM_CLOSE_REFUSED = 4001;
/** Close code of a connection the server ends because the node is not (or no longer) a live stream node. */
export const STREAM_CLOSE_NOT_REGISTERED = 4004;
/** Largest frame either side accepts. */
export const STREAM_MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** Most runs, or results, in one frame. */
export const STREAM_MAX_BATCH = 1000;

export type StreamDirection = 'server' | 'executor';
export type StreamCancelReason = CancelRequest['reason'];

/** A run on the stream. */
export interface StreamRun {
  id: string;
  request: RunRequest;
  /**
   * Only on {@link STREAM_SUBPROTOCOL_TIMED}: start the run this many ms after the frame arrived,
   * not before (its instant, as the server's clock saw it when the frame went out). Absent or 0:
   * at once. The run holds its slot (its credit) from its arrival.
   */
  startInMs?: number;
}

/** Server → executor. */
export interface ServerFrame {
  seq: number;
  t: number;
  /** Only in frame 0: the connection's id (the executor's nonce, a dot, the server's part). */
  hello?: { conn: string; maxBatch: number };
  runs?: StreamRun[];
  /** Deliveries sent on this connection that must stop. */
  cancels?: { id: string; reason: StreamCancelReason }[];
}

export const StreamResultSchema = z.strictObject({
  id: z.string().max(200),
  /** `handed_back`: the executor stopped before running it to its end: it goes out again, not counted as a failure. */
  status: z.enum(['succeeded', 'failed', 'handed_back']),
  output: z.unknown().optional(),
  error: z.string().max(16_384).optional(),
  /** The executor's span of the run (W3C traceparent); only when its request carried one (see RunReportSchema). */
  traceparent: TraceparentSchema.optional(),
});
export type StreamResult = z.infer<typeof StreamResultSchema>;

/** Executor → server. */
export const ExecutorFrameSchema = z.strictObject({
  seq: z.number().int().min(0),
  t: z.number().int(),
  /** More runs the server may send (free slots granted since the last frame). */
  credit: z.number().int().min(0).max(1_000_000).optional(),
  results: z.array(StreamResultSchema).max(STREAM_MAX_BATCH).optional(),
});
export type ExecutorFrame = z.infer<typeof ExecutorFrameSchema>;

/** Why a frame was refused; FRAME_CREDIT_EXCEEDED: the server sent more runs than the executor granted (the SDK refuses it). */
export type FrameRefusal = 'FRAME_MALFORMED' | 'FRAME_SIGNATURE_MISMATCH' | 'FRAME_STALE' | 'FRAME_REPLAYED' | 'FRAME_CREDIT_EXCEEDED';

function mac(secret: string, conn: string, direction: StreamDirection, json: string): Buffer {
  return createHmac('sha256', secret).update(`${conn}\n${direction}\n${json}`).digest();
}

/** Encodes and signs a frame (the JSON is written once). */
export function encodeFrame(secret: string, conn: string, direction: StreamDirection, frame: object): string {
  const json = JSON.stringify(frame);
  return `${mac(secret, conn, direction, json).toString('hex')} ${json}`;
}

/** The JSON of a frame as parsed, before its MAC is checked (to read `hello.conn` from frame 0). */
export function peekFrame(data: string): { macHex: string; json: string; value: unknown } | null {
  if (data.length < 66 || data[64] !== ' ' || !/^[0-9a-f]{64}$/.test(data.slice(0, 64))) return null;
  const json = data.slice(65);
  try {
    return { macHex: data.slice(0, 64), json, value: JSON.parse(json) };
  } catch {
    return null;
  }
}

/**
 * Verifies a frame read on connection `conn` from `direction`: its MAC, that its `seq` is
 * `expectedSeq`, and that its `t` is within 5 minutes of `now`.
 */
export function decodeFrame(secret: string, conn: string, direction: StreamDirection, data: string, expectedSeq: number, now: number):
  { ok: true; frame: Record<string, unknown> & { seq: number; t: number } } | { ok: false; code: FrameRefusal } {
  const peeked = peekFrame(data);
  if (!peeked || typeof peeked.value !== 'object' || peeked.value === null || Array.isArray(peeked.value)) return { ok: false, code: 'FRAME_MALFORMED' };
  const frame = peeked.value as Record<string, unknown>;
  if (!timingSafeEqual(mac(secret, conn, direction, peeked.json), Buffer.from(peeked.macHex, 'hex'))) return { ok: false, code: 'FRAME_SIGNATURE_MISMATCH' };
  if (!Number.isSafeInteger(frame.seq) || !Number.isSafeInteger(frame.t)) return { ok: false, code: 'FRAME_MALFORMED' };
  if (frame.seq !== expectedSeq) return { ok: false, code: 'FRAME_REPLAYED' };
  if (Math.abs(now - (frame.t as number)) > SIGNATURE_MAX_AGE_MS) return { ok: false, code: 'FRAME_STALE' };
  return { ok: true, frame: frame as Record<string, unknown> & { seq: number; t: number } };
}
