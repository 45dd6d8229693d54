/**
 * The benchmark executor: a lean HTTP executor in its own process. It answers every run request
 * with 200 `{}` at once and records, per request, the receipt time (Date.now() when the request's
 * headers arrived; the driver and the server share this machine's clock) and the raw body.
 * Parsing is deferred until the driver asks for the records, to keep the per-request cost low.
 *
 *   node bench/executor.ts [--port 0] [--verify-key-file DATA_DIR/signing.key]
 *
 * Prints `{"listening": PORT}` on stdout once it listens (127.0.0.1 only).
 *
 * Routes:
 *   POST /run        a run request from ecron: recorded, answered 200 `{}`
 *   GET  /count      `{ "count": N }` requests recorded so far (cheap, for polling)
 *   GET  /records    the records, parsed: `{ fields: [...], rows: [[receivedAt, runId, taskId, scheduledAtMs, attempt, event], ...], badSignatures }`
 *   POST /reset      forgets every record
 *   GET  /healthz    200
 *
 * Signature verification (HMAC-SHA256, `verifySignature` from @ecron/contracts) is OFF by default
 * to keep the executor's cost out of the measurement; `--verify-key-file` turns it on (checked on
 * the hot path, failures answered 401 and counted).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { verifySignature } from '@ecron/contracts/signature';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'verify-key-file': { type: 'string' },
  },
});
const verifyKey = values['verify-key-file'] ? readFileSync(values['verify-key-file'], 'utf8').trim() : null;

/** Receipt instants and raw bodies, index-aligned. */
let receivedAt: number[] = [];
let bodies: string[] = [];
let events: string[] = [];
let badSignatures = 0;

const OK_HEADERS = { 'content-type': 'application/json', 'content-length': '2' };

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
    events.push((req.headers['x-ecron-event'] as string | undefined) ?? 'run');
    res.writeHead(200, OK_HEADERS);
    res.end('{}');
  });
}

function records(): { fields: string[]; rows: (string | number)[][]; badSignatures: number } {
  const rows: (string | number)[][] = [];
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

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer((req, res) => {
  const at = Date.now();
  if (req.method === 'POST' && req.url === '/run') return onRun(req, res, at);
  req.resume();
  if (req.method === 'GET' && req.url === '/count') return json(res, 200, { count: bodies.length });
  if (req.method === 'GET' && req.url === '/records') return json(res, 200, records());
  if (req.method === 'POST' && req.url === '/reset') {
    receivedAt = [];
    bodies = [];
    events = [];
    badSignatures = 0;
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

server.listen(Number(values.port), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ listening: (server.address() as AddressInfo).port })}\n`);
});

// If the driver dies without killing us (SIGKILL), we are re-parented: exit instead of lingering.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) process.exit(0);
}, 1000).unref();

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
