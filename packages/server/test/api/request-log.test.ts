/** The request log: one line per request, at debug for heartbeats, pull polls and probes. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp } from '../../src/api/app.ts';
import { PullHub } from '../../src/dispatch/pull-hub.ts';
import { UNUSED_RUN_CONTROL } from './api-harness.ts';
import { SYSTEM_CALLER } from '../../src/services/access.ts';
import { createTokenService } from '../../src/services/tokens.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';

const DEBUG = 20;
const INFO = 30;

interface LogLine { level: number; msg: string; reqId?: string; method?: string; url?: string; statusCode?: number; responseTime?: number; [key: string]: unknown }

const control = UNUSED_RUN_CONTROL;

let opened: { app: FastifyInstance; store: Store } | undefined;
afterEach(async () => {
  await opened?.app.close();
  await opened?.store.close();
  opened = undefined;
});

/** The app with a pino logger at `level` writing to an array of parsed lines. */
async function appLoggingAt(level: 'info' | 'debug') {
  const lines: LogLine[] = [];
  const logger = pino({ level }, new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk)) as LogLine); done(); } }));
  const store = createSqliteStore({ path: ':memory:' });
  await store.open();
  const clock = new ManualClock();
  const app = await buildApp({ store, control, clock, logger, version: 'x', pull: new PullHub() });
  opened = { app, store };
  const admin = await createTokenService({ store, clock }).create(SYSTEM_CALLER, { name: 'admin', role: 'admin' });
  const call = async (method: InjectOptions['method'], url: string, body?: unknown, extra: Record<string, string> = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${admin.secret}`, ...extra };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
    // The line is written once the answer has gone; inject resolves at the same moment.
    await new Promise((resolve) => setImmediate(resolve));
    return res;
  };
  const requestLines = () => lines.filter((line) => line.reqId !== undefined);
  return { lines, requestLines, call };
}

describe('request log', () => {
  it('writes one info line per request, at completion, with method, url, status, time and request id', async () => {
    const { requestLines, call } = await appLoggingAt('info');
    const list = await call('GET', '/api/v1/tasks?limit=5');
    expect(list.statusCode).toBe(200);
    const missing = await call('GET', '/api/v1/tasks/0190f000-0000-7000-8000-000000000099');
    expect(missing.statusCode).toBe(404);
    const created = await call('POST', '/api/v1/tokens', { name: 'ci', role: 'viewer' });
    expect(created.statusCode).toBe(201);

    const lines = requestLines();
    expect(lines).toHaveLength(3);
    expect(lines.map((l) => l.msg)).toEqual(['request', 'request', 'request']);
    expect(lines.some((l) => /incoming request|request completed/.test(l.msg))).toBe(false);
    expect(lines[0]).toMatchObject({ level: INFO, method: 'GET', url: '/api/v1/tasks?limit=5', statusCode: 200 });
    expect(lines[1]).toMatchObject({ level: INFO, method: 'GET', statusCode: 404 });
    expect(lines[2]).toMatchObject({ level: INFO, method: 'POST', url: '/api/v1/tokens', statusCode: 201 });
    for (const line of lines) {
      expect(typeof line.responseTime).toBe('number');
      expect(line.reqId).toMatch(/^req-/);
    }
    expect(new Set(lines.map((l) => l.reqId)).size).toBe(3);
    // The token's secret is in the answer, never in the log.
    expect(JSON.stringify(lines)).not.toContain((created.json() as { secret: string }).secret);
  });

  it('carries the trace id of a valid traceparent the caller sent, and none for a malformed one', async () => {
    const { call, requestLines } = await appLoggingAt('info');
    await call('GET', '/api/v1/tasks', undefined, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    await call('GET', '/api/v1/tasks', undefined, { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' });
    await call('GET', '/api/v1/tasks');
    expect(requestLines().map((l) => (l as { traceId?: string }).traceId)).toEqual(['4bf92f3577b34da6a3ce929d0e0e4736', undefined, undefined]);
  });

  it('logs heartbeats, pull polls, /healthz and /readyz at debug: absent at info, one debug line each at debug', async () => {
    const quiet = [
      ['PUT', '/api/v1/executors/puller-1', { group: 'ops', mode: 'pull' }, 200],
      ['POST', '/api/v1/executors/puller-1/poll', { waitMs: 0 }, 200],
      ['GET', '/healthz', undefined, 200],
      ['GET', '/readyz', undefined, 200],
    ] as const;

    const atInfo = await appLoggingAt('info');
    for (const [method, url, body, status] of quiet) expect((await atInfo.call(method, url, body)).statusCode).toBe(status);
    expect(atInfo.requestLines()).toEqual([]);
    await atInfo.call('GET', '/api/v1/executors');
    expect(atInfo.requestLines()).toMatchObject([{ level: INFO, method: 'GET', url: '/api/v1/executors', statusCode: 200 }]);
    await opened?.app.close();
    await opened?.store.close();
    opened = undefined;

    const atDebug = await appLoggingAt('debug');
    for (const [method, url, body, status] of quiet) expect((await atDebug.call(method, url, body)).statusCode).toBe(status);
    const lines = atDebug.requestLines();
    expect(lines.map((l) => [l.level, l.method, l.url, l.statusCode])).toEqual(quiet.map(([method, url]) => [DEBUG, method, url, 200]));
    expect(lines.every((l) => l.msg === 'request' && typeof l.responseTime === 'number')).toBe(true);
  });
});
