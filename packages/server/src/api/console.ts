/**
 * Serves the web console (`packages/console/dist`, built by `npm run build -w @ecron/console`,
 * which the root `prepare` script runs on `npm ci`; `ecron start` takes another directory from
 * `ECRON_CONSOLE_DIR`) at `/`. A GET of a file of the build answers that file; any other GET
 * outside the API answers `index.html`, since the console routes in the browser. `/api/…`,
 * `/openapi.json`, `/healthz` and `/readyz` are untouched, and unknown API paths keep the JSON
 * 404 (ROUTE_NOT_FOUND). Without a build, console pages answer a short HTML page saying how to
 * make one.
 *
 * The build is read into memory at start (see `console-build.ts`): rebuilding the directory
 * while the server runs cannot mix two builds. When a page is asked for (at most once per
 * `reloadCheckMs`), the directory is looked at again, and a new build that is complete replaces
 * the one served; the assets of the build it replaces stay answered, for the pages already open.
 */
import { resolve } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { buildSignature, readBuild, type BuildFile, type ConsoleBuild } from './console-build.ts';

/** Where the console build lives in this checkout. */
export const CONSOLE_DIST = resolve(import.meta.dirname, '../../../console/dist');

export const CONSOLE_NOT_BUILT_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ecron</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>ecron</h1><p>The web console is not built. Build it from the repository root with:</p>
<pre>npm run build -w @ecron/console</pre>
<p>then reload this page. The REST API is under <code>/api/v1</code> and described by <a href="/openapi.json">/openapi.json</a>.</p>
</body></html>`;

const NOT_CONSOLE = /^\/(api(\/|$)|openapi\.json$|healthz$|readyz$)/;

export interface ConsoleOptions {
  /** @default packages/console/dist of this checkout */
  distDir?: string;
  /** How often, at most, a page request looks for a new build. @default 1000 */
  reloadCheckMs?: number;
  /** A new build is taken once nothing in the directory changed for this long. @default 1000 */
  quietMs?: number;
}

/** Registers `GET /` and the fallback `GET /*` of the console. */
export async function consoleRoutes(app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  const distDir = options.distDir ?? CONSOLE_DIST;
  const reloadCheckMs = options.reloadCheckMs ?? 1000;
  const quietMs = options.quietMs ?? 1000;
  const first = await readBuild(distDir);
  let build: ConsoleBuild | null = 'build' in first ? first.build : null;
  /** Hashed assets of the build replaced last, still asked for by pages loaded from it. */
  let previousAssets = new Map<string, BuildFile>();
  let lastCheck = Date.now();
  let checking: Promise<void> | null = null;
  if (build) app.log.info({ distDir, files: build.files.size }, 'console build loaded');
  else app.log.info({ distDir, reason: 'refused' in first ? first.refused : undefined }, 'no console build to serve yet');

  async function lookForNewBuild(): Promise<void> {
    const now = await buildSignature(distDir);
    // mtimes have fractions of a millisecond, Date.now() has none: a file written in this very
    // millisecond must not read as written in the future (with quietMs 0, as the tests run).
    if (now === null || now.signature === build?.signature || Date.now() - Math.floor(now.newestMs) < quietMs) return;
    const read = await readBuild(distDir);
    if (!('build' in read)) return;
    if (build) {
      previousAssets = new Map([...build.files].filter(([path]) => path.startsWith('/assets/') && !read.build.files.has(path)));
    }
    build = read.build;
    app.log.info({ distDir, files: build.files.size }, 'new console build loaded');
  }

  /** Looks for a new build when the last look is older than reloadCheckMs; concurrent requests share one look. */
  async function current(): Promise<ConsoleBuild | null> {
    if (checking === null && Date.now() - lastCheck >= reloadCheckMs) {
      lastCheck = Date.now();
      checking = lookForNewBuild()
        .catch((error: unknown) => app.log.warn({ distDir, error: String(error) }, 'reading the console build failed'))
        .finally(() => { checking = null; });
    }
    if (checking !== null) await checking;
    return build;
  }

  async function sendPage(reply: FastifyReply): Promise<FastifyReply> {
    const page = (await current())?.page ?? CONSOLE_NOT_BUILT_PAGE;
    return reply.status(200).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(page);
  }

  function sendFile(request: FastifyRequest, reply: FastifyReply, path: string, file: BuildFile): FastifyReply {
    // Vite names assets by content hash: they never change under the same name.
    reply.header('cache-control', path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'public, max-age=0');
    reply.type(file.type);
    if (file.gzip === null) return reply.send(file.body);
    reply.header('vary', 'accept-encoding');
    if (!/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) return reply.send(file.body);
    return reply.header('content-encoding', 'gzip').send(file.gzip);
  }

  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => sendPage(reply));
  app.get('/*', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    let path: string;
    try {
      path = decodeURIComponent(request.url.split('?')[0] ?? '/');
    } catch {
      return reply.callNotFound();
    }
    if (NOT_CONSOLE.test(path)) return reply.callNotFound();
    const file = path === '/index.html' ? undefined : (build?.files.get(path) ?? previousAssets.get(path));
    if (file) return sendFile(request, reply, path, file);
    // A missing asset is a stale page asking for a build older than the last two: 404, not the page.
    if (path.startsWith('/assets/')) return reply.callNotFound();
    return sendPage(reply);
  });
}
