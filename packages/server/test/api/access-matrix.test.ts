/**
 * The access matrix (issue 17): every route of /openapi.json against its row of the table
 * "Access by route" in docs/security.md, through the real app (SQLite `:memory:`, the real
 * scheduler, pull mode served), one harness for every case.
 *
 * - The table: a route without a row fails, naming the route; so does a row naming no route.
 * - Roles, with unscoped tokens of every role of the contracts' token schema
 *   (`CreateTokenSchema.shape.role`, so that a new role joins the matrix by itself): a role that
 *   {@link allows} denies gets exactly 403 FORBIDDEN; an allowed one never 401 nor 403 (a 400 for
 *   a body, a 404 for an id that an earlier write removed, a 409 are all fine). Without a token:
 *   401 UNAUTHENTICATED on every route but the public ones, whose answer does not depend on the
 *   token at all.
 * - Namespace scope: an admin token scoped to `["other"]` is aimed at the resources of `default`.
 *   Rows `yes` refuse it (403 or 404, never 2xx) and nothing changes, as read back with the
 *   unscoped admin; rows `per item` answer 200 with every item refused in its place; rows
 *   `filtered` list nothing of `default` (and do list it to the unscoped admin).
 *
 * Path parameters are the ids of resources made in `default` by `beforeAll`. An executor node
 * belongs to the credential that registered it, so each caller acts on a node it registered
 * itself (the scope check: on the unscoped admin's). Nothing waits: a poll asks for `waitMs: 0`,
 * and the stream is opened with an invalid nonce, which closes it at once (the scope check sends a
 * valid one, as it must be refused before the nonce matters, and closes a session that opens).
 */
import type { Socket } from 'node:net';
import { CreateTokenSchema, ERROR_CODES, type TokenRole } from '@ecron/contracts';
import { STREAM_NONCE_HEADER } from '@ecron/contracts/executor-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { buildApp } from '../../src/api/app.ts';
import { PullHub } from '../../src/dispatch/pull-hub.ts';
import { readAccessTable, routeKey, type AccessRow, type LeastRole } from '../support/access-table.ts';
import { ApiHarness, T0 } from './api-harness.ts';

type Json = Record<string, any>;

/** The roles that include one another, least first. `executor` and `metrics` stand outside this order. */
const RANKED_ROLES = ['viewer', 'operator', 'editor', 'admin'];

/**
 * Whether a token of `role` may call a route whose row says `least`:
 * - `public` and `authenticated`: every role;
 * - a role of {@link RANKED_ROLES}: that role and those above it, never `executor`;
 * - `executor` (the executor nodes' routes): `executor`, and `editor` and `admin`, whose routes
 *   they were before that role existed;
 * - `metrics` (`GET /metrics`): `metrics` and `admin`; a `metrics` token may call nothing else,
 *   not even the routes open to any other role (`authenticated`).
 */
function allows(role: string, least: LeastRole): boolean {
  if (least === 'public') return true;
  if (least === 'metrics') return role === 'metrics' || role === 'admin';
  if (role === 'metrics') return false;
  if (least === 'authenticated') return true;
  if (least === 'executor') return role === 'executor' || role === 'editor' || role === 'admin';
  if (role === 'executor') return false;
  return RANKED_ROLES.indexOf(role) >= RANKED_ROLES.indexOf(least);
}

/** The roles of the contracts, in the order above (`executor` last). */
const ROLES: TokenRole[] = [...CreateTokenSchema.shape.role.unwrap().options].sort((a, b) => rank(a) - rank(b));
function rank(role: string): number {
  const i = RANKED_ROLES.indexOf(role);
  return i >= 0 ? i : RANKED_ROLES.length;
}

/** Routes served but left out of /openapi.json: @fastify/websocket hides WebSocket routes from the document. */
const HIDDEN_ROUTES = ['GET /api/v1/executors/{id}/stream'];

