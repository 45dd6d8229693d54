/**
 * The benchmark executor: a lean HTTP executor in its own process. It answers every run request
 * with 200 `{}` at once and records, per request, the receipt time (Date.now() when the request's
 * headers arrived; the driver and the server share this machine's clock) and the raw body.
 * Parsing is deferred until the driver asks for the records, to keep the per-request cost low.
 *
 *   node bench/executor.ts [--port 0] [--verify-key-file DATA_DIR/signing.key] [--track-status]
 *
 * Prints `{"listening": PORT}` on stdout once it listens (127.0.0.1 only).
 *
 * Routes: see lib/executor-server.ts (POST /run, GET /count, GET /records, POST /reset, GET /healthz).
 *
 * Signature verification (HMAC-SHA256, `verifySignature` from @ecron/contracts) is OFF by default
 * to keep the executor's cost out of the measurement; `--verify-key-file` turns it on (checked on
 * the hot path, failures answered 401 and counted). `--track-status` answers status requests from
 * what it received (see lib/executor-server.ts).
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { createBenchExecutor } from './lib/executor-server.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'verify-key-file': { type: 'string' },
    'track-status': { type: 'boolean', default: false },
  },
});
const verifyKey = values['verify-key-file'] ? readFileSync(values['verify-key-file'], 'utf8').trim() : null;
const { server } = createBenchExecutor({ verifyKey, trackStatus: values['track-status'] });

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
