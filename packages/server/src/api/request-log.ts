/**
 * The request log: ONE line per request, written when the answer has been sent, with the method,
 * URL, status, response time and the request id (`reqId`, bound by Fastify to `request.log`), and
 * the caller's trace id when the request carried a W3C `traceparent`.
 * Fastify's own two lines ("incoming request", "request completed") are not written.
 *
 * Routes that executors and probes call all the time (heartbeats, pull polls, `/healthz`,
 * `/readyz`) state `config: { requestLog: 'debug' }`, so that at the default level `info` the log
 * shows what people and scripts did, not a line per heartbeat. Failures are logged besides by the
 * error handler (`errors.ts`), at warn or error, whatever the route's level.
 */
import { parseTraceparent } from '@ecron/contracts';
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

export type RequestLogLevel = 'info' | 'debug';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The level of this route's request log line. @default 'info' */
    requestLog?: RequestLogLevel;
  }
}

/** Fastify's log controller, with one line per request at the level the route states. */
export class RequestLogController extends LogController {
  override incomingRequest(): void {
    // Nothing: the line is written at completion, with the outcome.
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      responseTime: Math.round(reply.elapsedTime * 10) / 10,
      ...traceOf(request),
    };
    if (error) {
      reply.log.error({ ...line, err: error }, 'request errored');
      return;
    }
    const level: RequestLogLevel = request.routeOptions.config?.requestLog ?? 'info';
    reply.log[level](line, 'request');
  }
}

function traceOf(request: FastifyRequest): { traceId?: string } {
  const header = request.headers.traceparent;
  const parent = parseTraceparent(Array.isArray(header) ? header[0] : header);
  return parent ? { traceId: parent.traceId } : {};
}