/**
 * Rows whose route does not do what the table says it should: their test is expected to fail
 * (`it.fails`) until the route is fixed, so that the issue stays visible; once fixed, the test
 * passes, `it.fails` reports that, and the entry goes. Route key (with " (scope)" for the
 * namespace-scope case) → what is wrong.
 */
const KNOWN_WRONG = new Map<string, string>([]);

const rows = readAccessTable();
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const HEARTBEAT = { namespace: 'default', group: 'matrix', mode: 'pull' };
const MATRIX_CHANNEL = { namespace: 'default', name: 'matrix-channel', type: 'webhook', config: { url: 'http://127.0.0.1:9/hook' } };
const MATRIX_RULE = { namespace: 'default', name: 'matrix-rule', on: 'failure', scope: { namespace: 'default' }, channels: ['matrix-channel'] };
const MATRIX_SILENCE = { namespace: 'default', scope: { namespace: 'default' }, duration: '30d', comment: 'matrix' };
const MATRIX_GROUP = { discovery: { static: ['http://127.0.0.1:9/executor'] } };
const BACKFILL = { from: new Date(T0 - 15 * 60_000).toISOString(), to: new Date(T0 - 60_000).toISOString() };

interface Fixtures {
  task: string;
  taskSpec: Json;
  workflow: string;
  workflowSpec: Json;
  run: string;
  workflowRun: string;
  backfill: string;
  /** A viewer token of `default`, to revoke. */
  token: string;
  /** An executor node of `default`, registered by the unscoped admin. */
  node: string;
  /** An event subscription of `default` (a webhook). */
  subscription: string;
  /** An alert channel of `default` (a webhook nothing listens on) and a rule sending through it. */
  alertChannel: string;
  alertRule: string;
  /** An open incident of that rule (written through the store, as the evaluator does). */
  incident: string;
  /** An alert silence of `default`, over the whole namespace. */
  alertSilence: string;
}

/** What each route is sent besides its path: a body aimed at the fixtures, a query. */
interface CallSpec {
  body?: (fx: Fixtures) => unknown;
  query?: string;
  /** A filtered list: whether the answer shows something of `default` (default: it names `default` or a fixture's id). */
  sees?: (json: Json) => boolean;
}

