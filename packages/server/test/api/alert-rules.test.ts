/**
 * `/api/v1/alert-rules` over the real app (SQLite `:memory:`): every kind with its parameters and
 * defaults, the issues of a bad rule per kind and per field, scopes, channels that must exist in the
 * rule's namespace, update (one revision more, a rule as read sent back), enable and disable, the
 * listing's filters and pages, roles and namespace scope, and what the evaluator reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHarness, errorOf, issuesOf } from './api-harness.ts';

type Json = Record<string, any>;

let h: ApiHarness;
let taskId = '';
let workflowId = '';

beforeAll(async () => {
  h = await new ApiHarness().start();
  for (const [namespace, name] of [['billing', 'ops'], ['billing', 'mail'], ['other', 'ops']]) {
    const res = await h.call('POST', '/api/v1/alert-channels', { body: { namespace, name, type: 'slack', config: { url: 'http://127.0.0.1:9/services/a/b/c' } } });
    if (res.statusCode !== 201) throw new Error(res.body);
  }
  taskId = (await h.createTask({ namespace: 'billing', name: 'nightly', labels: { team: 'data' } })).id;
  const flow = await h.call('POST', '/api/v1/workflows', {
    body: { namespace: 'billing', name: 'etl', schedule: { manual: true }, nodes: [{ id: 'a', target: { type: 'http', url: `${h.executorUrl}/run` } }] },
  });
  workflowId = flow.json().id;
});
afterAll(async () => h?.close());

const base = (name: string, extra: Json = {}): Json => ({ namespace: 'billing', name, channels: ['ops'], ...extra });
const post = (body: unknown, token?: string) => h.call('POST', '/api/v1/alert-rules', { body, token });

async function created(body: Json): Promise<Json> {
  const res = await post(body);
  if (res.statusCode !== 201) throw new Error(`${res.statusCode} ${res.body}`);
  return res.json();
}

describe('alert rules', () => {
  it('creates every kind, with its parameters (durations as written) and defaults', async () => {
    const kinds: [Json, Json][] = [
      [{ on: 'failure', scope: { taskId } }, { attempts: 'final' }],
      [{ on: 'failure', scope: { taskId }, attempts: 'every' }, { attempts: 'every' }],
      [{ on: 'timeout', scope: { workflowId } }, {}],
      [{ on: 'consecutive-failures', scope: { labels: { team: 'data' } }, count: 3 }, { count: 3 }],
      [{ on: 'failure-rate', scope: { namespace: 'billing' }, rate: 0.2, window: '1h' }, { rate: 0.2, window: '1h', minRuns: 5 }],
      [{ on: 'missed-fire', scope: { taskId } }, { grace: '1m' }],
      [{ on: 'late-start', scope: { taskId }, lag: 30_000 }, { lag: '30s' }],
      [{ on: 'long-running', scope: { labels: { team: 'data' } }, after: '2h' }, { after: '2h' }],
      [{ on: 'no-executor', scope: { namespace: 'billing' }, group: 'gpu' }, { group: 'gpu', for: '1m' }],
      [{ on: 'node-lost', scope: { namespace: 'billing' } }, {}],
    ];
    for (const [i, [spec, params]] of kinds.entries()) {
      const rule = await created(base(`kind-${i}`, spec));
      expect(rule, spec.on).toEqual({
        id: expect.any(String), namespace: 'billing', name: `kind-${i}`, on: spec.on, scope: spec.scope, channels: ['ops'], severity: 'warning',
        enabled: true, repeatInterval: null, sendResolved: true, description: null, ...params, revision: 1, createdAt: expect.any(String), updatedAt: expect.any(String),
      });
    }
    const rich = await created(base('rich', {
      on: 'failure-rate', scope: { taskId }, rate: 1, window: 90 * 60_000, minRuns: 20, severity: 'critical', repeatInterval: '30m', sendResolved: false,
      enabled: false, description: '失败率', channels: ['mail', 'ops'],
    }));
    expect(rich).toMatchObject({ window: '90m', minRuns: 20, severity: 'critical', repeatInterval: '30m', sendResolved: false, enabled: false, channels: ['mail', 'ops'] });
    const stored = await h.store.getAlertRule(rich.id);
    expect(stored).toMatchObject({ params: { rate: 1, windowMs: 5_400_000, minRuns: 20 }, repeatIntervalMs: 1_800_000, scope: { taskId } });
  });

  it('names the field of each problem, per kind', async () => {
    const cases: [Json, { path: string; code?: string; message?: unknown }[]][] = [
      [{ on: 'pager', scope: { taskId } }, [{ path: 'on', code: 'INVALID_VALUE', message: expect.stringContaining('on must be one of "failure", "timeout"') }]],
      [{ on: 'failure', scope: { taskId }, attempts: 'some' }, [{ path: 'attempts', code: 'INVALID_VALUE' }]],
      [{ on: 'timeout', scope: { taskId }, count: 3 }, [{ path: 'count', code: 'UNKNOWN_FIELD' }]],
      [{ on: 'consecutive-failures', scope: { taskId } }, [{ path: 'count', code: 'REQUIRED' }]],
      [{ on: 'consecutive-failures', scope: { taskId }, count: 1 }, [{ path: 'count', code: 'OUT_OF_RANGE', message: 'at least 2' }]],
      [{ on: 'failure-rate', scope: { taskId }, rate: 0, window: '1h' }, [{ path: 'rate', code: 'OUT_OF_RANGE', message: 'greater than 0' }]],
      [{ on: 'failure-rate', scope: { taskId }, rate: 1.5 }, [{ path: 'rate', code: 'OUT_OF_RANGE' }, { path: 'window', message: expect.stringContaining('expected a duration') }]],
      [{ on: 'failure-rate', scope: { taskId }, rate: 0.5, window: '10s', minRuns: 0 }, [{ path: 'window', code: 'DURATION_OUT_OF_RANGE' }, { path: 'minRuns', code: 'OUT_OF_RANGE' }]],
      [{ on: 'missed-fire', scope: { taskId }, grace: 'soon' }, [{ path: 'grace', code: 'INVALID_DURATION' }]],
      [{ on: 'late-start', scope: { taskId } }, [{ path: 'lag', message: expect.stringContaining('expected a duration') }]],
      [{ on: 'long-running', scope: { taskId }, after: '0s' }, [{ path: 'after', code: 'DURATION_OUT_OF_RANGE' }]],
      [{ on: 'no-executor', scope: { namespace: 'billing' } }, [{ path: 'group', code: 'REQUIRED' }]],
      [{ on: 'no-executor', scope: { taskId }, group: 'gpu' }, [{ path: 'scope', code: 'INVALID_VALUE', message: 'a no-executor rule watches a whole namespace: its scope is { "namespace": "billing" }' }]],
      [{ on: 'node-lost', scope: { labels: { team: 'data' } } }, [{ path: 'scope', code: 'INVALID_VALUE' }]],
      [{ on: 'failure', scope: { namespace: 'other' } }, [{ path: 'scope.namespace', code: 'INVALID_VALUE', message: 'must be the rule\'s own namespace "billing"' }]],
      [{ on: 'failure', scope: {} }, [{ path: 'scope', code: 'INVALID_VALUE', message: 'give one of taskId, workflowId, labels or namespace' }]],
      [{ on: 'failure', scope: { taskId, labels: { a: 'b' } } }, [{ path: 'scope', code: 'INVALID_COMBINATION' }]],
      [{ on: 'failure', scope: { labels: {} } }, [{ path: 'scope.labels', code: 'INVALID_VALUE', message: 'at least one label' }]],
      [{ on: 'failure', scope: { taskId }, channels: [] }, [{ path: 'channels', code: 'OUT_OF_RANGE', message: 'at least one channel' }]],
      [{ on: 'failure', scope: { taskId }, channels: ['ops', 'ops'] }, [{ path: 'channels', code: 'INVALID_VALUE', message: 'a channel is named twice' }]],
      [{ on: 'failure', scope: { taskId }, severity: 'fatal', repeatInterval: '10s' }, [{ path: 'severity', code: 'INVALID_VALUE' }, { path: 'repeatInterval', code: 'DURATION_OUT_OF_RANGE' }]],
    ];
    for (const [spec, expected] of cases) {
      const res = await post(base('bad', spec));
      expect(res.statusCode, JSON.stringify(spec)).toBe(400);
      expect(errorOf(res).code).toBe('VALIDATION_FAILED');
      expect(issuesOf(res), JSON.stringify(spec)).toEqual(expected.map((issue) => expect.objectContaining(issue)));
    }
  });

  it('refuses channels missing from the rule\'s namespace, a task or workflow of another namespace, and a name taken', async () => {
    const missing = await post(base('chan', { on: 'failure', scope: { taskId }, channels: ['ops', 'nope', 'mail'] }));
    expect(issuesOf(missing)).toEqual([{ path: 'channels[1]', code: 'ALERT_CHANNEL_NOT_FOUND', message: 'no alert channel "nope" in namespace "billing"' }]);
    const elsewhere = await post({ namespace: 'other', name: 'r', on: 'failure', scope: { taskId }, channels: ['ops'] });
    expect(issuesOf(elsewhere)).toEqual([{ path: 'scope.taskId', code: 'TASK_NOT_FOUND', message: `no task ${taskId} in namespace "other"` }]);
    expect(issuesOf(await post(base('wf', { on: 'failure', scope: { workflowId: taskId } })))[0]).toMatchObject({ path: 'scope.workflowId', code: 'WORKFLOW_NOT_FOUND' });
    await created(base('twice', { on: 'node-lost', scope: { namespace: 'billing' } }));
    const taken = await post(base('twice', { on: 'node-lost', scope: { namespace: 'billing' } }));
    expect(taken.statusCode).toBe(409);
    expect(errorOf(taken).code).toBe('ALERT_RULE_NAME_TAKEN');
  });

  it('updates a rule sent back as read (one revision more), refuses a move to another namespace, enables, disables and deletes', async () => {
    const rule = await created(base('streak', { on: 'consecutive-failures', scope: { taskId }, count: 3 }));
    const put = await h.call('PUT', `/api/v1/alert-rules/${rule.id}`, { body: { ...rule, namespace: undefined, count: 5, channels: ['mail'], repeatInterval: '1h' } });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ count: 5, channels: ['mail'], repeatInterval: '1h', revision: 2, description: null });
    const kindChanged = await h.call('PUT', `/api/v1/alert-rules/${rule.id}`, { body: { ...(put.json() as Json), on: 'late-start', count: undefined, lag: '5m' } });
    expect(kindChanged.json()).toMatchObject({ on: 'late-start', lag: '5m', revision: 3 });
    expect(kindChanged.json().count).toBeUndefined();
    const moved = await h.call('PUT', `/api/v1/alert-rules/${rule.id}`, { body: { ...rule, namespace: 'other' } });
    expect(issuesOf(moved)).toEqual([expect.objectContaining({ path: 'namespace' })]);
    expect(issuesOf(await h.call('PUT', `/api/v1/alert-rules/${rule.id}`, { body: { ...rule, channels: ['gone'] } }))[0]).toMatchObject({ path: 'channels[0]' });

    const disabled = await h.call('POST', `/api/v1/alert-rules/${rule.id}/disable`);
    expect(disabled.json()).toMatchObject({ enabled: false, revision: 3 });
    expect((await h.store.listEnabledAlertRules()).map((r) => r.id)).not.toContain(rule.id);
    expect((await h.call('POST', `/api/v1/alert-rules/${rule.id}/enable`)).json()).toMatchObject({ enabled: true, revision: 3 });
    expect((await h.store.listEnabledAlertRules()).find((r) => r.id === rule.id)).toMatchObject({ on: 'late-start', params: { lagMs: 300_000 } });
    const { items } = (await h.call('GET', `/api/v1/audit?resourceId=${rule.id}`)).json();
    expect(items.map((e: Json) => e.action)).toEqual(['alert-rule.enable', 'alert-rule.disable', 'alert-rule.update', 'alert-rule.update', 'alert-rule.create']);

    expect((await h.call('DELETE', `/api/v1/alert-rules/${rule.id}`)).statusCode).toBe(204);
    expect(errorOf(await h.call('GET', `/api/v1/alert-rules/${rule.id}`)).code).toBe('ALERT_RULE_NOT_FOUND');
    expect(errorOf(await h.call('POST', `/api/v1/alert-rules/${rule.id}/enable`)).code).toBe('ALERT_RULE_NOT_FOUND');
  });

  it('lists by namespace, kind and state, a page at a time, within the caller\'s namespaces; editors manage, viewers read', async () => {
    await created({ namespace: 'other', name: 'o-1', on: 'node-lost', scope: { namespace: 'other' }, channels: ['ops'] });
    const viewer = await h.token('viewer', ['other'], 'other-viewer');
    const editor = await h.token('editor', ['other'], 'other-editor');
    const list = (query: string, token?: string) => h.call('GET', `/api/v1/alert-rules${query}`, { token }).then((res) => res.json());
    expect((await list('', viewer.secret)).items.map((r: Json) => r.name)).toEqual(['o-1']);
    expect((await list('?namespace=billing', viewer.secret)).items).toEqual([]);
    const lost = await list('?on=node-lost&namespace=billing');
    expect(lost.items.map((r: Json) => r.name)).toEqual(['kind-9', 'twice']);
    expect((await list('?enabled=false')).items.map((r: Json) => r.name)).toEqual(['rich']);
    const page = await list('?namespace=billing&limit=2');
    expect(page.items).toHaveLength(2);
    expect((await list(`?namespace=billing&limit=2&cursor=${page.nextCursor}`)).items[0].name > page.items[1].name).toBe(true);

    const body = { namespace: 'other', name: 'o-2', on: 'node-lost', scope: { namespace: 'other' }, channels: ['ops'] };
    expect(errorOf(await post(body, viewer.secret)).code).toBe('FORBIDDEN');
    const mine = await post(body, editor.secret);
    expect(mine.statusCode).toBe(201);
    expect(errorOf(await post({ ...body, namespace: 'billing', scope: { namespace: 'billing' } }, editor.secret)).code).toBe('FORBIDDEN');
    const billingRule = (await list('?namespace=billing&limit=1')).items[0];
    expect(errorOf(await h.call('GET', `/api/v1/alert-rules/${billingRule.id}`, { token: viewer.secret })).code).toBe('ALERT_RULE_NOT_FOUND');
    expect(errorOf(await h.call('POST', `/api/v1/alert-rules/${mine.json().id}/disable`, { token: viewer.secret })).code).toBe('FORBIDDEN');
    expect(errorOf(await h.call('DELETE', `/api/v1/alert-rules/${billingRule.id}`, { token: editor.secret })).code).toBe('ALERT_RULE_NOT_FOUND');
    expect((await h.call('DELETE', `/api/v1/alert-rules/${mine.json().id}`, { token: editor.secret })).statusCode).toBe(204);
  });
});
