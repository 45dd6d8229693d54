/**
 * The server side of the console: the build served at `/` with a fallback to index.html for
 * console pages (the API's 404 untouched), the page shown when the console is not built, and
 * the two routes the console reads besides the task and run API: `/api/v1/stats` and `/api/v1/me`.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { consoleRoutes, type ConsoleOptions } from '../../server/src/api/console.ts';
import { installErrorHandling } from '../../server/src/api/errors.ts';
import { ApiHarness, errorOf } from '../../server/test/api/api-harness.ts';

async function appServing(distDir: string, options: Omit<ConsoleOptions, 'distDir'> = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  installErrorHandling(app);
  app.get('/api/v1/ping', async () => ({ pong: true }));
  await app.register(consoleRoutes, { distDir, ...options });
  return app;
}

/**
 * Writes the build `name` into `dir` as Vite does: index.html loading `/assets/index-NAME.js`,
 * a lazily loaded page chunk `/assets/Page-NAME.js`, and (unless `gzip` is false) the `.gz` copy
 * of each, written last. `emptyFirst` empties the directory first (Vite's emptyOutDir).
 */
function writeBuild(dir: string, name: string, { gzip = true, emptyFirst = true, index = true } = {}): void {
  if (emptyFirst) for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
  mkdirSync(join(dir, 'assets'), { recursive: true });
  if (index) writeFileSync(join(dir, 'index.html'), `<!doctype html><title>build ${name}</title><script type="module" crossorigin src="/assets/index-${name}.js"></script><div id="root"></div>`);
  for (const chunk of [`index-${name}.js`, `Page-${name}.js`]) {
    writeFileSync(join(dir, 'assets', chunk), `console.log(${JSON.stringify(chunk)})`);
    if (gzip) writeFileSync(join(dir, 'assets', `${chunk}.gz`), gzipSync(`console.log(${JSON.stringify(chunk)})`));
  }
}

/** Sets every file of `dir` to have been written `secondsAgo` ago. */
function age(dir: string, secondsAgo: number): void {
  const when = new Date(Date.now() - secondsAgo * 1000);
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) utimesSync(join(entry.parentPath, entry.name), when, when);
  }
}

describe('serving the console', () => {
  let dir: string;
  let app: FastifyInstance | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ecron-console-dist-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title><div id="root"></div>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'assets', 'index-abc123.js.gz'), gzipSync('console.log(1)'));
  });
  afterEach(async () => app?.close());
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers index.html at / and for console pages, files of the build as they are, and the JSON 404 under /api', async () => {
    app = await appServing(dir);
    for (const url of ['/', '/tasks/0193-abc', '/runs?status=failed']) {
      const res = await app.inject({ method: 'GET', url, headers: { accept: 'text/html' } });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.body).toContain('<title>console</title>');
    }
    const asset = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toContain('javascript');
    expect(asset.headers['cache-control']).toContain('immutable');
    expect(asset.body).toBe('console.log(1)');
    const gzipped = await app.inject({ method: 'GET', url: '/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip' } });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzipped.rawPayload).toString()).toBe('console.log(1)');
    expect((await app.inject({ method: 'GET', url: '/assets/index-old999.js' })).statusCode).toBe(404);

    expect((await app.inject({ method: 'GET', url: '/api/v1/ping' })).json()).toEqual({ pong: true });
    const unknown = await app.inject({ method: 'GET', url: '/api/v1/nothing-here', headers: { accept: 'text/html' } });
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown)).toEqual({ code: 'ROUTE_NOT_FOUND', message: 'no route GET /api/v1/nothing-here' });
    expect((await app.inject({ method: 'POST', url: '/tasks' })).statusCode).toBe(404);
  });

  it('says how to build the console when there is no build', async () => {
    app = await appServing(join(dir, 'missing'));
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('npm run build -w @ecron/console');
    expect((await app.inject({ method: 'GET', url: '/tasks' })).body).toContain('not built');
  });
});

