/**
 * `/api/v1/alert-silences` over the real app (SQLite `:memory:`, a manual clock): each scope, the
 * window (startsAt by default now, endsAt or duration, at most 90 days, never already over), the
 * issues of a bad silence per field, the task, workflow and rules of the silence's namespace,
 * changes of the end and the comment, expire and delete, the listing, roles and namespace scope,
 * and what the evaluator reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHarness, errorOf, issuesOf } from './api-harness.ts';

type Json = Record<string, any>;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let h: ApiHarness;
let taskId = '';
let workflowId = '';
let ruleId = '';

beforeAll(async () => {
  h = await new ApiHarness().start();
  taskId = (await h.createTask({ namespace: 'billing', name: 'nightly', labels: { team: 'data' } })).id;
  const flow = await h.call('POST', '/api/v1/workflows', {
    body: { namespace: 'billing', name: 'etl', schedule: { manual: true }, nodes: [{ id: 'a', target: { type: 'http', url: `${h.executorUrl}/run` } }] },
  });
  workflowId = flow.json().id;
  await h.call('POST', '/api/v1/alert-channels', { body: { namespace: 'billing', name: 'ops', type: 'slack', config: { url: 'http://127.0.0.1:9/services/a/b/c' } } });
  const rule = await h.call('POST', '/api/v1/alert-rules', { body: { namespace: 'billing', name: 'fails', on: 'failure', scope: { namespace: 'billing' }, channels: ['ops'] } });
  ruleId = rule.json().id;
});
afterAll(async () => h?.close());

const at = (offsetMs: number): string => new Date(h.clock.now() + offsetMs).toISOString();
const base = (extra: Json = {}): Json => ({ namespace: 'billing', scope: { namespace: 'billing' }, duration: '2h', comment: 'db upgrade, change 42', ...extra });
const post = (body: unknown, token?: string) => h.call('POST', '/api/v1/alert-silences', { body, token });
const put = (id: string, body: unknown, token?: string) => h.call('PUT', `/api/v1/alert-silences/${id}`, { body, token });
const expire = (id: string, token?: string) => h.call('POST', `/api/v1/alert-silences/${id}/expire`, { token });

async function created(body: Json, token?: string): Promise<Json> {
  const res = await post(body, token);
  if (res.statusCode !== 201) throw new Error(`${res.statusCode} ${res.body}`);
  return res.json();
}

describe('alert silences', () => {
  it('creates a silence over each scope, from now by default, for a duration or to an end, of every rule or of some', async () => {
    const now = at(0);
    const whole = await created(base());
    expect(whole).toEqual({
      id: expect.any(String), namespace: 'billing', scope: { namespace: 'billing' }, ruleIds: null, startsAt: now, endsAt: at(2 * HOUR),
      state: 'active', comment: 'db upgrade, change 42', createdBy: `token:${h.adminId}`, createdAt: now, updatedAt: now,
    });
    for (const scope of [{ taskId }, { workflowId }, { labels: { team: 'data', tier: 'gold' } }]) {
      expect((await created(base({ scope, ruleIds: [ruleId] }))).scope).toEqual(scope);
    }
    const later = await created(base({ startsAt: '2026-01-02T08:00:00+08:00', endsAt: '2026-01-02T02:00:00Z', duration: undefined }));
    expect(later).toMatchObject({ startsAt: '2026-01-02T00:00:00.000Z', endsAt: '2026-01-02T02:00:00.000Z', state: 'pending' });
    const longest = await created(base({ duration: '90d', comment: '  维护窗口  ' }));
    expect(longest).toMatchObject({ endsAt: at(90 * DAY), comment: '维护窗口' });
    expect(await h.store.getAlertSilence(whole.id)).toMatchObject({ startsAt: h.clock.now(), endsAt: h.clock.now() + 2 * HOUR, ruleIds: null });
  });

  it('names the field of each problem', async () => {
    const cases: [Json, { path: string; code?: string; message?: unknown }[]][] = [
      [{ namespace: 'billing', scope: { namespace: 'billing' } }, [{ path: 'comment', code: 'REQUIRED' }]],
      [base({ duration: undefined }), [{ path: 'endsAt', code: 'INVALID_VALUE', message: 'give endsAt (an ISO-8601 instant) or duration ("2h")' }]],
      [base({ comment: '   ' }), [{ path: 'comment', code: 'OUT_OF_RANGE', message: 'a comment is required: say why (1 to 1000 characters)' }]],
      [base({ comment: 'x'.repeat(1001) }), [{ path: 'comment', code: 'OUT_OF_RANGE', message: 'at most 1000 characters' }]],
      [base({ duration: undefined, endsAt: 'tomorrow' }), [{ path: 'endsAt', code: 'INVALID_FORMAT', message: expect.stringContaining('ISO-8601') }]],
      [base({ startsAt: '2026-13-01T00:00:00Z' }), [{ path: 'startsAt', code: 'INVALID_FORMAT' }]],
      [base({ endsAt: at(HOUR) }), [{ path: 'duration', code: 'INVALID_COMBINATION', message: 'give endsAt or duration, not both' }]],
      [base({ duration: '30s' }), [{ path: 'duration', code: 'DURATION_OUT_OF_RANGE', message: 'duration must be between 1m and 90d' }]],
      [base({ duration: '91d' }), [{ path: 'duration', code: 'DURATION_OUT_OF_RANGE' }]],
      [base({ duration: 'soon' }), [{ path: 'duration', code: 'INVALID_DURATION' }]],
      [base({ duration: undefined, startsAt: at(2 * HOUR), endsAt: at(HOUR) }), [{ path: 'endsAt', code: 'OUT_OF_RANGE', message: `must end after it starts (${at(2 * HOUR)})` }]],
      [base({ duration: undefined, endsAt: at(91 * DAY) }), [{ path: 'endsAt', code: 'OUT_OF_RANGE', message: `a silence lasts at most 90 days: end it by ${at(90 * DAY)}` }]],
      [base({ duration: undefined, startsAt: at(-2 * HOUR), endsAt: at(-HOUR) }), [{ path: 'endsAt', code: 'OUT_OF_RANGE', message: expect.stringContaining('it would already have ended') }]],
      [base({ startsAt: at(-3 * HOUR) }), [{ path: 'duration', code: 'OUT_OF_RANGE', message: expect.stringContaining('it would already have ended') }]],
      [base({ scope: {} }), [{ path: 'scope', code: 'INVALID_VALUE', message: 'give one of taskId, workflowId, labels or namespace' }]],
      [base({ scope: { taskId, labels: { a: 'b' } } }), [{ path: 'scope', code: 'INVALID_COMBINATION' }]],
      [base({ scope: { labels: {} } }), [{ path: 'scope.labels', code: 'INVALID_VALUE', message: 'at least one label' }]],
      [base({ scope: { namespace: 'other' } }), [{ path: 'scope.namespace', code: 'INVALID_VALUE', message: 'must be the silence\'s own namespace "billing"' }]],
      [base({ scope: { host: 'db-1' } }), [{ path: 'scope.host', code: 'UNKNOWN_FIELD' }, { path: 'scope', code: 'INVALID_VALUE' }]],
      [base({ ruleIds: [] }), [{ path: 'ruleIds', code: 'OUT_OF_RANGE' }]],
      [base({ ruleIds: [ruleId, ruleId] }), [{ path: 'ruleIds', code: 'INVALID_VALUE', message: 'a rule is named twice' }]],
      [base({ silent: true }), [{ path: 'silent', code: 'UNKNOWN_FIELD' }]],
    ];
    for (const [spec, expected] of cases) {
      const res = await post(spec);
      expect(res.statusCode, JSON.stringify(spec)).toBe(400);
      expect(errorOf(res).code).toBe('VALIDATION_FAILED');
      expect(issuesOf(res), JSON.stringify(spec)).toEqual(expected.map((issue) => expect.objectContaining(issue)));
    }
  });

  it('refuses a task, a workflow or rules of another namespace (or none)', async () => {
    await h.call('POST', '/api/v1/alert-channels', { body: { namespace: 'other', name: 'ops', type: 'slack', config: { url: 'http://127.0.0.1:9/services/a/b/c' } } });
    const otherRule = (await h.call('POST', '/api/v1/alert-rules', { body: { namespace: 'other', name: 'r', on: 'timeout', scope: { namespace: 'other' }, channels: ['ops'] } })).json();
    const elsewhere = await post({ ...base(), namespace: 'other', scope: { taskId }, ruleIds: [otherRule.id, ruleId] });
    expect(issuesOf(elsewhere)).toEqual([
      { path: 'scope.taskId', code: 'TASK_NOT_FOUND', message: `no task ${taskId} in namespace "other"` },
      { path: 'ruleIds[1]', code: 'ALERT_RULE_NOT_FOUND', message: `no alert rule ${ruleId} in namespace "other"` },
    ]);
    expect(issuesOf(await post(base({ scope: { workflowId: taskId } })))).toEqual([expect.objectContaining({ path: 'scope.workflowId', code: 'WORKFLOW_NOT_FOUND' })]);
    expect(issuesOf(await post(base({ ruleIds: ['nope'] })))).toEqual([expect.objectContaining({ path: 'ruleIds[0]', code: 'ALERT_RULE_NOT_FOUND' })]);
  });

  it('changes the end and the comment (a silence as read sent back), refuses other changes, expires, and deletes, with audit entries', async () => {
    const s = await created(base({ scope: { taskId } }));
    const longer = await put(s.id, { endsAt: at(5 * HOUR), comment: 'it takes longer' });
    expect(longer.statusCode, longer.body).toBe(200);
    expect(longer.json()).toMatchObject({ endsAt: at(5 * HOUR), comment: 'it takes longer', startsAt: s.startsAt, state: 'active' });
    const asRead = await put(s.id, { ...(longer.json() as Json), scope: { taskId }, comment: 'as read' });
    expect(asRead.json()).toMatchObject({ endsAt: at(5 * HOUR), comment: 'as read' });

    expect(issuesOf(await put(s.id, { ...s, scope: { workflowId }, startsAt: at(HOUR) }))).toEqual([
      expect.objectContaining({ path: 'scope', code: 'INVALID_VALUE', message: expect.stringContaining('cannot change after the silence is created') }),
      expect.objectContaining({ path: 'startsAt', code: 'INVALID_VALUE' }),
    ]);
    expect(issuesOf(await put(s.id, { namespace: 'other' }))).toEqual([expect.objectContaining({ path: 'namespace' })]);
    expect(issuesOf(await put(s.id, { duration: '1h' }))).toEqual([expect.objectContaining({ path: 'duration', code: 'UNKNOWN_FIELD' })]);
    expect(issuesOf(await put(s.id, { endsAt: at(-1) }))).toEqual([expect.objectContaining({ path: 'endsAt', message: `must end after it starts (${s.startsAt})` })]);
    await h.clock.advance(10 * 60_000);
    expect(issuesOf(await put(s.id, { endsAt: at(-1) }))).toEqual([expect.objectContaining({ path: 'endsAt', message: expect.stringContaining('it would already have ended') })]);
    expect(issuesOf(await put(s.id, { endsAt: at(91 * DAY) }))).toEqual([expect.objectContaining({ path: 'endsAt', code: 'OUT_OF_RANGE' })]);
    expect(issuesOf(await put(s.id, { comment: '' }))).toEqual([expect.objectContaining({ path: 'comment' })]);

    await h.clock.advance(HOUR);
    const ended = await expire(s.id);
    expect(ended.statusCode, ended.body).toBe(200);
    expect(ended.json()).toMatchObject({ endsAt: at(0), state: 'expired', comment: 'as read' });
    const again = await expire(s.id);
    expect(again.statusCode).toBe(409);
    expect(errorOf(again)).toMatchObject({ code: 'ALERT_SILENCE_ENDED', message: `alert silence ${s.id} ended at ${at(0)}: create another one` });
    expect(errorOf(await put(s.id, { endsAt: at(HOUR) })).code).toBe('ALERT_SILENCE_ENDED');
    expect((await put(s.id, { comment: 'done early' })).json()).toMatchObject({ comment: 'done early', state: 'expired' });

    const pending = await created(base({ startsAt: at(DAY) }));
    expect((await expire(pending.id)).json()).toMatchObject({ startsAt: at(DAY), endsAt: at(DAY), state: 'expired' });

    const { items } = (await h.call('GET', `/api/v1/audit?resourceId=${s.id}`)).json();
    expect(items.map((e: Json) => e.action)).toEqual(['alert-silence.update', 'alert-silence.expire', 'alert-silence.update', 'alert-silence.update', 'alert-silence.create']);
    expect((await h.call('DELETE', `/api/v1/alert-silences/${s.id}`)).statusCode).toBe(204);
    expect(errorOf(await h.call('GET', `/api/v1/alert-silences/${s.id}`)).code).toBe('ALERT_SILENCE_NOT_FOUND');
    expect(errorOf(await expire(s.id)).code).toBe('ALERT_SILENCE_NOT_FOUND');
    expect(errorOf(await h.call('DELETE', `/api/v1/alert-silences/${s.id}`)).code).toBe('ALERT_SILENCE_NOT_FOUND');
  });

  it('lists the newest first, those in force, a page at a time, within the caller\'s namespaces; operators manage, viewers read', async () => {
    const list = (query: string, token?: string) => h.call('GET', `/api/v1/alert-silences${query}`, { token }).then((res) => res.json());
    const all = (await list('?namespace=billing&limit=1000')).items as Json[];
    expect(all.map((s) => s.startsAt)).toEqual([...all.map((s) => s.startsAt)].sort().reverse());
    const active = (await list('?active=true')).items as Json[];
    expect(active.length).toBeGreaterThan(0);
    expect(active.every((s) => s.state === 'active')).toBe(true);
    expect(all.filter((s) => s.state === 'active').map((s) => s.id).sort()).toEqual(active.map((s) => s.id).sort());
    const page = await list('?namespace=billing&limit=2');
    const next = await list(`?namespace=billing&limit=2&cursor=${page.nextCursor}`);
    expect([...page.items, ...next.items].map((s: Json) => s.id)).toEqual(all.slice(0, 4).map((s) => s.id));
    expect(errorOf(await h.call('GET', '/api/v1/alert-silences?cursor=bogus')).code).toBe('INVALID_CURSOR');

    const viewer = await h.token('viewer', ['billing'], 'billing-viewer');
    const operator = await h.token('operator', ['other'], 'other-operator');
    const body = { namespace: 'other', scope: { namespace: 'other' }, duration: '1h', comment: 'other maintenance' };
    expect((await list('', viewer.secret)).items.length).toBe(all.length);
    expect(errorOf(await post(base(), viewer.secret)).code).toBe('FORBIDDEN');
    expect(errorOf(await expire(all[0]!.id, viewer.secret)).code).toBe('FORBIDDEN');
    expect(errorOf(await put(all[0]!.id, { comment: 'x' }, viewer.secret)).code).toBe('FORBIDDEN');
    const mine = await created(body, operator.secret);
    expect(mine.createdBy).toBe(`token:${operator.id}`);
    expect(errorOf(await post(base(), operator.secret)).code).toBe('FORBIDDEN');
    expect((await list('', operator.secret)).items.map((s: Json) => s.id)).toEqual([mine.id]);
    expect(errorOf(await h.call('GET', `/api/v1/alert-silences/${all[0]!.id}`, { token: operator.secret })).code).toBe('ALERT_SILENCE_NOT_FOUND');
    expect(errorOf(await h.call('DELETE', `/api/v1/alert-silences/${all[0]!.id}`, { token: operator.secret })).code).toBe('ALERT_SILENCE_NOT_FOUND');
    expect((await expire(mine.id, operator.secret)).json().state).toBe('expired');
    expect((await h.call('DELETE', `/api/v1/alert-silences/${mine.id}`, { token: operator.secret })).statusCode).toBe(204);
    const editor = await h.token('editor', ['billing'], 'billing-editor');
    expect((await post(base(), editor.secret)).statusCode).toBe(201);
  });

  it('gives the evaluator the silences in force now, of every namespace', async () => {
    await created({ namespace: 'other', scope: { namespace: 'other' }, duration: '1h', comment: 'other' });
    const now = h.clock.now();
    const inForce = await h.store.listActiveAlertSilences({ at: now });
    const listed = (await h.call('GET', '/api/v1/alert-silences?active=true&limit=1000')).json().items as Json[];
    expect(inForce.map((s) => s.id).sort()).toEqual(listed.map((s) => s.id).sort());
    expect(new Set(inForce.map((s) => s.namespace))).toEqual(new Set(['billing', 'other']));
    expect(inForce.every((s) => s.startsAt <= now && now < s.endsAt)).toBe(true);
  });
});