const CALLS: Record<string, CallSpec> = {
  'POST /api/v1/tasks': { body: (fx) => ({ ...fx.taskSpec, name: 'matrix-created' }) },
  'POST /api/v1/tasks/{id}/clone': { body: () => ({ name: 'matrix-clone', namespace: 'other' }) },
  'PUT /api/v1/tasks/{id}': { body: (fx) => ({ ...fx.taskSpec, description: 'changed' }) },
  'POST /api/v1/tasks/{id}/trigger': { body: () => ({ params: { by: 'matrix' } }) },
  'POST /api/v1/tasks/{id}/backfill': { body: () => BACKFILL },
  'POST /api/v1/tasks:batch': { body: (fx) => ({ items: [{ ...fx.taskSpec, description: 'batched' }] }) },
  'POST /api/v1/tasks:pause': { body: (fx) => ({ ids: [fx.task] }) },
  'POST /api/v1/tasks:resume': { body: (fx) => ({ ids: [fx.task] }) },
  'POST /api/v1/tasks:delete': { body: (fx) => ({ ids: [fx.task] }) },
  'POST /api/v1/tasks:trigger': { body: (fx) => ({ ids: [fx.task] }) },
  'POST /api/v1/runs/{id}/rerun': { body: () => ({}) },
  'POST /api/v1/runs/{id}/report': { body: () => ({ attempt: 1, seq: 1, status: 'succeeded' }) },
  'POST /api/v1/workflows': { body: (fx) => ({ ...fx.workflowSpec, name: 'matrix-created-flow' }) },
  'POST /api/v1/workflows/validate': { body: (fx) => fx.workflowSpec },
  'PUT /api/v1/workflows/{id}': { body: (fx) => ({ ...fx.workflowSpec, description: 'changed' }) },
  'POST /api/v1/workflows/{id}/trigger': { body: () => ({}) },
  'POST /api/v1/workflows/{id}/backfill': { body: () => BACKFILL },
  'POST /api/v1/workflow-runs/{id}/rerun': { body: () => ({ from: 'failed' }) },
  'POST /api/v1/workflow-runs/{id}/nodes/{nodeId}/succeed': { body: () => ({ output: 'matrix' }) },
  'POST /api/v1/schedules/preview': { body: () => ({ schedule: { every: '1m' } }) },
  'POST /api/v1/tokens': { body: () => ({ name: 'matrix-made', role: 'viewer', namespaces: ['default'] }) },
  'PUT /api/v1/namespaces/{name}': { body: () => ({ description: 'changed' }) },
  'PUT /api/v1/executors/{id}': { body: () => HEARTBEAT },
  'PUT /api/v1/executor-groups/{namespace}/{group}': { body: () => ({ ...MATRIX_GROUP, weight: 2 }) },
  'POST /api/v1/executors/{id}/poll': { body: () => ({ waitMs: 0 }) },
  'POST /api/v1/executors/{id}/results': { body: () => ({ results: [] }) },
  'POST /api/v1/runs/{id}/subtasks': { body: () => ({ attempt: 1, offset: 0, handler: 'matrix', items: [] }) },
  'POST /api/v1/runs/{id}/subtasks/seal': { body: () => ({ attempt: 1 }) },
  'POST /api/v1/executors/{id}/subtasks/claim': { body: () => ({ handlers: ['matrix'], waitMs: 0 }) },
  'POST /api/v1/executors/{id}/subtasks/results': { body: () => ({ results: [] }) },
  'GET /api/v1/executors/{id}/subtasks/page': { query: `?runId=${UNKNOWN_ID}` },
  // Past the node's own start (node.joined, then a lease.moved per bucket) to the fixtures' events.
  'GET /api/v1/events': { query: '?type=task.*,workflow.*,run.*&limit=1000' },
  'POST /api/v1/event-subscriptions': { body: () => ({ namespace: 'default', name: 'matrix-created-sub', type: 'webhook', config: { url: 'http://127.0.0.1:9/hook' } }) },
  'POST /api/v1/alert-channels': { body: () => ({ namespace: 'default', name: 'matrix-created-channel', type: 'webhook', config: { url: 'http://127.0.0.1:9/hook' } }) },
  'PUT /api/v1/alert-channels/{id}': { body: () => ({ ...MATRIX_CHANNEL, description: 'changed', config: { ...MATRIX_CHANNEL.config, secret: '***' } }) },
  'POST /api/v1/alert-rules': { body: () => ({ ...MATRIX_RULE, name: 'matrix-created-rule' }) },
  'PUT /api/v1/alert-rules/{id}': { body: () => ({ ...MATRIX_RULE, description: 'changed' }) },
  'POST /api/v1/alert-silences': { body: () => MATRIX_SILENCE },
  'PUT /api/v1/alert-silences/{id}': { body: () => ({ comment: 'changed' }) },
  'GET /api/v1/stats': { query: '?namespace=default', sees: (json) => json.runs.total > 0 || json.tasks.total > 0 },
};

/** Who calls: a token (null: none), the executor node it acts as, and the token that registers that node first. */
interface Caller {
  secret: string | null;
  node: string;
  registrar: string;
}

/** An answer, HTTP or WebSocket (101 for a stream that opened; a close whose reason is an error code takes that code's status). */
interface Answer {
  status: number;
  code?: string;
  text: string;
  json?: Json;
  /** Path parameters that no fixture filled (an unknown id took their place). */
  unfilled: string[];
}

let h: ApiHarness;
let fx: Fixtures;
const callers: Record<string, Caller> = {};
let anonymous: Caller;
let otherAdmin: Caller;

