/**
 * The HTTP executor protocol, served with node:http on one path (any path is accepted): signed
 * POSTs whose `x-ecron-event` header says run (default), cancel or status. Run requests are held
 * open while the handler works, and answered with its outcome.
 *
 * Before the signature is checked nothing about a request is trusted, so what it may cost is
 * bounded: a request without a signature header is refused before its body is read, a body is
 * read up to MAX_BODY_BYTES only, and both refusals end the connection without reading the rest
 * of the body (docs/security.md, F8).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EVENT_HEADER, SIGNATURE_HEADER } from '@ecron/contracts';
import { ExecutorError } from './errors.ts';
import { describeError } from './log.ts';
import { HANDED_BACK_ERROR, type RunAnswer, type RunOutcome } from './run-execution.ts';
import { parseRunRequest, parseSelector, type ExecutorTransport, type RunHost } from './transport.ts';

/** Largest request body taken. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Header on a 503 that hands a run back at shutdown: the scheduler sends it elsewhere without counting an attempt. */
export const HANDED_BACK_HEADER = 'x-ecron-handed-back';
/** How long close() lets answers drain before it cuts the remaining connections. */
const CLOSE_TIMEOUT_MS = 2000;
/** How long a connection refused before its body was read stays open, unread, so that the client can read the answer. */
const LINGER_MS = 1000;

export interface HttpTransportOptions {
  host: string;
  port: number;
  /** The URL to advertise; default `http://<host>:<bound port>/`. */
  advertiseUrl?: string | undefined;
}

export class HttpTransport implements ExecutorTransport {
  readonly kind = 'http' as const;
  readonly #host: RunHost;
  readonly #options: HttpTransportOptions;
  readonly #server: Server;

  constructor(host: RunHost, options: HttpTransportOptions) {
    this.#host = host;
    this.#options = options;
    this.#server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        host.log('error', 'an executor request failed unexpectedly', { error: describeError(error) });
        if (!res.headersSent) send(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
        else res.destroy();
      });
    });
  }

  async start(): Promise<string> {
    const { host, port } = this.#options;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        reject(new ExecutorError('EXECUTOR_LISTEN_FAILED', `cannot listen on ${host}:${port}: ${error.code ?? error.message}`, { cause: error }));
      };
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    if (this.#options.advertiseUrl) return this.#options.advertiseUrl;
    const bound = this.#server.address() as AddressInfo;
    const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    return `http://${shownHost}:${bound.port}/`;
  }

  async quiesce(): Promise<void> {
    // New run requests get 503 from #handle (the host no longer accepts); cancel and status go on.
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const timer = setTimeout(() => this.#server.closeAllConnections(), CLOSE_TIMEOUT_MS);
    await closed;
    clearTimeout(timer);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = this.#host;
    const refuse = (status: number, code: string, message: string, headers: Record<string, string> = {}) => {
      host.refused(code, status);
      send(res, status, { error: { code, message } }, headers);
    };
    /** A refusal before the body was read: the rest of it never is (see endUnread). */
    const refuseUnread = (status: number, code: string, message: string) => {
      endUnread(req, res);
      refuse(status, code, message, { connection: 'keep-alive' });
    };
    if (req.method !== 'POST') return refuse(405, 'METHOD_NOT_ALLOWED', 'the executor takes POST requests only', { allow: 'POST' });
    const signature = header(req, SIGNATURE_HEADER);
    if (!signature) return refuseUnread(401, 'SIGNATURE_MISSING', `the request has no ${SIGNATURE_HEADER} header`);
    const read = await readBody(req);
    if (read === 'too-large') return refuseUnread(413, 'BODY_TOO_LARGE', `the body is larger than ${MAX_BODY_BYTES} bytes`);
    if (read === 'aborted') return;
    const gate = host.authenticate(read, signature);
    if (!gate.ok) return refuse(gate.code === 'EXECUTOR_NOT_READY' ? 503 : 401, gate.code, gate.message);
    let message: unknown;
    try {
      message = JSON.parse(read);
    } catch {
      return refuse(400, 'INVALID_JSON', 'the body is not valid JSON');
    }
    const event = header(req, EVENT_HEADER) ?? 'run';
    if (event === 'cancel' || event === 'status') {
      const selector = parseSelector(message);
      if (typeof selector === 'string') return refuse(400, 'VALIDATION_FAILED', selector);
      if (event === 'cancel') return send(res, 200, { cancelled: host.cancel(selector) });
      return send(res, 200, host.status(selector));
    }
    if (event !== 'run') return refuse(400, 'UNKNOWN_EVENT', `unknown x-ecron-event "${event}": expected run, cancel or status`);
    if (!host.accepting) return refuse(503, 'EXECUTOR_STOPPING', 'the executor is shutting down');
    const request = parseRunRequest(message);
    if (typeof request === 'string') return refuse(400, 'VALIDATION_FAILED', request);
    const started = host.startRun(request, { acceptDetached: request.shard.total === 1 && request.fanOut !== true });
    if (started.kind === 'no-handler') return refuse(404, 'HANDLER_NOT_FOUND', started.message);
    if (started.kind === 'recent') return answer(res, started.outcome);
    const { execution, joined } = started;
    if (!joined) {
      res.on('close', () => {
        if (!res.writableEnded) execution.connectionClosed();
      });
    }
    const result = await execution.answer;
    if (!res.writableEnded && !res.destroyed) answer(res, result);
  }
}

function answer(res: ServerResponse, result: RunAnswer | RunOutcome): void {
  switch (result.status) {
    case 'succeeded':
      return send(res, 200, result.output ?? null, spanHeader(result.traceparent));
    case 'failed':
      return send(res, 500, { error: result.error }, spanHeader(result.traceparent));
    case 'accepted':
      return send(res, 202, { accepted: true });
    case 'handed-back':
      return send(res, 503, { error: HANDED_BACK_ERROR }, { [HANDED_BACK_HEADER]: '1' });
  }
}

/** The handler's span as the reply's `traceparent` header (the server links its dispatch span to it). */
function spanHeader(traceparent: string | undefined): Record<string, string> {
  return traceparent ? { traceparent } : {};
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * Ends the connection of a refused request without reading the rest of its body. Left to itself,
 * node answers a request whose body is still arriving with `Connection: close` and destroys the
 * socket as soon as the answer is written; with the client's bytes unread, the kernel then resets
 * the connection and the client may never see the answer. So the body stays paused (unread), the
 * answer (marked keep-alive, so that node leaves the socket to us) goes out, then a FIN, and the
 * socket is destroyed LINGER_MS later, once the client has had time to read the answer.
 */
function endUnread(req: IncomingMessage, res: ServerResponse): void {
  req.on('data', () => {}).pause();
  res.once('finish', () => {
    req.socket.end();
    setTimeout(() => req.socket.destroy(), LINGER_MS).unref();
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The body as text; `too-large` as soon as Content-Length or the bytes received pass
 * MAX_BODY_BYTES (reading stops there), `aborted` if the client went away.
 */
function readBody(req: IncomingMessage): Promise<string | 'too-large' | 'aborted'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) return Promise.resolve('too-large');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        done = true;
        chunks.length = 0;
        req.pause();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    const gone = () => {
      if (done) return;
      done = true;
      resolve('aborted');
    };
    req.on('error', gone);
    req.on('close', gone);
  });
}
