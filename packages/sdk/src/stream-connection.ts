/**
 * One WebSocket of the streamed executor channel to one API node (see
 * `@ecron/contracts/executor-stream`), from the upgrade to the close:
 *
 * - Frame 0 from the server is the hello: its `conn` must start with this connection's nonce.
 *   Every server frame is verified (MAC, `seq` from 0 with no gap, age) before anything in it is
 *   applied; a frame that fails closes the socket with STREAM_CLOSE_REFUSED and runs nothing.
 * - Credit: after the hello, free slots of the budget (up to the node's share) are granted, and
 *   so are slots freed later; the slot of a run that ended is granted again in the frame of its
 *   result. A frame with more runs than the credit left is refused.
 * - Results and credit go back together, one frame when a batch of results is queued
 *   (STREAM_MAX_BATCH, or the hello's `maxBatch` if smaller) or `lingerMs` after the first,
 *   whichever comes first; credit with no result waiting goes at once.
 * - When the socket closes, runs it delivered are aborted and their results dropped: the server
 *   counts those deliveries as unreachable and sends them again.
 * - On the timed subprotocol a run may come before its instant, with its `startInMs`: it holds its
 *   slot from its arrival and starts then (never earlier by this machine's clock). A cancel drops
 *   it unstarted; quiesce hands it back at once; a close drops it (the server sends it again).
 * - quiesce(): no more credit; the socket closes once the runs it delivered have answered (a
 *   handed-back run as `handed_back`) and their results went out.
 */
import { randomBytes } from 'node:crypto';
import {
  decodeFrame, encodeFrame, peekFrame, STREAM_CLOSE_REFUSED, STREAM_MAX_BATCH, STREAM_MAX_FRAME_BYTES, STREAM_MAX_START_IN_MS, STREAM_NONCE_HEADER,
  STREAM_SUBPROTOCOL, STREAM_SUBPROTOCOL_TIMED, type ExecutorFrame, type FrameRefusal, type ServerFrame, type StreamRun,
} from '@ecron/contracts/executor-stream';
import WebSocket from 'ws';
import { apiUrl, type ApiConnection } from './api-request.ts';
import { prepareDelivery, startDelivery, type DeliveryResult, type PreparedDelivery } from './delivery.ts';
import { describeError } from './log.ts';
import type { RunExecution } from './run-execution.ts';
import type { RunHost } from './transport.ts';

/** A frame of more runs than the credit left (the executor's own check; a code of the contract's FrameRefusal). */
export const CREDIT_EXCEEDED: FrameRefusal = 'FRAME_CREDIT_EXCEEDED';
/** A connection whose pong did not come back within one period is ended. */
const PING_MS = 15_000;
/** Longest wait for the server's answer to a close before the socket is destroyed. */
const CLOSE_TIMEOUT_MS = 2000;

/** The slots this connection's node holds in the executor's budget. */
export interface ConnectionSlots {
  /** Waits for free slots within the node's share and reserves them; 0 when `signal` aborts. */
  reserve(signal: AbortSignal): Promise<number>;
  release(count: number): void;
  /** A run ended: true when the node may keep its slot for new credit (it is within its share); else the slot is released. */
  recycle(): boolean;
}

export interface StreamConnectionOptions {
  /** The API node (its base URL) and the executor's token. */
  connection: ApiConnection;
  id: string;
  /** The group's secret as of the connection's start. */
  secret: string;
  slots: ConnectionSlots;
  lingerMs: number;
  /** The hello verified. */
  onOpened(): void;
}

/** How a connection ended: `opened` once the hello verified; `refused` names a frame refusal of ours. */
export interface ConnectionEnd {
  opened: boolean;
  code: number;
  /** The close frame's reason, else the socket's last error (a refused upgrade, say). */
  reason: string;
  refused: string | null;
}

