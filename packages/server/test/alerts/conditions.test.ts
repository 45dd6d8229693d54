/**
 * The alert conditions as functions of records (issue 19): what each kind observes about an event
 * or a periodic look, the scopes, and the schedule instants missed-fire derives (DST included).
 */
import { describe, expect, it } from 'vitest';
import { observeNodeEvent, observeRunEvent, ruleCovers, type RunHistory, type ScopedTask } from '../../src/alerts/conditions.ts';
import { liveExecutors, observeLongRunning, observeMissedFires, scheduleInstants } from '../../src/alerts/periodic-checks.ts';
import type { RunRecord, TaskRecord } from '../../src/core/model.ts';
import type { AlertRuleRecord } from '../../src/store/alerts-config.ts';
import type { EventRecord, ExecutorNodeRecord } from '../../src/store/store.ts';

const T0 = Date.UTC(2026, 2, 28, 0, 0, 0);

function rule(on: AlertRuleRecord['on'], params: Record<string, unknown>, scope: AlertRuleRecord['scope'] = { namespace: 'ns' }): AlertRuleRecord {
  return {
    id: `r-${on}`, namespace: 'ns', name: on, on, scope, params, severity: 'warning', channels: [], repeatIntervalMs: null, sendResolved: true,
    enabled: true, description: null, revision: 1, createdAt: 0, updatedAt: 0,
  };
}

const task: ScopedTask = { id: 't1', namespace: 'ns', name: 'job', kind: 'task', labels: { team: 'data', tier: '1' } };

function event(type: string, data: Record<string, unknown>, at = T0): EventRecord {
  return { seq: 1, at, type, namespace: 'ns', taskId: 't1', runId: 'run-1', workflowRunId: null, data };
}

const noHistory: RunHistory = { lastEnded: async () => [], endedSince: async () => ({ ended: 0, failed: 0 }) };

