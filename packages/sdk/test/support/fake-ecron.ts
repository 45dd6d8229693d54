/**
 * A fake of the ecron API at the process edge (a real node:http server): the executor registry
 * (`PUT`/`DELETE /api/v1/executors/{id}`), the pull routes (`poll`, `results`), `GET /api/v1/nodes`
 * and the run report callback. Bodies are checked against the contracts' schemas, as the server
 * does. Other paths are forwarded to `upstream` (a real ecron server) when one is set.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ExecutorHeartbeatSchema, PollRequestSchema, PollResultsSchema, RunReportSchema,
  type ExecutorHeartbeat, type NodeResource, type PollReply, type PollResults, type RunReport, type RunRequest,
} from '@ecron/contracts';

export const FAKE_TOKEN = 'fake-editor-token';
export const FAKE_SECRET = 'fake-group-secret-0123456789abcdef';

export interface ReceivedReport {
  runId: string;
  token: string;
  report: RunReport;
}

type Result = PollResults['results'][number];

export interface FakeEcronEvents {
  heartbeat: [id: string, body: ExecutorHeartbeat];
  deleted: [id: string];
  report: [ReceivedReport];
  poll: [id: string, running: string[]];
  results: [id: string, results: Result[]];
}

export class FakeEcron extends EventEmitter<FakeEcronEvents> {
  url = '';
  secret = FAKE_SECRET;
  heartbeatMs = 100;
  readonly heartbeats: { id: string; body: ExecutorHeartbeat }[] = [];
  readonly deletes: string[] = [];
  readonly reports: ReceivedReport[] = [];
  readonly results: Result[] = [];
  /** Answer the next registry PUTs with this instead (status, error code), `count` times. */
  registryFailure: { status: number; code: string; count: number } | null = null;
  /** Answer the next N reports with 503. */
  failReports = 0;
  /** Answer the next N polls with 500. */
  failPolls = 0;
  /** What `GET /api/v1/nodes` lists (pull discovery); empty by default. */
  nodes: Pick<NodeResource, 'id' | 'address' | 'alive'>[] = [];
  upstream: string | null = null;
  readonly #server: Server;
  readonly #seqs = new Map<string, number>();
  readonly #queue: { id: string; request: RunRequest }[] = [];
  readonly #cancels = new Map<string, PollReply['cancels'][number]['reason']>();
  #wakePoll: (() => void)[] = [];

  constructor() {
    super();
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => send(res, 500, { error: { code: 'INTERNAL', message: String(error) } }));
    });
  }

  /** The HTTP server (a stream fake handles its upgrades). */
  get httpServer(): Server {
    return this.#server;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const wake of this.#wakePoll.splice(0)) wake();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  /** Queues a pull delivery; the next (or waiting) poll takes it. */
  deliver(id: string, request: RunRequest): void {
    this.#queue.push({ id, request });
    for (const wake of this.#wakePoll.splice(0)) wake();
  }

  /** Tells the node to stop a delivery at its next poll. */
  cancelDelivery(id: string, reason: 'user' | 'deadline' | 'overlap' | 'shutdown' = 'user'): void {
    this.#cancels.set(id, reason);
    for (const wake of this.#wakePoll.splice(0)) wake();
  }

  reportsOf(runId: string): RunReport[] {
    return this.reports.filter((r) => r.runId === runId).map((r) => r.report);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const text = await readBody(req);
    const body = text ? JSON.parse(text) : undefined;
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];

    const report = /^\/api\/v1\/runs\/([^/]+)\/report$/.exec(url.pathname);
    if (report && req.method === 'POST') return this.#report(res, decodeURIComponent(report[1]!), bearer ?? '', body);

    const executor = /^\/api\/v1\/executors\/([^/]+)(\/poll|\/results)?$/.exec(url.pathname);
    const isNodes = url.pathname === '/api/v1/nodes';
    if (!executor && !isNodes) {
      if (this.upstream) return this.#forward(req, res, url, text);
      return send(res, 404, { error: { code: 'ROUTE_NOT_FOUND', message: `no route ${req.method} ${url.pathname}` } });
    }
    if (bearer !== FAKE_TOKEN) return send(res, 401, { error: { code: 'UNAUTHENTICATED', message: 'a valid bearer token is required' } });
    if (isNodes) return send(res, 200, { items: this.nodes, buckets: { total: 0, unowned: 0 } });
    const id = decodeURIComponent(executor![1]!);
    const sub = executor![2];
    if (!sub && req.method === 'PUT') return this.#heartbeat(res, id, body);
    if (!sub && req.method === 'DELETE') {
      this.deletes.push(id);
      this.emit('deleted', id);
      return send(res, 204, undefined);
    }
    if (sub === '/poll' && req.method === 'POST') return this.#poll(req, res, id, body);
    if (sub === '/results' && req.method === 'POST') {
      const parsed = PollResultsSchema.safeParse(body);
      if (!parsed.success) return send(res, 400, { error: { code: 'VALIDATION_FAILED', message: parsed.error.message } });
      this.results.push(...parsed.data.results);
      this.emit('results', id, parsed.data.results);
      return send(res, 200, { accepted: parsed.data.results.length });
    }
    return send(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'method not allowed' } });
  }

  #heartbeat(res: ServerResponse, id: string, body: unknown): void {
    if (this.registryFailure && this.registryFailure.count > 0) {
      this.registryFailure.count--;
      const { status, code } = this.registryFailure;
      return send(res, status, { error: { code, message: `fake ${code}`, details: { issues: [{ path: 'group', code: 'custom', message: 'fake detail' }] } } });
    }
    const parsed = ExecutorHeartbeatSchema.safeParse(body);
    if (!parsed.success) {
      return send(res, 400, { error: { code: 'VALIDATION_FAILED', message: 'the request is invalid', details: { issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) } } });
    }
    this.heartbeats.push({ id, body: body as ExecutorHeartbeat });
    this.emit('heartbeat', id, body as ExecutorHeartbeat);
    send(res, 200, { id, group: parsed.data.group, secret: this.secret, heartbeatMs: this.heartbeatMs, ttlMs: 4000, expiresAt: new Date(Date.now() + 4000).toISOString() });
  }

  #report(res: ServerResponse, runId: string, token: string, body: unknown): void {
    if (this.failReports > 0) {
      this.failReports--;
      return send(res, 503, { error: { code: 'STORE_UNAVAILABLE', message: 'fake outage' } });
    }
    const parsed = RunReportSchema.safeParse(body);
    if (!parsed.success) return send(res, 400, { error: { code: 'VALIDATION_FAILED', message: parsed.error.message } });
    if (!token.startsWith(`cb-${runId}`)) return send(res, 401, { error: { code: 'CALLBACK_TOKEN_INVALID', message: 'bad token' } });
    const key = `${runId} ${token}`;
    if ((this.#seqs.get(key) ?? -1) >= parsed.data.seq) return send(res, 409, { error: { code: 'CALLBACK_REPLAYED', message: 'replayed' } });
    this.#seqs.set(key, parsed.data.seq);
    const received = { runId, token, report: body as RunReport };
    this.reports.push(received);
    this.emit('report', received);
    send(res, 200, { accepted: true, status: 'running' });
  }

  async #poll(req: IncomingMessage, res: ServerResponse, id: string, body: unknown): Promise<void> {
    const parsed = PollRequestSchema.safeParse(body);
    if (!parsed.success) return send(res, 400, { error: { code: 'VALIDATION_FAILED', message: parsed.error.message } });
    this.emit('poll', id, parsed.data.running);
    if (this.failPolls > 0) {
      this.failPolls--;
      return send(res, 500, { error: { code: 'INTERNAL', message: 'fake poll failure' } });
    }
    const take = (): PollReply => {
      const deliveries = this.#queue.splice(0, parsed.data.max);
      const cancels = parsed.data.running.filter((r) => this.#cancels.has(r)).map((r) => ({ id: r, reason: this.#cancels.get(r)! }));
      for (const cancel of cancels) this.#cancels.delete(cancel.id);
      return { deliveries, cancels };
    };
    let reply = take();
    if (reply.deliveries.length === 0 && reply.cancels.length === 0 && parsed.data.waitMs > 0) {
      let closed = false;
      req.socket.once('close', () => { closed = true; });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, parsed.data.waitMs);
        this.#wakePoll.push(() => { clearTimeout(timer); resolve(); });
      });
      if (closed) return;
      reply = take();
    }
    send(res, 200, reply);
  }

  async #forward(req: IncomingMessage, res: ServerResponse, url: URL, text: string): Promise<void> {
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type', 'accept']) if (typeof req.headers[name] === 'string') headers[name] = req.headers[name] as string;
    const answer = await fetch(`${this.upstream}${url.pathname}${url.search}`, { method: req.method, headers, body: text === '' ? undefined : text });
    const out = await answer.text();
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(out);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