const show = (answer: Answer): string => `${answer.status}${answer.code ? ` ${answer.code}` : ''}`;
const isExecutorNodeRoute = (row: AccessRow): boolean => row.path.startsWith('/api/v1/executors/{id}');
const isStream = (row: AccessRow): boolean => row.method === 'GET' && row.path.endsWith('/stream');

/** The path with its parameters filled: the fixture of the collection it names, or UNKNOWN_ID. */
function urlOf(row: AccessRow, as: Caller): { url: string; unfilled: string[] } {
  const byCollection: Record<string, string> = {
    tasks: fx.task, workflows: fx.workflow, runs: fx.run, 'workflow-runs': fx.workflowRun, backfills: fx.backfill, tokens: fx.token, executors: as.node,
    'event-subscriptions': fx.subscription, 'alert-channels': fx.alertChannel, 'alert-rules': fx.alertRule,
    incidents: fx.incident, 'alert-silences': fx.alertSilence,
  };
  const unfilled: string[] = [];
  const url = row.path.replace(/\{(\w+)\}/g, (_match, name: string, offset: number) => {
    const collection = /\/([a-z-]+)\/$/.exec(row.path.slice(0, offset))?.[1] ?? '';
    const value = name === 'id' ? byCollection[collection] : ({ name: 'default', nodeId: 'a', revision: '1', namespace: 'default', group: 'matrix-group' } as Record<string, string>)[name];
    if (value === undefined) unfilled.push(name);
    return encodeURIComponent(value ?? UNKNOWN_ID);
  });
  return { url, unfilled };
}

/** One call of `row`'s route as `as`. Executor routes first (re)register the node the caller acts as. */
async function call(row: AccessRow, as: Caller, options: { validNonce?: boolean } = {}): Promise<Answer> {
  if (isExecutorNodeRoute(row)) await h.call('PUT', `/api/v1/executors/${as.node}`, { token: as.registrar, body: HEARTBEAT });
  const spec = CALLS[routeKey(row)] ?? {};
  const { url, unfilled } = urlOf(row, as);
  if (isStream(row)) return { ...(await openStream(url, as.secret, options.validNonce ? 'matrix-nonce-0123456789' : 'bad nonce')), unfilled };
  const res = await h.call(row.method as 'GET', `${url}${spec.query ?? ''}`, { token: as.secret, body: spec.body?.(fx) });
  let json: Json | undefined;
  try {
    json = res.json();
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, code: json?.error?.code, text: res.body, json, unfilled };
}

/** Opens the executor stream; a refused upgrade answers its HTTP status, an upgraded one how it closed. */
async function openStream(url: string, token: string | null, nonce: string): Promise<Omit<Answer, 'unfilled'>> {
  let closed!: Promise<{ code: number; reason: string }>;
  const onInit = (socket: WebSocket) => {
    closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  };
  const headers = { [STREAM_NONCE_HEADER]: nonce, ...(token === null ? {} : { authorization: `Bearer ${token}` }) };
  // injectWS's request has no socket of its own; the limit on failed authentications reads the client's address from it.
  const client = { remoteAddress: '127.0.0.1' } as Socket;
  let socket: WebSocket;
  try {
    socket = await h.app.injectWS(url, { headers, socket: client }, { onInit });
  } catch (error) {
    const status = /Unexpected server response: (\d+)/.exec((error as Error).message)?.[1];
    if (status === undefined) throw error;
    return { status: Number(status), text: (error as Error).message };
  }
  // A refusal closes at once; a session that opened is closed here after a second.
  const timer = setTimeout(() => socket.close(), 1000);
  const { code, reason } = await closed;
  clearTimeout(timer);
  const known = (ERROR_CODES as Record<string, { status: number }>)[reason];
  return { status: known?.status ?? 101, code: reason || undefined, text: `closed ${code} ${reason}` };
}