export class StreamConnection {
  /** Resolves once the socket closed. */
  readonly closed: Promise<ConnectionEnd>;
  readonly #host: RunHost;
  readonly #options: StreamConnectionOptions;
  readonly #ws: WebSocket;
  readonly #nonce = randomBytes(18).toString('base64url');
  #conn: string | null = null;
  #maxBatch = STREAM_MAX_BATCH;
  #inSeq = 0;
  #outSeq = 0;
  /** Runs the server may still send (granted, not used). */
  #credit = 0;
  /** Credit to grant in the next frame. */
  #grant = 0;
  #results: DeliveryResult[] = [];
  /** delivery id → its run, until answered. */
  readonly #running = new Map<string, RunExecution>();
  /** Runs that came before their instant, made ready to start: delivery id → the run and its start (Date.now() ms). */
  readonly #held = new Map<string, { run: PreparedDelivery; at: number }>();
  /** One timer per instant of held runs: instant → its timer and delivery ids. */
  readonly #starts = new Map<number, { timer: NodeJS.Timeout; ids: string[] }>();
  #timer: NodeJS.Timeout | null = null;
  #pinger: NodeJS.Timeout | null = null;
  #pongDue = false;
  /** Aborted when no more credit is granted (quiesce, close). */
  readonly #granting = new AbortController();
  #quiescing = false;
  /** This side began the close: frames that still arrive are ignored. */
  #closing = false;
  #ended = false;
  #refused: string | null = null;
  #error = '';

  constructor(host: RunHost, options: StreamConnectionOptions) {
    this.#host = host;
    this.#options = options;
    const { connection, id } = options;
    const url = apiUrl(connection.server, `/api/v1/executors/${encodeURIComponent(id)}/stream`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    this.#ws = new WebSocket(url, [STREAM_SUBPROTOCOL_TIMED, STREAM_SUBPROTOCOL], {
      headers: { authorization: `Bearer ${connection.token}`, [STREAM_NONCE_HEADER]: this.#nonce, 'user-agent': connection.userAgent },
      maxPayload: STREAM_MAX_FRAME_BYTES,
      handshakeTimeout: connection.timeoutMs,
    });
    this.closed = new Promise((resolve) => {
      this.#ws.on('close', (code, reason) => {
        this.#end();
        resolve({ opened: this.#conn !== null, code, reason: reason.toString() || this.#error, refused: this.#refused });
      });
    });
    this.#ws.on('error', (error) => { this.#error = describeError(error); });
    this.#ws.on('message', (data, isBinary) => this.#onMessage(isBinary ? null : data.toString()));
    this.#ws.on('pong', () => { this.#pongDue = false; });
  }

  get node(): string {
    return this.#options.connection.server;
  }

