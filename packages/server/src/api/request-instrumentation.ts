/**
 * Reports every answered API request to the instrumentation (`apiRequest`), by route pattern
 * (`request.routeOptions.url`: `/api/v1/tasks/:id`, never the raw URL, so that the series stay
 * bounded), method and status. Requests that matched no route are reported as `unmatched`.
 */
import type { FastifyInstance } from 'fastify';
import type { Instrumentation } from '../observability/instrumentation.ts';

export const UNMATCHED_ROUTE = 'unmatched';

export function installRequestInstrumentation(app: FastifyInstance, instrumentation: Instrumentation): void {
  const report = instrumentation.apiRequest;
  if (!report) return;
  app.addHook('onResponse', (request, reply, done) => {
    const durationMs = reply.elapsedTime;
    report.call(instrumentation, {
      route: request.is404 ? UNMATCHED_ROUTE : request.routeOptions.url ?? UNMATCHED_ROUTE,
      method: request.method, status: reply.statusCode, startedAt: Date.now() - durationMs, durationMs, requestId: String(request.id),
      ...(typeof request.headers.traceparent === 'string' ? { traceparent: request.headers.traceparent } : {}),
    });
    done();
  });
}
