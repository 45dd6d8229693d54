/**
 * OpenTelemetry traces of a real server (SQLite) exported over OTLP/HTTP to a receiver run here:
 * runs on an HTTP target, a gRPC target, an SDK executor on the streamed channel (one of them
 * retried) and the agent's shell handler in an SDK executor over HTTP. Every executor-side span and
 * traceparent must be in its run's trace, under the server's spans.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { ROOT_CONTEXT, type Context, type ContextManager, type context as ContextApi, type trace as TraceApi } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTraceparent, SHELL_HANDLER } from '@ecron/contracts';
import { Executor } from '@ecron/sdk';
import { Allowlist } from '../../src/agent/allowlist.ts';
import { createShellHandler } from '../../src/agent/shell-handler.ts';
import type { RunRecord } from '../../src/core/model.ts';
import { spanIdOf, traceIdOf } from '../../src/observability/trace-ids.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { GrpcTestExecutor } from '../support/grpc-test-executor.ts';

/**
 * The executor side registers its tracer provider and context manager with the
 * `@opentelemetry/api` the SDK resolves (this checkout holds two copies of the API, and a global
 * registered through one is not seen by the other; a service has one).
 */
const { context, trace } = createRequire(join(import.meta.dirname, '../../../sdk/package.json'))('@opentelemetry/api') as { context: typeof ContextApi; trace: typeof TraceApi };

const ADMIN = 'ecr_traces_test_admin_0123456789abcdef01';
const SIGNING_KEY = 'traces-test-signing-key-0123456789';

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
}

/** An OTLP/HTTP receiver (JSON): keeps every span it is sent. */
class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  #server: Server | null = null;

  async start(): Promise<string> {
    this.#server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      req.on('end', () => {
        const payload = JSON.parse(body) as { resourceSpans: { resource: { attributes: Attr[] }; scopeSpans: { spans: RawSpan[] }[] }[] };
        for (const resourceSpans of payload.resourceSpans) {
          const service = String(attributes(resourceSpans.resource.attributes)['service.name']);
          for (const scope of resourceSpans.scopeSpans) {
            for (const span of scope.spans) {
              this.spans.push({
                service, traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId ?? '', name: span.name,
                attributes: attributes(span.attributes ?? []), links: (span.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
              });
            }
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}
type Attr = { key: string; value: Record<string, unknown> };
type RawSpan = { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: Attr[]; links?: { traceId: string; spanId: string }[] };
function attributes(list: Attr[]): Record<string, unknown> {
  return Object.fromEntries(list.map((a) => [a.key, Object.values(a.value)[0]]));
}

/** The context manager an OpenTelemetry Node SDK installs (AsyncLocalStorage), for the executor side. */
class AsyncContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context { return this.#storage.getStore() ?? ROOT_CONTEXT; }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T { return target; }
  enable(): this { return this; }
  disable(): this { this.#storage.disable(); return this; }
}

let root: string;
let receiver: OtlpReceiver;
let server: RunningServer;
let executorTracing: BasicTracerProvider;
let sdkNode: Executor;
let shellNode: Executor;
let grpcTarget: GrpcTestExecutor;
let httpTarget: Server;
const httpHeaders: { traceparent: string | undefined; body: Record<string, unknown> }[] = [];
const handlerSpans: { runId: string; traceId: string; parentSpanId: string | undefined }[] = [];
const shellOutputs = new Map<string, string>();
const runs = new Map<string, RunRecord>();

async function api(path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${server.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = await res.json();
  expect(res.status, JSON.stringify(json)).toBeLessThan(300);
  return json;
}

/** Resolves with the ended run of `runId` (or waits for it). */
function ended(runId: string, timeoutMs = 20_000): Promise<RunRecord> {
  const known = runs.get(runId);
  if (known) return Promise.resolve(known);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`run ${runId} did not end`)), timeoutMs);
    const listener = (run: RunRecord) => {
      if (run.id !== runId) return;
      clearTimeout(timer);
      server.scheduler!.events.off('run:ended', listener);
      resolve(run);
    };
    server.scheduler!.events.on('run:ended', listener);
  });
}

async function trigger(spec: Record<string, unknown>): Promise<string> {
  const task = await api('/api/v1/tasks', spec);
  const run = await api(`/api/v1/tasks/${task.id}/trigger`, {});
  return run.id as string;
}

