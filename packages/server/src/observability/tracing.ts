/**
 * OpenTelemetry traces of runs: an {@link Instrumentation} that turns the scheduler's reports into
 * spans, and the {@link DispatchTracer} that opens the span of each request to an executor and
 * puts its `traceparent` on the wire. Off unless the OTEL_* environment asks (tracing-config.ts).
 *
 * The shape of a run's trace (ids in trace-ids.ts): `ecron.fire` (root of a scheduled run) →
 * `ecron.run` → `ecron.attempt` (one per attempt, retries included) → `ecron.dispatch` (one per
 * request to an executor or target) → whatever the executor does under the `traceparent` it got.
 * Spans are emitted when their work ends, with their real start, so a run of hours holds nothing
 * open; their parents' ids are deterministic, so the node that emits a span need not be the one
 * that emitted (or will emit) its parent.
 *
 * The provider belongs to this server instance (several servers may share a process): nothing is
 * registered globally, and every span is started with an explicit parent context, never the
 * active one. {@link Tracing.shutdown} flushes what is batched.
 */
import { context as otelContext, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Link, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, RandomIdGenerator, TraceIdRatioBasedSampler, type IdGenerator, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { formatTraceparent, parseTraceparent, type RunRequest } from '@ecron/contracts';
import type { ApiRequestReport, AttemptDispatchReport, AttemptEndReport, FireReport, Instrumentation, RunEndReport, RunIdentity } from './instrumentation.ts';
import { hasFireSpan, runParentSpanId, spanIdOf, traceIdOf, type TracedRun } from './trace-ids.ts';
import { resolveTracingConfig, type TracingConfig, type TracingEnv } from './tracing-config.ts';

/** Where one request of an attempt goes. */
export interface DispatchWhere {
  /** `http`, `grpc`, `pull` (a pull node's poll or stream). */
  transport: string;
  /** The executor node, when the request goes to one. */
  executor?: string;
  /** The target's URL or address, for http and grpc targets. */
  url?: string;
  /** A fan-out leg's shard. */
  leg?: { index: number; total: number };
}

/** What one request came to, for its span (a DispatchResult or an ExecutorResult). */
export interface DispatchEnd {
  kind: string;
  error?: string;
  /** The executor's own span, when its answer told it (linked from the dispatch span). */
  traceparent?: string;
}

/** The span of one request to an executor. */
export interface DispatchSpan {
  /** The request stamped with the span's `traceparent` (the same request when not traced). */
  readonly request: RunRequest;
  end(result: DispatchEnd): void;
}

/** The run an attempt belongs to, as the dispatch tracer needs it. */
export interface DispatchRun {
  id: string;
  attempt: number;
  trigger: string;
  workflowRunId: string | null;
}

/** Opens the span of each request to an executor (a parent on the wire for the executor's work). */
export interface DispatchTracer {
  start(run: DispatchRun, request: RunRequest, where: DispatchWhere): DispatchSpan;
}

/** Traces nothing: requests go out as they are. */
export const noopDispatchTracer: DispatchTracer = Object.freeze({
  start: (_run: DispatchRun, request: RunRequest): DispatchSpan => ({ request, end: () => {} }),
});

const RUN_FAILURES = new Set(['failed', 'timed_out', 'lost']);
/** Attempt starts remembered for their span (an attempt that ends on another node is forgotten after this many). */
const MAX_ATTEMPT_STARTS = 100_000;

/**
 * The span ids of the next span started, for the spans whose ids are deterministic. Set and
 * cleared around one synchronous `startSpan` call (see {@link Tracing.#start}).
 */
class ChosenIds implements IdGenerator {
  readonly #random = new RandomIdGenerator();
  traceId: string | null = null;
  spanId: string | null = null;

  generateTraceId(): string {
    return this.traceId ?? this.#random.generateTraceId();
  }

  generateSpanId(): string {
    return this.spanId ?? this.#random.generateSpanId();
  }
}

export interface TracingOptions {
  config: TracingConfig;
  /** This node's id (`service.instance.id`). */
  nodeId: string;
  version: string;
  /** Replaces the OTLP exporter (tests). */
  exporter?: SpanExporter;
}

export class Tracing implements Instrumentation, DispatchTracer {
  readonly #provider: BasicTracerProvider;
  readonly #tracer: Tracer;
  readonly #ids = new ChosenIds();
  /** When each attempt dispatched here started (`runId#attempt` → epoch ms), until it ends. */
  readonly #attemptStarts = new Map<string, number>();

  constructor(options: TracingOptions) {
    const { config } = options;
    const exporter = options.exporter ?? (new OTLPTraceExporter({ url: config.url, headers: config.headers }) as unknown as SpanExporter);
    const processor: SpanProcessor = new BatchSpanProcessor(exporter, { scheduledDelayMillis: config.scheduleDelayMs });
    this.#provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        ...config.resourceAttributes,
        'service.name': config.serviceName,
        'service.version': options.version,
        'service.instance.id': options.nodeId,
      }),
      idGenerator: this.#ids,
      sampler: new TraceIdRatioBasedSampler(config.sampleRatio),
      spanProcessors: [processor],
    });
    this.#tracer = this.#provider.getTracer('ecron', options.version);
  }

  /** A fire's span: the root of a scheduled run's trace, from its nominal instant to its launch. */
  fireRecorded(report: FireReport): void {
    const run = traced(report);
    if (!hasFireSpan(run)) return;
    const start = Math.min(report.scheduledAt, report.firedAt);
    this.#start('ecron.fire', traceIdOf(run), spanIdOf('fire', report.runId), null, start, {
      ...runAttributes(report), 'ecron.fire.lag_ms': report.lagMs, 'ecron.run.status': report.status,
    }).end(Math.max(report.scheduledAt, report.firedAt));
  }

  /** A run's span, emitted at its end with its real start (its creation). */
  runEnded(report: RunEndReport): void {
    const run = traced(report);
    const span = this.#start('ecron.run', traceIdOf(run), spanIdOf('run', report.runId), runParentSpanId(run), Math.min(report.createdAt, report.finishedAt), {
      ...runAttributes(report), 'ecron.run.status': report.status, 'ecron.run.attempts': report.attempts,
    });
    end(span, RUN_FAILURES.has(report.status), report.error, report.finishedAt);
  }

  /** Remembers when the attempt started, for its span. */
  attemptDispatched(report: AttemptDispatchReport): void {
    if (this.#attemptStarts.size >= MAX_ATTEMPT_STARTS) this.#attemptStarts.delete(this.#attemptStarts.keys().next().value!);
    this.#attemptStarts.set(`${report.runId}#${report.attempt}`, report.startedAt);
  }

  /**
   * An attempt's span (a retry is another attempt span of the same run), emitted at its end. Its
   * start is the attempt's when it was dispatched here, else the run's first start (an attempt
   * adopted, or ended on another node).
   */
  attemptEnded(report: AttemptEndReport): void {
    const run = traced(report);
    const links = linkTo(report.executorTraceparent);
    const key = `${report.runId}#${report.attempt}`;
    const startedAt = this.#attemptStarts.get(key) ?? report.runStartedAt ?? report.endedAt;
    this.#attemptStarts.delete(key);
    const span = this.#start('ecron.attempt', traceIdOf(run), spanIdOf('attempt', report.runId, report.attempt), spanIdOf('run', report.runId),
      Math.min(startedAt, report.endedAt), {
        ...runAttributes(report), 'ecron.attempt': report.attempt, 'ecron.attempt.status': report.status, 'ecron.attempt.next': report.next,
      }, SpanKind.INTERNAL, links);
    end(span, report.status !== 'succeeded', report.error ?? null, report.endedAt);
  }

  /** An API request's span, named by its route pattern; a child of the caller's `traceparent` when it sent one. */
  apiRequest(report: ApiRequestReport): void {
    const parent = parseTraceparent(report.traceparent);
    const span = this.#start(`${report.method} ${report.route}`, parent?.traceId ?? null, null, parent?.spanId ?? null, report.startedAt, {
      'http.request.method': report.method, 'http.route': report.route, 'http.response.status_code': report.status, 'ecron.request.id': report.requestId,
    }, SpanKind.SERVER, [], parent?.flags);
    end(span, report.status >= 500, null, report.startedAt + report.durationMs);
  }

  /** Opens the span of one request to an executor: its `traceparent` goes on the wire. */
  start(run: DispatchRun, request: RunRequest, where: DispatchWhere): DispatchSpan {
    const span = this.#start('ecron.dispatch', traceIdOf({ runId: run.id, workflowRunId: run.workflowRunId }), null, spanIdOf('attempt', run.id, run.attempt), Date.now(), {
      'ecron.run.id': run.id, 'ecron.task.id': request.taskId, 'ecron.task.name': request.task, 'ecron.namespace': request.namespace,
      'ecron.attempt': run.attempt, 'ecron.dispatch.transport': where.transport,
      ...(where.executor ? { 'ecron.executor': where.executor } : {}),
      ...(where.url ? { 'url.full': where.url } : {}),
      ...(where.leg && where.leg.total > 1 ? { 'ecron.shard.index': where.leg.index, 'ecron.shard.total': where.leg.total } : {}),
    }, SpanKind.CLIENT);
    const traceparent = formatTraceparent({ ...span.spanContext(), flags: span.spanContext().traceFlags });
    let ended = false;
    return {
      request: { ...request, traceparent },
      end: (result) => {
        if (ended) return;
        ended = true;
        span.setAttribute('ecron.dispatch.result', result.kind);
        for (const link of linkTo(result.traceparent)) span.addLink(link);
        end(span, result.kind === 'failed' || result.kind === 'no_executor', result.error ?? null, Date.now());
      },
    };
  }

  /** Exports what is batched and stops (the server's stop). */
  async shutdown(): Promise<void> {
    await this.#provider.shutdown();
  }

  /**
   * Starts a span in trace `traceId` (a new one when null) with the span id `spanId` (random when
   * null), under the parent span `parentSpanId` (none: a root), with an explicit context, never
   * the active one.
   */
  #start(name: string, traceId: string | null, spanId: string | null, parentSpanId: string | null, startTime: number, attributes: Attributes,
    kind: SpanKind = SpanKind.INTERNAL, links: Link[] = [], flags: number = TraceFlags.SAMPLED): Span {
    const parent: Context = traceId !== null && parentSpanId !== null
      ? trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: parentSpanId, traceFlags: flags, isRemote: true })
      : ROOT_CONTEXT;
    this.#ids.traceId = traceId;
    this.#ids.spanId = spanId;
    try {
      return otelContext.with(ROOT_CONTEXT, () => this.#tracer.startSpan(name, { kind, startTime, attributes, links, root: parent === ROOT_CONTEXT }, parent));
    } finally {
      this.#ids.traceId = null;
      this.#ids.spanId = null;
    }
  }
}

