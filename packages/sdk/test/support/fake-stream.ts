/**
 * The server's side of the executor stream, on a {@link FakeEcron}'s HTTP server: it upgrades
 * `GET /api/v1/executors/{id}/stream` (bearer token, nonce header, subprotocol), sends the hello,
 * and checks every executor frame as the server does (MAC, seq, age, schema), closing with
 * STREAM_CLOSE_REFUSED on the first that fails. Tests send runs and cancels, or frames of their own.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  decodeFrame, encodeFrame, ExecutorFrameSchema, STREAM_CLOSE_REFUSED, STREAM_MAX_BATCH, STREAM_MAX_FRAME_BYTES, STREAM_NONCE_HEADER,
  STREAM_SUBPROTOCOL, STREAM_SUBPROTOCOL_TIMED, type ExecutorFrame, type ServerFrame, type StreamResult,
} from '@ecron/contracts/executor-stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { FAKE_TOKEN, type FakeEcron } from './fake-ecron.ts';

/** Emits `change` on every event; `until` waits for a condition on its state. */
class Watched extends EventEmitter<{ change: [] }> {
  /** Resolves once `predicate` holds (checked now and at every change); rejects after `timeoutMs`. */
  until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.off('change', check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.off('change', check);
        reject(new Error(`the condition did not hold within ${timeoutMs} ms: ${predicate.toString()}`));
      }, timeoutMs);
      this.on('change', check);
      check();
    });
  }
}

export class FakeStream extends Watched {
  readonly sessions: FakeSession[] = [];
  /** The hello's connection id for a nonce (a test may name another connection's). */
  conn = (nonce: string): string => `${nonce}.${randomBytes(9).toString('base64url')}`;
  /** The hello's `maxBatch`. */
  maxBatch = STREAM_MAX_BATCH;
  /** Whether the server chooses the timed subprotocol when offered (as ecron does), or v1 (an older server). */
  timed = true;
  readonly #fake: FakeEcron;
  readonly #wss = new WebSocketServer({
    noServer: true, maxPayload: STREAM_MAX_FRAME_BYTES,
    handleProtocols: (protocols) => (this.timed && protocols.has(STREAM_SUBPROTOCOL_TIMED) ? STREAM_SUBPROTOCOL_TIMED : STREAM_SUBPROTOCOL),
  });

  constructor(fake: FakeEcron) {
    super();
    this.#fake = fake;
    fake.httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
  }

  /** The latest session. */
  get last(): FakeSession {
    return this.sessions.at(-1)!;
  }

  stop(): void {
    for (const session of this.sessions) session.socket.terminate();
    this.#wss.close();
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const match = /^\/api\/v1\/executors\/([^/]+)\/stream$/.exec(new URL(req.url ?? '/', this.#fake.url).pathname);
    const nonce = req.headers[STREAM_NONCE_HEADER];
    const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!match || req.headers.authorization !== `Bearer ${FAKE_TOKEN}` || typeof nonce !== 'string' || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce)
      || !protocols.includes(STREAM_SUBPROTOCOL)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new FakeSession(ws, decodeURIComponent(match[1]!), nonce, this.conn(nonce), this.#fake.secret, this.maxBatch);
      this.sessions.push(session);
      session.on('change', () => this.emit('change'));
      this.emit('change');
    });
  }
}

/** One executor connection, seen from the server. */
export class FakeSession extends Watched {
  readonly frames: ExecutorFrame[] = [];
  readonly results: StreamResult[] = [];
  /** Credit granted over the connection's life. */
  granted = 0;
  /** How the connection closed (null while open). */
  closed: { code: number; reason: string } | null = null;
  /** Events in order: `frame`, `result <id>`, `closed <code> <reason>`. */
  readonly log: string[] = [];
  readonly socket: WebSocket;
  /** The executor's id, from the path. */
  readonly id: string;
  readonly nonce: string;
  readonly conn: string;
  readonly secret: string;
  #sendSeq = 0;
  #recvSeq = 0;

  constructor(socket: WebSocket, id: string, nonce: string, conn: string, secret: string, maxBatch: number) {
    super();
    this.socket = socket;
    this.id = id;
    this.nonce = nonce;
    this.conn = conn;
    this.secret = secret;
    socket.on('message', (data) => this.#onMessage(data.toString()));
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.log.push(`closed ${code} ${this.closed.reason}`);
      this.emit('change');
    });
    this.send({ hello: { conn, maxBatch } });
  }

  /** The subprotocol agreed. */
  get protocol(): string {
    return this.socket.protocol;
  }

  /** A frame signed for this connection; `overrides` change any of it (a bad seq, an old `t`, another conn or secret). */
  encode(body: Omit<ServerFrame, 'seq' | 't'>, overrides: { seq?: number; t?: number; conn?: string; secret?: string } = {}): string {
    const frame = { seq: overrides.seq ?? this.#sendSeq, t: overrides.t ?? Date.now(), ...body };
    return encodeFrame(overrides.secret ?? this.secret, overrides.conn ?? this.conn, 'server', frame);
  }

  /** Sends the next frame, well signed. */
  send(body: Omit<ServerFrame, 'seq' | 't'>): void {
    this.socket.send(this.encode(body));
    this.#sendSeq += 1;
  }

  #onMessage(data: string): void {
    const decoded = decodeFrame(this.secret, this.conn, 'executor', data, this.#recvSeq, Date.now());
    const parsed = decoded.ok ? ExecutorFrameSchema.safeParse(decoded.frame) : null;
    if (!decoded.ok || !parsed?.success) {
      this.socket.close(STREAM_CLOSE_REFUSED, decoded.ok ? 'FRAME_MALFORMED' : decoded.code);
      return;
    }
    this.#recvSeq += 1;
    const frame = parsed.data;
    this.frames.push(frame);
    this.granted += frame.credit ?? 0;
    this.log.push('frame');
    for (const result of frame.results ?? []) {
      this.results.push(result);
      this.log.push(`result ${result.id}`);
    }
    this.emit('change');
  }
}
