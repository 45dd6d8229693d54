/**
 * The lean HTTP executor's server: it answers every run request with 200 `{}` at once and records,
 * per request, the receipt time (Date.now() when the request's headers arrived) and the raw body.
 * Parsing is deferred until the records are asked for, to keep the per-request cost low.
 *
 * bench/executor.ts runs it in its own process; bench/peers runs it inside the ecron server's
 * process for the "in-process" mode (see bench/peers/systems/ecron.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { verifySignature } from '@ecron/contracts/signature';

/** One parsed record: [receivedAt, runId, taskId, scheduledAtMs, attempt, event]. */
export type RecordRow = [number, string, string, number, number, string];

export interface BenchExecutor {
  server: Server;
  /** Requests recorded so far, of every event (run, cancel, status). */
  count(): number;
  /** Run requests (`x-ecron-event: run`) recorded so far. */
  runCount(): number;
  records(): { fields: string[]; rows: RecordRow[]; badSignatures: number };
  reset(): void;
}

const OK_HEADERS = { 'content-type': 'application/json', 'content-length': '2' };

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Routes:
 *   POST /run        a run request from ecron: recorded, answered 200 `{}`
 *   GET  /count      `{ "count": N, "runs": R }` requests, and run requests, recorded so far (cheap, for polling)
 *   GET  /records    the records, parsed: `{ fields: [...], rows: [[receivedAt, runId, taskId, scheduledAtMs, attempt, event], ...], badSignatures }`
 *   POST /reset      forgets every record
 *   GET  /healthz    200
 * With `verifyKey`, signatures (HMAC-SHA256) are checked on the hot path; failures are answered
 * 401 and counted.
 *
 * With `trackStatus`, status requests (`x-ecron-event: status`, sent by a node that adopts a dead
 * node's runs) are answered truthfully: `succeeded` for an attempt this executor received (it
 * answers every run at once, so none stays `running`), `unknown` only for one it never received.
 * Without, they are answered `{}` (which the scheduler reads as unknown).
 */
export function createBenchExecutor(options: { verifyKey?: string | null; trackStatus?: boolean } = {}): BenchExecutor {
  const verifyKey = options.verifyKey ?? null;
  /** `runId/attempt` of every run request received, when tracking status. */
  const seen = options.trackStatus ? new Set<string>() : null;
  /** Receipt instants and raw bodies, index-aligned. */
  let receivedAt: number[] = [];
  let bodies: string[] = [];
  let events: string[] = [];
  let badSignatures = 0;
  let runs = 0;

  function onRun(req: IncomingMessage, res: ServerResponse, at: number): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]!.toString('latin1') : Buffer.concat(chunks).toString('latin1');
      if (verifyKey !== null) {
        const check = verifySignature(verifyKey, Buffer.from(body, 'latin1').toString('utf8'), req.headers['x-ecron-signature'] as string | undefined, Date.now());
        if (!check.ok) {
          badSignatures += 1;
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: check.code }));
          return;
        }
      }
      receivedAt.push(at);
      bodies.push(body);
      const event = (req.headers['x-ecron-event'] as string | undefined) ?? 'run';
      events.push(event);
      if (event === 'run') runs += 1;
      if (seen !== null && (event === 'run' || event === 'status')) {
        const { runId, attempt } = JSON.parse(body) as { runId?: string; attempt?: number };
        const key = `${runId}/${attempt}`;
        if (event === 'run') seen.add(key);
        else return json(res, 200, { status: seen.has(key) ? 'succeeded' : 'unknown' });
      }
      res.writeHead(200, OK_HEADERS);
      res.end('{}');
    });
  }

  function records(): { fields: string[]; rows: RecordRow[]; badSignatures: number } {
    const rows: RecordRow[] = [];
    for (let i = 0; i < bodies.length; i++) {
      try {
        const message = JSON.parse(Buffer.from(bodies[i]!, 'latin1').toString('utf8')) as { runId?: string; taskId?: string; scheduledAt?: string; attempt?: number };
        rows.push([receivedAt[i]!, message.runId ?? '', message.taskId ?? '', message.scheduledAt ? Date.parse(message.scheduledAt) : NaN, message.attempt ?? 0, events[i]!]);
      } catch {
        rows.push([receivedAt[i]!, '', '', NaN, 0, 'unparsable']);
      }
    }
    return { fields: ['receivedAt', 'runId', 'taskId', 'scheduledAt', 'attempt', 'event'], rows, badSignatures };
  }

  const reset = () => {
    seen?.clear();
    receivedAt = [];
    bodies = [];
    events = [];
    badSignatures = 0;
    runs = 0;
  };

  const server = createServer((req, res) => {
    const at = Date.now();
    if (req.method === 'POST' && req.url === '/run') return onRun(req, res, at);
    req.resume();
    if (req.method === 'GET' && req.url === '/count') return json(res, 200, { count: bodies.length, runs });
    if (req.method === 'GET' && req.url === '/records') return json(res, 200, records());
    if (req.method === 'POST' && req.url === '/reset') {
      reset();
      return json(res, 200, { ok: true });
    }
    if (req.method === 'GET' && req.url === '/healthz') return json(res, 200, { status: 'ok' });
    return json(res, 404, { error: 'not found' });
  });
  // The server keeps up to 128 keep-alive connections open to us: don't close idle ones under it.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 130_000;
  server.requestTimeout = 0;
  server.maxRequestsPerSocket = 0;
  return { server, count: () => bodies.length, runCount: () => runs, records, reset };
}