describe('alert conditions', () => {
  it('scope: a task, labels (every pair), or the namespace; never another namespace', () => {
    expect(ruleCovers(rule('failure', {}, { taskId: 't1' }), task)).toBe(true);
    expect(ruleCovers(rule('failure', {}, { taskId: 't2' }), task)).toBe(false);
    expect(ruleCovers(rule('failure', {}, { workflowId: 't1' }), task)).toBe(false);
    expect(ruleCovers(rule('failure', {}, { labels: { team: 'data' } }), task)).toBe(true);
    expect(ruleCovers(rule('failure', {}, { labels: { team: 'data', tier: '2' } }), task)).toBe(false);
    expect(ruleCovers(rule('failure', {}, { namespace: 'ns' }), { ...task, namespace: 'other' })).toBe(false);
  });

  it('failure: the final failure, or every failed attempt on request; a success clears', async () => {
    const final = rule('failure', { attempts: 'final' });
    const every = rule('failure', { attempts: 'every' });
    const retried = event('run.pending', { error: 'exit 1', previousStatus: 'running', attempt: 1 });
    expect(await observeRunEvent(final, task, retried, noHistory, T0)).toBeNull();
    expect(await observeRunEvent(every, task, retried, noHistory, T0)).toMatchObject({ kind: 'fire', details: { final: false, error: 'exit 1' } });
    expect(await observeRunEvent(final, task, event('run.failed', { error: 'exit 2' }), noHistory, T0)).toMatchObject({ kind: 'fire', details: { final: true } });
    expect(await observeRunEvent(final, task, event('run.succeeded', {}), noHistory, T0)).toMatchObject({ kind: 'clear' });
    expect(await observeRunEvent(final, task, event('run.started', {}), noHistory, T0)).toBeNull();
  });

  it('consecutive failures: only when the last `count` ended runs all failed', async () => {
    const streak = rule('consecutive-failures', { count: 3 });
    const history = (statuses: string[]): RunHistory => ({ ...noHistory, lastEnded: async () => statuses as never });
    const failed = event('run.failed', {});
    expect(await observeRunEvent(streak, task, failed, history(['failed', 'failed']), T0)).toBeNull();
    expect(await observeRunEvent(streak, task, failed, history(['failed', 'succeeded', 'failed']), T0)).toBeNull();
    expect(await observeRunEvent(streak, task, failed, history(['failed', 'timed_out', 'lost']), T0)).toMatchObject({ kind: 'fire', details: { count: 3 } });
  });

  it('failure rate: at or over the rate with enough runs fires; below clears', async () => {
    const rate = rule('failure-rate', { rate: 0.5, windowMs: 3_600_000, minRuns: 4 });
    const history = (ended: number, failed: number): RunHistory => ({ ...noHistory, endedSince: async () => ({ ended, failed }) });
    const end = event('run.failed', {});
    expect(await observeRunEvent(rate, task, end, history(3, 3), T0)).toMatchObject({ kind: 'clear' });
    expect(await observeRunEvent(rate, task, end, history(4, 2), T0)).toMatchObject({ kind: 'fire', details: { failureRate: 0.5, ended: 4 } });
    expect(await observeRunEvent(rate, task, end, history(10, 4), T0)).toMatchObject({ kind: 'clear' });
  });

  it('late start: a scheduled run that started after its instant + lag; manual runs are not judged', async () => {
    const late = rule('late-start', { lagMs: 5000 });
    expect(await observeRunEvent(late, task, event('run.started', { trigger: 'schedule', scheduledAt: T0, startedAt: T0 + 7000 }), noHistory, T0))
      .toMatchObject({ kind: 'fire', details: { lagMs: 7000 } });
    expect(await observeRunEvent(late, task, event('run.started', { trigger: 'schedule', scheduledAt: T0, startedAt: T0 + 20 }), noHistory, T0)).toMatchObject({ kind: 'clear' });
    expect(await observeRunEvent(late, task, event('run.started', { trigger: 'manual', scheduledAt: T0, startedAt: T0 + 7000 }), noHistory, T0)).toBeNull();
    // A plain HTTP target answers at once: the run ends straight from dispatched, its end standing for its start.
    expect(await observeRunEvent(late, task, event('run.succeeded', { trigger: 'schedule', scheduledAt: T0, startedAt: T0 + 9000, previousStatus: 'dispatched' }), noHistory, T0))
      .toMatchObject({ kind: 'fire', details: { lagMs: 9000 } });
    expect(await observeRunEvent(late, task, event('run.succeeded', { trigger: 'schedule', scheduledAt: T0, startedAt: T0 + 9000, previousStatus: 'running' }), noHistory, T0)).toBeNull();
  });

  it('node lost: node.left fires for the node, node.joined of it clears', () => {
    const lost = rule('node-lost', {});
    const left = { ...event('node.left', { schedulerNodeId: 'n1', address: '10.0.0.1:7070' }), namespace: null };
    expect(observeNodeEvent(lost, left)).toMatchObject({ kind: 'fire', subject: { kind: 'node', id: 'n1' } });
    expect(observeNodeEvent(lost, { ...left, type: 'node.joined' })).toMatchObject({ kind: 'clear' });
  });

  it('long running and no executor look at records', () => {
    const long = rule('long-running', { afterMs: 60_000 });
    const running = (id: string, startedAt: number) => ({ id, taskId: 't1', status: 'running', startedAt }) as RunRecord;
    const tasks = new Map([['t1', task]]);
    expect(observeLongRunning(long, [running('a', T0 - 30_000)], tasks, T0)).toEqual([]);
    expect(observeLongRunning(long, [running('a', T0 - 30_000), running('b', T0 - 90_000)], tasks, T0)).toMatchObject([{ kind: 'fire', details: { runId: 'b', runningMs: 90_000 } }]);
    const node = (group: string, expiresAt: number) => ({ namespace: 'ns', group, expiresAt }) as ExecutorNodeRecord;
    const none = rule('no-executor', { group: 'etl', forMs: 60_000 });
    expect(liveExecutors(none, [node('etl', T0 - 1), node('web', T0 + 10_000)], T0)).toBe(0);
    expect(liveExecutors(none, [node('etl', T0 + 10_000)], T0)).toBe(1);
  });

  it('missed fire: the instants of the schedule in its zone, across a DST change, each met by a run started within grace', () => {
    // Europe/Berlin moves from +01:00 to +02:00 at 2026-03-29 01:00 UTC (02:00 local): "30 1 * * *" local is 00:30 UTC
    // on the 28th and the 29th (before the change), then 23:30 UTC.
    const cron = {
      id: 't1', namespace: 'ns', name: 'job', kind: 'task', state: 'active', createdAt: T0 - 86_400_000, updatedAt: T0 - 86_400_000, anchorAt: T0 - 86_400_000,
      spec: { labels: {}, schedule: { cron: '30 1 * * *', timezone: 'Europe/Berlin' } },
    } as unknown as TaskRecord;
    const instants = scheduleInstants(cron, T0, T0 + 2 * 86_400_000);
    expect(instants.map((t) => new Date(t).toISOString())).toEqual(['2026-03-28T00:30:00.000Z', '2026-03-29T00:30:00.000Z', '2026-03-29T23:30:00.000Z']);
    const missed = rule('missed-fire', { graceMs: 60_000 });
    const [fire] = observeMissedFires({
      rule: missed, tasks: [cron], previous: T0, now: T0 + 2 * 86_400_000,
      runsOf: () => [{ scheduledAt: instants[0]!, startedAt: instants[0]! + 500, status: 'succeeded' }],
    });
    expect(fire).toMatchObject({ kind: 'fire', details: { missed: 2, firstMissedAt: '2026-03-29T00:30:00.000Z', lastMissedAt: '2026-03-29T23:30:00.000Z' } });
    const [clear] = observeMissedFires({
      rule: missed, tasks: [cron], previous: T0, now: T0 + 2 * 86_400_000,
      runsOf: () => instants.map((at) => ({ scheduledAt: at, startedAt: at + 500, status: 'succeeded' as const })),
    });
    expect(clear).toMatchObject({ kind: 'clear' });
    const late = observeMissedFires({
      rule: missed, tasks: [cron], previous: T0, now: T0 + 2 * 86_400_000,
      runsOf: () => instants.map((at) => ({ scheduledAt: at, startedAt: at + 120_000, status: 'succeeded' as const })),
    });
    expect(late[0]).toMatchObject({ kind: 'fire', details: { missed: 3 } });
    expect(scheduleInstants({ ...cron, state: 'paused' }, T0, T0 + 2 * 86_400_000)).toEqual([]);
  });
});
