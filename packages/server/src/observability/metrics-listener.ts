/**
 * A listener that serves only `GET /metrics`, without authentication (`ecron start
 * --metrics-port PORT [--metrics-host HOST]`): for a Prometheus that scrapes without a token, on
 * an address only it can reach (the host defaults to 127.0.0.1). Anything else is answered 404;
 * methods other than GET and HEAD 405. Nothing but the exposition is served here.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsSource } from '../api/routes/metrics.ts';

export interface MetricsListener {
  /** `http://HOST:PORT` it listens on (the port chosen when 0 was asked). */
  readonly url: string;
  close(): Promise<void>;
}

export async function listenForMetrics(source: MetricsSource, p: { port: number; host: string }): Promise<MetricsListener> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const json = (status: number, code: string, message: string) => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: { code, message } }));
    };
    if (path !== '/metrics') return json(404, 'ROUTE_NOT_FOUND', 'this listener serves GET /metrics only');
    if (request.method !== 'GET' && request.method !== 'HEAD') return json(405, 'METHOD_NOT_ALLOWED', 'GET /metrics only');
    source.metrics().then((body) => {
      response.writeHead(200, { 'content-type': source.contentType, 'cache-control': 'no-store' }).end(request.method === 'HEAD' ? undefined : body);
    }, (error: unknown) => json(500, 'INTERNAL', `collecting metrics failed: ${(error as Error).message}`));
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(p.port, p.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = p.host.includes(':') ? `[${p.host}]` : p.host;
  return {
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
