/**
 * Serves the web console (`packages/console/dist`, built by `npm run build -w @ecron/console`,
 * which the root `prepare` script runs on `npm ci`) at `/`, through `@fastify/static`; assets go
 * gzipped to browsers that accept it (the build writes `.gz` copies).
 * A GET of a file of the build answers that file; any other GET outside the API answers
 * `index.html`, since the console routes in the browser. `/api/…`, `/openapi.json`, `/healthz`
 * and `/readyz` are untouched, and unknown API paths keep the JSON 404 (ROUTE_NOT_FOUND).
 * Without a build, console pages answer a short HTML page saying how to make one.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where the console build lives in this checkout. */
export const CONSOLE_DIST = resolve(import.meta.dirname, '../../../console/dist');

export const CONSOLE_NOT_BUILT_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ecron</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>ecron</h1><p>The web console is not built. Build it from the repository root with:</p>
<pre>npm run build -w @ecron/console</pre>
<p>then reload this page. The REST API is under <code>/api/v1</code> and described by <a href="/openapi.json">/openapi.json</a>.</p>
</body></html>`;

const NOT_CONSOLE = /^\/(api(\/|$)|openapi\.json$|healthz$|readyz$)/;

function filesUnder(dir: string): Set<string> {
  const files = new Set<string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files.add('/' + relative(dir, resolve(entry.parentPath, entry.name)).split('\\').join('/'));
  }
  return files;
}

/** Registers `GET /` and the fallback `GET /*` of the console. */
export async function consoleRoutes(app: FastifyInstance, options: { distDir?: string }): Promise<void> {
  const distDir = options.distDir ?? CONSOLE_DIST;
  const indexFile = resolve(distDir, 'index.html');
  const built = existsSync(indexFile);
  const files = built ? filesUnder(distDir) : new Set<string>();
  const page = built ? readFileSync(indexFile, 'utf8') : CONSOLE_NOT_BUILT_PAGE;
  // The build holds a gzipped copy of each asset (see the console's vite.config.ts).
  if (built) await app.register(fastifyStatic, { root: distDir, serve: false, preCompressed: true });

  const sendPage = (reply: FastifyReply) =>
    reply.status(200).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(page);

  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => sendPage(reply));
  app.get('/*', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const path = decodeURIComponent(request.url.split('?')[0] ?? '/');
    if (NOT_CONSOLE.test(path)) return reply.callNotFound();
    if (files.has(path) && path !== '/index.html') {
      // Vite names assets by content hash: they never change under the same name.
      const immutable = path.startsWith('/assets/');
      return reply.sendFile(path.slice(1), { maxAge: immutable ? '365d' : 0, immutable });
    }
    // A missing asset is a stale page asking for an old build: 404, not the page.
    if (path.startsWith('/assets/')) return reply.callNotFound();
    return sendPage(reply);
  });
}
