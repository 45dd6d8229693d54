/**
 * An SDK executor process for bench/quota-isolation.ts: one `Executor` of @ecron/sdk in stream
 * mode, in a namespace, with one handler, `work`, that counts itself in and out of an in-flight
 * counter, sleeps HANDLER_MS (0: returns at once) unless its run is aborted, and records its start
 * and end. The counter is also sampled every SAMPLE_MS, on ticks of the wall clock (`Date.now()`
 * a multiple of SAMPLE_MS), so that the driver can add up the samples of several processes tick by
 * tick.
 *
 *   node bench/quota-executor.ts     (started by the driver with an IPC channel; settings in env)
 *
 * Env: ECRON_SERVER, ECRON_TOKEN, NAMESPACE, GROUP, NODE_ID, HANDLER_MS, MAX_CONCURRENCY, SAMPLE_MS.
 *
 * Per handler call it keeps, in columns: Date.now() at its start and at its end (NaN while it
 * runs), `ctx.scheduledAt`, the task id, the run id, the attempt, and the abort reason if the
 * run's signal was aborted ('' otherwise). The driver reads them over IPC:
 *   { type: 'status' }   → { type: 'status', inFlight, peak, starts }
 *   { type: 'records' }  → { type: 'records', start, end, scheduledAt, taskId, runId, attempt, aborted, tick, sampled, peak }
 * and sends `{ type: 'stop' }` (or SIGTERM) to stop it. It says `{ type: 'ready' }` once registered.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Executor } from '@ecron/sdk';

const env = process.env;
const handlerMs = Number(env.HANDLER_MS ?? 0);
const sampleMs = Number(env.SAMPLE_MS ?? 100);

const start: number[] = [];
const end: number[] = [];
const scheduledAt: number[] = [];
const taskId: string[] = [];
const runId: string[] = [];
const attempt: number[] = [];
const aborted: string[] = [];
let inFlight = 0;
/** The most handlers in flight at once in this process, updated at every start (exact, not sampled). */
let peak = 0;
const tick: number[] = [];
const sampled: number[] = [];

const executor = new Executor({
  server: env.ECRON_SERVER!, token: env.ECRON_TOKEN!, namespace: env.NAMESPACE!, group: env.GROUP!, id: env.NODE_ID!, mode: 'stream',
  maxConcurrency: Number(env.MAX_CONCURRENCY ?? 1000), shutdownGraceMs: 2000,
});

executor.handle('work', async (ctx) => {
  const i = start.length;
  start.push(Date.now());
  end.push(NaN);
  scheduledAt.push(ctx.scheduledAt.getTime());
  taskId.push(ctx.taskId);
  runId.push(ctx.runId);
  attempt.push(ctx.attempt);
  aborted.push('');
  inFlight += 1;
  if (inFlight > peak) peak = inFlight;
  try {
    // A well-behaved handler: it stops when its run is aborted (a closed connection, a cancel).
    if (handlerMs > 0) await sleep(handlerMs, undefined, { signal: ctx.signal });
    // bench/alerts-chaos.ts: the tasks meant to fail carry { "fail": true }.
    if ((ctx.params as { fail?: unknown }).fail === true) throw new Error('failing on purpose');
    return null;
  } catch (error) {
    if (ctx.signal.aborted) aborted[i] = String(ctx.signal.reason ?? 'aborted');
    throw error;
  } finally {
    inFlight -= 1;
    end[i] = Date.now();
  }
});

/** Samples the counter on each wall-clock tick of `sampleMs` (recorded under the tick it was meant for, even if its timer ran late). */
function scheduleSample(): void {
  const now = Date.now();
  const next = (Math.floor(now / sampleMs) + 1) * sampleMs;
  setTimeout(() => {
    tick.push(next / sampleMs);
    sampled.push(inFlight);
    scheduleSample();
  }, next - now).unref();
}

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
    case 'status':
      return send({ type: 'status', inFlight, peak, starts: start.length });
    case 'records':
      return send({ type: 'records', start, end, scheduledAt, taskId, runId, attempt, aborted, tick, sampled, peak });
    case 'stop':
      return stop();
  }
});
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The driver went away without stopping us (SIGKILL): exit instead of lingering.
process.on('disconnect', () => process.exit(0));

await executor.start();
scheduleSample();
send({ type: 'ready', id: executor.id });
