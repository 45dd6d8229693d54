/**
 * A small HTTP executor for ecron, used by the README walk-through and the end-to-end tests.
 *
 *   node examples/http-executor/executor.ts [--port 9000] [--key-file .ecron/signing.key]
 *
 * Routes (all POST, signed by the server with `x-ecron-signature`):
 *   /hello   answers 200 with a JSON result (a synchronous run)
 *   /flaky   fails (HTTP 500) unless params.failUntilAttempt < attempt (default: fails on attempt 1)
 *   /slow    waits params.sleepMs (default 5000) before answering; honours cancel
 *   /async   answers 202, then reports progress, log lines and the result to the callback URL
 *   /fail    always answers 500 with an error body
 * `x-ecron-event: status` and `cancel` requests are answered for runs this process knows.
 * Each run received is printed as one JSON line on stdout.
 *
 * The signature covers the body, so the body must be read before the signature can be checked.
 * What a caller without the key can cost is bounded: a request with no signature header is refused
 * before its body is read (401), and a body is read up to MAX_BODY_BYTES only (413); both refusals
 * end the connection without reading the rest (see refuse). Before this, anyone who could reach the
 * port could make this process buffer a body of any size (docs/security.md, F8).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { EVENT_HEADER, SIGNATURE_HEADER, type RunRequest } from '@ecron/contracts';
import { verifySignature } from '@ecron/contracts/signature';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '9000' },
    'key-file': { type: 'string', default: '.ecron/signing.key' },
  },
});
const signingKey = process.env.ECRON_SIGNING_KEY ?? readFileSync(values['key-file']!, 'utf8').trim();
/** A run request is a few KiB (params are capped at 64 KiB): 1 MiB is plenty. */
const MAX_BODY_BYTES = 1024 * 1024;
/** How long a refused connection stays open, unread, so that the client can read the answer (see refuse). */
const LINGER_MS = 1000;
const seenNonces = new Map<string, number>();
const runs = new Map<string, { status: 'running' | 'succeeded' | 'failed'; controller: AbortController; output?: unknown; error?: string }>();

const server = createServer(async (req, res) => {
  const signature = req.headers[SIGNATURE_HEADER];
  if (typeof signature !== 'string' || signature === '') return refuse(req, res, 401, 'SIGNATURE_MISSING');
  const body = await readBody(req);
  if (body === 'too-large') return refuse(req, res, 413, 'BODY_TOO_LARGE');
  if (body === 'aborted') return;
  const check = verifySignature(signingKey, body, signature, Date.now());
  if (!check.ok) return reply(res, 401, { error: check.code });
  if (seenNonces.has(check.nonce)) return reply(res, 401, { error: 'SIGNATURE_REPLAYED' });
  seenNonces.set(check.nonce, check.timestamp);
  for (const [nonce, at] of seenNonces) if (Date.now() - at > 10 * 60_000) seenNonces.delete(nonce);

  const event = req.headers[EVENT_HEADER] ?? 'run';
  const message = JSON.parse(body);
  const key = `${message.runId}#${message.attempt}`;
  if (event === 'status') {
    const known = runs.get(key);
    return reply(res, 200, known ? { status: known.status, output: known.output, error: known.error } : { status: 'unknown' });
  }
  if (event === 'cancel') {
    runs.get(key)?.controller.abort();
    return reply(res, 200, { cancelled: true });
  }
  const run = message as RunRequest;
  const state = { status: 'running' as 'running' | 'succeeded' | 'failed', controller: new AbortController(), output: undefined as unknown, error: undefined as string | undefined };
  runs.set(key, state);
  process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), path: req.url, runId: run.runId, task: run.task, attempt: run.attempt, scheduledAt: run.scheduledAt, params: run.params })}\n`);
  req.on('close', () => { if (!res.writableEnded) state.controller.abort(); });

  switch (req.url) {
    case '/hello':
      state.status = 'succeeded';
      state.output = { greeting: `hello from ${run.task}`, attempt: run.attempt, params: run.params };
      return reply(res, 200, state.output);
    case '/flaky': {
      const failUntil = Number(run.params.failUntilAttempt ?? 1);
      if (run.attempt <= failUntil) return reply(res, 500, { error: `failing attempt ${run.attempt} on purpose` });
      return reply(res, 200, { recoveredOnAttempt: run.attempt });
    }
    case '/fail':
      return reply(res, 500, { error: 'this endpoint always fails' });
    case '/slow': {
      const finished = await sleep(Number(run.params.sleepMs ?? 5000), state.controller.signal);
      if (!finished) return;
      return reply(res, 200, { sleptMs: Number(run.params.sleepMs ?? 5000) });
    }
    case '/async':
      reply(res, 202, { accepted: true });
      void runAsync(run, state);
      return;
    default:
      return reply(res, 404, { error: `no handler at ${req.url}` });
  }
});

async function runAsync(run: RunRequest, state: { status: string; controller: AbortController }): Promise<void> {
  let seq = 0;
  const send = (report: Record<string, unknown>) => fetch(run.callback.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${run.callback.token}` },
    body: JSON.stringify({ attempt: run.attempt, seq: seq++, ...report }),
  });
  const steps = Number(run.params.steps ?? 3);
  await send({ status: 'running', logs: [{ level: 'info', message: `starting ${steps} steps` }] });
  for (let step = 1; step <= steps; step++) {
    if (!(await sleep(Number(run.params.stepMs ?? 300), state.controller.signal))) return;
    await send({ progress: Math.round((step / steps) * 100), logs: [{ level: 'info', message: `step ${step}/${steps} done` }] });
  }
  state.status = 'succeeded';
  await send({ status: 'succeeded', output: { steps } });
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(true), ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(false); }, { once: true });
  });
}

/**
 * The body as text, or `too-large` as soon as Content-Length or the bytes received pass
 * MAX_BODY_BYTES (what was read is dropped and reading stops), or `aborted` if the client went away.
 */
function readBody(req: IncomingMessage): Promise<string | 'too-large' | 'aborted'> {
  if (Number(req.headers['content-length']) > MAX_BODY_BYTES) return Promise.resolve('too-large');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const settle = (result: string | 'too-large' | 'aborted') => {
      if (done) return;
      done = true;
      req.off('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      chunks.length = 0;
      req.pause();
      settle('too-large');
    };
    req.on('data', onData);
    req.on('end', () => settle(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => settle('aborted'));
    req.on('close', () => { if (!req.complete) settle('aborted'); });
  });
}

/**
 * Answers a refusal and ends the connection without reading the rest of the body. Left to itself,
 * node answers a request whose body is still arriving with `Connection: close` and destroys the
 * socket as soon as the answer is written; with the client's bytes unread, the kernel then resets
 * the connection and the client may never see the answer. So the connection is ended here: the
 * body stays paused (unread), the answer goes out, then a FIN, and the socket is destroyed
 * LINGER_MS later, once the client has had time to read the answer.
 */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, error: string): void {
  req.on('data', () => {}).pause();
  res.once('finish', () => {
    req.socket.end();
    setTimeout(() => req.socket.destroy(), LINGER_MS).unref();
  });
  res.writeHead(status, { 'content-type': 'application/json', connection: 'keep-alive' });
  res.end(JSON.stringify({ error }));
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

server.listen(Number(values.port), '127.0.0.1', () => {
  process.stderr.write(`example executor listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
