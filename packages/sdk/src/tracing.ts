/**
 * The trace context a run's handler runs in. A run request that carries a W3C `traceparent` (the
 * server's dispatch span) gets an `ecron.handler` span under it, from the global tracer of
 * `@opentelemetry/api`, and the handler runs with that span active: a span the handler opens with
 * the global tracer is its child, in the run's trace. Without an OpenTelemetry SDK installed the
 * API is a no-op and the active span is the remote parent itself, so a library that reads it (or
 * `trace.getActiveSpan()`) still sees the run's trace. A request without `traceparent` (an older
 * server, or tracing off) changes nothing.
 *
 * The handler's span, when recorded, is told back to the server in the run's result or report
 * (`traceparent`), which links its spans to it; only for requests that carried one, as older
 * servers refuse the field.
 */
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { formatTraceparent, parseTraceparent, type RunRequest } from '@ecron/contracts';
import { SDK_VERSION } from './version.ts';

export interface HandlerTrace {
  /** The context to run the handler in. */
  readonly context: Context;
  /** The handler span's traceparent when it is recorded (an OpenTelemetry SDK is installed), else undefined. */
  readonly traceparent: string | undefined;
  end(failed: string | null): void;
}

/** The remote parent of a request's `traceparent` in `base` (the active context), or null without a valid one. */
export function remoteParentContext(traceparent: string | undefined, base: Context = context.active()): Context | null {
  const parent = parseTraceparent(traceparent);
  if (!parent) return null;
  return trace.setSpanContext(base, { traceId: parent.traceId, spanId: parent.spanId, traceFlags: parent.flags, isRemote: true });
}

/** Starts the handler's span under the request's `traceparent`; null when the request has none. */
export function startHandlerTrace(request: RunRequest, handlerName: string): HandlerTrace | null {
  const parent = remoteParentContext(request.traceparent, context.active() ?? ROOT_CONTEXT);
  if (!parent) return null;
  const span: Span = trace.getTracer('@ecron/sdk', SDK_VERSION).startSpan(`ecron.handler ${handlerName}`, {
    kind: SpanKind.CONSUMER,
    attributes: {
      'ecron.run.id': request.runId, 'ecron.task.id': request.taskId, 'ecron.task.name': request.task, 'ecron.namespace': request.namespace,
      'ecron.attempt': request.attempt, 'ecron.handler': handlerName,
      ...(request.shard.total > 1 ? { 'ecron.shard.index': request.shard.index, 'ecron.shard.total': request.shard.total } : {}),
    },
  }, parent);
  const recorded = span.isRecording();
  const spanContext = span.spanContext();
  let ended = false;
  return {
    context: trace.setSpan(parent, span),
    traceparent: recorded ? formatTraceparent({ traceId: spanContext.traceId, spanId: spanContext.spanId, flags: spanContext.traceFlags }) : undefined,
    end: (failed) => {
      if (ended) return;
      ended = true;
      if (failed !== null) span.setStatus({ code: SpanStatusCode.ERROR, message: failed });
      span.end();
    },
  };
}

/** The active span's context as a `traceparent` (for child processes, e.g. an agent's shell command), else `fallback`. */
export function activeTraceparent(fallback?: string): string | undefined {
  const spanContext = trace.getSpanContext(context.active());
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return fallback;
  return formatTraceparent({ traceId: spanContext.traceId, spanId: spanContext.spanId, flags: spanContext.traceFlags });
}
