/**
 * The server's end of one executor stream (see `@ecron/contracts/executor-stream`): takes the
 * node's deliveries from the {@link PullHub} as far as the executor's credit allows, sends them
 * many to a signed frame, and hands the results it gets back to the hub. To the scheduler a
 * delivery on a stream is a pull delivery answered sooner.
 *
 * - Frames go out at `maxBatch` runs, or `lingerMs` after the first delivery waiting, whichever
 *   comes first; cancels go out with the next frame. A delivery that finds no frame sent within the
 *   last `lingerMs` goes out at the end of the event-loop turn instead (with whatever else the turn
 *   queued): the linger batches a busy stream and adds no delay to a quiet one.
 * - The executor grants credit (its free slots); the session never sends more runs than granted,
 *   so a slow executor holds only its own deliveries (they wait in the hub), never another's.
 * - A frame that fails its MAC, its sequence number or its age closes the connection
 *   ({@link STREAM_CLOSE_REFUSED}, the refusal's code as reason); nothing in it is applied.
 * - On the timed subprotocol (`ecron.stream.v2`) a run may go out before its instant, with its
 *   `startInMs`: the executor holds it (and its slot) and starts it then.
 * - When the connection closes, deliveries sent on it and not answered resolve as unreachable: the
 *   attempt goes out again (the SDK stops the runs of a stream that closed).
 */
import { randomBytes } from 'node:crypto';
import {
  decodeFrame, encodeFrame, ExecutorFrameSchema, STREAM_CLOSE_REFUSED, STREAM_MAX_BATCH, type ServerFrame,
} from '@ecron/contracts/executor-stream';
import type { WebSocket } from 'ws';
import type { PullHub } from './pull-hub.ts';

export interface StreamSessionOptions {
  nodeId: string;
  /** The executor's nonce for this connection (the first part of the connection id). */
  nonce: string;
  /** The secret of the node's group: both directions' frames are signed with it. */
  secret: string;
  hub: PullHub;
  socket: WebSocket;
  /** The executor chose the timed subprotocol: runs may go out before their instant. @default false */
  timed?: boolean;
  now?: () => number;
  /** Longest wait for more deliveries before a frame goes out. @default 2 */
  lingerMs?: number;
  /** Most runs in one frame. @default STREAM_MAX_BATCH */
  maxBatch?: number;
  /** Ping period; a connection that missed a whole period's pong is ended. @default 15000 */
  pingMs?: number;
  log: (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;
}

export class StreamSession {
  readonly #o: Required<StreamSessionOptions>;
  readonly conn: string;
  #sendSeq = 0;
  #recvSeq = 0;
  /** Runs the executor may still be sent. */
  #credit = 0;
  /** Deliveries sent on this connection and not answered yet. */
  readonly #open = new Set<string>();
  /** The pending flush: at the end of the turn (a quiet stream) or after the linger (a busy one). */
  #flushTimer: { cancel: () => void } | null = null;
  #lastSentAt = -Infinity;
  #pingTimer: NodeJS.Timeout | null = null;
  #alive = true;
  #closed = false;
  readonly #detach: () => void;

  constructor(options: StreamSessionOptions) {
    this.#o = { now: Date.now, timed: false, lingerMs: 2, maxBatch: STREAM_MAX_BATCH, pingMs: 15_000, ...options };
    this.conn = `${options.nonce}.${randomBytes(12).toString('base64url')}`;
    const { socket, hub, nodeId } = this.#o;
    this.#detach = hub.attach(nodeId, () => this.#schedule(), this.#o.timed);
    socket.on('message', (data, isBinary) => this.#onMessage(isBinary ? null : data.toString()));
    socket.on('close', () => this.#onClose());
    socket.on('error', (error) => this.#o.log('warn', 'executor stream failed', { node: nodeId, error: String(error) }));
    socket.on('pong', () => { this.#alive = true; });
    this.#pingTimer = setInterval(() => {
      if (!this.#alive) return void socket.terminate();
      this.#alive = false;
      socket.ping();
    }, this.#o.pingMs);
    this.#send({ hello: { conn: this.conn, maxBatch: this.#o.maxBatch } });
  }

  /** Runs the executor may still be sent (tests, stats). */
  get credit(): number {
    return this.#credit;
  }

  /** Deliveries sent and not answered. */
  get open(): number {
    return this.#open.size;
  }

  #send(body: Omit<ServerFrame, 'seq' | 't'>): void {
    const frame: ServerFrame = { seq: this.#sendSeq++, t: this.#o.now(), ...body };
    this.#o.socket.send(encodeFrame(this.#o.secret, this.conn, 'server', frame));
    this.#lastSentAt = performance.now();
  }

  /** A delivery or cancel arrived, or credit did: a frame goes out at once when full, else after the linger. */
  #schedule(): void {
    if (this.#closed) return;
    if (Math.min(this.#credit, this.#o.hub.pending(this.#o.nodeId)) >= this.#o.maxBatch) {
      this.#flush();
      return;
    }
    if (this.#flushTimer) return;
    if (performance.now() - this.#lastSentAt >= this.#o.lingerMs) {
      const immediate = setImmediate(() => this.#flush());
      this.#flushTimer = { cancel: () => clearImmediate(immediate) };
    } else {
      const timer = setTimeout(() => this.#flush(), this.#o.lingerMs);
      this.#flushTimer = { cancel: () => clearTimeout(timer) };
    }
  }

  #clearFlush(): void {
    this.#flushTimer?.cancel();
    this.#flushTimer = null;
  }

  #flush(): void {
    this.#clearFlush();
    if (this.#closed) return;
    const { hub, nodeId, maxBatch } = this.#o;
    for (;;) {
      const reply = hub.take(nodeId, Math.min(this.#credit, maxBatch), this.#open, this.#o.timed);
      if (reply.deliveries.length === 0 && reply.cancels.length === 0) return;
      this.#credit -= reply.deliveries.length;
      for (const delivery of reply.deliveries) this.#open.add(delivery.id);
      this.#send({
        ...(reply.deliveries.length > 0 ? { runs: reply.deliveries } : {}),
        ...(reply.cancels.length > 0 ? { cancels: reply.cancels } : {}),
      });
      if (this.#credit === 0 || reply.deliveries.length < maxBatch) return;
    }
  }

  #onMessage(data: string | null): void {
    if (this.#closed) return;
    const decoded = data === null ? { ok: false as const, code: 'FRAME_MALFORMED' as const }
      : decodeFrame(this.#o.secret, this.conn, 'executor', data, this.#recvSeq, this.#o.now());
    const parsed = decoded.ok ? ExecutorFrameSchema.safeParse(decoded.frame) : null;
    if (!decoded.ok || !parsed?.success) {
      const code = decoded.ok ? 'FRAME_MALFORMED' : decoded.code;
      this.#o.log('warn', 'executor stream frame refused; closing the stream', { node: this.#o.nodeId, code, seq: this.#recvSeq });
      this.#o.socket.close(STREAM_CLOSE_REFUSED, code);
      this.#onClose();
      return;
    }
    this.#recvSeq += 1;
    const frame = parsed.data;
    if (frame.results && frame.results.length > 0) {
      for (const result of frame.results) this.#open.delete(result.id);
      this.#o.hub.results(this.#o.nodeId, frame.results);
    }
    if (frame.credit) {
      this.#credit += frame.credit;
      this.#schedule();
    }
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#detach();
    this.#clearFlush();
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#o.hub.lost(this.#o.nodeId, this.#open, `the stream of executor ${this.#o.nodeId} closed`);
    this.#open.clear();
  }
}
