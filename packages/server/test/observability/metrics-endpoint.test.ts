/**
 * `GET /metrics` of a real server (SQLite, a real HTTP executor): after a known workload its
 * counters and histogram counts equal what happened; the ecron series do not grow with more tasks;
 * only an admin token (or the unauthenticated `--metrics-port` listener) may read it.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MisfireReport } from '../../src/observability/instrumentation.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { BUCKET_COUNT } from '../../src/core/buckets.ts';
import type { RunRecord } from '../../src/core/model.ts';
import { nextEvent } from '../support/events.ts';
import { TestExecutor } from '../support/test-executor.ts';
import { runCli } from '../cli/cli-harness.ts';
import { ecronSeries, parseExposition, sum, type Sample } from './metrics-support.ts';

const ADMIN = 'ecr_metrics_endpoint_admin_0123456789abcdef';
let root: string;
let server: RunningServer;
let executor: TestExecutor;
let executorUrl: string;
/** A user's own instrumentation, passed to the server beside its Prometheus metrics. */
const heard = new EventEmitter<{ misfire: [MisfireReport] }>();

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ecron-metrics-'));
  executor = new TestExecutor('unused');
  executorUrl = await executor.start();
  // `/fail` always fails; `/flaky` fails its first attempt of each run, then succeeds.
  executor.behaviours.set('/fail', () => ({ status: 500, body: { error: 'boom' } }));
  executor.behaviours.set('/flaky', (req) => (req.body.attempt === 1 ? { status: 500, body: { error: 'first try' } } : { status: 200, body: { ok: true } }));
  server = await startServer({
    dataDir: join(root, 'data'), port: 0, host: '127.0.0.1', roles: ['api', 'scheduler'], logger: pino({ level: 'silent' }),
    env: { ECRON_ADMIN_TOKEN: ADMIN }, consoleDir: join(root, 'no-console'), metricsListen: { port: 0, host: '127.0.0.1' },
    instrumentation: { misfireSkipped: (report) => heard.emit('misfire', report) },
  });
});

afterAll(async () => {
  await server?.stop();
  await executor?.stop();
  rmSync(root, { recursive: true, force: true });
});