function traced(run: RunIdentity): TracedRun {
  return { runId: run.runId, trigger: run.trigger, workflowRunId: run.workflowRunId };
}

function runAttributes(run: RunIdentity): Attributes {
  return {
    'ecron.run.id': run.runId, 'ecron.task.id': run.taskId, 'ecron.task.name': run.taskName, 'ecron.namespace': run.namespace,
    'ecron.run.trigger': run.trigger, 'ecron.target.type': run.targetType, 'ecron.scheduled_at': new Date(run.scheduledAt).toISOString(),
    ...(run.workflowRunId && run.workflowRunId !== run.runId ? { 'ecron.workflow_run.id': run.workflowRunId } : {}),
  };
}

function linkTo(traceparent: string | undefined): Link[] {
  const parsed = parseTraceparent(traceparent);
  return parsed ? [{ context: { traceId: parsed.traceId, spanId: parsed.spanId, traceFlags: parsed.flags, isRemote: true }, attributes: { 'ecron.link': 'executor' } }] : [];
}

function end(span: Span, failed: boolean, error: string | null, at: number): void {
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR, ...(error ? { message: error } : {}) });
  span.end(at);
}

/** The server's tracing when the OTEL_* environment asks for it (tracing-config.ts), else null. */
export function tracingFromEnv(env: TracingEnv, p: { nodeId: string; version: string; warn: (message: string) => void }): Tracing | null {
  const config = resolveTracingConfig(env, p.warn);
  return config ? new Tracing({ config, nodeId: p.nodeId, version: p.version }) : null;
}