/** What `default` holds, read by the unscoped admin (instants that pass by themselves left out). */
async function world(): Promise<Json> {
  const paths = [
    '/api/v1/tasks?limit=100', '/api/v1/workflows?limit=100', '/api/v1/runs?limit=100', '/api/v1/workflow-runs?limit=100',
    `/api/v1/tasks/${fx.task}/revisions`, `/api/v1/workflows/${fx.workflow}/revisions`, `/api/v1/tasks/${fx.task}/backfills`,
    `/api/v1/backfills/${fx.backfill}`, `/api/v1/workflow-runs/${fx.workflowRun}`, '/api/v1/namespaces/default', '/api/v1/tokens', '/api/v1/executors',
    '/api/v1/event-subscriptions', `/api/v1/event-subscriptions/${fx.subscription}/dead-letters`, '/api/v1/alert-channels', '/api/v1/alert-rules',
    '/api/v1/incidents', '/api/v1/alert-silences', '/api/v1/executor-groups',
  ];
  const volatile = new Set(['lastUsedAt', 'heartbeatAt', 'expiresAt', 'startedAt', 'alive', 'usage', 'lag']);
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).filter(([key]) => !volatile.has(key)).map(([key, v]) => [key, strip(v)]));
  };
  const answers = await Promise.all(paths.map(async (path) => {
    const res = await h.call('GET', path);
    return [path, res.statusCode, strip(res.json())];
  }));
  return Object.fromEntries(answers.map(([path, ...rest]) => [path, rest]));
}

/** Polls `read` until `done` holds; fails after 20 s. */
async function until(what: string, read: () => Promise<Json>, done: (value: Json) => boolean): Promise<Json> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not get there in time: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function created(method: 'POST' | 'PUT', url: string, body: unknown): Promise<Json> {
  const res = await h.call(method, url, { body });
  if (res.statusCode !== 200 && res.statusCode !== 201) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json();
}

beforeAll(async () => {
  h = await new ApiHarness().start();
  // The app with pull mode served (the executor routes), and room for the calls without a token.
  await h.app.close();
  h.app = await buildApp({
    store: h.store, control: h.scheduler, clock: h.clock, version: '0.0.0-test', pull: new PullHub({ now: () => h.clock.now() }),
    authFailureLimit: { max: 10_000, windowMs: 60_000 }, metrics: { contentType: 'text/plain; version=0.0.4; charset=utf-8', metrics: async () => '' },
  });

  const task = await h.createTask({ name: 'matrix-task', schedule: { cron: '*/5 * * * *' } });
  const run = await created('POST', `/api/v1/tasks/${task.id}/trigger`, {});
  await h.ended(run.id);
  const workflow = await created('POST', '/api/v1/workflows', {
    name: 'matrix-flow', schedule: { cron: '*/5 * * * *' }, nodes: [{ id: 'a', target: { type: 'http', url: `${h.executorUrl}/run` } }],
  });
  const workflowRun = await created('POST', `/api/v1/workflows/${workflow.id}/trigger`, {});
  await until('the workflow run', async () => (await h.call('GET', `/api/v1/workflow-runs/${workflowRun.id}`)).json(), (r) => ['succeeded', 'failed', 'cancelled'].includes(r.status));
  // A backfill, cancelled at once: it stays as it is.
  const backfill = await created('POST', `/api/v1/tasks/${task.id}/backfill`, BACKFILL);
  await created('POST', `/api/v1/backfills/${backfill.id}/cancel`, undefined);
  await until('the backfill\'s runs', async () => (await h.call('GET', `/api/v1/backfills/${backfill.id}`)).json(), (b) => b.runs.active === 0);
  await created('PUT', '/api/v1/namespaces/default', { description: 'matrix' });
  await created('PUT', '/api/v1/executors/matrix-node', HEARTBEAT);
  await created('PUT', '/api/v1/executor-groups/default/matrix-group', MATRIX_GROUP);
  const token = await h.token('viewer', ['default'], 'matrix-victim');
  const subscription = await created('POST', '/api/v1/event-subscriptions', { namespace: 'default', name: 'matrix-sub', type: 'webhook', config: { url: 'http://127.0.0.1:9/hook' } });
  const alertChannel = await created('POST', '/api/v1/alert-channels', MATRIX_CHANNEL);
  const alertRule = await created('POST', '/api/v1/alert-rules', MATRIX_RULE);
  const alertSilence = await created('POST', '/api/v1/alert-silences', MATRIX_SILENCE);
  await h.store.claimAlertEvaluator({ owner: 'matrix', ttlMs: 3_600_000, initialCursor: 0 });
  const { opened: [incident] } = await h.store.applyAlertChanges({
    owner: 'matrix', from: 0, to: 0, at: T0, changes: [{
      kind: 'fire', ruleId: alertRule.id, ruleName: alertRule.name, on: alertRule.on, namespace: 'default', subject: { kind: 'task', id: task.id, name: task.name },
      severity: 'warning', summary: 'matrix', details: {}, targets: [],
      notification: { state: 'firing', severity: 'warning', rule: { name: alertRule.name, on: alertRule.on }, subject: { kind: 'task', id: task.id, name: task.name }, namespace: 'default', summary: 'matrix', details: {}, at: new Date(T0).toISOString() },
    }],
  });
  fx = {
    task: task.id, taskSpec: task.spec, workflow: workflow.id, workflowSpec: workflow.spec, run: run.id, workflowRun: workflowRun.id,
    backfill: backfill.id, token: token.id, node: 'matrix-node', subscription: subscription.subscription.id,
    alertChannel: alertChannel.channel.id, alertRule: alertRule.id, incident: incident!.id, alertSilence: alertSilence.id,
  };

  for (const role of ROLES) {
    const { secret } = await h.token(role, ['*'], `matrix-${role}`);
    callers[role] = { secret, node: `matrix-node-${role}`, registrar: secret };
  }
  anonymous = { secret: null, node: fx.node, registrar: h.admin };
  otherAdmin = { secret: (await h.token('admin', ['other'], 'matrix-other-admin')).secret, node: fx.node, registrar: h.admin };
});
afterAll(async () => h?.close());

