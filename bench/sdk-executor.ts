/**
 * An SDK executor process for bench/executor-dispatch.ts: one `Executor` of @ecron/sdk (push or
 * pull) with one trivial handler, `noop`, that records the run and returns null at once.
 *
 *   node bench/sdk-executor.ts     (started by the driver with an IPC channel; settings in env)
 *
 * Env: ECRON_SERVER, ECRON_TOKEN, GROUP, NODE_ID, MODE (push|pull|stream), MAX_CONCURRENCY (pull, stream; empty =
 * the SDK's default), ECRON_BENCH_SDK (the SDK's entry module, e.g. a frozen copy's
 * packages/sdk/src/index.ts; empty = the working tree's `@ecron/sdk`).
 *
 * Per run it keeps, in columns: Date.now() when the handler was called, `ctx.scheduledAt`, the task
 * id, the run id and the attempt. The driver reads them over IPC:
 *   { type: 'count' }         → { type: 'count', runs }
 *   { type: 'records' }       → { type: 'records', at, scheduledAt, taskId, runId, attempt }
 *   { type: 'reset' }         → { type: 'reset' }
 * and sends `{ type: 'stop' }` (or SIGTERM) to stop it gracefully. It says `{ type: 'ready' }` once
 * the executor is registered (and polling, in pull mode).
 */
import { pathToFileURL } from 'node:url';
import type * as Sdk from '@ecron/sdk';

const { Executor } = (await import(process.env.ECRON_BENCH_SDK ? pathToFileURL(process.env.ECRON_BENCH_SDK).href : '@ecron/sdk')) as typeof Sdk;

const env = process.env;
const mode = env.MODE === 'pull' || env.MODE === 'stream' ? env.MODE : 'push';
const maxConcurrency = env.MAX_CONCURRENCY ? Number(env.MAX_CONCURRENCY) : undefined;

let at: number[] = [];
let scheduledAt: number[] = [];
let taskId: string[] = [];
let runId: string[] = [];
let attempt: number[] = [];

const executor = new Executor({
  server: env.ECRON_SERVER!, token: env.ECRON_TOKEN!, group: env.GROUP!, id: env.NODE_ID!, mode,
  ...(maxConcurrency === undefined ? {} : { maxConcurrency }), shutdownGraceMs: 2000,
});
executor.handle('noop', (ctx) => {
  at.push(Date.now());
  scheduledAt.push(ctx.scheduledAt.getTime());
  taskId.push(ctx.taskId);
  runId.push(ctx.runId);
  attempt.push(ctx.attempt);
  return null;
});

const send = (message: Record<string, unknown>): void => {
  process.send?.(message);
};

let stopping: Promise<void> | null = null;
function stop(): void {
  stopping ??= executor.stop().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 5000).unref();
}

process.on('message', (message: { type: string }) => {
  switch (message.type) {
    case 'count':
      return send({ type: 'count', runs: at.length });
    case 'records':
      return send({ type: 'records', at, scheduledAt, taskId, runId, attempt });
    case 'reset':
      at = [];
      scheduledAt = [];
      taskId = [];
      runId = [];
      attempt = [];
      return send({ type: 'reset' });
    case 'stop':
      return stop();
  }
});
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The driver went away without stopping us (SIGKILL): exit instead of lingering.
process.on('disconnect', () => process.exit(0));

await executor.start();
send({ type: 'ready', id: executor.id, address: executor.address });
