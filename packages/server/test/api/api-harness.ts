/**
 * The REST API over a real SQLite store (`:memory:`) and the real scheduler on a manual clock,
 * driven with `app.inject()`. A real HTTP executor (test/support) answers triggered runs.
 */
import { isFinalRunStatus, type TokenRole } from '@ecron/contracts';
import { nextEvent } from '../support/events.ts';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/api/app.ts';
import { HttpDispatcher } from '../../src/dispatch/http-dispatcher.ts';
import type { RunControl } from '../../src/scheduler/run-control.ts';
import { Scheduler, type SchedulerEvents } from '../../src/scheduler/scheduler.ts';
import { SYSTEM_CALLER } from '../../src/services/access.ts';
import { createTokenService } from '../../src/services/tokens.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';
import { TestExecutor } from '../support/test-executor.ts';

export const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/** A scheduler stand-in for apps whose tests never trigger, cancel or report a run. */
export const UNUSED_RUN_CONTROL: RunControl = {
  ready: true,
  taskChanged: () => {},
  trigger: async () => { throw new Error('not used'); },
  cancel: async () => { throw new Error('not used'); },
  report: async () => { throw new Error('not used'); },
  actOnWorkflowRun: async () => { throw new Error('not used'); },
  nodeId: 'unused',
  startBackfill: () => { throw new Error('not used'); },
};
const SIGNING_KEY = 'api-test-signing-key-0123456789';
const CALLBACK_KEY = 'api-test-callback-key-0123456789';

export interface Call {
  token?: string | null;
  body?: unknown;
  /** Sent as is (string payloads keep their content type unless `headers` say otherwise). */
  headers?: Record<string, string>;
}

export class ApiHarness {
  readonly clock = new ManualClock(T0);
  readonly store: Store = createSqliteStore({ path: ':memory:' });
  readonly executor = new TestExecutor(SIGNING_KEY);
  executorUrl = '';
  dispatcher!: HttpDispatcher;
  scheduler!: Scheduler;
  app!: FastifyInstance;
  /** Secret of an unscoped admin token. */
  admin = '';
  adminId = '';

  /** `startScheduler: false` leaves the scheduler not ready (for /readyz). */
  async start(options: { startScheduler?: boolean } = {}): Promise<this> {
    await this.store.open();
    this.executorUrl = await this.executor.start();
    this.dispatcher = new HttpDispatcher({ clock: this.clock, signingKey: SIGNING_KEY });
    this.scheduler = new Scheduler({
      store: this.store, clock: this.clock, random: () => 0.5, dispatcher: this.dispatcher,
      callbackKey: CALLBACK_KEY, publicUrl: 'http://127.0.0.1:1', shutdownGraceMs: 500,
    });
    if (options.startScheduler !== false) await this.scheduler.start();
    this.app = await buildApp({ store: this.store, control: this.scheduler, clock: this.clock, version: '0.0.0-test' });
    const admin = await createTokenService({ store: this.store, clock: this.clock }).create(SYSTEM_CALLER, { name: 'test-admin', role: 'admin' });
    this.admin = admin.secret;
    this.adminId = admin.token.id;
    return this;
  }

  /** One request; the admin token unless `token` is given (null: no Authorization header). */
  async call(method: InjectOptions['method'], url: string, call: Call = {}): Promise<LightMyRequestResponse> {
    const token = call.token === undefined ? this.admin : call.token;
    const headers: Record<string, string> = { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...call.headers };
    const options: InjectOptions = { method, url, headers };
    if (call.body !== undefined) {
      options.payload = typeof call.body === 'string' || Buffer.isBuffer(call.body) ? call.body : JSON.stringify(call.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    }
    return this.app.inject(options);
  }

  /** A new token through the API; returns its secret and id. */
  async token(role: TokenRole, namespaces: string[] = ['*'], name = `${role}-token`): Promise<{ secret: string; id: string }> {
    const res = await this.call('POST', '/api/v1/tokens', { body: { name, role, namespaces } });
    if (res.statusCode !== 201) throw new Error(`token create failed: ${res.body}`);
    const body = res.json();
    return { secret: body.secret, id: body.token.id };
  }

  /** A task through the API (an http target on the test executor unless given); returns the resource. */
  async createTask(spec: Record<string, unknown>, token?: string): Promise<Record<string, any>> {
    const res = await this.call('POST', '/api/v1/tasks', {
      token, body: { target: { type: 'http', url: `${this.executorUrl}/run` }, schedule: { manual: true }, ...spec },
    });
    if (res.statusCode !== 201) throw new Error(`task create failed: ${res.statusCode} ${res.body}`);
    return res.json();
  }

  /** How many tasks the store holds, read directly (not through the API under test). */
  async taskCount(): Promise<number> {
    return (await this.store.listTasks({ limit: 1000 })).items.length;
  }

  /** Resolves with the next scheduler event matching `predicate`. */
  next<E extends keyof SchedulerEvents>(event: E, predicate: (...args: SchedulerEvents[E]) => boolean = () => true, timeoutMs = 5000): Promise<SchedulerEvents[E][0]> {
    return nextEvent(this.scheduler.events, event, predicate, timeoutMs);
  }

  /** The run once it has ended (waits for the scheduler's `run:ended` if it has not yet). */
  async ended(runId: string): Promise<Record<string, any>> {
    const waiting = this.next('run:ended', (r) => r.id === runId);
    waiting.catch(() => {});
    const run = await this.store.getRun(runId);
    if (!run || !isFinalRunStatus(run.status)) await waiting;
    return (await this.call('GET', `/api/v1/runs/${runId}`)).json();
  }

  async close(): Promise<void> {
    await this.app?.close();
    await this.scheduler?.stop();
    await this.dispatcher?.close();
    await this.executor.stop();
    await this.store.close();
  }
}

/** The `error` member of an error answer. */
export function errorOf(res: LightMyRequestResponse): { code: string; message: string; details?: any } {
  return res.json().error;
}

/** Field issues of a VALIDATION_FAILED answer. */
export function issuesOf(res: LightMyRequestResponse): { path: string; code: string; message: string }[] {
  return res.json().error.details?.issues ?? [];
}

/** A spec with an every-minute schedule and an http target nothing listens on (tasks that must not run). */
export function idleTaskSpec(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, schedule: { every: '1m' }, target: { type: 'http', url: 'http://127.0.0.1:9000/run' }, ...extra };
}
