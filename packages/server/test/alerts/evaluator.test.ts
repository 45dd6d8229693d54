/**
 * The alert evaluator and notifier (issue 19) end to end on SQLite: the real API, the real
 * scheduler on a manual clock, a real HTTP executor whose answers make runs succeed or fail, the
 * event log's triggers, and a webhook receiver run here. Rules and channels are written through
 * the store; incidents are read through the API. Each tick is driven by the test: nothing sleeps.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlertEvaluator } from '../../src/alerts/evaluator.ts';
import { AlertNotifier } from '../../src/alerts/notifier.ts';
import { AlertChannelSenders } from '../../src/alerts/channels/senders.ts';
import { OutboundPolicy } from '../../src/dispatch/outbound-policy.ts';
import type { AlertRuleRecord } from '../../src/store/alerts-config.ts';
import { ApiHarness } from '../api/api-harness.ts';
import { HttpReceiver } from './receivers.ts';

let h: ApiHarness;
let receiver: HttpReceiver;
let senders: AlertChannelSenders;
const stops: (() => Promise<void>)[] = [];

beforeEach(async () => {
  h = await new ApiHarness().start();
  receiver = await new HttpReceiver().start();
  senders = new AlertChannelSenders({ outbound: new OutboundPolicy(), clock: h.clock });
  h.executor.behaviours.set('/fail', () => ({ status: 500, body: { error: 'boom' } }));
});

afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  await senders.close();
  await receiver.close();
  await h.close();
});

const audit = { actor: 'test', action: 'test' };

async function channel(name = 'hook'): Promise<string> {
  const now = h.clock.now();
  const created = await h.store.createAlertChannel({
    channel: {
      id: `ch-${name}`, namespace: 'team-a', name, type: 'webhook', locale: 'en', description: null,
      config: { url: `${receiver.origin}/hook`, secret: 'a-secret-of-sixteen-chars', timeoutMs: 5000 },
      lastError: null, lastErrorAt: null, lastSentAt: null, createdAt: now, updatedAt: now,
    },
    audit,
  });
  return created.id;
}

async function rule(fields: Partial<AlertRuleRecord> & Pick<AlertRuleRecord, 'on' | 'scope' | 'params'>): Promise<AlertRuleRecord> {
  const now = h.clock.now();
  return h.store.createAlertRule({
    rule: {
      id: `rule-${fields.on}-${Math.random().toString(36).slice(2, 8)}`, namespace: 'team-a', name: `${fields.on}-${Math.random().toString(36).slice(2, 8)}`,
      severity: 'critical', channels: ['hook'], repeatIntervalMs: null, sendResolved: true, enabled: true, description: null, revision: 1,
      createdAt: now, updatedAt: now, ...fields,
    },
    audit,
  });
}

function evaluator(nodeId = 'node-a'): AlertEvaluator {
  const e = new AlertEvaluator({ store: h.store, nodeId, clock: h.clock, cacheMs: 0 });
  stops.push(() => e.stop());
  return e;
}

function notifier(nodeId = 'node-a'): AlertNotifier {
  const n = new AlertNotifier({ store: h.store, senders, nodeId, clock: h.clock, backoff: { initialMs: 1000, maxMs: 1000 } });
  stops.push(() => n.stop());
  return n;
}

async function runOnce(taskId: string): Promise<Record<string, any>> {
  const res = await h.call('POST', `/api/v1/tasks/${taskId}/trigger`, { body: {} });
  expect(res.statusCode).toBe(201);
  return h.ended(res.json().id as string);
}

const bodies = () => receiver.requests.map((r) => JSON.parse(r.body) as Record<string, any>);

describe('alert evaluation', () => {
  it('opens one incident when a run fails, notifies once, and resolves it on the next success', async () => {
    await channel();
    const failing = await h.createTask({ namespace: 'team-a', name: 'nightly', target: { type: 'http', url: `${h.executorUrl}/fail` } });
    await rule({ on: 'failure', scope: { taskId: failing.id }, params: { attempts: 'final' } });
    const e = evaluator();
    const n = notifier();
    await e.tick(); // takes the lease; the cursor starts at the log's end

    expect((await runOnce(failing.id)).status).toBe('failed');
    await runOnce(failing.id);
    await e.tick();
    await e.tick();
    const open = (await h.call('GET', '/api/v1/incidents?state=open')).json().items;
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ on: 'failure', namespace: 'team-a', severity: 'critical', subject: { kind: 'task', id: failing.id, name: 'nightly' } });

    expect((await n.tick()).map((o) => o.outcome)).toEqual(['sent']);
    expect(await n.tick()).toEqual([]);
    expect(bodies()).toHaveLength(1);
    expect(bodies()[0]).toMatchObject({ state: 'firing', incidentId: open[0].id, subject: { id: failing.id } });
    expect(receiver.requests[0]!.headers['x-ecron-delivery']).toBe(bodies()[0]!.id);

    // The task is fixed: the next run succeeds and the incident resolves, with one resolved notification.
    await h.call('PUT', `/api/v1/tasks/${failing.id}`, { body: { namespace: 'team-a', name: 'nightly', target: { type: 'http', url: `${h.executorUrl}/run` }, schedule: { manual: true } } });
    await runOnce(failing.id);
    await e.tick();
    await n.tick();
    const got = (await h.call('GET', `/api/v1/incidents/${open[0].id}`)).json();
    expect(got.incident).toMatchObject({ state: 'resolved', resolvedBy: 'condition' });
    expect(got.notifications.map((x: any) => [x.kind, x.state])).toEqual([['firing', 'sent'], ['resolved', 'sent']]);
    expect(bodies().map((b) => b.state)).toEqual(['firing', 'resolved']);
  });

  it('sees a rule created just before a failure, whatever its cache of rules', async () => {
    await channel();
    const task = await h.createTask({ namespace: 'team-a', name: 'fresh', target: { type: 'http', url: `${h.executorUrl}/fail` } });
    const e = new AlertEvaluator({ store: h.store, nodeId: 'node-a', clock: h.clock, cacheMs: 3_600_000 });
    stops.push(() => e.stop());
    await e.tick(); // rules read (none), and cached for an hour
    await rule({ on: 'failure', scope: { taskId: task.id }, params: { attempts: 'final' } });
    await runOnce(task.id);
    await e.tick();
    expect((await h.call('GET', '/api/v1/incidents')).json().items).toHaveLength(1);
  });

  it('opens a consecutive-failures incident only at the count, and evaluates each event once across two evaluators', async () => {
    await channel();
    const task = await h.createTask({ namespace: 'team-a', name: 'flaky', target: { type: 'http', url: `${h.executorUrl}/fail` } });
    await rule({ on: 'consecutive-failures', scope: { labels: {} } as never, params: { count: 3 } });
    const a = evaluator('node-a');
    const b = evaluator('node-b');
    await a.tick();
    await b.tick();
    await runOnce(task.id);
    await runOnce(task.id);
    await a.tick();
    await b.tick();
    expect((await h.call('GET', '/api/v1/incidents')).json().items).toHaveLength(0);
    await runOnce(task.id);
    await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()]);
    const items = (await h.call('GET', '/api/v1/incidents')).json().items;
    expect(items).toHaveLength(1);
    expect(items[0].details).toMatchObject({ count: 3 });
    // node-a gives the lease up; node-b goes on from the stored cursor and opens nothing again.
    await a.stop();
    await b.tick();
    await b.tick();
    expect((await h.call('GET', '/api/v1/incidents')).json().items).toHaveLength(1);
  });

  it('retries a notification the receiver refused, and keeps the channel\'s last error', async () => {
    await channel();
    const task = await h.createTask({ namespace: 'team-a', name: 'once', target: { type: 'http', url: `${h.executorUrl}/fail` } });
    await rule({ on: 'failure', scope: { namespace: 'team-a' }, params: { attempts: 'final' } });
    const e = evaluator();
    const n = notifier();
    await e.tick();
    await runOnce(task.id);
    await e.tick();
    receiver.answer = () => ({ status: 500, body: 'down' });
    const [first] = await n.tick();
    expect(first).toMatchObject({ outcome: 'retry' });
    expect(first!.error).toMatch(/ALERT_CHANNEL_FAILED/);
    expect((await h.store.getAlertChannel('ch-hook'))?.lastError).toMatch(/500/);
    expect(await n.tick()).toEqual([]); // not due before its backoff
    await h.clock.advance(1000);
    receiver.answer = () => ({ status: 200, body: 'ok' });
    expect((await n.tick()).map((o) => o.outcome)).toEqual(['sent']);
    const sent = bodies();
    expect(sent).toHaveLength(2);
    expect(sent[0]!.id).toBe(sent[1]!.id);
  });

  it('opens and resolves incidents under a silence without notifying, and notifies again once it ends', async () => {
    await channel();
    const task = await h.createTask({ namespace: 'team-a', name: 'quiet', labels: { team: 'data' }, target: { type: 'http', url: `${h.executorUrl}/fail` } });
    await rule({ on: 'failure', scope: { namespace: 'team-a' }, params: { attempts: 'final' } });
    const now = h.clock.now();
    await h.store.createAlertSilence({
      silence: {
        id: 'sil-1', namespace: 'team-a', scope: { labels: { team: 'data' } }, ruleIds: null, startsAt: now - 1000, endsAt: now + 60_000,
        comment: 'maintenance', createdBy: 'test', createdAt: now, updatedAt: now,
      },
      audit,
    });
    const e = evaluator();
    const n = notifier();
    await e.tick();
    await runOnce(task.id);
    await e.tick();
    const [incident] = (await h.call('GET', '/api/v1/incidents')).json().items;
    expect(incident).toMatchObject({ state: 'open', subject: { id: task.id } });
    expect(await n.tick()).toEqual([]);
    expect((await h.call('GET', `/api/v1/incidents/${incident.id}`)).json().notifications).toEqual([]);
    // The window ends: the next failure of another task of the namespace is notified (the open one stays quiet, once).
    await h.clock.advance(61_000);
    const loud = await h.createTask({ namespace: 'team-a', name: 'loud', target: { type: 'http', url: `${h.executorUrl}/fail` } });
    await runOnce(loud.id);
    await e.tick();
    expect((await n.tick()).map((o) => o.outcome)).toEqual(['sent']);
    expect(bodies().map((b) => b.subject.id)).toEqual([loud.id]);
  });

  it('acknowledges and resolves by hand through the API, with roles', async () => {
    await channel();
    const task = await h.createTask({ namespace: 'team-a', name: 'manual', target: { type: 'http', url: `${h.executorUrl}/fail` } });
    await rule({ on: 'timeout', scope: { taskId: task.id }, params: {} });
    await rule({ on: 'failure', scope: { taskId: task.id }, params: { attempts: 'final' } });
    const e = evaluator();
    await e.tick();
    await runOnce(task.id);
    await e.tick();
    const [incident] = (await h.call('GET', '/api/v1/incidents')).json().items;
    const viewer = await h.token('viewer', ['team-a']);
    expect((await h.call('POST', `/api/v1/incidents/${incident.id}/acknowledge`, { token: viewer.secret })).statusCode).toBe(403);
    const other = await h.token('operator', ['team-b'], 'other-ops');
    expect((await h.call('GET', `/api/v1/incidents/${incident.id}`, { token: other.secret })).statusCode).toBe(404);
    expect((await h.call('GET', '/api/v1/incidents', { token: other.secret })).json().items).toEqual([]);
    const acked = await h.call('POST', `/api/v1/incidents/${incident.id}/acknowledge`);
    expect(acked.json()).toMatchObject({ state: 'acknowledged' });
    expect((await h.call('POST', `/api/v1/incidents/${incident.id}/acknowledge`)).json().error.code).toBe('INCIDENT_STATE_CONFLICT');
    const resolved = await h.call('POST', `/api/v1/incidents/${incident.id}/resolve`);
    expect(resolved.json()).toMatchObject({ state: 'resolved' });
    expect(resolved.json().resolvedBy).toMatch(/./);
    expect((await h.call('GET', '/api/v1/incidents?state=bogus')).statusCode).toBe(400);
    expect((await h.call('GET', '/api/v1/incidents/nope')).json().error.code).toBe('INCIDENT_NOT_FOUND');
  });

  it('opens a missed-fire incident for a task whose instant passed its grace with no run, even across an outage', async () => {
    await h.close();
    h = await new ApiHarness().start({ startScheduler: false });
    await channel();
    const task = await h.createTask({ namespace: 'team-a', name: 'minutely', schedule: { cron: '* * * * *' } });
    const flow = await h.call('POST', '/api/v1/workflows', {
      body: { namespace: 'team-a', name: 'flow', schedule: { cron: '* * * * *' }, nodes: [{ id: 'a', target: { type: 'http', url: `${h.executorUrl}/run` } }] },
    });
    expect(flow.statusCode, flow.body).toBe(201);
    await rule({ on: 'missed-fire', scope: { taskId: task.id }, params: { graceMs: 10_000 } });
    await rule({ on: 'missed-fire', scope: { workflowId: flow.json().id }, params: { graceMs: 10_000 } });
    const e = evaluator();
    await e.tick();
    expect((await h.call('GET', '/api/v1/incidents')).json().items).toHaveLength(0);
    // Nothing fires (no scheduler here): three instants pass while the evaluator is "down".
    await h.clock.advance(3 * 60_000 + 11_000);
    await e.tick();
    const items = (await h.call('GET', '/api/v1/incidents')).json().items;
    expect(items).toHaveLength(2);
    const byKind = Object.fromEntries(items.map((i: any) => [i.subject.kind, i]));
    expect(byKind.task).toMatchObject({ on: 'missed-fire', subject: { id: task.id } });
    expect(byKind.workflow).toMatchObject({ on: 'missed-fire', subject: { id: flow.json().id, name: 'flow' } });
    expect(byKind.task.details.missed).toBeGreaterThanOrEqual(3);
    await h.clock.advance(60_000);
    await e.tick();
    expect((await h.call('GET', '/api/v1/incidents')).json().items).toHaveLength(2);
  });
});
