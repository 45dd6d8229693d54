/**
 * `GET /metrics`: the Prometheus exposition of this server (text format), for a token of role
 * `metrics` (a scraper's, allowed nothing else) or `admin`, covering every namespace: the series
 * name namespaces (and tasks, with task labels), so a token scoped to some namespaces is refused.
 * A scrape without credentials can be served instead on a separate listener bound to a private
 * address (`ecron start --metrics-port`, `observability/metrics-listener.ts`).
 */
import type { FastifyPluginAsync } from 'fastify';
import { EcronError } from '../../core/errors.ts';
import { isUnscoped, scopeOf } from '../../services/access.ts';
import { BEARER_SECURITY, callerOf } from '../auth.ts';

/** Where the exposition comes from (observability/prometheus.ts). */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export const metricsRoutes: FastifyPluginAsync<{ source: MetricsSource }> = async (app, { source }) => {
  app.get('/metrics', {
    // Scrapers call every few seconds: their requests are logged at debug, as health checks are.
    config: { access: 'metrics', requestLog: 'debug' },
    schema: { summary: 'Prometheus metrics (text exposition format); see docs/observability.md', tags: ['observability'], security: BEARER_SECURITY, produces: ['text/plain'] },
  }, async (request, reply) => {
    if (!isUnscoped(scopeOf(callerOf(request), 'metrics'))) {
      throw new EcronError('FORBIDDEN', 'the metrics cover every namespace: they need a token of role metrics or admin over all namespaces ("*")');
    }
    const body = await source.metrics();
    return reply.header('content-type', source.contentType).header('cache-control', 'no-store').send(body);
  });
};