describe('serving the console while it is rebuilt', () => {
  let dir: string;
  let app: FastifyInstance | undefined;
  const page = async () => (await app!.inject({ method: 'GET', url: '/runs/0193-abc', headers: { accept: 'text/html' } })).body;
  const asset = async (name: string, gzip = false) => app!.inject({ method: 'GET', url: `/assets/${name}`, headers: gzip ? { 'accept-encoding': 'gzip, deflate' } : {} });
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'ecron-console-rebuild-')); });
  afterEach(async () => app?.close());
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps serving the build read at start, whole, while the directory is emptied and half written', async () => {
    writeBuild(dir, 'aaa');
    app = await appServing(dir, { reloadCheckMs: 0, quietMs: 0 });
    expect(await page()).toContain('build aaa');

    // The rebuild empties the directory: the open page still gets its lazily loaded chunk.
    writeBuild(dir, 'bbb', { index: false, gzip: false });
    rmSync(join(dir, 'assets', 'index-bbb.js'));
    expect(await page()).toContain('build aaa');
    expect((await asset('Page-aaa.js')).body).toBe('console.log("Page-aaa.js")');
    // index.html is written before a chunk it loads: not taken.
    writeBuild(dir, 'bbb', { emptyFirst: false, gzip: false });
    rmSync(join(dir, 'assets', 'index-bbb.js'));
    expect(await page()).toContain('build aaa');
    // Every file written, the gzipped copies not yet all: not taken (a .gz that does not match its file is one being written).
    writeBuild(dir, 'bbb', { emptyFirst: false, gzip: false });
    writeFileSync(join(dir, 'assets', 'index-bbb.js.gz'), gzipSync('console.log("index-bbb.js")').subarray(0, 10));
    expect(await page()).toContain('build aaa');
    expect((await asset('index-bbb.js')).statusCode).toBe(404);

    // Complete: the new build is served, gzipped, and the assets of the one it replaced stay answered.
    writeBuild(dir, 'bbb', { emptyFirst: false });
    expect(await page()).toContain('build bbb');
    const gzipped = await asset('index-bbb.js', true);
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzipped.rawPayload).toString()).toBe('console.log("index-bbb.js")');
    expect((await asset('Page-aaa.js')).statusCode).toBe(200);
    expect(await page()).toContain('build bbb');

    // One more build: the assets of the build before the last one go.
    writeBuild(dir, 'ccc');
    expect(await page()).toContain('build ccc');
    expect((await asset('Page-bbb.js')).statusCode).toBe(200);
    expect((await asset('Page-aaa.js')).statusCode).toBe(404);
  });

  it('takes a new build only once the directory has been still for quietMs', async () => {
    writeBuild(dir, 'aaa');
    app = await appServing(dir, { reloadCheckMs: 0, quietMs: 60_000 });
    writeBuild(dir, 'bbb');
    expect(await page()).toContain('build aaa');
    age(dir, 120);
    expect(await page()).toContain('build bbb');
  });

  it('looks at the directory at most once per reloadCheckMs', async () => {
    writeBuild(dir, 'aaa');
    app = await appServing(dir, { reloadCheckMs: 60_000, quietMs: 0 });
    writeBuild(dir, 'bbb');
    expect(await page()).toContain('build aaa');
    expect((await asset('Page-aaa.js')).statusCode).toBe(200);
  });

  it('serves a build made after the server started', async () => {
    rmSync(join(dir, 'index.html'), { force: true });
    app = await appServing(dir, { reloadCheckMs: 0, quietMs: 0 });
    expect(await page()).toContain('not built');
    writeBuild(dir, 'ddd');
    expect(await page()).toContain('build ddd');
    expect((await asset('index-ddd.js')).statusCode).toBe(200);
  });
});

describe('GET /api/v1/stats and /api/v1/me', () => {
  let h: ApiHarness;
  beforeAll(async () => { h = await new ApiHarness().start(); });
  afterAll(async () => h?.close());

  it('counts runs by status with the success rate, and tasks by state', async () => {
    const ok = await h.createTask({ name: 'ok' });
    h.executor.behaviours.set('/broken', () => ({ status: 500, body: { error: 'no' } }));
    const broken = await h.createTask({ name: 'broken', target: { type: 'http', url: `${h.executorUrl}/broken` } });
    await h.call('POST', `/api/v1/tasks/${broken.id}/pause`);
    for (const task of [ok, ok, ok, broken]) {
      const run = (await h.call('POST', `/api/v1/tasks/${task.id}/trigger`)).json();
      await h.ended(run.id);
    }
    const res = await h.call('GET', '/api/v1/stats?window=1h');
    expect(res.statusCode).toBe(200);
    const stats = res.json();
    expect(stats.runs.total).toBe(4);
    expect(stats.runs.byStatus).toMatchObject({ succeeded: 3, failed: 1, running: 0 });
    expect(stats.runs.successRate).toBe(0.75);
    expect(stats.fireLagMs.count).toBe(0); // manual triggers have no fire lag
    expect(stats.tasks).toEqual({ total: 2, byState: { active: 1, paused: 1, completed: 0 } });
    expect(stats.truncated).toBe(false);
    expect((await h.call('GET', '/api/v1/stats?window=1w')).statusCode).toBe(400);
    expect((await h.call('GET', '/api/v1/stats', { token: null })).statusCode).toBe(401);
  });

  it('tells a token its role and namespaces', async () => {
    const viewer = await h.token('viewer', ['team-a']);
    const me = await h.call('GET', '/api/v1/me', { token: viewer.secret });
    expect(me.json()).toEqual({ actor: `token:${viewer.id}`, role: 'viewer', namespaces: ['team-a'], grants: [{ role: 'viewer', namespaces: ['team-a'] }] });
    const scoped = await h.call('GET', '/api/v1/stats', { token: viewer.secret });
    expect(scoped.json().tasks.total).toBe(0);
  });
});