async function api(path: string, init: { method?: string; body?: unknown; token?: string | null } = {}): Promise<Response> {
  const token = init.token === undefined ? ADMIN : init.token;
  return fetch(`${server.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

async function createTask(spec: Record<string, unknown>): Promise<string> {
  const res = await api('/api/v1/tasks', { body: spec });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function scrape(token: string | null = ADMIN): Promise<Sample[]> {
  const res = await api('/metrics', { token });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

/** Resolves once `count` runs matching `predicate` have ended (counted from now). */
function runsEnded(count: number, predicate: (run: RunRecord) => boolean = () => true, timeoutMs = 15_000): Promise<RunRecord[]> {
  const ended: RunRecord[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      server.scheduler!.events.off('run:ended', listener);
      reject(new Error(`only ${ended.length} of ${count} runs ended`));
    }, timeoutMs);
    const listener = (run: RunRecord) => {
      if (!predicate(run)) return;
      ended.push(run);
      if (ended.length < count) return;
      clearTimeout(timer);
      server.scheduler!.events.off('run:ended', listener);
      resolve(ended);
    };
    server.scheduler!.events.on('run:ended', listener);
  });
}

const httpTask = (name: string, path: string, extra: Record<string, unknown> = {}) => ({
  name, schedule: { manual: true }, target: { type: 'http', url: `${executorUrl}${path}` }, ...extra,
});

describe('GET /metrics after a known workload', () => {
  it('counts runs by outcome, attempts, retries, dispatches, fires, misfires, requests and store verbs as they happened', async () => {
    const before = await scrape();
    const ok = await createTask(httpTask('ok', '/ok'));
    const fail = await createTask(httpTask('fail', '/fail'));
    const flaky = await createTask(httpTask('flaky', '/flaky', { retry: { maxAttempts: 2, backoff: { type: 'fixed', initialMs: 10 } } }));
    const triggers = [...Array<string>(5).fill(ok), ...Array<string>(3).fill(fail), flaky];
    const ended = runsEnded(triggers.length);
    for (const id of triggers) expect((await api(`/api/v1/tasks/${id}/trigger`, { body: {} })).status).toBe(201);
    const runs = await ended;
    expect(runs.filter((r) => r.status === 'succeeded')).toHaveLength(6);

    // One scheduled fire (fire lag is measured for scheduled fires only).
    const scheduledEnded = runsEnded(1, (run) => run.trigger === 'schedule');
    await createTask(httpTask('once', '/ok', { schedule: { at: new Date(Date.now() + 200).toISOString() } }));
    await scheduledEnded;
    // A task whose executor group has no live node: its first run waits for one, its next fires are skipped.
    const skipped = new Promise<MisfireReport>((resolve) => heard.once('misfire', resolve));
    const waiting = nextEvent(server.scheduler!.events, 'run:waiting');
    expect((await api('/api/v1/namespaces/default', { method: 'PUT', body: { quotas: { minIntervalMs: 100 } } })).status).toBeLessThan(300);
    const orphan = await createTask({ name: 'orphan', schedule: { every: '100ms' }, target: { type: 'executor', group: 'nobody', handler: 'h' } });
    const misfire = await skipped;
    await waiting;
    expect((await api(`/api/v1/tasks/${orphan}/pause`, { body: {} })).status).toBe(200);
    expect(misfire).toMatchObject({ taskId: orphan, namespace: 'default', reason: 'no_executor' });

    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => sum(after, name, labels) - sum(before, name, labels);
    const http = { namespace: 'default', target_type: 'http' };
    expect(delta('ecron_runs_total', { ...http, outcome: 'succeeded' })).toBe(7); // 5 ok, flaky, once
    expect(delta('ecron_runs_total', { ...http, outcome: 'failed' })).toBe(3);
    expect(delta('ecron_attempts_total', { ...http, status: 'succeeded' })).toBe(7);
    expect(delta('ecron_attempts_total', { ...http, status: 'failed' })).toBe(4); // 3 fail + flaky's first
    expect(delta('ecron_retries_total', http)).toBe(1);
    expect(delta('ecron_dispatch_duration_seconds_count', { target_type: 'http' })).toBe(11);
    expect(delta('ecron_run_duration_seconds_count', http)).toBe(10);
    expect(delta('ecron_fires_total', { namespace: 'default', status: 'dispatched' })).toBe(2); // once, orphan
    expect(delta('ecron_fire_lag_seconds_count', http)).toBe(1);
    expect(delta('ecron_misfires_total', { namespace: 'default', reason: 'no_executor' })).toBeGreaterThanOrEqual(misfire.count);
    expect(sum(after, 'ecron_runs_waiting')).toBe(1);
    expect(delta('ecron_http_request_duration_seconds_count', { route: '/api/v1/tasks/:id/trigger', method: 'POST', status: '201' })).toBe(9);
    expect(delta('ecron_http_request_duration_seconds_count', { route: '/api/v1/tasks', method: 'POST', status: '201' })).toBe(5);
    expect(delta('ecron_http_request_duration_seconds_count', { route: '/metrics', method: 'GET', status: '200' })).toBe(1);
    expect(delta('ecron_store_operation_duration_seconds_count', { operation: 'createRun' })).toBe(9);
    expect(delta('ecron_store_operation_duration_seconds_count', { operation: 'recordFires' })).toBeGreaterThanOrEqual(1);
    // No raw URL, run id or task id ever becomes a label value.
    expect(after.some((s) => Object.values(s.labels).some((v) => v.includes(ok) || v.includes(runs[0]!.id)))).toBe(false);
    // Gauges, read on scrape.
    expect(sum(after, 'ecron_leases_held')).toBe(BUCKET_COUNT);
    expect(sum(after, 'ecron_scheduler_nodes')).toBe(1);
    expect(sum(after, 'ecron_runs_in_flight')).toBe(0);
    expect(sum(after, 'ecron_queue_depth', { queue: 'retries' })).toBe(0);
    expect(sum(after, 'ecron_lease_moves_total', { direction: 'acquired' })).toBe(BUCKET_COUNT);
    expect(after.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
  });

  it('keeps the ecron series bounded: 20 more tasks with runs add no series', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => createTask(httpTask(`bulk-${i}`, '/ok'))));
    let ended = runsEnded(20);
    for (const id of ids) await api(`/api/v1/tasks/${id}/trigger`, { body: {} });
    await ended;
    // Store verbs appear as they are first called (the lease renewal, once a second): bounded by the Store interface, not by the load.
    const workload = (samples: Sample[]) => samples.filter((x) => !x.name.startsWith('ecron_store_operation'));
    const first = ecronSeries(workload(await scrape()));
    const more = await Promise.all(Array.from({ length: 20 }, (_, i) => createTask(httpTask(`bulk-more-${i}`, '/ok'))));
    ended = runsEnded(40);
    for (const id of [...more, ...more]) await api(`/api/v1/tasks/${id}/trigger`, { body: {} });
    await ended;
    const later = await scrape();
    expect(ecronSeries(workload(later))).toBe(first);
    expect(new Set(later.filter((x) => x.name === 'ecron_store_operation_duration_seconds_count').map((x) => x.labels.operation)).size).toBeLessThan(80);
  });
});

describe('who may read /metrics', () => {
  it('answers 401 JSON without a token (not the console page), 403 to a viewer or an editor, 200 to an admin', async () => {
    const anonymous = await api('/metrics', { token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toMatch(/application\/json/);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
    for (const role of ['viewer', 'editor']) {
      const created = await api('/api/v1/tokens', { body: { name: `metrics-${role}`, role } });
      expect(created.status).toBe(201);
      const { secret } = (await created.json()) as { secret: string };
      const res = await api('/metrics', { token: secret });
      expect(res.status, role).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    }
    expect((await api('/metrics')).status).toBe(200);
  });

  it('answers a metrics token (made with `ecron token create --role metrics`), which gets 403 everywhere else', async () => {
    const made = await runCli(['token', 'create', '--name', 'prometheus', '--role', 'metrics', '--json'], { env: { ECRON_SERVER: server.url, ECRON_TOKEN: ADMIN } });
    expect(made.code, made.stderr).toBe(0);
    const { secret, token } = JSON.parse(made.stdout) as { secret: string; token: { role: string; namespaces: string[] } };
    expect(token).toMatchObject({ role: 'metrics', namespaces: ['*'] });
    const samples = await scrape(secret);
    expect(sum(samples, 'ecron_build_info')).toBe(1);
    for (const [method, path] of [['GET', '/api/v1/tasks'], ['GET', '/api/v1/runs'], ['GET', '/api/v1/me'], ['GET', '/api/v1/stats'], ['POST', '/api/v1/tokens']]) {
      const res = await api(path!, { method, token: secret, ...(method === 'POST' ? { body: { name: 'escalate', role: 'admin' } } : {}) });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    // The series name namespaces: a metrics token of some namespaces only is refused.
    const scoped = await api('/api/v1/tokens', { body: { name: 'prometheus-a', role: 'metrics', namespaces: ['default'] } });
    expect(scoped.status).toBe(201);
    expect((await api('/metrics', { token: ((await scoped.json()) as { secret: string }).secret })).status).toBe(403);
  });

  it('is served without authentication on the --metrics-port listener, which serves nothing else', async () => {
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${server.metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    const samples = parseExposition(await res.text());
    expect(sum(samples, 'ecron_build_info', { node_id: server.nodeId })).toBe(1);
    const other = await fetch(`${server.metricsUrl}/api/v1/tasks`);
    expect(other.status).toBe(404);
    expect((await fetch(`${server.metricsUrl}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