beforeAll(async () => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'ecron-traces-')));
  receiver = new OtlpReceiver();
  const otlp = await receiver.start();
  // The executor side's OpenTelemetry SDK (what a service embedding @ecron/sdk would install).
  executorTracing = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'executor' }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${otlp}/v1/traces` }) as unknown as SpanExporter)],
  });
  context.setGlobalContextManager(new AsyncContextManager());
  trace.setGlobalTracerProvider(executorTracing);

  httpTarget = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
    req.on('end', () => {
      httpHeaders.push({ traceparent: req.headers.traceparent as string | undefined, body: JSON.parse(body) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => httpTarget.listen(0, '127.0.0.1', resolve));
  server = await startServer({
    dataDir: join(root, 'data'), port: 0, host: '127.0.0.1', roles: ['api', 'scheduler'], logger: pino({ level: 'silent' }),
    env: { ECRON_ADMIN_TOKEN: ADMIN, ECRON_SIGNING_KEY: SIGNING_KEY, OTEL_EXPORTER_OTLP_ENDPOINT: otlp, OTEL_SERVICE_NAME: 'ecron-test', OTEL_BSP_SCHEDULE_DELAY: '50' },
    consoleDir: join(root, 'no-console'),
  });
  server.scheduler!.events.on('run:ended', (run) => runs.set(run.id, run));
  grpcTarget = new GrpcTestExecutor(SIGNING_KEY);
  await grpcTarget.start();

  sdkNode = new Executor({ server: server.url, token: ADMIN, group: 'sdk', id: 'sdk-node', mode: 'stream', log: () => {} });
  const tracer = trace.getTracer('user-code');
  sdkNode.handle('work', async (ctx) => {
    const span = tracer.startSpan('user.work');
    handlerSpans.push({ runId: ctx.runId, traceId: span.spanContext().traceId, parentSpanId: (span as unknown as { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId });
    span.end();
    return { ok: true };
  });
  sdkNode.handle('flaky', (ctx) => {
    if (ctx.attempt === 1) throw new Error('first attempt fails');
    return { ok: true };
  });
  await sdkNode.start();
  shellNode = new Executor({ server: server.url, token: ADMIN, group: 'ops', id: 'shell-node', mode: 'push', listen: { host: '127.0.0.1', port: 0 }, log: () => {} });
  const shell = createShellHandler({
    allowlist: new Allowlist(['printenv TRACEPARENT']), workingDir: root,
    baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, env: {}, killGraceMs: 2000, maxConcurrency: 2,
  });
  shellNode.handle(SHELL_HANDLER, async (ctx) => {
    const out = await shell(ctx);
    return out;
  });
  await shellNode.start();
}, 60_000);

afterAll(async () => {
  await sdkNode?.stop();
  await shellNode?.stop();
  await server?.stop();
  await grpcTarget?.stop();
  await new Promise((resolve) => httpTarget?.close(resolve));
  await executorTracing?.shutdown();
  trace.disable();
  context.disable();
  await receiver?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('traces', () => {
  it('puts every executor in its run\'s trace, retries as attempt spans of one trace', async () => {
    const httpRun = await trigger({ name: 'http-traced', schedule: { manual: true }, target: { type: 'http', url: `http://127.0.0.1:${(httpTarget.address() as AddressInfo).port}/run` } });
    const grpcRun = await trigger({ name: 'grpc-traced', schedule: { manual: true }, target: { type: 'grpc', url: grpcTarget.address } });
    const sdkRun = await trigger({ name: 'sdk-traced', schedule: { manual: true }, target: { type: 'executor', group: 'sdk', handler: 'work' } });
    const retried = await trigger({
      name: 'sdk-retried', schedule: { manual: true }, target: { type: 'executor', group: 'sdk', handler: 'flaky' },
      retry: { maxAttempts: 2, backoff: { type: 'fixed', initialMs: 10 } },
    });
    const shellRun = await trigger({ name: 'shell-traced', schedule: { manual: true }, target: { type: 'shell', group: 'ops', command: 'printenv TRACEPARENT' } });
    const scheduled = await api('/api/v1/tasks', {
      name: 'scheduled-traced', schedule: { at: new Date(Date.now() + 1500).toISOString() }, target: { type: 'http', url: `http://127.0.0.1:${(httpTarget.address() as AddressInfo).port}/at` },
    });
    const firedRun = await new Promise<RunRecord>((resolve) => {
      const listener = (run: RunRecord) => {
        if (run.taskId !== scheduled.id) return;
        server.scheduler!.events.off('run:ended', listener);
        resolve(run);
      };
      server.scheduler!.events.on('run:ended', listener);
    });
    for (const id of [httpRun, grpcRun, sdkRun, retried, shellRun]) expect((await ended(id)).status, id).toBe('succeeded');
    const shellLogs = await api(`/api/v1/runs/${shellRun}/logs`);
    const line = JSON.stringify(shellLogs).match(/(00-[0-9a-f]{32}-[0-9a-f]{16}-0[01])/);
    expect(line, JSON.stringify(shellLogs)).not.toBeNull();
    shellOutputs.set(shellRun, line![1]!);

    await server.stop();
    await executorTracing.forceFlush();
    const spans = receiver.spans;
    const trace = (runId: string) => traceIdOf({ runId, workflowRunId: null });
    const ofRun = (runId: string) => spans.filter((s) => s.traceId === trace(runId));
    const named = (runId: string, name: string) => ofRun(runId).filter((s) => s.name === name);

    // The HTTP target got a valid traceparent header, equal to the signed body's, in its run's trace.
    const http = httpHeaders.find((h) => h.body.runId === httpRun)!;
    const header = parseTraceparent(http.traceparent);
    expect(header).not.toBeNull();
    expect(http.body.traceparent).toBe(http.traceparent);
    expect(header!.traceId).toBe(trace(httpRun));
    const httpDispatch = named(httpRun, 'ecron.dispatch');
    expect(httpDispatch.map((s) => s.spanId)).toContain(header!.spanId);
    expect(httpDispatch[0]!.parentSpanId).toBe(spanIdOf('attempt', httpRun, 1));
    expect(named(httpRun, 'ecron.attempt')[0]!.parentSpanId).toBe(spanIdOf('run', httpRun));
    expect(named(httpRun, 'ecron.run')[0]!.spanId).toBe(spanIdOf('run', httpRun));

    // gRPC: metadata and body.
    const call = grpcTarget.received.find((r) => r.method === 'Run' && r.body.runId === grpcRun)!;
    const metadata = String(call.metadata.get('traceparent')[0]);
    expect(parseTraceparent(metadata)?.traceId).toBe(trace(grpcRun));
    expect(call.body.traceparent).toBe(metadata);

    // The SDK handler's child span (global tracer) is in the trace, under the SDK's handler span, under the dispatch span.
    const child = handlerSpans.find((h) => h.runId === sdkRun)!;
    expect(child.traceId).toBe(trace(sdkRun));
    const handlerSpan = ofRun(sdkRun).find((s) => s.service === 'executor' && s.name === 'ecron.handler work')!;
    expect(handlerSpan).toBeDefined();
    expect(child.parentSpanId).toBe(handlerSpan.spanId);
    expect(ofRun(sdkRun).find((s) => s.name === 'user.work')?.parentSpanId).toBe(handlerSpan.spanId);
    expect(named(sdkRun, 'ecron.dispatch').map((s) => s.spanId)).toContain(handlerSpan.parentSpanId);
    // The result told the server the handler's span: the dispatch span links to it.
    expect(named(sdkRun, 'ecron.dispatch').flatMap((s) => s.links.map((l) => l.spanId))).toContain(handlerSpan.spanId);

    // The retried run: two attempt spans in one trace, each with its dispatch and handler spans.
    const attempts = named(retried, 'ecron.attempt');
    expect(attempts.map((s) => s.attributes['ecron.attempt']).sort()).toEqual([1, 2]);
    expect(attempts.map((s) => s.spanId).sort()).toEqual([spanIdOf('attempt', retried, 1), spanIdOf('attempt', retried, 2)].sort());
    expect(attempts.every((s) => s.parentSpanId === spanIdOf('run', retried))).toBe(true);
    expect(named(retried, 'ecron.dispatch').map((s) => s.parentSpanId).sort()).toEqual(attempts.map((s) => s.spanId).sort());
    expect(ofRun(retried).filter((s) => s.service === 'executor')).toHaveLength(2);

    // The agent's shell command got TRACEPARENT in its environment, in its run's trace.
    const shellParent = parseTraceparent(shellOutputs.get(shellRun))!;
    expect(shellParent.traceId).toBe(trace(shellRun));
    expect(ofRun(shellRun).map((s) => s.spanId)).toContain(shellParent.spanId);

    // A scheduled run: the fire span is the root, the run span its child.
    const fire = named(firedRun.id, 'ecron.fire')[0]!;
    expect(fire.spanId).toBe(spanIdOf('fire', firedRun.id));
    expect(fire.parentSpanId).toBe('');
    expect(named(firedRun.id, 'ecron.run')[0]!.parentSpanId).toBe(fire.spanId);

    // Every executor-side span is in a trace of one of the runs; API requests are spans named by route.
    const traces = new Set([httpRun, grpcRun, sdkRun, retried, shellRun, firedRun.id].map(trace));
    expect(spans.filter((s) => s.service === 'executor').every((s) => traces.has(s.traceId))).toBe(true);
    expect(spans.some((s) => s.service === 'ecron-test' && s.name === 'POST /api/v1/tasks/:id/trigger')).toBe(true);
  }, 60_000);
});
