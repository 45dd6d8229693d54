/** The app as a whole: OpenAPI document, health and readiness, unexpected errors. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiHarness, errorOf, UNUSED_RUN_CONTROL } from './api-harness.ts';
import { buildApp } from '../../src/api/app.ts';
import { bootstrapAdminToken } from '../../src/services/tokens.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';

let h: ApiHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('/openapi.json', () => {
  it('describes the routes, bodies, answers and bearer security', async () => {
    h = await new ApiHarness().start();
    const res = await h.call('GET', '/openapi.json', { token: null });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info).toMatchObject({ title: 'ecron API', version: '0.0.0-test' });
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(doc.paths['/api/v1/tasks']).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/api/v1/tasks/{id}']).sort()).toEqual(['delete', 'get', 'put']);
    for (const path of ['/api/v1/runs', '/api/v1/runs/{id}', '/api/v1/runs/{id}/logs', '/api/v1/runs/{id}/cancel', '/api/v1/tasks/{id}/trigger',
      '/api/v1/schedules/preview', '/api/v1/tokens', '/api/v1/audit', '/healthz', '/readyz']) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(doc.paths['/openapi.json']).toBeUndefined();

    const create = doc.paths['/api/v1/tasks'].post;
    const body = create.requestBody.content['application/json'].schema;
    expect(body.properties).toHaveProperty('schedule');
    expect(body.properties).toHaveProperty('target');
    expect(body.required).toEqual(expect.arrayContaining(['name', 'schedule', 'target']));
    expect(create.responses['201'].content['application/json'].schema.properties).toHaveProperty('nextFireAt');
    expect(create.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/healthz'].get.security).toBeUndefined();
    const listRuns = doc.paths['/api/v1/runs'].get;
    expect(listRuns.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['taskId', 'status', 'cursor', 'limit']));
    expect(listRuns.responses['200'].content['application/json'].schema.properties.items.items.properties).toHaveProperty('attempts');
  });
});

describe('health', () => {
  it('is live at once, ready only when the scheduler is, and not ready when the store fails', async () => {
    h = await new ApiHarness().start({ startScheduler: false });
    expect((await h.call('GET', '/healthz', { token: null })).json()).toEqual({ status: 'ok' });
    const notReady = await h.call('GET', '/readyz', { token: null });
    expect(notReady.statusCode).toBe(503);
    expect(errorOf(notReady).code).toBe('NOT_READY');

    await h.scheduler.start();
    const ready = await h.call('GET', '/readyz', { token: null });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });

    h.store.now = async () => {
      throw new Error('disk I/O error');
    };
    const storeDown = await h.call('GET', '/readyz', { token: null });
    expect(storeDown.statusCode).toBe(503);
    expect(errorOf(storeDown).code).toBe('STORE_UNAVAILABLE');
  });
});

describe('unexpected errors', () => {
  it('answers 500 INTERNAL with a generic message and logs the cause', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }));
    const store = createSqliteStore({ path: ':memory:' });
    await store.open();
    const control = UNUSED_RUN_CONTROL;
    const app = await buildApp({ store, control, clock: new ManualClock(), logger, version: 'x' });
    try {
      store.listTasks = async () => {
        throw new Error('SQLITE_CORRUPT: secret detail /var/lib/ecron');
      };
      const dir = await mkdtemp(join(tmpdir(), 'ecron-api-'));
      try {
        const boot = await bootstrapAdminToken({ store, dataDir: dir, env: {}, clock: new ManualClock() });
        const secret = (await readFile(join(dir, 'admin.token'), 'utf8')).trim();
        expect(boot.created).toBe(true);
        const res = await app.inject({ method: 'GET', url: '/api/v1/tasks', headers: { authorization: `Bearer ${secret}` } });
        expect(res.statusCode).toBe(500);
        expect(res.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
        expect(res.body).not.toContain('SQLITE_CORRUPT');
        expect(lines.join('')).toContain('SQLITE_CORRUPT');
        expect(lines.join('')).not.toContain(secret);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    } finally {
      await app.close();
      await store.close();
    }
  });
});