describe('the table "Access by route" of docs/security.md', () => {
  it('has one row per route of /openapi.json, and no row for a route that does not exist', async () => {
    const doc = (await h.call('GET', '/openapi.json', { token: null })).json();
    const served = new Set(Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) => Object.keys(item)
      .filter((method) => ['get', 'put', 'post', 'delete', 'patch'].includes(method)).map((method) => `${method.toUpperCase()} ${path}`)));
    for (const key of HIDDEN_ROUTES) {
      const [method, path] = key.split(' ') as [string, string];
      if (h.app.hasRoute({ method: method as 'GET', url: path.replace(/\{(\w+)\}/g, ':$1') })) served.add(key);
    }
    const keys = rows.map(routeKey);
    expect({
      withoutRow: [...served].filter((key) => !keys.includes(key)),
      notARoute: keys.filter((key) => !served.has(key)),
      twice: keys.filter((key, i) => keys.indexOf(key) !== i),
    }, 'routes without a row, rows that name no route, and rows given twice').toEqual({ withoutRow: [], notARoute: [], twice: [] });
  });

  it('knows every role of the contracts\' token schema', () => {
    expect(ROLES.filter((role) => rank(role) === RANKED_ROLES.length && role !== 'executor' && role !== 'metrics'), 'roles that allows() has no rule for').toEqual([]);
    expect(ROLES).toEqual(expect.arrayContaining(['viewer', 'editor', 'admin']));
  });
});