  /** Grants no more credit; closes the socket once the runs it delivered answered and their results went out. */
  quiesce(): void {
    this.#quiescing = true;
    this.#granting.abort();
    if (this.#conn === null) return void this.#ws.terminate();
    // Runs not started yet go back at once: the server sends them to another node.
    for (const id of [...this.#held.keys()]) this.#unhold(id, { id, status: 'handed_back' });
    this.#clearStarts();
    this.#closeWhenDone();
  }

  #onMessage(text: string | null): void {
    if (this.#ended || this.#closing) return;
    const read = readFrame(this.#options.secret, this.#nonce, this.#conn, text, this.#inSeq, this.#ws.protocol === STREAM_SUBPROTOCOL_TIMED);
    if (!read.ok) return this.#refuse(read.code);
    const { frame } = read;
    const runs = frame.runs ?? [];
    if (runs.length > this.#credit) return this.#refuse(CREDIT_EXCEEDED);
    this.#inSeq += 1;
    this.#credit -= runs.length;
    if (this.#conn === null) this.#opened(read.conn, frame.hello!.maxBatch);
    for (const cancel of frame.cancels ?? []) {
      if (this.#held.has(cancel.id)) this.#unhold(cancel.id, { id: cancel.id, status: 'failed', error: `cancelled (${cancel.reason}) before it started` });
      else this.#running.get(cancel.id)?.abort('cancelled');
    }
    const now = Date.now();
    // Runs held for an instant already reached go before the runs of this frame.
    if (runs.length > 0 && this.#held.size > 0) this.#startDue(now);
    for (const run of runs) {
      if (run.startInMs !== undefined && run.startInMs > 0) this.#hold(run, now + run.startInMs);
      else this.#start(run);
    }
  }

  #start(run: StreamRun): void {
    const execution = startDelivery(this.#host, run.id, run.request, (result) => this.#answered(run.id, result));
    if (execution) this.#running.set(run.id, execution);
  }

  /**
   * Holds a run that came before its instant `at`, for its instant's timer; what starting it takes
   * before the handler's call is done now, so that at its instant only the call is left.
   */
  #hold(run: StreamRun, at: number): void {
    const prepared = prepareDelivery(this.#host, run.id, run.request, (result) => this.#answered(run.id, result));
    if (!prepared) return; // answered at once
    this.#held.set(run.id, { run: prepared, at });
    const slot = this.#starts.get(at);
    if (slot) slot.ids.push(run.id);
    else this.#starts.set(at, { timer: setTimeout(() => this.#due(at), at - Date.now()), ids: [run.id] });
  }

  /**
   * An instant's timer: the held runs of every instant reached start, one after the other with
   * nothing in between; a timer that woke before the clock reached its instant waits on.
   */
  #due(at: number): void {
    const slot = this.#starts.get(at);
    if (!slot) return;
    const now = Date.now();
    if (at > now) {
      slot.timer = setTimeout(() => this.#due(at), at - now);
      return;
    }
    this.#startDue(now);
  }

  /**
   * Starts the held runs of every instant up to `now`, and then of every instant reached while
   * they started (a burst's runs, held under instants a millisecond apart, start back to back).
   */
  #startDue(now: number): void {
    for (let started = true; started; now = Date.now()) {
      started = false;
      for (const [instant, due] of this.#starts) {
        if (instant > now) continue;
        started = true;
        clearTimeout(due.timer);
        this.#starts.delete(instant);
        for (const id of due.ids) {
          const held = this.#held.get(id);
          if (!held) continue;
          this.#held.delete(id);
          const execution = held.run.start();
          if (execution) this.#running.set(id, execution);
        }
      }
    }
  }

  #clearStarts(): void {
    for (const slot of this.#starts.values()) clearTimeout(slot.timer);
    this.#starts.clear();
  }

  /** A held run that will not start here: answered with `result` (its slot is freed as a run's end frees it). */
  #unhold(id: string, result: DeliveryResult): void {
    const held = this.#held.get(id);
    if (!held) return;
    this.#held.delete(id); // its instant's timer finds it gone
    held.run.discard();
    this.#answered(id, result);
  }

  #opened(conn: string, maxBatch: number): void {
    this.#conn = conn;
    if (Number.isSafeInteger(maxBatch) && maxBatch > 0) this.#maxBatch = Math.min(maxBatch, STREAM_MAX_BATCH);
    this.#pinger = setInterval(() => {
      if (this.#pongDue) return void this.#ws.terminate();
      this.#pongDue = true;
      this.#ws.ping();
    }, PING_MS);
    void this.#grantLoop();
    this.#options.onOpened();
  }

  /** Grants free slots as they come, until the connection quiesces or ends. */
  async #grantLoop(): Promise<void> {
    const signal = this.#granting.signal;
    while (!signal.aborted) {
      const count = await this.#options.slots.reserve(signal);
      if (count === 0) return;
      if (this.#ended) {
        this.#options.slots.release(count);
        return;
      }
      this.#credit += count;
      this.#grant += count;
      // New credit goes at once, or with the results waiting.
      if (this.#results.length === 0) this.#flush();
      else this.#schedule();
    }
  }

  #answered(id: string, result: DeliveryResult): void {
    this.#running.delete(id);
    if (this.#ended || this.#quiescing) this.#options.slots.release(1);
    else if (this.#options.slots.recycle()) {
      this.#credit += 1;
      this.#grant += 1;
    }
    if (this.#ended) return;
    this.#results.push(result);
    this.#schedule();
    if (this.#quiescing) this.#closeWhenDone();
  }

  /** A frame goes out at once when a batch is full, else after the linger. */
  #schedule(): void {
    if (this.#results.length >= this.#maxBatch) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), this.#options.lingerMs);
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#ended || this.#closing || this.#conn === null) return;
    while (this.#grant > 0 || this.#results.length > 0) {
      const results = this.#results.splice(0, this.#maxBatch);
      const frame: ExecutorFrame = {
        seq: this.#outSeq++, t: Date.now(), ...(this.#grant > 0 ? { credit: this.#grant } : {}), ...(results.length > 0 ? { results } : {}),
      };
      this.#grant = 0;
      this.#ws.send(encodeFrame(this.#options.secret, this.#conn, 'executor', frame));
    }
  }

  #closeWhenDone(): void {
    if (this.#running.size > 0 || this.#held.size > 0 || this.#ended) return;
    this.#flush();
    this.#close(1000, 'executor stopping');
  }

  #refuse(code: string): void {
    this.#refused = code;
    this.#host.log('warn', 'executor stream frame refused; closing the stream', { node: this.node, code, seq: this.#inSeq });
    this.#host.refused(code, 0);
    this.#close(STREAM_CLOSE_REFUSED, code);
  }

  #close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#ws.readyState !== WebSocket.OPEN) return void this.#ws.terminate();
    this.#ws.close(code, reason);
    setTimeout(() => this.#ws.terminate(), CLOSE_TIMEOUT_MS).unref();
  }

  /** The socket closed: unused credit goes back to the budget; runs it delivered stop (their results are dropped). */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#granting.abort();
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#pinger) clearInterval(this.#pinger);
    // Held runs were never started: their slots go back with the unused credit.
    this.#options.slots.release(this.#credit + this.#held.size);
    this.#credit = 0;
    this.#clearStarts();
    for (const held of this.#held.values()) held.run.discard();
    this.#held.clear();
    this.#results = [];
    for (const execution of this.#running.values()) execution.connectionClosed();
  }
}

type Read = { ok: true; conn: string; frame: ServerFrame } | { ok: false; code: string };

/**
 * Server frame `seq` of the connection, verified and well formed; frame 0 is the hello, which
 * names the connection. `timed`: the connection's subprotocol lets runs carry a `startInMs`.
 */
function readFrame(secret: string, nonce: string, conn: string | null, text: string | null, seq: number, timed: boolean): Read {
  if (text === null) return { ok: false, code: 'FRAME_MALFORMED' };
  if (conn === null) {
    const hello = (peekFrame(text)?.value as Partial<ServerFrame> | null | undefined)?.hello;
    if (typeof hello?.conn !== 'string') return { ok: false, code: 'FRAME_MALFORMED' };
    // The hello of another connection, replayed.
    if (!hello.conn.startsWith(`${nonce}.`)) return { ok: false, code: 'FRAME_REPLAYED' };
    conn = hello.conn;
  }
  const decoded = decodeFrame(secret, conn, 'server', text, seq, Date.now());
  if (!decoded.ok) return decoded;
  const frame = decoded.frame as unknown as ServerFrame;
  const listOk = (list: unknown) => list === undefined || (Array.isArray(list) && list.every((item) => typeof (item as { id?: unknown } | null)?.id === 'string'));
  if (!listOk(frame.runs) || !listOk(frame.cancels) || (seq > 0 && frame.hello !== undefined)) return { ok: false, code: 'FRAME_MALFORMED' };
  const startOk = (start: unknown) => start === undefined || (timed && Number.isSafeInteger(start) && (start as number) >= 0 && (start as number) <= STREAM_MAX_START_IN_MS);
  if (frame.runs?.some((run) => !startOk(run.startInMs))) return { ok: false, code: 'FRAME_MALFORMED' };
  return { ok: true, conn, frame };
}
