import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import { EVENT_HEADER, SIGNATURE_HEADER, type RunRequest } from '@ecron/contracts';
import { verifySignature } from '@ecron/contracts/signature';

export interface ReceivedRequest {
  path: string;
  event: string;
  body: RunRequest & { event?: string; reason?: string };
  signatureOk: boolean;
  receivedAt: number;
}

export type Behaviour = (req: ReceivedRequest, signal: AbortSignal) => Promise<{ status: number; body?: unknown }> | { status: number; body?: unknown };

/**
 * A real HTTP executor for tests: records every request it gets and answers with the behaviour
 * set for its path (default 200 `{ok: true}`). Emits `request` for each one.
 */
export class TestExecutor extends EventEmitter<{ request: [ReceivedRequest] }> {
  readonly received: ReceivedRequest[] = [];
  readonly behaviours = new Map<string, Behaviour>();
  statusReplies = new Map<string, unknown>();
  #server: Server | null = null;
  readonly #signingKey: string;

  /**
   * With `trackStatus`, status requests are answered from what this executor saw: `running` while
   * it handles an attempt, `succeeded`/`failed` once it answered, `unknown` only for attempts it
   * never received. Without, every status is `unknown` unless set in `statusReplies`.
   */
  constructor(signingKey: string, options: { trackStatus?: boolean } = {}) {
    super();
    this.#signingKey = signingKey;
    this.#trackStatus = options.trackStatus ?? false;
  }

  readonly #trackStatus: boolean;
  /** When false, status requests get 404: the executor cannot tell (no status support). */
  statusSupported = true;
  readonly #seen = new Map<string, { status: 'running' | 'succeeded' | 'failed'; output?: unknown }>();

  async start(): Promise<string> {
    this.#server = createServer(async (req, res) => {
      const raw = await readBody(req);
      const controller = new AbortController();
      res.on('close', () => { if (!res.writableEnded) controller.abort(); });
      const body = JSON.parse(raw);
      const check = verifySignature(this.#signingKey, raw, req.headers[SIGNATURE_HEADER] as string | undefined, Date.now(), Number.MAX_SAFE_INTEGER);
      const received: ReceivedRequest = { path: req.url ?? '/', event: String(req.headers[EVENT_HEADER] ?? 'run'), body, signatureOk: check.ok, receivedAt: Date.now() };
      this.received.push(received);
      this.emit('request', received);
      let answer: { status: number; body?: unknown };
      const key = `${body.runId}/${body.attempt}`;
      if (received.event === 'status') {
        const seen = this.#trackStatus ? this.#seen.get(key) : undefined;
        answer = this.statusSupported ? { status: 200, body: this.statusReplies.get(body.runId) ?? seen ?? { status: 'unknown' } } : { status: 404 };
      } else if (received.event === 'cancel') {
        answer = { status: 200, body: { ok: true } };
      } else {
        this.#seen.set(key, { status: 'running' });
        answer = await (this.behaviours.get(received.path) ?? (() => ({ status: 200, body: { ok: true } })))(received, controller.signal);
        this.#seen.set(key, answer.status >= 200 && answer.status < 300 ? { status: 'succeeded', output: answer.body } : { status: 'failed' });
      }
      if (controller.signal.aborted) return;
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body ?? null));
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`;
  }

  runs(path?: string): ReceivedRequest[] {
    return this.received.filter((r) => r.event === 'run' && (path === undefined || r.path === path));
  }

  /** Resolves with the next request matching `predicate` (or one already received). */
  next(predicate: (r: ReceivedRequest) => boolean, timeoutMs = 5000): Promise<ReceivedRequest> {
    const seen = this.received.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.off('request', listener); reject(new Error('no matching request reached the executor')); }, timeoutMs);
      const listener = (r: ReceivedRequest) => {
        if (!predicate(r)) return;
        clearTimeout(timer);
        this.off('request', listener);
        resolve(r);
      };
      this.on('request', listener);
    });
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Never answers until the request is aborted. */
export const hang: Behaviour = (_req, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ status: 499 })));