// Before the role matrix, whose writes change the fixtures.
describe('an admin token scoped to ["other"], aimed at the resources of default', () => {
  for (const row of rows.filter((r) => r.scope === 'yes' || r.scope === 'per item')) {
    const reason = KNOWN_WRONG.get(`${routeKey(row)} (scope)`);
    (reason ? it.fails : it)(`${routeKey(row)}: refused${row.scope === 'per item' ? ' item by item' : ''}, and nothing changes${reason ? ` — KNOWN WRONG: ${reason}` : ''}`, async () => {
      const before = await world();
      const answer = await call(row, otherAdmin, { validNonce: true });
      expect(answer.unfilled, 'path parameters without a fixture of default').toEqual([]);
      if (row.scope === 'yes') {
        expect([403, 404], `answered ${show(answer)}: ${answer.text.slice(0, 300)}`).toContain(answer.status);
      } else {
        expect(answer.status, answer.text.slice(0, 300)).toBe(200);
        const items = answer.json!.items as Json[];
        expect(items.length).toBeGreaterThan(0);
        for (const item of items) expect([403, 404], JSON.stringify(item)).toContain((ERROR_CODES as Json)[item.error?.code]?.status);
      }
      expect(await world(), 'what default holds, read back by the unscoped admin').toEqual(before);
    });
  }

  for (const row of rows.filter((r) => r.scope === 'filtered')) {
    it(`${routeKey(row)}: lists nothing of default (and lists it to the unscoped admin)`, async () => {
      const spec = CALLS[routeKey(row)] ?? {};
      const ids = [fx.task, fx.workflow, fx.run, fx.workflowRun, fx.backfill, fx.token, fx.node];
      const sees = (answer: Answer) => (spec.sees ? spec.sees(answer.json!) : ['"default"', ...ids].some((s) => answer.text.includes(s)));
      const mine = await call(row, { ...anonymous, secret: h.admin });
      expect(mine.status, mine.text.slice(0, 300)).toBe(200);
      expect(sees(mine), `the unscoped admin's answer shows nothing of default: ${mine.text.slice(0, 300)}`).toBe(true);
      const theirs = await call(row, otherAdmin);
      expect(theirs.status, theirs.text.slice(0, 300)).toBe(200);
      expect(sees(theirs), `the admin of ["other"] sees default: ${theirs.text.slice(0, 300)}`).toBe(false);
    });
  }
});

describe('roles, with unscoped tokens', () => {
  // Deletions last: the rows before them act on the fixtures still there.
  const deletes = (row: AccessRow) => row.method === 'DELETE' || row.path.endsWith(':delete');
  for (const row of [...rows.filter((r) => !deletes(r)), ...rows.filter(deletes)]) {
    const reason = KNOWN_WRONG.get(routeKey(row));
    (reason ? it.fails : it)(`${routeKey(row)}: ${row.least}${reason ? ` — KNOWN WRONG: ${reason}` : ''}`, async () => {
      const problems: string[] = [];
      const unauthenticated = await call(row, anonymous);
      if (row.least === 'public') {
        if (unauthenticated.code === 'UNAUTHENTICATED' || unauthenticated.code === 'FORBIDDEN') problems.push(`no token: public, got ${show(unauthenticated)}`);
      } else if (unauthenticated.status !== 401 || (unauthenticated.code ?? 'UNAUTHENTICATED') !== 'UNAUTHENTICATED') {
        problems.push(`no token: expected 401 UNAUTHENTICATED, got ${show(unauthenticated)}`);
      }
      for (const role of ROLES) {
        const answer = await call(row, callers[role]!);
        if (row.least === 'public') {
          // The token plays no part: the same answer as without one.
          if (show(answer) !== show(unauthenticated)) problems.push(`${role}: public, expected ${show(unauthenticated)} as without a token, got ${show(answer)}`);
        } else if (allows(role, row.least)) {
          if (answer.status === 401 || answer.status === 403) problems.push(`${role}: allowed, got ${show(answer)}: ${answer.text.slice(0, 200)}`);
        } else if (answer.status !== 403 || (answer.code ?? 'FORBIDDEN') !== 'FORBIDDEN') {
          problems.push(`${role}: denied, expected 403 FORBIDDEN, got ${show(answer)}`);
        }
      }
      expect(problems, `${routeKey(row)} (docs/security.md:${row.line}, least role ${row.least})`).toEqual([]);
    });
  }
});
